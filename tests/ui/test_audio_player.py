"""AudioPlayer: loading, duration, seeking, state changes, inline errors, the fallback.

Offscreen there is no sound server: QtMultimedia still decodes and keeps time with the system
clock, so loading, duration, seeking and state changes are deterministic; what is heard is not
checked here.
"""

from __future__ import annotations

import importlib
import logging
import math
from array import array
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ai4artsed_desktop.events import SavedFile
from ai4artsed_desktop.simulators.comfy_flac import encode_flac
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.widgets import audio_player, media_player
from ai4artsed_desktop.ui.widgets.audio_player import (
    WAVEFORM_BUCKETS,
    AudioPlayer,
    WaveformView,
    show_audio_result,
)
from ai4artsed_desktop.ui.widgets.media_player import format_time

RATE = 44100

# Errors we provoke on purpose (broken and missing files) reach Qt's log as warnings.
PROVOKED = (
    "Could not open media",
    "Failed to seek",
)


@pytest.fixture
def flac_file(tmp_path: Path) -> Path:
    """Two seconds of a 440 Hz tone at half scale, stereo, as the ComfyUI simulator writes it."""
    tone = array(
        "h", [round(16384 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(2 * RATE)]
    )
    path = tmp_path / "ComfyUI_00001_.flac"
    path.write_bytes(encode_flac([tone, tone], RATE, {"prompt": "{}"}))
    return path


@pytest.fixture
def tr() -> Translator:
    return Translator("en")


def _player(qtbot: Any, translator: Translator) -> AudioPlayer:
    player = AudioPlayer(translator)
    qtbot.addWidget(player)
    player.resize(600, 200)
    player.show()
    return player


def _load(qtbot: Any, player: AudioPlayer, path: Path, *, drawn: bool = True) -> None:
    with qtbot.waitSignal(player.waveform_finished, timeout=10_000) as finished:
        player.load(path)
    assert finished.args == [drawn]


def test_loads_a_flac_result_reports_duration_and_draws_waveform(
    qloop: Any, qtbot: Any, tr: Translator, flac_file: Path
) -> None:
    player = _player(qtbot, tr)
    assert player.available
    assert not player.play_button.isEnabled()

    _load(qtbot, player, flac_file)
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)

    assert player.source == flac_file
    assert player.duration_label.text() == "0:02"
    assert player.position_slider.maximum() == 2000
    assert player.play_button.isEnabled()
    assert player.error_text == ""
    assert player.waveform is not None
    assert len(player.waveform_view.peaks) == WAVEFORM_BUCKETS
    assert max(player.waveform_view.peaks) == pytest.approx(0.5, abs=0.01)


def test_seek_by_slider_call_and_waveform_click(
    qloop: Any, qtbot: Any, tr: Translator, flac_file: Path
) -> None:
    player = _player(qtbot, tr)
    _load(qtbot, player, flac_file)
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)

    player.seek(1000)
    assert player.position_ms == 1000
    assert player.position_label.text() == "0:01"
    assert player.position_slider.value() == 1000
    assert player.waveform_view.fraction == pytest.approx(0.5)

    player.position_slider.setValue(1500)  # what keyboard and mouse on the slider do
    assert player.position_ms == 1500

    view = player.waveform_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() // 4, 10))
    assert player.position_ms == pytest.approx(500, abs=2000 / view.width() + 1)

    player.seek(99_999)  # clamped to the length
    assert player.position_ms == 2000


def test_play_pause_stop_and_space(qloop: Any, qtbot: Any, tr: Translator, flac_file: Path) -> None:
    player = _player(qtbot, tr)
    _load(qtbot, player, flac_file)
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)

    player.play_button.click()
    qtbot.waitUntil(lambda: player.is_playing, timeout=5000)
    assert player.play_button.text() == "Pause"
    assert player.play_button.accessibleName() == "Pause"

    player.play_button.click()
    qtbot.waitUntil(lambda: not player.is_playing, timeout=5000)
    assert player.play_button.text() == "Play"

    qtbot.keyClick(player, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.is_playing, timeout=5000)
    qtbot.keyClick(player, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not player.is_playing, timeout=5000)

    player.seek(1200)
    player.stop_button.click()
    qtbot.waitUntil(lambda: player.position_ms == 0, timeout=5000)
    assert player.position_label.text() == "0:00"


