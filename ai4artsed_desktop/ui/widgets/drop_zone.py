"""DropZone: drop folders or image files (or choose a folder) and see thumbnails of them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.training_vm import Thumbnail

THUMB = 96


def local_paths(event: QDropEvent) -> list[Path]:
    """The local files and folders carried by a drag, in order."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def thumbnail_image(thumb: Thumbnail) -> QImage:
    """A QImage owning the thumbnail's pixels (UI thread only)."""
    image = QImage(
        thumb.rgba, thumb.width, thumb.height, thumb.width * 4, QImage.Format.Format_RGBA8888
    )
    return image.copy()


class DropZone(QFrame):
    """Accepts dropped folders/files and has a "Choose folder…" button.

    Signals:
        paths_chosen(list): the dropped or chosen paths (``list[Path]``).
    """

    paths_chosen = Signal(list)

    def __init__(self, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = translator
        self.setObjectName("card")
        self.setAcceptDrops(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.choose_button = QPushButton()
        self.choose_button.clicked.connect(self._choose)
        self.strip = QListWidget()
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(THUMB, THUMB))
        self.strip.setFixedHeight(THUMB + 28)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        row.addWidget(self.choose_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(row)
        layout.addWidget(self.strip)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.hint.setText(tr("training.drop_hint"))
        self.choose_button.setText(tr("training.choose_folder"))
        self.choose_button.setAccessibleName(tr("training.choose_folder"))
        self.setAccessibleName(tr("training.drop_accessible"))
        self.strip.setAccessibleName(tr("training.thumbnails_accessible"))

    @classmethod
    def ask_folder(cls, parent: QWidget) -> Path | None:
        """Ask for a folder (replaced in tests); None when cancelled."""
        chosen = QFileDialog.getExistingDirectory(parent)
        return Path(chosen) if chosen else None

    def _choose(self) -> None:
        folder = type(self).ask_folder(self)
        if folder is not None:
            self.paths_chosen.emit([folder])

    def set_thumbnails(self, thumbs: list[Thumbnail]) -> None:
        self.strip.clear()
        for thumb in thumbs:
            item = QListWidgetItem(QIcon(QPixmap.fromImage(thumbnail_image(thumb))), "")
            item.setToolTip(thumb.path.name)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, thumb.path.name)
            self.strip.addItem(item)
        self.strip.setVisible(bool(thumbs))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.paths_chosen.emit(paths)
