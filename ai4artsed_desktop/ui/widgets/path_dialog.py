"""Open a folder, or, where no file manager opens it, show its path with a Copy button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..desktop import FolderOpener, copy_text
from ..i18n import Translator


class PathDialog(QDialog):
    """Says that the folder could not be opened and shows its path, ready to copy."""

    def __init__(self, path: Path, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        tr = translator.tr
        self.setObjectName("pathDialog")
        self.setWindowTitle(tr("house.folder_title"))
        self.message = QLabel(tr("house.folder_not_opened"))
        self.message.setWordWrap(True)
        self.path_edit = QLineEdit(str(path))
        self.path_edit.setReadOnly(True)
        self.path_edit.setAccessibleName(tr("house.folder_path"))
        self.path_edit.setMinimumWidth(420)
        self.copy_button = QPushButton(tr("house.copy_path"))
        self.copy_button.setAccessibleName(tr("house.copy_path"))
        self.copy_button.clicked.connect(self._copy)
        self.close_button = QPushButton(tr("house.close"))
        self.close_button.setAccessibleName(tr("house.close"))
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        self.copied = QLabel()
        self.copied.setObjectName("hint")
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.copy_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copied, 1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(row)
        layout.addLayout(buttons)
        self._copied_text = tr("house.path_copied")

    def _copy(self) -> None:
        copy_text(self.path_edit.text())
        self.copied.setText(self._copied_text)


def open_folder(path: Path, translator: Translator, parent: QWidget | None = None) -> None:
    """Show ``path`` in the file manager; if none opens it, show :class:`PathDialog`."""

    def fallback() -> None:
        dialog = PathDialog(path, translator, parent)
        dialog.setModal(False)
        dialog.show()
        dialog.activateWindow()
        dialog.finished.connect(dialog.deleteLater)

    if not FolderOpener.open(path, on_failure=fallback):
        fallback()
