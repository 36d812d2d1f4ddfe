"""Whole student flows through the Create page against the demo simulators.

One flow per runnable output type (image, sound, music, code x2), a language switch in the
middle of a session and a keyboard-only flow. Each test starts the simulators it needs (about
a second): pytest-qt's ``qtbot`` and the ``qloop`` fixture are per test.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from ai4artsed_desktop.events import RunResult
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase
from ai4artsed_desktop.ui.widgets.audio_player import AudioPlayer

from .create_rig import Rig, wait_idle

CTRL = Qt.KeyboardModifier.ControlModifier
# Chromium's start-up without GPU or display (the code sandbox, offscreen): it probes OpenGL,
# Vulkan and GBM, then renders in software. Harmless; logged once per process.
pytestmark = pytest.mark.qt_log_ignore(
    "^QRhiGles2: Failed to create",
    "^Failed to create RHI for backend",
    "does not support createPlatformVulkanInstance",
    "^QVulkanInstance: Failed to initialize Vulkan",
    "^GBM is not supported",
    "^GPUInfo not initialized",
)


def _transform(rig: Rig, qtbot: Any, idea: str, output_id: str) -> None:
    """Type the idea, choose a rule and the output, click Transform, wait for the text."""
    qtbot.keyClicks(rig.page.idea_edit, idea)  # ASCII: QTest's key events are Latin-1 only
    rig.create.choose_config("bauhaus")  # selects the rule's default output ...
    assert rig.vm.select_output(output_id)  # ... so the student's choice comes after it
    qtbot.mouseClick(rig.panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, rig.vm) is RunPhase.transformed, rig.panel.message
    assert rig.panel.interception_edit.toPlainText()


def _generate(rig: Rig, qtbot: Any) -> RunResult:
    results: list[RunResult] = []
    rig.vm.result.connect(results.append)
    qtbot.waitUntil(rig.panel.generate_button.isEnabled)
    qtbot.mouseClick(rig.panel.generate_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, rig.vm) is RunPhase.done, rig.panel.message
    assert len(results) == 1
    return results[0]


def _audio_player(rig: Rig) -> AudioPlayer | None:
    return rig.panel.result_view.findChild(AudioPlayer, "audioPlayer")


@pytest.mark.parametrize(
    ("output_id", "kind"),
    [
        ("sd15", "image"),
        ("stable_audio", "sound"),
        ("ace_step", "music"),
        ("p5js", "code"),
        ("tonejs", "code"),
    ],
)
def test_a_student_goes_from_idea_to_result(
    rig: Rig, qtbot: Any, output_id: str, kind: str
) -> None:
    _transform(rig, qtbot, "Ein Leuchtturm, der verlorene Klaenge sammelt", output_id)
    result = _generate(rig, qtbot)
    assert rig.vm.selected_output_id == output_id
    assert rig.vm.session is not None
    assert rig.vm.session.request.output_id == output_id
    view = rig.panel.result_view
    assert view.folder_button.isVisible()
    player = _audio_player(rig)
    if kind == "image":
        assert result.media[0].path.is_file()
        assert not view.image.isNull()
        assert view.save_button.isVisible()
        assert player is None or player.isHidden()
    elif kind in ("sound", "music"):
        assert result.media[0].path.is_file()
        assert player is not None
        assert player.isVisible()
        assert player.source == result.media[0].path
    else:
        assert result.code.strip()
        assert view.sandbox is not None
        assert view.sandbox.isVisible()
        assert view.sandbox.code == result.code
        assert player is None or player.isHidden()


def test_switching_to_english_mid_session_keeps_the_texts(rig: Rig, qtbot: Any) -> None:
    panel = rig.panel
    idea = "Ein Fuchs im Schnee"
    _transform(rig, qtbot, idea, "sd15")
    transformed = panel.interception_edit.toPlainText()
    assert panel.generate_button.text() == "Erzeugen"

    assert rig.settings.set_value("ui.language", "en")
    assert rig.translator.language == "en"
    assert panel.generate_button.text() == "Generate"
    assert panel.transform_button.text() == "Transform"
    assert rig.page.idea_edit.toPlainText() == idea
    assert panel.interception_edit.toPlainText() == transformed
    assert rig.create.idea == idea

    result = _generate(rig, qtbot)
    assert result.media[0].path.is_file()
    assert not panel.result_view.image.isNull()
    assert panel.generate_button.text() == "Generate"


def test_keyboard_only_reaches_a_result(rig: Rig, qtbot: Any) -> None:
    """Focus the idea box, type, Ctrl+Enter twice: transformed, then generated."""
    page, panel, vm = rig.page, rig.panel, rig.vm
    vm.select_output("sd15")
    page.idea_edit.setFocus()
    qtbot.waitUntil(page.idea_edit.hasFocus)
    qtbot.keyClicks(page.idea_edit, "Ein Leuchtturm")
    qtbot.keyClick(page.idea_edit, Qt.Key.Key_Return, CTRL)
    assert wait_idle(qtbot, vm) is RunPhase.transformed
    assert panel.interception_edit.toPlainText()
    assert rig.create.idea == "Ein Leuchtturm"  # Ctrl+Enter typed no line break
    focused = page.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, Qt.Key.Key_Return, CTRL)
    assert wait_idle(qtbot, vm) is RunPhase.done, panel.message
    assert vm.last_result is not None
    assert not panel.result_view.image.isNull()
    # the run column's controls are reachable with Tab in the order of the work
    chain = page.focus_chain()
    assert chain.index(page.idea_edit) < chain.index(panel.transform_button)
    tile = panel.outputs.tiles[0]
    assert chain.index(page.idea_edit) < chain.index(tile)  # what it becomes, then the run
    assert chain.index(tile) < chain.index(panel.transform_button)
    assert chain.index(panel.transform_button) < chain.index(panel.generate_button)
    assert all(w.focusPolicy() & Qt.FocusPolicy.TabFocus for w in chain)
