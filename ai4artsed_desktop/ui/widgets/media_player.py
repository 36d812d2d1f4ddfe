"""MediaPlayer: the transport both result players share (sound and film).

Play / pause, a seek slider with times, Space to toggle, inline errors in the UI language
and a hint where playback is unavailable. QtMultimedia needs system libraries that are not
on every computer (on Linux ``libpulse.so.0``); :func:`import_qt_multimedia` loads it once
and logs why when it cannot. :func:`show_media_result` puts a player into a result view.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar, TypeVar

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QKeyEvent, QPalette
from PySide6.QtWidgets import QBoxLayout, QLabel, QPushButton, QSlider, QWidget

from ...events import SavedFile
from ..i18n import Translator

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QMediaPlayer

log = logging.getLogger(__name__)

_ERROR_COLOUR = "#b42318"


@functools.cache
def import_qt_multimedia() -> ModuleType | None:
    """``PySide6.QtMultimedia``, or None when it cannot be loaded here (logged once)."""
    try:
        return importlib.import_module("PySide6.QtMultimedia")
    except ImportError as exc:
        log.warning("Playback unavailable, QtMultimedia cannot be loaded: %s", exc)
        return None


def format_time(ms: int) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour on) for a position in milliseconds."""
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class MediaPlayer(QWidget):
    """The shared transport; a subclass adds its picture, extra controls and layout.

    A subclass sets :attr:`PREFIX` (its catalogue keys: ``<prefix>.play``, ``.pause``,
    ``.error_other``, ...) and :attr:`ERROR_KEYS`, builds its layout from the widgets made
    here, then calls :meth:`_attach` with the QtMultimedia module (None: unavailable).
    """

    PREFIX: ClassVar[str] = ""
    #: ``QMediaPlayer.Error`` member name -> key suffix; other errors say ``error_other``.
    ERROR_KEYS: ClassVar[Mapping[str, str]] = {}

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = translator
        self._source: Path | None = None
        self._error_key = ""
        self._pending_url: QUrl | None = None
        self._multimedia: ModuleType | None = None
        self._player: QMediaPlayer | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.play_button = QPushButton()
        self.position_label = QLabel(format_time(0))
        self.position_slider = QSlider(Qt.Orientation.Horizontal)
        self.position_slider.setMinimumWidth(160)  # never squeezed to a dot
        self.duration_label = QLabel(format_time(0))
        self.error_label = QLabel()
        self.hint_label = QLabel()
        for label in (self.error_label, self.hint_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.hide()
        self.hint_label.setObjectName("hint")
        self.error_label.setObjectName(f"{self.PREFIX}Error")
        palette = self.error_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(_ERROR_COLOUR))
        self.error_label.setPalette(palette)

    def _attach(self, multimedia: ModuleType | None) -> QMediaPlayer | None:
        """Create the QMediaPlayer and wire the transport; return it for more wiring.

        Without QtMultimedia (``multimedia`` None) hide the controls and show the hint.
        """
        self._multimedia = multimedia
        if multimedia is None:
            for widget in self._controls():
                widget.hide()
            self.hint_label.show()
            return None
        player: QMediaPlayer = multimedia.QMediaPlayer(self)
        self._player = player
        player.durationChanged.connect(self._on_duration)
        player.positionChanged.connect(self._on_position)
        player.playbackStateChanged.connect(lambda _state: self._update_controls())
        player.mediaStatusChanged.connect(self._on_status)
        player.errorOccurred.connect(self._on_error)
        self.play_button.clicked.connect(self.toggle_play)
        self.position_slider.valueChanged.connect(self.seek)
        return player

    def _controls(self) -> tuple[QWidget, ...]:
        """The widgets hidden when playback is unavailable."""
        return (self.play_button, self.position_label, self.position_slider, self.duration_label)

    def _ready_controls(self) -> tuple[QWidget, ...]:
        """The widgets enabled only while a file is loaded and playable."""
        return (self.play_button, self.position_slider)

    def _retranslate_transport(self) -> None:
        tr = self._tr.tr
        self.position_slider.setAccessibleName(tr(f"{self.PREFIX}.position"))
        self.position_label.setAccessibleName(tr(f"{self.PREFIX}.elapsed"))
        self.duration_label.setAccessibleName(tr(f"{self.PREFIX}.duration"))
        self.error_label.setAccessibleName(tr(f"{self.PREFIX}.error_accessible"))
        self.hint_label.setText(tr(f"{self.PREFIX}.unavailable"))
        self.hint_label.setAccessibleName(tr(f"{self.PREFIX}.unavailable"))
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
    def error_text(self) -> str:
        """The inline error shown now ("" when none)."""
        return self.error_label.text() if self._error_key else ""

    @property
    def player(self) -> QMediaPlayer | None:
        """The underlying QMediaPlayer (None when playback is unavailable)."""
        return self._player

    # ------------------------------------------------------------------ actions

    def load(self, path: Path) -> None:
        """Show ``path``: stop what plays, forget it and open ``path`` in the player."""
        self.unload()
        self._source = path
        self._set_player_source(QUrl.fromLocalFile(str(path)))

    def unload(self) -> None:
        """Stop and forget the current file (a new run starts)."""
        self._source = None
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
        """Hold where it is (a second press of Play goes on from there)."""
        if self._player is not None:
            self._player.pause()

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

    def _set_player_source(self, url: QUrl) -> None:
        """Switch the player's file; while one is still opening, wait until it is open.

        Interrupting an open makes QtMultimedia log a warning ("Immediate exit requested")
        and can report the old file's duration or error for the new one.
        """
        player, multimedia = self._player, self._multimedia
        if player is None or multimedia is None:
            return
        if player.mediaStatus() == multimedia.QMediaPlayer.MediaStatus.LoadingMedia:
            self._pending_url = url
            return
        self._pending_url = None
        player.setSource(url)

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

    def _on_status(self, status: object) -> None:
        multimedia = self._multimedia
        statuses = multimedia.QMediaPlayer.MediaStatus if multimedia is not None else None
        if self._pending_url is not None:
            if statuses is not None and status != statuses.LoadingMedia:
                self._set_player_source(self._pending_url)
            return
        if statuses is not None and status == statuses.InvalidMedia and not self._error_key:
            self._set_error(f"{self.PREFIX}.error_other")
        self._update_controls()

    def _on_error(self, error: object, detail: str) -> None:
        multimedia = self._multimedia
        if multimedia is None or error == multimedia.QMediaPlayer.Error.NoError:
            return
        if self._source is None or self._pending_url is not None:  # about the file we left
            return
        name = getattr(error, "name", "")
        key = f"{self.PREFIX}.{self.ERROR_KEYS.get(name, 'error_other')}"
        log.info("%s player error for %s: %s (%s)", self.PREFIX, self._source, detail, error)
        self._set_error(key, detail)

    def _set_error(self, key: str, detail: str = "") -> None:
        self._error_key = key
        self.error_label.setText(self._tr.tr(key) if key else "")
        self.error_label.setToolTip(detail)
        self.error_label.setVisible(bool(key))
        self._update_controls()

    def _update_controls(self) -> None:
        ready = self._source is not None and not self._error_key and self.duration_ms > 0
        for widget in self._ready_controls():
            widget.setEnabled(ready)
        key = f"{self.PREFIX}.pause" if self.is_playing else f"{self.PREFIX}.play"
        self.play_button.setText(self._tr.tr(key))
        self.play_button.setAccessibleName(self.play_button.text())


P = TypeVar("P", bound=MediaPlayer)


def show_media_result(
    host: QWidget,
    translator: Translator,
    media: Sequence[SavedFile],
    kind: type[P],
    shows: Callable[[SavedFile], bool],
) -> P | None:
    """Show the first file of ``media`` that ``shows`` accepts in ``host``'s ``kind`` player.

    The player is created on first use and inserted into ``host``'s box layout right after
    its first item; with no such file in ``media`` an existing player is stopped and hidden.
    """
    file = next((m for m in media if shows(m)), None)
    player = host.findChild(kind, options=Qt.FindChildOption.FindDirectChildrenOnly)
    if file is None:
        if player is not None:
            player.unload()
            player.hide()
        return None
    if player is None:
        player = kind(translator, host)
        layout = host.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(min(1, layout.count()), player, 1)
    player.load(file.path)
    player.show()
    return player
