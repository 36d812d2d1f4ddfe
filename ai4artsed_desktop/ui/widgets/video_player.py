"""VideoPlayer: play a film result, with its first frame as the poster, repeat and seeking.

QtMultimedia's QMediaPlayer decodes the file into a QVideoSink; the frames are painted by a
plain widget (:class:`VideoSurface`), so the film also shows where no GPU window can be made
(remote desktops, the offscreen test platform) and the picture can be grabbed. Before it
plays, the surface shows the film's first frame, decoded by PyAV. When QtMultimedia cannot
be loaded, the first frame stays and one line says that playback is unavailable here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import (
    QColor,
    QHideEvent,
    QImage,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...events import SavedFile
from ...store.video import first_frame
from ..i18n import Translator
from ..wheel_guard import guard_wheel
from .media_player import MediaPlayer, import_qt_multimedia, show_media_result

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QVideoFrame, QVideoSink

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mkv", ".mov", ".m4v"})
SEEK_STEP_MS = 1_000


def is_video(file: SavedFile) -> bool:
    """True for files the video player shows (by MIME type, else by suffix)."""
    return file.mime.startswith("video/") or file.path.suffix.lower() in VIDEO_SUFFIXES


def poster_image(path: Path) -> QImage:
    """The first frame of the film at ``path`` (a null image when it cannot be decoded)."""
    if not path.is_file():
        return QImage()
    frame = first_frame(path)
    if frame is None:
        return QImage()
    pixels = np.ascontiguousarray(np.asarray(frame.convert("RGB"), dtype=np.uint8))
    height, width, _ = pixels.shape
    image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: the array goes away


class VideoSurface(QWidget):
    """Paints one picture fitted into the widget (letterboxed on black)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self.setObjectName("videoSurface")
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    @property
    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def picture_rect(self) -> QRect:
        """Where the picture is drawn: as large as fits, centred, its aspect kept."""
        if self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        left = (self.width() - size.width()) // 2
        top = (self.height() - size.height()) // 2
        return QRect(left, top, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor("#111111"))
            if not self._image.isNull():
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(self.picture_rect(), self._image)
        finally:
            painter.end()


class VideoPlayer(MediaPlayer):
    """The film with play / pause, a seek slider with times and a repeat switch.

    Space toggles play / pause while the player (or a control in it without its own use for
    Space) has focus. Repeat is on at first: a short clip plays round and round.
    """

    PREFIX = "video"
    ERROR_KEYS: ClassVar[Mapping[str, str]] = MappingProxyType({"FormatError": "error_format"})

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(translator, parent)
        self._poster = QImage()
        self.setObjectName("videoPlayer")
        self.surface = VideoSurface(self)
        self.loop_box = QCheckBox()
        self.loop_box.setChecked(True)
        self._build_layout()
        guard_wheel(self)
        self._sink: QVideoSink | None = None
        self._create_player()
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ setup

    def _build_layout(self) -> None:
        self.position_slider.setSingleStep(SEEK_STEP_MS // 4)
        self.position_slider.setPageStep(SEEK_STEP_MS)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.position_label)
        controls.addWidget(self.position_slider, 1)
        controls.addWidget(self.duration_label)
        controls.addWidget(self.loop_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.surface, 1)
        layout.addLayout(controls)
        layout.addWidget(self.error_label)
        layout.addWidget(self.hint_label)
        QWidget.setTabOrder(self.play_button, self.position_slider)
        QWidget.setTabOrder(self.position_slider, self.loop_box)

    def _create_player(self) -> None:
        multimedia = import_qt_multimedia()
        player = self._attach(multimedia)
        if player is None or multimedia is None:
            return
        self._sink = multimedia.QVideoSink(self)
        player.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self.loop_box.toggled.connect(self.set_loop)
        self.set_loop(self.loop_box.isChecked())

    def _controls(self) -> tuple[QWidget, ...]:
        return (*super()._controls(), self.loop_box)

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.setAccessibleName(tr("video.player"))
        self.surface.setAccessibleName(tr("video.picture"))
        self.surface.setAccessibleDescription(tr("video.picture_description"))
        self.loop_box.setText(tr("video.loop"))
        self.loop_box.setAccessibleName(tr("video.loop"))
        self.loop_box.setToolTip(tr("video.loop_help"))
        self._retranslate_transport()

    # ------------------------------------------------------------------ state

    @property
    def poster(self) -> QImage:
        """The film's first frame (null when it could not be decoded)."""
        return self._poster

    @property
    def frame(self) -> QImage:
        """The picture shown now: the poster, or the last frame played."""
        return self.surface.image

    @property
    def looping(self) -> bool:
        return self.loop_box.isChecked()

    # ------------------------------------------------------------------ actions

    def load(self, path: Path) -> None:
        """Show the film at ``path``: its first frame now, ready to play."""
        super().load(path)
        self._poster = poster_image(path)
        self.surface.set_image(self._poster)

    def unload(self) -> None:
        """Stop and forget the current film (a new run starts)."""
        self._poster = QImage()
        self.surface.set_image(QImage())
        super().unload()

    def set_loop(self, on: bool) -> None:
        """Repeat the film endlessly (``on``) or play it once."""
        if self.loop_box.isChecked() != on:
            self.loop_box.setChecked(on)  # comes back here through ``toggled``
            return
        multimedia = self._multimedia
        if self._player is not None and multimedia is not None:
            loops = multimedia.QMediaPlayer.Loops
            self._player.setLoops(loops.Infinite.value if on else loops.Once.value)

    def hideEvent(self, event: QHideEvent) -> None:
        """A film left behind (another page, a new run) stops playing where it is."""
        self.pause()
        super().hideEvent(event)

    # ------------------------------------------------------------------ player signals

    def _on_frame(self, frame: QVideoFrame) -> None:
        if self._source is None or self._pending_url is not None or not frame.isValid():
            return
        image = frame.toImage()
        if not image.isNull():
            self.surface.set_image(image)


def show_video_result(
    host: QWidget, translator: Translator, media: Sequence[SavedFile]
) -> VideoPlayer | None:
    """Show the first film of ``media`` in ``host``'s video player (see show_media_result)."""
    return show_media_result(host, translator, media, VideoPlayer, is_video)
