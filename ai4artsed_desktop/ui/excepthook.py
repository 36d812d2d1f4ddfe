"""Uncaught exceptions: log them with the traceback and show a crash dialog (never recursive).

qasync's ``asyncSlot`` sends exceptions of async slots to ``sys.excepthook`` too, so bugs in
slots end up here instead of vanishing.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .desktop import copy_text
from .i18n import Translator
from .widgets.path_dialog import open_folder

log = logging.getLogger(__name__)

ExcHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class CrashDialog(QDialog):
    """Says that something went wrong, with details behind a toggle and the log one click away.

    Tests replace :meth:`ask` (the pytest-qt dialog pattern).
    """

    def __init__(
        self,
        summary: str,
        details: str,
        log_dir: Path,
        translator: Translator,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        tr = translator.tr
        self._details = details
        self._log_dir = log_dir
        self.setWindowTitle(tr("crash.title"))
        self.setMinimumWidth(560)
        self.message = QLabel(tr("crash.message", summary=summary))
        self.message.setWordWrap(True)
        self.details_view = QPlainTextEdit(details)
        self.details_view.setReadOnly(True)
        self.details_view.setAccessibleName(tr("crash.details"))
        self.details_view.hide()
        self.toggle_button = QPushButton(tr("crash.show_details"))
        self.toggle_button.setCheckable(True)
        self.toggle_button.toggled.connect(self.details_view.setVisible)
        self.copy_button = QPushButton(tr("banner.copy_details"))
        self.copy_button.clicked.connect(lambda: copy_text(self._details))
        self.log_button = QPushButton(tr("action.open_log_folder"))
        self.log_button.clicked.connect(lambda: open_folder(self._log_dir, translator, self))
        self.close_button = QPushButton(tr("crash.close"))
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for button in (self.toggle_button, self.copy_button, self.log_button):
            button.setAccessibleName(button.text())
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.details_view, 1)
        layout.addLayout(buttons)

    @classmethod
    def ask(cls, summary: str, details: str, log_dir: Path, translator: Translator) -> None:
        """Show the dialog modally (tests replace this classmethod)."""
        dialog = cls(summary, details, log_dir, translator, QApplication.activeWindow())
        dialog.exec()
        dialog.deleteLater()


class CrashHandler:
    """The installed ``sys.excepthook``: log, notify, show the dialog; guarded against loops."""

    def __init__(
        self,
        log_dir: Path,
        *,
        on_crash: Callable[[str], None] | None = None,
        interactive: bool = True,
        translator: Translator | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.on_crash = on_crash
        self.interactive = interactive
        self.translator = translator
        self.previous: ExcHook = sys.excepthook
        self._handling = False

    def __call__(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self.previous(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        summary = f"{exc_type.__name__}: {exc}"
        if self._handling:  # a crash while showing the crash dialog: log only
            log.critical("Uncaught exception while handling another one:\n%s", details)
            return
        self._handling = True
        try:
            log.critical("Uncaught exception:\n%s", details)
            if self.on_crash is not None:
                self.on_crash(summary)
            if self.interactive and QApplication.instance() is not None:
                CrashDialog.ask(summary, details, self.log_dir, self._translator())
        except Exception:
            log.critical("The crash handler itself failed", exc_info=True)
        finally:
            self._handling = False

    def _translator(self) -> Translator:
        if self.translator is None:
            self.translator = Translator("en")
        return self.translator


_installed: CrashHandler | None = None


def install_excepthook(
    log_dir: Path,
    *,
    on_crash: Callable[[str], None] | None = None,
    interactive: bool = True,
    translator: Translator | None = None,
) -> Callable[[], None]:
    """Make :class:`CrashHandler` the ``sys.excepthook``; returns a function that undoes it."""
    global _installed
    handler = CrashHandler(
        log_dir, on_crash=on_crash, interactive=interactive, translator=translator
    )
    sys.excepthook = handler
    _installed = handler

    def uninstall() -> None:
        global _installed
        if sys.excepthook is handler:
            sys.excepthook = handler.previous
        if _installed is handler:
            _installed = None

    return uninstall


def use_translator(translator: Translator) -> None:
    """Let an installed crash handler speak the UI language (called by ``build_shell``)."""
    if _installed is not None:
        _installed.translator = translator