def test_volume_slider_sets_the_output_volume(
    qloop: Any, qtbot: Any, tr: Translator, flac_file: Path
) -> None:
    player = _player(qtbot, tr)
    output = player.player.audioOutput() if player.player else None
    assert output is not None
    assert output.volume() == pytest.approx(audio_player.DEFAULT_VOLUME / 100)
    player.volume_slider.setValue(25)
    assert output.volume() == pytest.approx(0.25)


@pytest.mark.qt_log_ignore(*PROVOKED)
def test_unreadable_file_shows_inline_error(
    qloop: Any, qtbot: Any, tr: Translator, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"hello")
    player = _player(qtbot, tr)

    _load(qtbot, player, broken, drawn=False)
    qtbot.waitUntil(lambda: player.error_text != "", timeout=10_000)

    assert player.error_text == tr.tr("audio.error_format")
    assert player.error_label.isVisible()
    assert player.error_label.toolTip()  # Qt's raw message, for "what exactly went wrong"
    assert not player.play_button.isEnabled()
    assert player.waveform_view.message == tr.tr("audio.waveform_unavailable")

    tr.set_language("de")
    assert player.error_text == tr.tr("audio.error_format")
    assert player.waveform_view.message == tr.tr("audio.waveform_unavailable")


@pytest.mark.qt_log_ignore(*PROVOKED)
def test_missing_file_shows_inline_error_and_next_load_clears_it(
    qloop: Any, qtbot: Any, tr: Translator, tmp_path: Path, flac_file: Path
) -> None:
    player = _player(qtbot, tr)
    _load(qtbot, player, tmp_path / "gone.flac", drawn=False)
    qtbot.waitUntil(lambda: player.error_text != "", timeout=10_000)
    assert player.error_text == tr.tr("audio.error_resource")

    _load(qtbot, player, flac_file)
    assert player.error_text == ""
    assert not player.error_label.isVisible()
    qtbot.waitUntil(lambda: player.play_button.isEnabled(), timeout=10_000)


def test_unload_stops_and_forgets(qloop: Any, qtbot: Any, tr: Translator, flac_file: Path) -> None:
    player = _player(qtbot, tr)
    _load(qtbot, player, flac_file)
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)
    player.unload()
    assert player.source is None
    assert player.waveform is None
    assert player.duration_label.text() == "0:00"
    assert not player.play_button.isEnabled()


@pytest.mark.usefixtures("expect_log_warnings")
def test_without_qtmultimedia_the_waveform_stays_and_a_hint_shows(
    qloop: Any, qtbot: Any, tr: Translator, flac_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_player, "import_qt_multimedia", lambda: None)
    player = _player(qtbot, tr)

    assert not player.available
    assert player.player is None
    assert player.hint_label.isVisible()
    assert player.hint_label.text() == tr.tr("audio.unavailable")
    assert not player.play_button.isVisible()
    assert not player.position_slider.isVisible()

    _load(qtbot, player, flac_file)
    assert len(player.waveform_view.peaks) == WAVEFORM_BUCKETS
    qtbot.keyClick(player, Qt.Key.Key_Space)  # nothing to toggle, nothing breaks
    assert not player.is_playing
    assert player.duration_ms == 0


@pytest.mark.usefixtures("expect_log_warnings")
def test_import_failure_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_import = importlib.import_module

    def fail(name: str) -> Any:
        if name == "PySide6.QtMultimedia":
            raise ImportError("libpulse.so.0: cannot open shared object file")
        return real_import(name)

    media_player.import_qt_multimedia.cache_clear()
    monkeypatch.setattr(media_player.importlib, "import_module", fail)
    try:
        with caplog.at_level(logging.WARNING, logger=media_player.__name__):
            assert media_player.import_qt_multimedia() is None
            assert media_player.import_qt_multimedia() is None
    finally:
        media_player.import_qt_multimedia.cache_clear()
    records = [r for r in caplog.records if r.name == media_player.__name__]
    assert len(records) == 1
    assert "libpulse.so.0" in records[0].getMessage()


