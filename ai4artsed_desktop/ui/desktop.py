"""Hand-offs to the desktop: open a folder in the file manager, copy text to the clipboard."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)


class FolderOpener:
    """Opens folders in the system file manager; tests replace :meth:`open`."""

    @classmethod
    def open(cls, path: Path) -> bool:
        """Create ``path`` if needed and show it; False when the desktop refused."""
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("Cannot create folder %s: %s", path, exc)
            return False
        ok = QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        if not ok:
            log.warning("The desktop could not open %s", path)
        return bool(ok)


def copy_text(text: str) -> None:
    """Put ``text`` on the clipboard."""
    QGuiApplication.clipboard().setText(text)
