"""VideoPlayer: poster frame, duration, play / pause, repeat, seeking, errors, the fallback.

The film is an H.264 MP4 as the ComfyUI simulator (and the real SaveVideo) writes it. Offscreen
QtMultimedia decodes it into the player's video sink against the system clock, so frames,
duration, seeking and state changes are real; no window system is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ai4artsed_desktop.events import SavedFile
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.widgets import video_player
from ai4artsed_desktop.ui.widgets.video_player import (
    VideoPlayer,
    is_video,
    poster_image,
    show_video_result,
)
from tests.unit.store.helpers import video_bytes

RED, GREEN, BLUE = (220, 20, 20), (20, 220, 20), (20, 20, 220)
#: 24 frames at 24 fps: one second, red first, then green, blue at the end.
COLOURS = (RED,) * 8 + (GREEN,) * 8 + (BLUE,) * 8
# Errors we provoke on purpose (a broken file) reach Qt's log as warnings.
PROVOKED = ("Could not open media", "Invalid data found", "Failed to seek")


@pytest.fixture
def film(tmp_path: Path) -> Path:
    path = tmp_path / "ai4artsed_run_00001_.mp4"
    path.write_bytes(video_bytes(COLOURS, (96, 64)))
    return path


@pytest.fixture
def tr() -> Translator:
    return Translator("en")


def _player(qtbot: Any, translator: Translator) -> VideoPlayer:
    player = VideoPlayer(translator)
    qtbot.addWidget(player)
    player.resize(640, 420)
    player.show()
    return player


def _colour(player: VideoPlayer) -> QColor:
    image = player.frame
    return image.pixelColor(image.width() // 2, image.height() // 2)


def _near(colour: QColor, rgb: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour.getRgb()[:3], rgb, strict=True))


def _ready(qtbot: Any, player: VideoPlayer, film: Path) -> None:
    player.load(film)
    qtbot.waitUntil(lambda: player.duration_ms > 0, timeout=10_000)


def test_the_first_frame_is_the_poster_until_it_plays(
    qloop: Any, qtbot: Any, tr: Translator, film: Path
) -> None:
    player = _player(qtbot, tr)
    assert not player.play_button.isEnabled()
    _ready(qtbot, player, film)
    assert player.source == film
    assert player.available
    assert (player.poster.width(), player.poster.height()) == (96, 64)
    assert _near(_colour(player), RED)
    assert player.duration_ms == pytest.approx(1000, abs=60)
    assert player.duration_label.text() == "0:01"
    assert player.play_button.isEnabled()
    assert player.error_text == ""
    picture = player.surface.picture_rect()
    assert picture.width() / picture.height() == pytest.approx(96 / 64, rel=0.02)
    painted = player.surface.grab().toImage()
    assert _near(painted.pixelColor(picture.center()), RED)  # what the surface really paints
    assert painted.pixelColor(2, 2) == QColor("#111111") or picture.left() < 2


def test_play_shows_later_frames_and_pause_and_space_stop_it(
    qloop: Any, qtbot: Any, tr: Translator, film: Path
) -> None:
    player = _player(qtbot, tr)
    _ready(qtbot, player, film)
    player.set_loop(False)
    player.play_button.click()
    qtbot.waitUntil(lambda: player.is_playing, timeout=5000)
    assert player.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: _near(_colour(player), BLUE), timeout=10_000)  # the last frames
    qtbot.waitUntil(lambda: not player.is_playing, timeout=10_000)  # played once, stopped
    assert player.play_button.text() == "Play"
    qtbot.keyClick(player, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.is_playing, timeout=5000)
    qtbot.keyClick(player, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not player.is_playing, timeout=5000)


def test_repeat_is_on_at_first_and_keeps_the_film_running(
    qloop: Any, qtbot: Any, tr: Translator, film: Path
) -> None:
    player = _player(qtbot, tr)
    _ready(qtbot, player, film)
    assert player.looping
    assert player.loop_box.isChecked()
    media = player.player
    assert media is not None
    assert media.loops() == media.Loops.Infinite.value
    player.play_button.click()
    qtbot.waitUntil(lambda: _near(_colour(player), BLUE), timeout=10_000)
    qtbot.waitUntil(lambda: _near(_colour(player), RED), timeout=10_000)  # round again
    assert player.is_playing
    player.loop_box.click()
    assert not player.looping
    assert media.loops() == media.Loops.Once.value


def test_seeking_by_call_and_slider_shows_that_frame(
    qloop: Any, qtbot: Any, tr: Translator, film: Path
) -> None:
    player = _player(qtbot, tr)
    _ready(qtbot, player, film)
    player.seek(500)
    assert player.position_ms == 500
    assert player.position_slider.value() == 500
    player.position_slider.setValue(900)  # what keyboard and mouse on the slider do
    assert player.position_ms == 900
    player.play_button.click()
    qtbot.waitUntil(lambda: _near(_colour(player), BLUE), timeout=10_000)
    player.pause()
    player.seek(99_999)  # clamped to the length
    assert player.position_ms == player.duration_ms


@pytest.mark.qt_log_ignore(*PROVOKED)
@pytest.mark.usefixtures("expect_log_warnings")
def test_a_broken_film_shows_an_inline_error_and_the_next_clears_it(
    qloop: Any, qtbot: Any, tr: Translator, tmp_path: Path, film: Path
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom not a film")
    player = _player(qtbot, tr)
    player.load(broken)
    qtbot.waitUntil(lambda: player.error_text != "", timeout=10_000)
    assert player.error_label.isVisible()
    assert player.poster.isNull()
    assert not player.play_button.isEnabled()
    qtbot.keyClick(player, Qt.Key.Key_Space)  # nothing to play, nothing breaks
    assert not player.is_playing
    _ready(qtbot, player, film)
    assert player.error_text == ""
    assert not player.error_label.isVisible()


def test_unload_forgets_the_film(qloop: Any, qtbot: Any, tr: Translator, film: Path) -> None:
    player = _player(qtbot, tr)
    _ready(qtbot, player, film)
    player.unload()
    assert player.source is None
    assert player.frame.isNull()
    assert player.duration_label.text() == "0:00"
    assert not player.play_button.isEnabled()


@pytest.mark.usefixtures("expect_log_warnings")
def test_without_qtmultimedia_the_poster_stays_and_a_hint_shows(
    qapp: Any, qtbot: Any, tr: Translator, film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video_player, "import_qt_multimedia", lambda: None)
    player = _player(qtbot, tr)
    player.load(film)
    assert not player.available
    assert player.hint_label.isVisible()
    assert player.hint_label.text() == tr.tr("video.unavailable")
    assert not player.play_button.isVisible()
    assert not player.loop_box.isVisible()
    assert _near(_colour(player), RED)
    qtbot.keyClick(player, Qt.Key.Key_Space)
    assert not player.is_playing


def test_controls_have_accessible_names_in_both_languages(
    qapp: Any, qtbot: Any, tr: Translator
) -> None:
    player = _player(qtbot, tr)
    controls = (player, player.surface, player.play_button, player.position_slider)
    english = [c.accessibleName() for c in controls] + [player.loop_box.text()]
    assert all(english)
    tr.set_language("de")
    german = [c.accessibleName() for c in controls] + [player.loop_box.text()]
    assert all(german)
    assert german != english
    assert (player.play_button.text(), player.loop_box.text()) == ("Abspielen", "Wiederholen")


def test_poster_image_of_a_missing_file_is_null(tmp_path: Path) -> None:
    assert poster_image(tmp_path / "gone.mp4").isNull()


def test_show_video_result_creates_reuses_and_hides_the_player(
    qloop: Any, qtbot: Any, tr: Translator, film: Path
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    QVBoxLayout(host).addWidget(QLabel("picture"))
    mp4 = SavedFile(film, "video/mp4")
    assert is_video(mp4)
    assert is_video(SavedFile(film.with_suffix(".webm"), "application/octet-stream"))
    assert not is_video(SavedFile(film.with_suffix(".png"), "image/png"))
    first = show_video_result(host, tr, [SavedFile(film.with_suffix(".png"), "image/png"), mp4])
    assert first is not None
    assert first.source == film
    assert show_video_result(host, tr, [mp4]) is first  # reused
    assert show_video_result(host, tr, []) is None
    assert first.isHidden()
    assert first.source is None


def test_a_hidden_player_stops_playing(qloop: Any, qtbot: Any, tr: Translator, film: Path) -> None:
    player = _player(qtbot, tr)
    _ready(qtbot, player, film)
    player.play_button.click()
    qtbot.waitUntil(lambda: player.is_playing, timeout=5000)
    player.hide()  # another page, or the result view makes room for something else
    qtbot.waitUntil(lambda: not player.is_playing, timeout=5000)
    assert player.source == film  # paused, not forgotten
    assert player.play_button.isEnabled()
