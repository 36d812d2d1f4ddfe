"""AudioPlayer: play a sound or music result, with a seekable waveform.

QtMultimedia (QMediaPlayer + QAudioOutput) plays the file. It needs system libraries that
are not on every computer (on Linux ``libpulse.so.0``); when it cannot be imported the player
still draws the waveform and says in one line that playback is unavailable here, and the
reason is logged once. The waveform is decoded in a worker thread
(:func:`~ai4artsed_desktop.media.waveform.compute_waveform`).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QPointF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QBoxLayout,
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

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

log = logging.getLogger(__name__)

WAVEFORM_BUCKETS = 1200
AUDIO_SUFFIXES = frozenset({".flac", ".mp3", ".ogg", ".oga", ".opus", ".wav", ".m4a", ".aac"})
SEEK_STEP_MS = 5_000
DEFAULT_VOLUME = 80
_ERROR_COLOUR = "#b42318"


@functools.cache
def import_qt_multimedia() -> ModuleType | None:
    """``PySide6.QtMultimedia``, or None when it cannot be loaded here (logged once)."""
    try:
        return importlib.import_module("PySide6.QtMultimedia")
    except ImportError as exc:
        log.warning("Audio playback unavailable, QtMultimedia cannot be loaded: %s", exc)
        return None


def is_audio(file: SavedFile) -> bool:
    """True for files the audio player shows (by MIME type, else by suffix)."""
    return file.mime.startswith("audio/") or file.path.suffix.lower() in AUDIO_SUFFIXES


def format_time(ms: int) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour on) for a position in milliseconds."""
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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