def test_controls_have_accessible_names_in_both_languages(
    qapp: Any, qtbot: Any, tr: Translator
) -> None:
    player = _player(qtbot, tr)
    controls = (
        player.play_button,
        player.stop_button,
        player.position_slider,
        player.volume_slider,
        player.waveform_view,
    )
    english = [c.accessibleName() for c in controls]
    assert all(english)
    tr.set_language("de")
    german = [c.accessibleName() for c in controls]
    assert all(german)
    assert german != english
    assert player.play_button.text() == "Abspielen"


def test_without_an_event_loop_the_player_still_loads(
    qapp: Any, qtbot: Any, tr: Translator, flac_file: Path
) -> None:
    player = _player(qtbot, tr)
    player.load(flac_file)
    assert player.waveform_view.message == tr.tr("audio.waveform_unavailable")
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)


def test_waveform_view_draws_played_part_and_seeks(qapp: Any, qtbot: Any) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(200, 80)
    view.set_peaks([1.0] * 50)
    view.set_fraction(0.5)
    image = view.grab().toImage()
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    assert image.pixelColor(20, 40) == highlight
    assert image.pixelColor(180, 40) != highlight
    assert image.pixelColor(180, 40) != view.palette().color(QPalette.ColorRole.Base)

    with qtbot.waitSignal(view.seek_requested) as seek:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(150, 40))
    assert seek.args == [pytest.approx(0.75)]

    view.set_message("nothing")
    assert view.peaks == ()
    assert QColor(view.grab().toImage().pixelColor(20, 40)) != highlight


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0:00"), (999, "0:00"), (61_000, "1:01"), (3_723_000, "1:02:03"), (-5, "0:00")],
)
def test_format_time(ms: int, text: str) -> None:
    assert format_time(ms) == text


def test_show_audio_result_creates_reuses_and_hides_the_player(
    qloop: Any, qtbot: Any, tr: Translator, flac_file: Path
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    layout = QVBoxLayout(host)
    layout.addWidget(QLabel("image"))
    layout.addWidget(QLabel("files"))

    # The FLAC MIME type is unknown to some systems' tables: the suffix is enough.
    media = (SavedFile(flac_file, "application/octet-stream"),)
    player = show_audio_result(host, tr, media)
    assert player is not None
    # The waveform is decoded in a worker thread: its signal comes once the loop runs.
    qtbot.waitSignal(player.waveform_finished, timeout=10_000).wait()
    assert layout.indexOf(player) == 1
    assert player.source == flac_file
    qtbot.waitUntil(lambda: player.duration_ms == 2000, timeout=10_000)

    image = SavedFile(flac_file.with_suffix(".png"), "image/png")
    assert show_audio_result(host, tr, (image,)) is None
    assert player.isHidden()
    assert player.source is None

    again = show_audio_result(host, tr, media)
    assert again is player
    qtbot.waitSignal(player.waveform_finished, timeout=10_000).wait()
    assert not player.isHidden()


def _write_tone(path: Path, seconds: int) -> Path:
    tone = array("h", [round(8000 * math.sin(i / 7)) for i in range(seconds * RATE)])
    path.write_bytes(encode_flac([tone], RATE, {}))
    return path


def test_switching_files_while_one_opens_ends_on_the_last_one(
    qloop: Any, qtbot: Any, tr: Translator, tmp_path: Path
) -> None:
    first = _write_tone(tmp_path / "first.flac", 3)
    second = _write_tone(tmp_path / "second.flac", 1)
    player = _player(qtbot, tr)

    player.load(first)
    _load(qtbot, player, second)  # the first is still opening: no interrupted open, no warning
    qtbot.waitUntil(lambda: player.duration_ms == 1000, timeout=10_000)
    assert player.player is not None
    assert player.player.source().toLocalFile() == str(second)
    assert player.duration_label.text() == "0:01"

    player.unload()
    qtbot.waitUntil(lambda: player.player is not None and player.player.source().isEmpty())
    assert player.duration_ms == 0


def test_the_seek_bar_keeps_a_usable_width_in_a_narrow_column(
    qloop: Any, qtbot: Any, tr: Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_player, "import_qt_multimedia", lambda: None)  # layout only
    player = AudioPlayer(tr)
    qtbot.addWidget(player)
    player.resize(300, 200)
    player.show()
    player.position_slider.show()  # as with a loaded file
    qtbot.waitExposed(player)
    assert player.position_slider.width() >= 160  # a bar to drag, not a dot
    assert player.position_slider.width() >= player.width() // 2
