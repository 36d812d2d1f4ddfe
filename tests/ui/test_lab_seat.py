"""This window as a seat: joining a class in Settings, "eyes on me" from the console, and
a console that cannot be reached (the window keeps working)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.lab import seat as seat_module
from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.seat import SeatLink
from ai4artsed_desktop.lab.state import LAB_FOLDER, SEAT_FILE
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.viewmodels.lab_console_vm import LabConsoleViewModel
from ai4artsed_desktop.ui.widgets.lab_seat_panel import LabSeatPanel
from tests.integration.lab_rig import make_console

from .helpers import open_shell, run

WAIT_MS = 10_000


@pytest.fixture
def console_vm(qloop: Any, qtbot: Any, tmp_path: Path) -> Iterator[LabConsoleViewModel]:
    tasks = TaskRegistry("lab-console")
    vm = LabConsoleViewModel(
        tmp_path / "teacher",
        Settings,
        tasks,
        Translator("en"),
        # The app's seat heartbeats every 5 s, so the console here waits as long as the
        # real one (the rig's 0.2 s would call this seat offline between two heartbeats).
        console_factory=lambda folder, _port: LabConsole(folder, 0, "127.0.0.1"),
        addresses=lambda: ["127.0.0.1"],
    )
    with qtbot.waitSignal(vm.listening_changed, timeout=WAIT_MS):
        vm.start_listening()
    yield vm
    run(qtbot, vm.shutdown(), timeout=WAIT_MS)
    run(qtbot, tasks.cancel_all())


def _panel(shell: Shell) -> LabSeatPanel:
    shell.window.show_page("settings")
    panel = shell.window.findChild(LabSeatPanel)
    assert isinstance(panel, LabSeatPanel)
    return panel


def _join(qtbot: Any, panel: LabSeatPanel, port: int, code: str, name: str = "PC-07") -> None:
    panel.host_edit.setText("127.0.0.1")
    panel.port_spin.setValue(port)
    panel.code_edit.setText(code)
    panel.name_edit.setText(name)
    panel.join_button.click()


def test_the_seat_joins_in_settings_and_the_console_pauses_and_resumes_it(
    shell: Shell, console_vm: LabConsoleViewModel, qtbot: Any, store: SettingsStore
) -> None:
    panel = _panel(shell)
    assert panel.link_label.text() == "Dieser PC gehört zu keiner Klasse."
    seat_vm = shell.lab_seat_vm
    assert seat_vm is not None
    with qtbot.waitSignal(seat_vm.paired_with, timeout=WAIT_MS):
        _join(qtbot, panel, console_vm.port, console_vm.class_code)
    assert panel.code_edit.text() == ""  # the code is not kept
    qtbot.waitUntil(lambda: seat_vm.link == SeatLink.ONLINE, timeout=WAIT_MS)
    assert "PC-07" in panel.link_label.text()
    qtbot.waitUntil(lambda: [s.name for s in console_vm.seats] == ["PC-07"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: console_vm.seats[0].status is not None, timeout=WAIT_MS)
    status = console_vm.seats[0].status
    assert status is not None
    assert set(status.backends) == {"ollama", "swarmui", "comfyui"}
    # A student types, the teacher says "eyes on me".
    window = shell.window
    window.show_page("create")
    page = window.pages["create"]
    assert isinstance(page, CreatePage)
    page.idea_edit.setFocus()
    QTest.keyClicks(page.idea_edit, "Ein Drache")
    overlay = shell.pause_overlay
    assert overlay is not None
    with qtbot.waitSignal(console_vm.command_finished, timeout=WAIT_MS):
        console_vm.pause("Alle nach vorne schauen")
    assert overlay.paused
    assert overlay.message_label.text() == "Alle nach vorne schauen"
    QTest.keyClicks(page.idea_edit, " aus Glas")
    assert page.idea_edit.toPlainText() == "Ein Drache"
    qtbot.waitUntil(
        lambda: bool(console_vm.seats[0].status and console_vm.seats[0].status.paused),
        timeout=WAIT_MS,
    )
    with qtbot.waitSignal(console_vm.command_finished, timeout=WAIT_MS) as resumed:
        assert console_vm.resume()
    assert resumed.args == ["resume", 1, 0], console_vm.outcome(console_vm.seats[0].seat_id)
    assert not overlay.paused
    assert page.idea_edit.toPlainText() == "Ein Drache"
    # The console's lesson profile arrives and shows in the header.
    with qtbot.waitSignal(console_vm.command_finished, timeout=WAIT_MS) as finished:
        assert console_vm._console is not None
        profile = {
            "format": "ai4artsed-desktop-lesson-profile", "schema_version": 1,
            "name": "Drachen", "allowed_configs": [], "allowed_outputs": [],
            "safety_level": "kids", "ui_mode": "kids", "model_roles": {},
            "retention_days": 0, "image_engine": "swarmui", "backends": {},
        }  # fmt: skip
        console_vm._run("push", lambda c, ids: c.push_profile(profile, ids))
    assert finished.args[1:] == [1, 0]
    assert store.current.lesson.profile_name == "Drachen"
    assert store.current.safety.level == "kids"
    assert window.profile_label.isVisible()


def test_a_wrong_code_says_so_and_changes_nothing(
    shell: Shell, console_vm: LabConsoleViewModel, qtbot: Any
) -> None:
    panel = _panel(shell)
    seat_vm = shell.lab_seat_vm
    assert seat_vm is not None
    with qtbot.waitSignal(seat_vm.pair_failed, timeout=WAIT_MS):
        _join(qtbot, panel, console_vm.port, "AAA-AAA")
    assert "Klassencode" in panel.message_label.text()
    assert not seat_vm.paired
    assert console_vm.seats == []


def test_an_unreachable_console_never_blocks_the_window(
    shell: Shell, qtbot: Any, tmp_path: Path
) -> None:
    # A port nobody listens on: the console's PC is off. The failure names the address.
    closed = make_console(tmp_path / "gone")
    port = run(qtbot, _free_port(closed))
    panel = _panel(shell)
    seat_vm = shell.lab_seat_vm
    assert seat_vm is not None
    with qtbot.waitSignal(seat_vm.pair_failed, timeout=WAIT_MS) as failed:
        _join(qtbot, panel, port, "K7Q-F3P")
    assert "127.0.0.1" in failed.args[0]
    assert panel.join_button.isEnabled()


def test_a_silent_console_never_freezes_the_window(
    shell: Shell, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A console PC that accepts the connection and then hangs: the attempt takes until the
    # connect timeout, and all that time the window handles timers and keys.
    monkeypatch.setattr(seat_module, "CONNECT_TIMEOUT_S", 5.0)
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # never answers, never closes

    server = run(qtbot, asyncio.start_server(silent, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    panel = _panel(shell)
    seat_vm = shell.lab_seat_vm
    assert seat_vm is not None
    try:
        with qtbot.waitSignal(seat_vm.pair_failed, timeout=WAIT_MS):
            _join(qtbot, panel, port, "K7Q-F3P")
            qtbot.waitUntil(lambda: bool(held), timeout=WAIT_MS)
            assert seat_vm.busy
            fired: list[bool] = []
            QTimer.singleShot(20, lambda: fired.append(seat_vm.busy))
            qtbot.waitUntil(lambda: bool(fired), timeout=WAIT_MS)
            assert fired == [True]  # the window's timer fired while the seat still tried
            QTest.keyClick(panel.host_edit, Qt.Key.Key_End)
            QTest.keyClicks(panel.host_edit, "x")
            assert panel.host_edit.text().endswith("x")
        assert panel.join_button.isEnabled()
    finally:
        for writer in held:
            writer.transport.abort()
        server.close()


async def _free_port(console: LabConsole) -> int:
    await console.start()
    port = console.port
    await console.close()
    return port


def test_a_damaged_pairing_file_is_named_in_the_ui_language(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    fake_gpu: FakeGpuProvider,
    expect_log_warnings: None,
) -> None:
    """The seat's broken pairing file: the window still opens and says so, in German."""
    folder = app_paths.data_dir / LAB_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SEAT_FILE).write_text('{"host": "10.0.0.2"}', encoding="utf-8")
    with open_shell(
        qtbot, paths=app_paths, store=store, content=content, gpu=fake_gpu, demo=True
    ) as shell:
        assert shell.lab_seat_vm is None
        banner = shell.window.banner
        assert banner.message.startswith("Die Labor-Datei lab_seat.json ist beschädigt")
        assert "missing" in banner.detail  # the technical reason stays for the teacher
        shell.translator.set_language("en")
        assert banner.message.startswith("The lab file lab_seat.json is damaged")
    assert (folder / SEAT_FILE).read_text(encoding="utf-8") == '{"host": "10.0.0.2"}'
