"""AudioPlayer: play a sound or music result, with a seekable waveform.

QtMultimedia (QMediaPlayer + QAudioOutput) plays the file. The transport (play, seek, errors)
is :class:`~.media_player.MediaPlayer`'s; when QtMultimedia cannot be loaded the player
still draws the waveform and says in one line that playback is unavailable here. The
waveform is decoded in a worker thread (:func:`~ai4artsed_desktop.media.waveform.compute_waveform`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

import shiboken6
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...events import SavedFile
from ...media.waveform import Waveform, WaveformError, compute_waveform
from ...tasks import TaskRegistry
from ..i18n import Translator
from ..wheel_guard import guard_wheel
from .media_player import MediaPlayer, import_qt_multimedia, show_media_result

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioOutput

log = logging.getLogger(__name__)

WAVEFORM_BUCKETS = 1200
AUDIO_SUFFIXES = frozenset({".flac", ".mp3", ".ogg", ".oga", ".opus", ".wav", ".m4a", ".aac"})
SEEK_STEP_MS = 5_000
DEFAULT_VOLUME = 80


def is_audio(file: SavedFile) -> bool:
    """True for files the audio player shows (by MIME type, else by suffix)."""
    return file.mime.startswith("audio/") or file.path.suffix.lower() in AUDIO_SUFFIXES


class WaveformView(QWidget):
    """Draws a peak envelope with the play position as a line; clicking seeks.

    Signals:
        seek_requested(float): the user clicked or dragged at this fraction (0..1).
    """

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._peaks: tuple[float, ...] = ()
        self._fraction = 0.0
        self._message = ""
        self.setObjectName("waveform")
        self.setMinimumHeight(72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def peaks(self) -> tuple[float, ...]:
        return self._peaks

    @property
    def fraction(self) -> float:
        """The play position drawn, as a fraction of the length."""
        return self._fraction

    @property
    def message(self) -> str:
        """The text shown instead of a waveform ("" while one is drawn)."""
        return self._message

    def set_peaks(self, peaks: Sequence[float]) -> None:
        self._peaks, self._message = tuple(peaks), ""
        self.update()

    def set_message(self, text: str) -> None:
        """Show ``text`` instead of the waveform (loading, not available)."""
        self._peaks, self._message = (), text
        self.update()

    def set_fraction(self, fraction: float) -> None:
        self._fraction = min(1.0, max(0.0, fraction))
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._peaks:
            self._seek_to(event.position())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self._peaks:
            self._seek_to(event.position())
        super().mouseMoveEvent(event)

    def _seek_to(self, point: QPointF) -> None:
        width = max(1, self.width())
        self.seek_requested.emit(min(1.0, max(0.0, point.x() / width)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if not self._peaks:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            painter.end()
            return
        width, height = self.width(), self.height()
        middle, half = height / 2, max(1.0, height / 2 - 2)
        played_x = self._fraction * width
        played = palette.color(QPalette.ColorRole.Highlight)
        ahead = QColor(played)
        ahead.setAlpha(110)
        count = len(self._peaks)
        for x in range(width):
            first = x * count // width
            last = max(first + 1, (x + 1) * count // width)
            amplitude = max(self._peaks[first:last]) * half
            painter.setPen(played if x < played_x else ahead)
            painter.drawLine(
                QPointF(x + 0.5, middle - amplitude), QPointF(x + 0.5, middle + amplitude)
            )
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Text), 2))
        painter.drawLine(QPointF(played_x, 0), QPointF(played_x, height))
        painter.end()


class AudioPlayer(MediaPlayer):
    """Play / pause, stop, a seek slider with times, volume and the waveform of one file.

    Space toggles play / pause while the player (or a control in it without its own use
    for Space) has focus. Playback errors appear inline below the controls.

    Signals:
        waveform_finished(bool): the waveform for the current file is drawn (True) or
            could not be decoded (False).
    """

    PREFIX = "audio"
    ERROR_KEYS: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "FormatError": "error_format",
            "ResourceError": "error_resource",
            "AccessDeniedError": "error_access",
        }
    )
    waveform_finished = Signal(bool)

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(translator, parent)
        self._waveform: Waveform | None = None
        self._waveform_state = ""  # "", "loading", "failed"
        self._generation = 0
        self._tasks = TaskRegistry("audio-player")
        tasks = self._tasks  # not self: the lambda must not touch the dying widget
        self.destroyed.connect(lambda *_: _cancel_all(tasks))
        self.setObjectName("audioPlayer")
        self.waveform_view = WaveformView(self)
        self.stop_button = QPushButton()
        self.volume_label = QLabel()
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self._build_layout()
        guard_wheel(self)  # built after the window: the seek and volume sliders need it too
        self._output: QAudioOutput | None = None
        self._create_player()
        self.waveform_view.seek_requested.connect(self._seek_fraction)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ setup

    def _build_layout(self) -> None:
        self.position_slider.setSingleStep(1000)
        self.position_slider.setPageStep(SEEK_STEP_MS)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(DEFAULT_VOLUME)
        self.volume_slider.setMaximumWidth(120)
        # The seek bar has a row of its own, so it is never squeezed to a dot.
        seek = QHBoxLayout()
        seek.addWidget(self.position_label)
        seek.addWidget(self.position_slider, 1)
        seek.addWidget(self.duration_label)
        controls = QHBoxLayout()
        for widget in (self.play_button, self.stop_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.volume_label)
        controls.addWidget(self.volume_slider)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.waveform_view, 1)
        layout.addLayout(seek)
        layout.addLayout(controls)
        layout.addWidget(self.error_label)
        layout.addWidget(self.hint_label)
        QWidget.setTabOrder(self.play_button, self.stop_button)
        QWidget.setTabOrder(self.stop_button, self.position_slider)
        QWidget.setTabOrder(self.position_slider, self.volume_slider)

    def _create_player(self) -> None:
        multimedia = import_qt_multimedia()
        player = self._attach(multimedia)
        if player is None or multimedia is None:
            return
        self._output = multimedia.QAudioOutput(self)
        player.setAudioOutput(self._output)
        self._output.setVolume(DEFAULT_VOLUME / 100)
        self.stop_button.clicked.connect(self.stop)
        self.volume_slider.valueChanged.connect(self._on_volume)

    def _controls(self) -> tuple[QWidget, ...]:
        return (*super()._controls(), self.stop_button, self.volume_label, self.volume_slider)

    def _ready_controls(self) -> tuple[QWidget, ...]:
        return (*super()._ready_controls(), self.stop_button)

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.stop_button.setText(tr("audio.stop"))
        self.stop_button.setAccessibleName(tr("audio.stop"))
        self.volume_label.setText(tr("audio.volume"))
        self.volume_slider.setAccessibleName(tr("audio.volume"))
        self.waveform_view.setAccessibleName(tr("audio.waveform"))
        self.waveform_view.setAccessibleDescription(tr("audio.waveform_description"))
        self.setAccessibleName(tr("audio.player"))
        self._retranslate_transport()
        if self._waveform_state:
            self.waveform_view.set_message(self._waveform_message())

    # ------------------------------------------------------------------ state

    @property
    def waveform(self) -> Waveform | None:
        return self._waveform

    # ------------------------------------------------------------------ actions

    def load(self, path: Path) -> None:
        """Show ``path``: stop what plays, load it and start decoding its waveform."""
        super().load(path)
        self._start_waveform(path)

    def unload(self) -> None:
        """Stop and forget the current file (a new run starts)."""
        self._generation += 1
        _cancel_all(self._tasks)  # a waveform still decoding is no longer wanted
        self._waveform, self._waveform_state = None, ""
        self.waveform_view.set_message("")
        self.waveform_view.set_fraction(0.0)
        super().unload()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    # ------------------------------------------------------------------ player signals

    def _seek_fraction(self, fraction: float) -> None:
        self.seek(round(fraction * self.duration_ms))

    def _on_position(self, position: int) -> None:
        super()._on_position(position)
        played = 0 if self._pending_url is not None else position
        duration = self.duration_ms
        self.waveform_view.set_fraction(played / duration if duration > 0 else 0.0)

    def _on_volume(self, value: int) -> None:
        if self._output is not None:
            self._output.setVolume(value / 100)

    # ------------------------------------------------------------------ waveform

    def _start_waveform(self, path: Path) -> None:
        generation = self._generation
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no qasync loop (a bare widget): no waveform, playback still works
            self._waveform_state = "failed"
            self.waveform_view.set_message(self._waveform_message())
            return
        self._waveform_state = "loading"
        self.waveform_view.set_message(self._waveform_message())
        self._tasks.spawn(self._load_waveform(path, generation), name="audio-waveform")

    async def _load_waveform(self, path: Path, generation: int) -> None:
        try:
            result: Waveform | None = await asyncio.to_thread(
                compute_waveform, path, WAVEFORM_BUCKETS
            )
        except WaveformError as exc:
            log.info("No waveform for %s: %s", path, exc.detail)
            result = None
        if generation != self._generation or not shiboken6.isValid(self):
            return
        self._waveform = result
        if result is None:
            self._waveform_state = "failed"
            self.waveform_view.set_message(self._waveform_message())
        else:
            self._waveform_state = ""
            self.waveform_view.set_peaks(result.peaks)
        self.waveform_finished.emit(result is not None)

    def _waveform_message(self) -> str:
        if self._waveform_state == "loading":
            return self._tr.tr("audio.waveform_loading")
        return self._tr.tr("audio.waveform_unavailable")


def _cancel_all(tasks: TaskRegistry) -> None:
    for task in tasks.tasks:
        task.cancel()


def show_audio_result(
    host: QWidget, translator: Translator, media: Sequence[SavedFile]
) -> AudioPlayer | None:
    """Show the first audio file of ``media`` in ``host``'s player (see show_media_result)."""
    return show_media_result(host, translator, media, AudioPlayer, is_audio)
