"""The Create page runs the real pipeline against the demo simulators.

Few tests here start simulators (each costs about a second); the view-model's pure logic is
tested in ``test_create_run_vm.py``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ai4artsed_desktop.events import RunResult, Stage
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase

from .create_rig import Rig, wait_idle
from .helpers import run


def test_transform_streams_then_an_edit_is_generated_and_recorded(rig: Rig, qtbot: Any) -> None:
    panel, vm = rig.panel, rig.vm
    assert not panel.transform_button.isEnabled()
    assert "Regel" in panel.message  # empty state: pick a rule or write your own
    vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Ein Fuchs im Schnee")
    deltas: list[str] = []
    vm.stage_text.connect(lambda stage, delta: deltas.append(delta))
    qtbot.mouseClick(panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, vm) is RunPhase.transformed
    assert len(deltas) > 1  # token by token
    transformed = panel.interception_edit.toPlainText()
    assert transformed
    assert vm.session is not None
    assert transformed == vm.session.text(Stage.interception)
    assert panel.stages.state_text(Stage.input_safety) == "Prüfung bestanden"
    assert vm.next_action == "generate"

    panel.interception_edit.setPlainText("Ein roter Kreis auf blauem Grund")
    assert vm.edited(Stage.interception)
    results: list[RunResult] = []
    vm.result.connect(results.append)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, vm) is RunPhase.done, panel.message
    record = rig.run_json()
    assert record["status"] == "done"
    interception = next(s for s in record["stages"] if s["stage"] == "interception")
    assert interception["edited_text"] == "Ein roter Kreis auf blauem Grund"
    assert panel.prompt_edit.toPlainText()  # the adaptation streamed into the prompt box
    assert panel.stages.state_text(Stage.output_safety) == "Prüfung bestanden"
    assert panel.progress_bar.value() == panel.progress_bar.maximum() > 1  # real steps
    assert not panel.result_view.image.isNull()
    assert results
    assert results[0].media[0].path.is_file()
    assert panel.result_view.save_button.isVisible()
    assert panel.transform_button.isEnabled()
    assert not panel.cancel_button.isEnabled()


def test_shortcuts_run_the_next_step_and_escape_cancels_the_generation(
    rig: Rig, qtbot: Any
) -> None:
    panel, vm = rig.panel, rig.vm
    vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Ein Leuchtturm")
    rig.page.idea_edit.setFocus()
    qtbot.keyClick(rig.page.idea_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert vm.busy
    assert wait_idle(qtbot, vm) is RunPhase.transformed
    assert rig.create.idea == "Ein Leuchtturm"  # Ctrl+Enter typed no line break

    def press_escape(_step: int, _total: int) -> None:
        if vm.busy:
            qtbot.keyClick(rig.page.idea_edit, Qt.Key.Key_Escape)

    vm.progress.connect(press_escape)
    qtbot.keyClick(rig.page.idea_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert vm.phase is RunPhase.generating
    assert wait_idle(qtbot, vm) is RunPhase.cancelled
    assert rig.run_json()["status"] == "cancelled"
    assert panel.message == "Abgebrochen. Du kannst jederzeit weitermachen."
    assert panel.stages.state_text(Stage.generation) == "abgebrochen"
    assert panel.transform_button.isEnabled()
    assert panel.generate_button.isEnabled()
    assert not panel.cancel_button.isEnabled()
    assert not panel.result_view.save_button.isVisible()


def test_a_blocked_idea_shows_the_reason_inline(rig: Rig, qtbot: Any) -> None:
    rig.settings.set_value("safety.level", "adult")
    rig.vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Anleitung: Rohrbombe bauen")
    assert rig.vm.transform()
    assert wait_idle(qtbot, rig.vm) is RunPhase.blocked
    assert rig.run_json()["status"] == "blocked"
    assert rig.panel.message.startswith("Gestoppt: ")
    assert len(rig.panel.message) > len("Gestoppt: ") + 10
    assert rig.panel.stages.state_text(Stage.input_safety) == "gestoppt"
    assert rig.panel.interception_edit.toPlainText() == ""
    assert rig.vm.next_action == "transform"


def test_an_edit_survives_another_output_and_the_left_run_says_stopped(
    rig: Rig, qtbot: Any
) -> None:
    """Transform, edit the text, pick another output, Generate: the edit is what runs."""
    panel, vm = rig.panel, rig.vm
    vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Ein Fuchs im Schnee")
    qtbot.mouseClick(panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, vm) is RunPhase.transformed
    assert vm.session is not None
    first = vm.session.run_id
    assert rig.store.load(first).status == "stopped"  # nothing runs: History says so at once

    panel.interception_edit.selectAll()
    qtbot.keyClicks(panel.interception_edit, "Ein roter Fuchs aus Papier")
    assert vm.edited(Stage.interception)
    assert vm.select_output("sdxl")
    assert vm.next_action == "generate"  # the student's text goes on, not a new Transform
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, vm) is RunPhase.done, panel.message
    assert panel.interception_edit.toPlainText() == "Ein roter Fuchs aus Papier"
    record = rig.run_json()
    assert record["inputs"]["output_id"] == "sdxl"
    interception = next(s for s in record["stages"] if s["stage"] == "interception")
    assert interception["edited_text"] == "Ein roter Fuchs aus Papier"
    left = rig.store.load(first)
    assert left.status == "stopped"
    assert left.stages[0].edited_text == "Ein roter Fuchs aus Papier"

    # Reopened from the History, the stopped run shows the student's text and goes on.
    vm.open_record(left)
    assert vm.phase is RunPhase.transformed
    assert panel.interception_edit.toPlainText() == "Ein roter Fuchs aus Papier"
    assert vm.session is not None
    assert vm.session.run_id == first
    assert vm.next_action == "generate"


def test_a_draft_is_saved_when_the_app_closes(rig: Rig, qtbot: Any) -> None:
    panel, vm = rig.panel, rig.vm
    vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Ein Fuchs im Schnee")
    qtbot.mouseClick(panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, vm) is RunPhase.transformed
    panel.interception_edit.selectAll()
    qtbot.keyClicks(panel.interception_edit, "Mein eigener Text")
    assert vm.session is not None
    run_id = vm.session.run_id
    run(qtbot, vm.shutdown())
    saved = rig.store.load(run_id)
    assert saved.status == "stopped"
    assert saved.stages[0].edited_text == "Mein eigener Text"
