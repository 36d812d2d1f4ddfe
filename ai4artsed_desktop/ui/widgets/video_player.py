"""VideoPlayer: play a film result, with its first frame as the poster, repeat and seeking.

QtMultimedia's QMediaPlayer decodes the file into a QVideoSink; the frames are painted by a
plain widget (:class:`VideoSurface`), so the film also shows where no GPU window can be made
(remote desktops, the offscreen test platform) and the picture can be grabbed. Before it
plays, the surface shows the film's first frame, decoded by PyAV. When QtMultimedia cannot
be loaded, the first frame stays and one line says that playback is unavailable here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QHideEvent,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...events import SavedFile
from ...store.video import first_frame
from ..i18n import Translator
from ..wheel_guard import guard_wheel
from .audio_player import format_time, import_qt_multimedia

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mkv", ".mov", ".m4v"})
SEEK_STEP_MS = 1_000
_ERROR_COLOUR = "#b42318"


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


class VideoPlayer(QWidget):
    """The film with play / pause, a seek slider with times and a repeat switch.

    Space toggles play / pause while the player (or a control in it without its own use for
    Space) has focus. Repeat is on at first: a short clip plays round and round.
    """

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = translator
        self._source: Path | None = None
        self._poster = QImage()
        self._error_key = ""
        self._pending_url: QUrl | None = None
        self.setObjectName("videoPlayer")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.surface = VideoSurface(self)
        self.play_button = QPushButton()
        self.position_label = QLabel(format_time(0))
        self.position_slider = QSlider(Qt.Orientation.Horizontal)
        self.duration_label = QLabel(format_time(0))
        self.loop_box = QCheckBox()
        self.loop_box.setChecked(True)
        self.error_label = QLabel()
        self.hint_label = QLabel()
        self._build_layout()
        guard_wheel(self)
        self._player: QMediaPlayer | None = None
        self._sink: QVideoSink | None = None
        self._create_player()
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._update_controls()

    # ------------------------------------------------------------------ setup

    def _build_layout(self) -> None:
        self.position_slider.setSingleStep(SEEK_STEP_MS // 4)
        self.position_slider.setPageStep(SEEK_STEP_MS)
        self.position_slider.setMinimumWidth(160)
        for label in (self.error_label, self.hint_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()
        self.hint_label.setObjectName("hint")
        self.error_label.setObjectName("videoError")
        palette = self.error_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(_ERROR_COLOUR))
        self.error_label.setPalette(palette)
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
        if multimedia is None:
            for widget in (self.play_button, self.position_slider, self.loop_box):
                widget.hide()
            for label in (self.position_label, self.duration_label):
                label.hide()
            self.hint_label.show()
            return
        self._player = multimedia.QMediaPlayer(self)
        self._sink = multimedia.QVideoSink(self)
        self._player.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._player.durationChanged.connect(self._on_duration)
        self._player.positionChanged.connect(self._on_position)
        self._player.playbackStateChanged.connect(lambda _state: self._update_controls())
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.errorOccurred.connect(self._on_error)
        self.play_button.clicked.connect(self.toggle_play)
        self.position_slider.valueChanged.connect(self.seek)
        self.loop_box.toggled.connect(self.set_loop)
        self.set_loop(self.loop_box.isChecked())

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.setAccessibleName(tr("video.player"))
        self.surface.setAccessibleName(tr("video.picture"))
        self.surface.setAccessibleDescription(tr("video.picture_description"))
        self.position_slider.setAccessibleName(tr("video.position"))
        self.position_label.setAccessibleName(tr("video.elapsed"))
        self.duration_label.setAccessibleName(tr("video.duration"))
        self.loop_box.setText(tr("video.loop"))
        self.loop_box.setAccessibleName(tr("video.loop"))
        self.loop_box.setToolTip(tr("video.loop_help"))
        self.error_label.setAccessibleName(tr("video.error_accessible"))
        self.hint_label.setText(tr("video.unavailable"))
        self.hint_label.setAccessibleName(tr("video.unavailable"))
        if self._error_key:
            self.error_label.setText(tr(self._error_key))
        self._update_controls()

    # ------------------------------------------------------------------ state

    @property
    def available(self) -> bool:
        """Whether playback works on this computer (QtMultimedia loaded)."""
        return self._player is not None

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def poster(self) -> QImage:
        """The film's first frame (null when it could not be decoded)."""
        return self._poster

    @property
    def frame(self) -> QImage:
        """The picture shown now: the poster, or the last frame played."""
        return self.surface.image

    @property
    def duration_ms(self) -> int:
        if self._player is None or self._pending_url is not None:
            return 0
        return self._player.duration()

    @property
    def position_ms(self) -> int:
        return self._player.position() if self._player is not None else 0

    @property
    def is_playing(self) -> bool:
        return self._player is not None and self._player.isPlaying()

    @property
    def looping(self) -> bool:
        return self.loop_box.isChecked()

    @property
    def error_text(self) -> str:
        """The inline error shown now ("" when none)."""
        return self.error_label.text() if self._error_key else ""

    @property
    def player(self) -> QMediaPlayer | None:
        """The underlying QMediaPlayer (None when playback is unavailable)."""
        return self._player

    # ------------------------------------------------------------------ actions

    def load(self, path: Path) -> None:
        """Show the film at ``path``: its first frame now, ready to play."""
        self.unload()
        self._source = path
        self._poster = poster_image(path)
        self.surface.set_image(self._poster)
        self._set_player_source(QUrl.fromLocalFile(str(path)))

    def unload(self) -> None:
        """Stop and forget the current film (a new run starts)."""
        self._source, self._poster = None, QImage()
        self.surface.set_image(QImage())
        self._set_error("")
        if self._player is not None:
            self._player.stop()
            self._set_player_source(QUrl())
        self._on_duration(0)
        self._on_position(0)

    def toggle_play(self) -> None:
        player = self._player
        if player is None or self._source is None or self._error_key:
            return
        if player.isPlaying():
            player.pause()
        else:
            player.play()

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def seek(self, ms: int) -> None:
        """Jump to ``ms`` milliseconds (clamped to the length)."""
        if self._player is not None and self._player.isSeekable():
            self._player.setPosition(max(0, min(ms, self.duration_ms)))

    def set_loop(self, on: bool) -> None:
        """Repeat the film endlessly (``on``) or play it once."""
        if self.loop_box.isChecked() != on:
            self.loop_box.setChecked(on)  # comes back here through ``toggled``
            return
        multimedia = import_qt_multimedia()
        if self._player is not None and multimedia is not None:
            loops = multimedia.QMediaPlayer.Loops
            self._player.setLoops(loops.Infinite.value if on else loops.Once.value)

    def hideEvent(self, event: QHideEvent) -> None:
        """A film left behind (another page, a new run) stops playing where it is."""
        self.pause()
        super().hideEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self.available:
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ player signals

    def _set_player_source(self, url: QUrl) -> None:
        """Switch the player's file; while one is still opening, wait until it is open.

        Interrupting an open makes QtMultimedia log a warning ("Immediate exit requested")
        and can report the old file's duration or error for the new one.
        """
        player = self._player
        multimedia = import_qt_multimedia()
        if player is None or multimedia is None:
            return
        if player.mediaStatus() == multimedia.QMediaPlayer.MediaStatus.LoadingMedia:
            self._pending_url = url
            return
        self._pending_url = None
        player.setSource(url)

    def _on_frame(self, frame: QVideoFrame) -> None:
        if self._source is None or self._pending_url is not None or not frame.isValid():
            return
        image = frame.toImage()
        if not image.isNull():
            self.surface.set_image(image)

    def _on_duration(self, duration: int) -> None:
        duration = 0 if self._pending_url is not None else duration  # the film we are leaving
        self.position_slider.blockSignals(True)
        self.position_slider.setRange(0, max(0, duration))
        self.position_slider.blockSignals(False)
        self.duration_label.setText(format_time(duration))
        self._update_controls()

    def _on_position(self, position: int) -> None:
        if not self.position_slider.isSliderDown():
            self.position_slider.blockSignals(True)
            self.position_slider.setValue(position)
            self.position_slider.blockSignals(False)
        self.position_label.setText(format_time(position))

    def _on_status(self, status: object) -> None:
        multimedia = import_qt_multimedia()
        statuses = multimedia.QMediaPlayer.MediaStatus if multimedia is not None else None
        if self._pending_url is not None:
            if statuses is not None and status != statuses.LoadingMedia:
                self._set_player_source(self._pending_url)
            return
        if statuses is not None and status == statuses.InvalidMedia and not self._error_key:
            self._set_error("video.error_other")
        self._update_controls()

    def _on_error(self, error: object, detail: str) -> None:
        multimedia = import_qt_multimedia()
        if multimedia is None or error == multimedia.QMediaPlayer.Error.NoError:
            return
        if self._source is None or self._pending_url is not None:  # about the film we left
            return
        errors = multimedia.QMediaPlayer.Error
        key = "video.error_format" if error == errors.FormatError else "video.error_other"
        log.info("Video player error for %s: %s (%s)", self._source, detail, error)
        self._set_error(key, detail)

    def _set_error(self, key: str, detail: str = "") -> None:
        self._error_key = key
        self.error_label.setText(self._tr.tr(key) if key else "")
        self.error_label.setToolTip(detail)
        self.error_label.setVisible(bool(key))
        self._update_controls()

    def _update_controls(self) -> None:
        ready = self._source is not None and not self._error_key and self.duration_ms > 0
        self.play_button.setEnabled(ready)
        self.position_slider.setEnabled(ready)
        text = self._tr.tr("video.pause") if self.is_playing else self._tr.tr("video.play")
        self.play_button.setText(text)
        self.play_button.setAccessibleName(text)


def show_video_result(
    host: QWidget, translator: Translator, media: Sequence[SavedFile]
) -> VideoPlayer | None:
    """Show the first film of ``media`` in ``host``'s video player, created on first use.

    The player is inserted into ``host``'s box layout right after its first item; with no
    film in ``media`` an existing player is stopped and hidden.
    """
    film = next((m for m in media if is_video(m)), None)
    player = host.findChild(VideoPlayer, "videoPlayer", Qt.FindChildOption.FindDirectChildrenOnly)
    if film is None:
        if player is not None:
            player.unload()
            player.hide()
        return None
    if player is None:
        player = VideoPlayer(translator, host)
        layout = host.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(min(1, layout.count()), player, 1)
    player.load(film.path)
    player.show()
    return player
