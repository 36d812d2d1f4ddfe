"""The teacher's console page and its view-model against a real LabConsole on loopback.

The seats are real LabSeat clients (TLS, pairing with the class code) in this process,
each with its own data folder; their app side is the recording SeatActions double.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.errors import AppError
from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.seat_actions import SeatStatus
from ai4artsed_desktop.settings import LessonSettings, Settings
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.lab_page import BlockedDialog, LabPage
from ai4artsed_desktop.ui.viewmodels.lab_console_vm import LabConsoleViewModel
from tests.integration.lab_rig import Lab, RunningSeat, make_console, refused_profile

from .helpers import run

WAIT_MS = 10_000


@dataclasses.dataclass
class Console:
    vm: LabConsoleViewModel
    page: LabPage
    settings: list[Settings]
    consoles: list[LabConsole]
    root: Path
    seats: list[RunningSeat] = dataclasses.field(default_factory=list)
    wipe_answers: list[bool] = dataclasses.field(default_factory=list)
    translator: Translator = dataclasses.field(default_factory=lambda: Translator("en"))

    @property
    def lab(self) -> Lab:
        return Lab(self.root, self.consoles[-1], self.seats)

    def add_seat(self, qtbot: Any, name: str) -> RunningSeat:
        lab = self.lab
        seat = run(qtbot, lab.add_seat(name), timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: any(s.name == name and s.online for s in self.vm.seats), timeout=WAIT_MS
        )
        return seat


@pytest.fixture
def console(qloop: Any, qtbot: Any, tmp_path: Path) -> Iterator[Console]:
    consoles: list[LabConsole] = []
    settings = [Settings()]

    def factory(folder: Path, _port: int) -> LabConsole:
        consoles.append(make_console(folder))
        return consoles[-1]

    tasks = TaskRegistry("lab-console-test")
    translator = Translator("en")
    vm = LabConsoleViewModel(
        tmp_path / "console",
        lambda: settings[0],
        tasks,
        translator,
        console_factory=factory,
        addresses=lambda: ["192.168.1.20"],
    )
    answers: list[bool] = []
    page = LabPage(vm, translator, tmp_path / "logs", confirm_wipe=lambda _n: answers.pop(0))
    built = Console(
        vm, page, settings, consoles, tmp_path, wipe_answers=answers, translator=translator
    )
    qtbot.addWidget(built.page)
    built.page.resize(1366, 700)
    built.page.show()
    with qtbot.waitSignal(vm.listening_changed, timeout=WAIT_MS):
        built.page.listen_button.click()
    yield built
    for seat in built.seats:
        run(qtbot, seat.stop(), timeout=WAIT_MS)
    run(qtbot, vm.shutdown(), timeout=WAIT_MS)
    run(qtbot, tasks.cancel_all())


def _finish(qtbot: Any, vm: LabConsoleViewModel, start: Any) -> tuple[str, int, int]:
    with qtbot.waitSignal(vm.command_finished, timeout=WAIT_MS) as finished:
        start()
    name, good, bad = finished.args
    return str(name), int(good), int(bad)


def test_the_class_opens_with_a_code_and_the_grid_shows_each_seat(
    console: Console, qtbot: Any
) -> None:
    vm, page = console.vm, console.page
    assert vm.listening
    assert page.code_label.text() == vm.class_code != ""
    assert "192.168.1.20" in page.address_label.text()
    assert str(vm.port) in page.address_label.text()
    assert page.empty_label.isVisible()
    first = console.add_seat(qtbot, "PC-01")
    first.actions.set_status(
        backends={"ollama": "ready", "comfyui": "starting"},
        warm=True,
        stage="interception",
        last_block="Deine Idee enthält Gewalt.",
        last_block_at=1_700_000_000.0,
        vram_used_mb=3072,
        vram_total_mb=8192,
    )
    console.add_seat(qtbot, "PC-02")
    tile = page.tiles[first.seat_id]
    qtbot.waitUntil(lambda: "Transformation" in tile.stage.text(), timeout=WAIT_MS)
    assert tile.select.text() == "PC-01"
    assert tile.state_badge.text() == "working"
    assert "Ollama" in tile.lights.text()
    assert "ComfyUI" in tile.lights.text()
    assert tile.warm.text().startswith("✓")
    assert tile.block.toolTip() == "Deine Idee enthält Gewalt."
    assert tile.vram.text() == "GPU 3.0 / 8.0 GB"
    assert not page.empty_label.isVisible()
    qtbot.waitUntil(
        lambda: page.scope_label.text() == "Commands go to all 2 seats (2 online).",
        timeout=WAIT_MS,
    )
    # The same status again redraws nothing.
    assert not tile.show_seat(page._tile_state(first.seat_id))


def test_push_sends_the_active_lesson_and_a_ticked_seat_gets_the_next_command_alone(
    console: Console, qtbot: Any
) -> None:
    vm, page = console.vm, console.page
    one, two = console.add_seat(qtbot, "PC-01"), console.add_seat(qtbot, "PC-02")
    assert not page.buttons["push"].isEnabled()  # no active lesson profile on this PC
    console.settings[0] = Settings(lesson=LessonSettings("Tiere", (), ("sd15",)))
    page.show_seats()
    assert page.buttons["push"].isEnabled()
    assert page.buttons["push"].text() == "Send lesson “Tiere”"
    assert _finish(qtbot, vm, page.buttons["push"].click) == ("push", 2, 0)
    for seat in (one, two):
        (profile,) = [args for name, args in seat.actions.calls if name == "apply_profile"]
        assert profile["name"] == "Tiere"
        assert profile["allowed_outputs"] == ["sd15"]
    page.tiles[two.seat_id].select.setChecked(True)
    assert vm.selected == {two.seat_id}
    assert "1 ticked" in page.scope_label.text()
    page.pause_message.setText("Alle nach vorne!")
    assert _finish(qtbot, vm, page.buttons["pause"].click) == ("pause", 1, 0)
    assert two.actions.calls[-1] == ("set_paused", (True, "Alle nach vorne!"))
    assert one.actions.count("set_paused") == 0
    qtbot.waitUntil(lambda: page.tiles[two.seat_id].state_badge.text() == "paused", timeout=WAIT_MS)
    assert page.tiles[two.seat_id].answer.text() == "✓ paused"
    page.clear_selection_button.click()
    assert _finish(qtbot, vm, page.buttons["resume"].click) == ("resume", 2, 0)
    assert one.actions.calls[-1] == ("set_paused", (False, ""))


def test_prepare_shows_progress_per_seat_and_a_failure_is_named_on_its_tile(
    console: Console, qtbot: Any
) -> None:
    vm, page = console.vm, console.page
    good = console.add_seat(qtbot, "PC-01")
    bad = console.add_seat(qtbot, "PC-02")
    bad.actions.profile_error = "The profile names an output this PC does not have."
    console.settings[0] = Settings(lesson=LessonSettings("Tiere", (), ()))
    page.show_seats()
    assert _finish(qtbot, vm, page.buttons["push"].click) == ("push", 1, 1)
    bad_tile = page.tiles[bad.seat_id]
    assert bad_tile.answer.isVisible()
    assert bad_tile.answer.text().startswith("✗ The profile names")
    assert "does not have" in bad_tile.answer.toolTip()  # the whole reason
    assert "✗ 1" in page.summary_label.text()
    assert _finish(qtbot, vm, page.buttons["prepare"].click) == ("prepare", 2, 0)
    progress = vm.progress(good.seat_id)
    assert progress is not None
    assert progress.fraction == 1.0
    tile = page.tiles[good.seat_id]
    qtbot.waitUntil(lambda: tile.warm.text().startswith("✓"), timeout=WAIT_MS)
    assert tile.progress.isVisible()
    assert tile.progress.value() == 100


def test_blocked_attempts_open_in_a_dialog(console: Console, qtbot: Any) -> None:
    vm, page = console.vm, console.page
    seat = console.add_seat(qtbot, "PC-01")
    seat.actions.blocked = [
        {
            "time": "2026-12-03T09:12:00+00:00",
            "stage": "input_safety",
            "text": "eine Waffe bauen",
            "reason": "Deine Idee enthält Gewalt.",
        }
    ]
    with qtbot.waitSignal(vm.blocked_ready, timeout=WAIT_MS) as ready:
        page.tiles[seat.seat_id].blocked_button.click()
    assert ready.args[0] == seat.seat_id
    dialog = page.findChild(BlockedDialog)
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 2).text() == "eine Waffe bauen"
    assert len(page.findChildren(BlockedDialog)) == 1  # one dialog per request
    dialog.reject()
    assert not dialog.isVisible()


def test_collect_saves_each_portfolio_and_the_wipe_asks_first(console: Console, qtbot: Any) -> None:
    vm, page = console.vm, console.page
    seat = console.add_seat(qtbot, "PC-01")
    console.wipe_answers.extend([False, True])
    page.buttons["wipe"].click()  # "keep the runs": nothing is sent
    assert seat.actions.count("wipe") == 0
    with qtbot.waitSignal(vm.collected, timeout=WAIT_MS) as collected:
        page.buttons["collect"].click()
    folder = Path(collected.args[0])
    (saved,) = list(folder.rglob("*.zip"))
    assert zipfile.is_zipfile(saved)
    qtbot.waitUntil(page.open_folder_button.isVisible, timeout=WAIT_MS)
    assert _finish(qtbot, vm, page.buttons["wipe"].click) == ("wipe", 1, 0)
    assert seat.actions.count("wipe") == 1
    assert page.tiles[seat.seat_id].answer.text() == "✓ wiped (3 runs)"


def test_a_seat_that_drops_off_shows_offline_and_commands_skip_it(
    console: Console, qtbot: Any
) -> None:
    vm, page = console.vm, console.page
    stays, leaves = console.add_seat(qtbot, "PC-01"), console.add_seat(qtbot, "PC-02")
    run(qtbot, leaves.stop(), timeout=WAIT_MS)
    console.seats.remove(leaves)
    tile = page.tiles[leaves.seat_id]
    qtbot.waitUntil(lambda: tile.state_badge.text() == "offline", timeout=WAIT_MS)
    assert not tile.blocked_button.isEnabled()
    assert tile.lights.text().startswith("Not connected since")  # its old status is stale
    assert not tile.warm.isVisibleTo(tile)
    assert _finish(qtbot, vm, page.buttons["pause"].click) == ("pause", 1, 1)
    assert stays.actions.count("set_paused") == 1
    assert tile.answer.text() == "✗ not connected"


def test_thirty_seats_fill_the_grid_and_a_status_redraws_one_tile(
    console: Console, qtbot: Any
) -> None:
    vm, page = console.vm, console.page
    seats = [console.add_seat(qtbot, f"PC-{n:02d}") for n in range(1, 31)]
    qtbot.waitUntil(lambda: len(page.tiles) == 30, timeout=WAIT_MS)
    assert page.grid.columnCount() >= 4  # 1366 px wide: several tiles a row
    redrawn: list[str] = []
    for tile in page.tiles.values():
        original = tile.show_seat

        def spy(state: Any, _tile: Any = tile, _original: Any = original) -> bool:
            changed = bool(_original(state))
            if changed:
                redrawn.append(_tile.seat_id)
            return changed

        tile.show_seat = spy  # type: ignore[method-assign]
    seats[7].actions.set_status(stage="generation")
    seats[7].seat.notify_status_changed()
    qtbot.waitUntil(lambda: seats[7].seat_id in redrawn, timeout=WAIT_MS)
    assert set(redrawn) == {seats[7].seat_id}
    assert isinstance(seats[7].actions.status(), SeatStatus)
    assert vm.seats[7].name == "PC-08"


def test_a_seats_refusal_reads_in_the_consoles_language_and_follows_a_switch(
    console: Console, qtbot: Any
) -> None:
    """The seat sends its error's key and problems: the tile words them in German."""
    vm, page = console.vm, console.page
    console.translator.set_language("de")
    refuses = console.add_seat(qtbot, "PC-01")
    newer = console.add_seat(qtbot, "PC-02")
    refuses.actions.profile_raises = refused_profile()
    newer.actions.profile_raises = AppError(
        "A newer seat says this.", key="error.lab.said_by_a_newer_version"
    )
    console.settings[0] = Settings(lesson=LessonSettings("Tiere", (), ()))
    page.show_seats()
    assert _finish(qtbot, vm, page.buttons["push"].click) == ("push", 0, 2)
    tile = page.tiles[refuses.seat_id]
    german = tile.answer.toolTip().splitlines()
    assert german[0] == (
        "Dieser Computer kann das Unterrichtsprofil der Konsole nicht verwenden; "
        "nichts wurde geändert."
    )
    assert "console (Feld „name“): Erwartet wird ein Text, gefunden wurde die Zahl 5." in german
    assert "console (Feld „ui_mode“): Dieses Feld fehlt." in german
    assert tile.answer.text().startswith("✗ Dieser Computer")
    # A key this console does not know: the English text the seat sent.
    assert page.tiles[newer.seat_id].answer.toolTip() == "A newer seat says this."
    console.translator.set_language("en")
    english = tile.answer.toolTip().splitlines()
    assert english[0] == (
        "This computer cannot use the lesson profile from the console; nothing was changed."
    )
    assert "console (field “name”): Expected a text, found the number 5." in english
    assert tile.answer.text().startswith("✗ This computer")


def test_a_seats_reason_inside_the_consoles_sentence_is_in_its_language_too(
    console: Console, qtbot: Any
) -> None:
    vm = console.vm
    console.translator.set_language("de")
    seat = console.add_seat(qtbot, "PC-01")
    seat.actions.blocked_raises = AppError(
        "The review log is not available.", key="error.review_log_missing"
    )
    with qtbot.waitSignal(vm.error_occurred, timeout=WAIT_MS) as failed:
        vm.blocked_attempts(seat.seat_id)
    assert failed.args[0] == (
        "Die blockierten Versuche dieses Platzes konnten nicht gelesen werden: "
        "Das Prüfprotokoll ist nicht verfügbar."
    )