class AudioPlayer(QWidget):
    """Play / pause, stop, a seek slider with times, volume and the waveform of one file.

    Space toggles play / pause while the player (or a control in it without its own use
    for Space) has focus. Playback errors appear inline below the controls.

    Signals:
        waveform_finished(bool): the waveform for the current file is drawn (True) or
            could not be decoded (False).
    """

    waveform_finished = Signal(bool)

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = translator
        self._source: Path | None = None
        self._waveform: Waveform | None = None
        self._waveform_state = ""  # "", "loading", "failed"
        self._generation = 0
        self._error_key = ""
        self._pending_url: QUrl | None = None
        self._tasks = TaskRegistry("audio-player")
        tasks = self._tasks  # not self: the lambda must not touch the dying widget
        self.destroyed.connect(lambda *_: _cancel_all(tasks))
        self.setObjectName("audioPlayer")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.waveform_view = WaveformView(self)
        self.play_button = QPushButton()
        self.stop_button = QPushButton()
        self.position_label = QLabel(format_time(0))
        self.position_slider = QSlider(Qt.Orientation.Horizontal)
        self.duration_label = QLabel(format_time(0))
        self.volume_label = QLabel()
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.error_label = QLabel()
        self.hint_label = QLabel()
        self._build_layout()
        guard_wheel(self)  # built after the window: the seek and volume sliders need it too
        self._player: QMediaPlayer | None = None
        self._output: QAudioOutput | None = None
        self._create_player()
        self.waveform_view.seek_requested.connect(self._seek_fraction)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._update_controls()

    # ------------------------------------------------------------------ setup

    def _build_layout(self) -> None:
        self.position_slider.setSingleStep(1000)
        self.position_slider.setPageStep(SEEK_STEP_MS)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(DEFAULT_VOLUME)
        self.volume_slider.setMaximumWidth(120)
        for label in (self.error_label, self.hint_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()
        self.hint_label.setObjectName("hint")
        self.error_label.setObjectName("audioError")
        palette = self.error_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(_ERROR_COLOUR))
        self.error_label.setPalette(palette)
        # The seek bar has a row of its own, so it is never squeezed to a dot.
        self.position_slider.setMinimumWidth(160)
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
        if multimedia is None:
            for widget in self._control_widgets():
                widget.hide()
            self.hint_label.show()
            return
        self._player = multimedia.QMediaPlayer(self)
        self._output = multimedia.QAudioOutput(self)
        self._player.setAudioOutput(self._output)
        self._output.setVolume(DEFAULT_VOLUME / 100)
        self._player.durationChanged.connect(self._on_duration)
        self._player.positionChanged.connect(self._on_position)
        self._player.playbackStateChanged.connect(lambda _state: self._update_controls())
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.errorOccurred.connect(self._on_error)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(self.stop)
        self.position_slider.valueChanged.connect(self.seek)
        self.volume_slider.valueChanged.connect(self._on_volume)

    def _control_widgets(self) -> tuple[QWidget, ...]:
        return (
            self.play_button,
            self.stop_button,
            self.position_label,
            self.position_slider,
            self.duration_label,
            self.volume_label,
            self.volume_slider,
        )

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.play_button.setText(tr("audio.pause") if self.is_playing else tr("audio.play"))
        self.play_button.setAccessibleName(self.play_button.text())
        self.stop_button.setText(tr("audio.stop"))
        self.stop_button.setAccessibleName(tr("audio.stop"))
        self.position_slider.setAccessibleName(tr("audio.position"))
        self.position_label.setAccessibleName(tr("audio.elapsed"))
        self.duration_label.setAccessibleName(tr("audio.duration"))
        self.volume_label.setText(tr("audio.volume"))
        self.volume_slider.setAccessibleName(tr("audio.volume"))
        self.waveform_view.setAccessibleName(tr("audio.waveform"))
        self.waveform_view.setAccessibleDescription(tr("audio.waveform_description"))
        self.error_label.setAccessibleName(tr("audio.error_accessible"))
        self.hint_label.setText(tr("audio.unavailable"))
        self.hint_label.setAccessibleName(tr("audio.unavailable"))
        self.setAccessibleName(tr("audio.player"))
        if self._error_key:
            self.error_label.setText(self._error_text(self._error_key))
        if self._waveform_state:
            self.waveform_view.set_message(self._waveform_message())

    # ------------------------------------------------------------------ state

    @property
    def available(self) -> bool:
        """Whether playback works on this computer (QtMultimedia loaded)."""
        return self._player is not None

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def waveform(self) -> Waveform | None:
        return self._waveform

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
        player = self._player
        return player is not None and player.isPlaying()

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
        """Show ``path``: stop what plays, load it and start decoding its waveform."""
        self.unload()
        self._source = path
        if self._player is not None:
            self._set_player_source(QUrl.fromLocalFile(str(path)))
        self._start_waveform(path)

    def unload(self) -> None:
        """Stop and forget the current file (a new run starts)."""
        self._generation += 1
        _cancel_all(self._tasks)  # a waveform still decoding is no longer wanted
        self._source, self._waveform, self._waveform_state = None, None, ""
        self._set_error("")
        self.waveform_view.set_message("")
        self.waveform_view.set_fraction(0.0)
        if self._player is not None:
            self._player.stop()
            self._set_player_source(QUrl())
        self._on_duration(0)
        self._on_position(0)

    def toggle_play(self) -> None:
        player = self._player
        if player is None or self._source is None:
            return
        if player.isPlaying():
            player.pause()
        else:
            player.play()

    def pause(self) -> None:
        """Hold the sound where it is (a second press of Play goes on from there)."""
        if self._player is not None:
            self._player.pause()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def seek(self, ms: int) -> None:
        """Jump to ``ms`` milliseconds (clamped to the length)."""
        if self._player is not None and self._player.isSeekable():
            self._player.setPosition(max(0, min(ms, self.duration_ms)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self.available:
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ player signals

    def _seek_fraction(self, fraction: float) -> None:
        self.seek(round(fraction * self.duration_ms))

    def _on_duration(self, duration: int) -> None:
        duration = 0 if self._pending_url is not None else duration  # the file we are leaving
        self.position_slider.blockSignals(True)
        self.position_slider.setRange(0, max(0, duration))
        self.position_slider.blockSignals(False)
        self.duration_label.setText(format_time(duration))
        self._update_controls()

    def _on_position(self, position: int) -> None:
        position = 0 if self._pending_url is not None else position
        if not self.position_slider.isSliderDown():
            self.position_slider.blockSignals(True)
            self.position_slider.setValue(position)
            self.position_slider.blockSignals(False)
        self.position_label.setText(format_time(position))
        duration = self.duration_ms
        self.waveform_view.set_fraction(position / duration if duration > 0 else 0.0)

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

    def _on_status(self, status: object) -> None:
        multimedia = import_qt_multimedia()
        if self._pending_url is not None:
            if (
                multimedia is not None
                and status != multimedia.QMediaPlayer.MediaStatus.LoadingMedia
            ):
                self._set_player_source(self._pending_url)
            return
        invalid = multimedia is not None and (
            status == multimedia.QMediaPlayer.MediaStatus.InvalidMedia
        )
        if invalid and not self._error_key:
            self._set_error("audio.error_other")
        self._update_controls()

    def _on_error(self, error: object, detail: str) -> None:
        multimedia = import_qt_multimedia()
        if multimedia is None or error == multimedia.QMediaPlayer.Error.NoError:
            return
        if self._pending_url is not None:  # about the file we are leaving
            return
        errors = multimedia.QMediaPlayer.Error
        key = {
            errors.FormatError: "audio.error_format",
            errors.ResourceError: "audio.error_resource",
            errors.AccessDeniedError: "audio.error_access",
        }.get(error, "audio.error_other")
        log.info("Audio player error for %s: %s (%s)", self._source, detail, error)
        self._set_error(key, detail)

    def _on_volume(self, value: int) -> None:
        if self._output is not None:
            self._output.setVolume(value / 100)

    def _set_error(self, key: str, detail: str = "") -> None:
        self._error_key = key
        self.error_label.setText(self._error_text(key) if key else "")
        self.error_label.setToolTip(detail)
        self.error_label.setVisible(bool(key))
        self._update_controls()

    def _error_text(self, key: str) -> str:
        tr = self._tr.tr
        texts = {
            "audio.error_format": tr("audio.error_format"),
            "audio.error_resource": tr("audio.error_resource"),
            "audio.error_access": tr("audio.error_access"),
        }
        return texts.get(key) or tr("audio.error_other")

    def _update_controls(self) -> None:
        ready = self._source is not None and not self._error_key and self.duration_ms > 0
        self.play_button.setEnabled(ready)
        self.stop_button.setEnabled(ready)
        self.position_slider.setEnabled(ready)
        playing = self.is_playing
        text = self._tr.tr("audio.pause") if playing else self._tr.tr("audio.play")
        self.play_button.setText(text)
        self.play_button.setAccessibleName(text)

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
    """Show the first audio file of ``media`` in ``host``'s player, created on first use.

    The player is inserted into ``host``'s box layout right after its first item; with no
    audio file in ``media`` an existing player is stopped and hidden.
    """
    audio = next((m for m in media if is_audio(m)), None)
    player = host.findChild(AudioPlayer, "audioPlayer", Qt.FindChildOption.FindDirectChildrenOnly)
    if audio is None:
        if player is not None:
            player.unload()
            player.hide()
        return None
    if player is None:
        player = AudioPlayer(translator, host)
        layout = host.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(min(1, layout.count()), player, 1)
    player.load(audio.path)
    player.show()
    return player
