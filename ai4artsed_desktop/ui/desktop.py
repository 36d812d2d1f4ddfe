"""Hand-offs to the desktop: open a folder in the file manager, copy text to the clipboard."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)


class FolderOpener:
    """Opens folders in the system file manager; tests replace :meth:`open`."""

    @classmethod
    def open(cls, path: Path, on_failure: Callable[[], None] | None = None) -> bool:
        """Create ``path`` if needed and show it; False when that failed at once.

        On Linux ``xdg-open`` is run directly, because it reports "no application for
        folders" only through its exit code (Qt's ``openUrl`` says True as soon as it
        started it): ``on_failure`` is then called later, when it exits with an error.
        """
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("Cannot create folder %s: %s", path, exc)
            return False
        xdg_open = shutil.which("xdg-open") if sys.platform.startswith("linux") else None
        if xdg_open is not None:
            return cls._xdg_open(xdg_open, path, on_failure)
        ok = QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        if not ok:
            log.warning("The desktop could not open %s", path)
        return bool(ok)

    @staticmethod
    def _xdg_open(program: str, path: Path, on_failure: Callable[[], None] | None) -> bool:
        process = QProcess(QCoreApplication.instance())

        def finished(code: int, _status: QProcess.ExitStatus) -> None:
            process.deleteLater()
            if code != 0:
                log.warning("xdg-open could not open %s (exit code %d)", path, code)
                if on_failure is not None:
                    on_failure()

        process.finished.connect(finished)
        process.start(program, [str(path)])
        if not process.waitForStarted(3000):
            log.warning("xdg-open did not start: %s", process.errorString())
            process.deleteLater()
            return False
        return True


def copy_text(text: str) -> None:
    """Put ``text`` on the clipboard."""
    QGuiApplication.clipboard().setText(text)
