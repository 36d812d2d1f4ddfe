"""The "eyes on me" screen: it covers the window, lets no input through and loses nothing."""

from __future__ import annotations

import math
from array import array
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from ai4artsed_desktop.simulators.comfy_flac import encode_flac
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.widgets.audio_player import AudioPlayer
from ai4artsed_desktop.ui.widgets.pause_overlay import PauseOverlay


def _overlay(shell: Shell) -> PauseOverlay:
    overlay = shell.window.findChild(PauseOverlay)
    assert isinstance(overlay, PauseOverlay)
    return overlay


def test_pause_blocks_keys_mouse_and_shortcuts_and_keeps_the_text(shell: Shell, qtbot: Any) -> None:
    window = shell.window
    page = window.pages["create"]
    assert isinstance(page, CreatePage)
    idea = page.idea_edit
    window.activateWindow()
    idea.setFocus()
    QTest.keyClicks(idea, "Ein Fuchs")
    assert idea.toPlainText() == "Ein Fuchs"
    overlay = _overlay(shell)
    overlay.pause("Bitte alle nach vorne schauen")
    assert overlay.paused
    assert overlay.geometry() == window.rect()  # the whole window is covered
    assert overlay.message_label.text() == "Bitte alle nach vorne schauen"
    # Keys sent straight at the covered text field do not arrive.
    QTest.keyClicks(idea, " im Schnee")
    QTest.keyClick(idea, Qt.Key.Key_Backspace)
    QTest.keyClick(idea, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(idea, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert idea.toPlainText() == "Ein Fuchs"
    # Keys at the screen itself: no shortcut fires (Ctrl+2 would open History), Tab stays.
    QTest.keyClick(overlay, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(overlay, Qt.Key.Key_Tab)
    assert window.current_page == "create"
    assert QApplication.focusWidget() in (overlay, None)
    # A click aimed at the navigation does not switch pages.
    nav = window.nav
    row = nav.visualItemRect(nav.item(1)).center()
    QTest.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=row)
    assert window.current_page == "create"
    # A resize keeps the window covered.
    window.resize(window.width() + 40, window.height())
    qtbot.waitUntil(lambda: overlay.geometry() == window.rect(), timeout=2000)
    overlay.resume()
    assert not overlay.paused
    assert idea.toPlainText() == "Ein Fuchs"
    QTest.keyClicks(idea, "!")
    assert idea.toPlainText().endswith("!")  # typing works again where it was
    QTest.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(row))
    assert window.current_page == "history"


def test_pause_twice_only_changes_the_message_and_resume_is_idempotent(shell: Shell) -> None:
    overlay = _overlay(shell)
    overlay.pause("Erstens")
    overlay.pause("")
    assert overlay.paused
    assert not overlay.message_label.isVisible()
    assert overlay.title.text()
    overlay.resume()
    overlay.resume()
    assert not overlay.paused


def test_pause_silences_sound_under_the_screen(qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    # A window with a playing sound: "eyes on me" means ears too. The sound holds where it
    # is; nothing is unloaded, so Play after the pause goes on from there.
    window = QWidget()
    qtbot.addWidget(window)
    translator = Translator("en")
    player = AudioPlayer(translator, window)
    QVBoxLayout(window).addWidget(player)
    window.resize(600, 200)
    window.show()
    overlay = PauseOverlay(window, translator)
    tone = array(
        "h", [round(16384 * math.sin(2 * math.pi * 440 * i / 44100)) for i in range(10 * 44100)]
    )
    path = tmp_path / "tone.flac"
    path.write_bytes(encode_flac([tone], 44100, {"prompt": "{}"}))
    with qtbot.waitSignal(player.waveform_finished, timeout=10_000):
        player.load(path)
    qtbot.waitUntil(lambda: player.duration_ms == 10_000, timeout=10_000)
    player.play_button.click()
    qtbot.waitUntil(lambda: player.is_playing and player.position_ms > 0, timeout=5000)

    overlay.pause("Alle schauen nach vorn")
    qtbot.waitUntil(lambda: not player.is_playing, timeout=2000)  # the tone lasts 10 s
    assert 0 < player.position_ms < 10_000  # held where it was, not stopped
    assert player.source == path
    overlay.resume()
    assert not player.is_playing  # the student presses Play again; nothing starts by itself
