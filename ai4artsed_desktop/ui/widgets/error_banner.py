"""ErrorBanner: a non-modal inline error with "Copy details", "Open log folder" and close."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...errors import AppError
from ..desktop import copy_text
from ..i18n import Translator, error_text
from .path_dialog import open_folder

MAX_MESSAGE_CHARS = 400


class ErrorBanner(QFrame):
    """Says what happened and what to do; the raw detail is one click away.

    Hidden until :meth:`show_error` is called; closing it only hides it.
    """

    def __init__(self, translator: Translator, log_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = translator
        self._log_dir = log_dir
        self._message = ""
        self._detail = ""
        self._error: AppError | None = None  # shown by show_app_error: follows the language
        self._words: Callable[[], str] | None = None  # shown by show_worded: likewise
        self.setObjectName("errorBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.message_label = QLabel()
        self.message_label.setObjectName("errorBannerText")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton()
        self.log_button = QPushButton()
        self.close_button = QPushButton()
        self.close_button.setObjectName("errorBannerClose")
        self.copy_button.clicked.connect(self.copy_details)
        self.log_button.clicked.connect(self.open_log_folder)
        self.close_button.clicked.connect(self.dismiss)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.copy_button, self.log_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self.hide()

    @property
    def message(self) -> str:
        return self._message

    @property
    def detail(self) -> str:
        return self._detail

    def retranslate(self) -> None:
        self.copy_button.setText(self._tr.tr("banner.copy_details"))
        self.copy_button.setAccessibleName(self._tr.tr("banner.copy_details"))
        self.log_button.setText(self._tr.tr("action.open_log_folder"))
        self.log_button.setAccessibleName(self._tr.tr("action.open_log_folder"))
        self.close_button.setText(self._tr.tr("banner.close"))
        self.close_button.setAccessibleName(self._tr.tr("banner.close"))
        self.setAccessibleName(self._tr.tr("banner.accessible"))
        self.message_label.setAccessibleName(self._tr.tr("banner.accessible"))
        if self._error is not None:
            self._show(error_text(self._tr, self._error), self._error.detail)
        elif self._words is not None:
            self._show(self._words(), self._detail)

    def show_app_error(self, error: AppError) -> None:
        """Show ``error`` in the UI language; a language switch rewords it."""
        self._error, self._words = error, None
        self._show(error_text(self._tr, error), error.detail)
        self.show()

    def show_worded(self, words: Callable[[], str], detail: str = "") -> None:
        """Show what ``words()`` says in the UI language; it is asked again on a switch."""
        self._error, self._words = None, words
        self._show(words(), detail)
        self.show()

    def show_error(self, message: str, detail: str = "") -> None:
        """Show ``message`` (shortened if very long; the full text is in the tooltip).

        The text stays as it is on a language switch: prefer :meth:`show_app_error` or
        :meth:`show_worded` for anything the app words itself.
        """
        self._error, self._words = None, None
        self._show(message, detail)
        self.show()

    def _show(self, message: str, detail: str) -> None:
        self._message, self._detail = message, detail
        shown = message
        if len(shown) > MAX_MESSAGE_CHARS:
            shown = shown[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
        self.message_label.setText(shown)
        self.message_label.setToolTip(message if shown != message else "")
        self.setAccessibleDescription(message)
        self.copy_button.setEnabled(bool(message or detail))

    def copy_details(self) -> None:
        text = self._message if not self._detail else f"{self._message}\n\n{self._detail}"
        copy_text(text)

    def open_log_folder(self) -> None:
        open_folder(self._log_dir, self._tr, self.window())

    def dismiss(self) -> None:
        self.hide()
