"""BackendsViewModel with a real BackendManager: demo simulators run as child processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import BackendSettings, Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator, load_catalogue
from ai4artsed_desktop.ui.viewmodels.backends_vm import BackendRow, BackendsViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.viewmodels.status_vm import StatusViewModel
from ai4artsed_desktop.ui.widgets.status_bar import STATE_COLOURS, StatusBar

from ..backend_helpers import START_TIMEOUT_MS, managed_manager, simulator_children
from ..helpers import run


def finish(qtbot: Any, vm: BackendsViewModel, started: bool, name: str = "ollama") -> None:
    """The action on ``name`` was accepted; wait until it has ended."""
    assert started
    qtbot.waitUntil(lambda: not vm.busy(name), timeout=START_TIMEOUT_MS)


class Parts:
    """A view-model with its collaborators and every signal it sent."""

    def __init__(
        self, manager: BackendManager, store: SettingsStore, gpu: FakeGpuProvider, **kw: Any
    ) -> None:
        self.tasks = TaskRegistry("test")
        self.settings_vm = SettingsViewModel(store, Translator("de"))
        self.status = StatusViewModel(gpu, self.tasks)
        self.vm = BackendsViewModel(manager, self.settings_vm, self.tasks, status=self.status, **kw)
        self.states: list[tuple[str, BackendState, bool]] = []
        self.errors: list[tuple[str, str]] = []
        self.demo: list[bool] = []
        self.vm.row_changed.connect(self._record)
        self.vm.error_occurred.connect(lambda m, d: self.errors.append((m, d)))
        self.vm.demo_changed.connect(self.demo.append)

    def _record(self, name: str) -> None:
        row = self.vm.row(name)
        self.states.append((name, row.state, row.busy))

    def row(self, name: str = "ollama") -> BackendRow:
        return self.vm.row(name)

    def shutdown(self, qtbot: Any) -> None:
        run(qtbot, self.vm.shutdown())
        self.settings_vm.shutdown()


@pytest.fixture
def parts(
    demo_manager: BackendManager, demo_store: SettingsStore, no_gpu: FakeGpuProvider, qtbot: Any
) -> Iterator[Parts]:
    built = Parts(demo_manager, demo_store, no_gpu)
    yield built
    built.shutdown(qtbot)


def test_rows_describe_the_demo_backends(parts: Parts) -> None:
    assert parts.vm.names == ("ollama", "swarmui", "comfyui")
    row = parts.row()
    assert (row.display_name, row.mode, row.state) == (
        "Ollama (demo)",
        "demo",
        BackendState.stopped,
    )
    assert row.url.startswith("http://127.0.0.1:")
    assert row.log_file is not None
    assert row.log_file.name.endswith(".log")
    assert (row.can_start, row.can_stop, row.can_restart) == (True, False, False)
    assert parts.vm.demo
    assert not parts.vm.demo_forced
    assert parts.status.backend_states == dict.fromkeys(parts.vm.names, BackendState.stopped)


def test_start_stop_restart_ollama(parts: Parts, qtbot: Any, translator: Translator) -> None:
    bar = StatusBar(parts.status, translator)
    qtbot.addWidget(bar)
    started = parts.vm.start("ollama")
    qtbot.waitUntil(lambda: parts.row().busy, timeout=1000)
    assert not parts.row().can_start
    assert not parts.row().can_stop
    finish(qtbot, parts.vm, started)
    assert parts.row().state is BackendState.ready
    assert ("ollama", BackendState.starting, True) in parts.states
    assert parts.states[-1] == ("ollama", BackendState.ready, False)
    assert parts.status.backend_states["ollama"] is BackendState.ready
    assert bar.lights["ollama"].state is BackendState.ready
    assert bar.lights["ollama"].colour == STATE_COLOURS[BackendState.ready]
    assert any("Listening on" in line for line in parts.row().tail)
    (child,) = simulator_children()
    assert parts.errors == []

    finish(qtbot, parts.vm, parts.vm.restart("ollama"))
    assert parts.row().state is BackendState.ready
    assert not child.is_running()
    (new_child,) = simulator_children()
    assert new_child.pid != child.pid

    finish(qtbot, parts.vm, parts.vm.stop("ollama"))
    assert parts.row().state is BackendState.stopped
    assert bar.lights["ollama"].colour == STATE_COLOURS[BackendState.stopped]
    assert not new_child.is_running()
    assert simulator_children() == []
    assert parts.errors == []


def test_a_second_click_while_busy_is_ignored(parts: Parts, qtbot: Any) -> None:
    accepted = [parts.vm.start("ollama"), parts.vm.start("ollama")]
    accepted.append(parts.vm.stop("ollama"))  # ignored too: the start is still running
    assert accepted == [True, False, False]
    finish(qtbot, parts.vm, True)
    assert parts.row().state is BackendState.ready
    assert len(simulator_children()) == 1
    starts = [s for n, s, _b in parts.states if s is BackendState.starting]
    assert len(starts) == 1


def test_each_backend_has_its_own_busy_state(parts: Parts, qtbot: Any) -> None:
    # Keyed actions: a busy Ollama does not refuse ComfyUI, and the two end on their own.
    assert parts.vm.start("ollama")
    assert parts.vm.start("comfyui")
    assert parts.vm.busy("ollama")
    assert parts.vm.busy("comfyui")
    assert not parts.vm.busy("swarmui")
    assert parts.row("swarmui").can_start
    finish(qtbot, parts.vm, True, "ollama")
    finish(qtbot, parts.vm, True, "comfyui")
    assert parts.row("ollama").state is BackendState.ready
    assert parts.row("comfyui").state is BackendState.ready
    assert len(simulator_children()) == 2
    assert parts.errors == []


def test_settings_changes_while_applying_are_applied_after_it_once(
    parts: Parts, qtbot: Any
) -> None:
    applying: list[bool] = []
    parts.vm.applying_changed.connect(applying.append)
    assert parts.settings_vm.set_value("demo_mode", False)
    assert parts.vm.applying
    assert not parts.vm.start("ollama")  # refused while the settings change runs
    assert parts.settings_vm.set_value("demo_mode", True)  # waits for the first apply
    qtbot.waitUntil(lambda: not parts.vm.applying, timeout=START_TIMEOUT_MS)
    assert applying == [True, False]  # one busy period for both changes
    assert parts.vm.demo
    assert [r.mode for r in parts.vm.rows] == ["demo"] * 3
    assert not any(r.busy for r in parts.vm.rows)


def test_refresh_tail_reports_only_changes(parts: Parts, qtbot: Any) -> None:
    assert not parts.vm.refresh_tail("ollama")
    finish(qtbot, parts.vm, parts.vm.start("ollama"))
    parts.vm.refresh_tails()
    with qtbot.assertNotEmitted(parts.vm.row_changed):
        assert not parts.vm.refresh_tail("ollama")


@pytest.fixture
def missing_ollama(
    qloop: Any, qtbot: Any, app_paths: AppPaths, tmp_path: Path
) -> Iterator[BackendManager]:
    settings = Settings(ollama=BackendSettings(path=str(tmp_path / "no" / "ollama")))
    yield from managed_manager(qtbot, app_paths, settings, demo=False)


def test_missing_program_gives_install_advice_and_clears_busy(
    missing_ollama: BackendManager, store: SettingsStore, no_gpu: FakeGpuProvider, qtbot: Any
) -> None:
    parts = Parts(missing_ollama, store, no_gpu)
    try:
        assert parts.row().mode == "managed"
        assert not parts.vm.demo
        with qtbot.waitSignal(parts.vm.error_occurred, timeout=START_TIMEOUT_MS) as signal:
            started = parts.vm.start("ollama")
        finish(qtbot, parts.vm, started)
        message, detail = signal.args
        assert "Install Ollama" in message
        assert "Traceback" not in message
        assert "missing" in detail
        assert not parts.row().busy
        assert parts.row().state is BackendState.not_installed
        assert "Install Ollama" in parts.row().message
        assert parts.status.backend_states["ollama"] is BackendState.not_installed
        assert parts.row().can_start
        assert not parts.row().can_restart
        assert simulator_children() == []
    finally:
        parts.shutdown(qtbot)


def test_a_refusal_reaches_the_banner_in_the_ui_language(
    missing_ollama: BackendManager, store: SettingsStore, no_gpu: FakeGpuProvider, qtbot: Any
) -> None:
    parts = Parts(missing_ollama, store, no_gpu, translator=Translator("de"))
    translator = Translator("de")
    bar = StatusBar(parts.status, translator)  # the lights in the window's status bar
    qtbot.addWidget(bar)
    try:
        with qtbot.waitSignal(parts.vm.error_occurred, timeout=START_TIMEOUT_MS) as signal:
            assert parts.vm.start("ollama")
        message, detail = signal.args
        german = load_catalogue("de")["error.backend_not_found.ollama"]
        assert message == german.format(**dict(parts.row().message_params))
        assert message.startswith("Ollama wurde auf diesem Computer nicht gefunden")
        assert "Installiere Ollama von ollama.com" in message
        assert "Install Ollama" in detail  # the English advice stays one click away
        # The backend's state message follows the UI language too (row, light, switch).
        row = parts.row()
        assert row.state is BackendState.not_installed
        assert row.message_key == "error.backend_not_found.ollama"
        assert "Ollama wurde auf diesem Computer nicht gefunden" in bar.lights["ollama"].toolTip()
        translator.set_language("en")
        assert "Install Ollama from ollama.com" in bar.lights["ollama"].toolTip()
    finally:
        parts.shutdown(qtbot)


def test_switching_demo_off_applies_the_settings(parts: Parts, qtbot: Any) -> None:
    finish(qtbot, parts.vm, parts.vm.start("ollama"))
    with qtbot.waitSignal(parts.vm.demo_changed, timeout=START_TIMEOUT_MS):
        assert parts.settings_vm.set_value("demo_mode", False)
    qtbot.waitUntil(lambda: not parts.vm.applying, timeout=START_TIMEOUT_MS)
    assert parts.demo == [False]
    assert not parts.vm.demo
    assert [r.mode for r in parts.vm.rows] == ["managed"] * 3
    assert [r.state for r in parts.vm.rows] == [BackendState.stopped] * 3
    assert not any(r.busy for r in parts.vm.rows)
    assert parts.status.backend_states["ollama"] is BackendState.stopped
    assert simulator_children() == []


def test_unrelated_settings_do_not_touch_the_backends(parts: Parts, qtbot: Any) -> None:
    with qtbot.assertNotEmitted(parts.vm.applying_changed):
        assert parts.settings_vm.set_value("safety.level", "kids")
    assert len(parts.tasks) == 0
    assert not parts.vm.applying


def test_a_backend_setting_change_keeps_demo_forced_by_the_command_line(
    demo_manager: BackendManager, store: SettingsStore, no_gpu: FakeGpuProvider, qtbot: Any
) -> None:
    # The store says "no demo" but the command line forced demo backends.
    store.set("demo_mode", False)
    parts = Parts(demo_manager, store, no_gpu, demo_forced=True)
    try:
        assert parts.vm.demo_forced
        old_url = parts.row().url
        with qtbot.waitSignal(parts.vm.applying_changed, timeout=1000) as started:
            assert parts.settings_vm.set_value("ollama.port", 12345)
        assert started.args == [True]
        qtbot.waitUntil(lambda: not parts.vm.applying, timeout=START_TIMEOUT_MS)
        assert parts.row().mode == "demo"
        # Simulators ignore paths and ports: the demo backend is not rebuilt needlessly.
        assert parts.row().url == old_url
        assert parts.vm.demo
        assert parts.demo == []
    finally:
        parts.shutdown(qtbot)


def test_shutdown_stops_listening_and_cancels_a_running_start(
    parts: Parts, demo_manager: BackendManager, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulator prints "Listening on", then answers nothing: the start stays in flight.
    monkeypatch.setenv("FAKE_OLLAMA_DISCOVERY_MS", "60000")
    assert parts.vm.start("ollama")
    qtbot.waitUntil(
        lambda: any("Listening on" in line for line in demo_manager.entry("ollama").impl.tail),
        timeout=START_TIMEOUT_MS,
    )
    assert parts.row().busy
    assert parts.row().state is BackendState.starting
    parts.shutdown(qtbot)
    assert not parts.vm.busy("ollama")  # the start was cancelled and has ended
    assert not parts.row().busy
    assert demo_manager.states()["ollama"] is BackendState.stopped
    assert simulator_children() == []
    monkeypatch.delenv("FAKE_OLLAMA_DISCOVERY_MS")
    assert not parts.vm.start("ollama")  # ignored after shutdown
    assert not parts.row().busy
    # The manager still works, but the view-model and the lights no longer follow it.
    seen = len(parts.states)
    status_before = parts.status.backend_states
    run(qtbot, demo_manager.ensure_ready("ollama"), timeout=START_TIMEOUT_MS)
    assert len(parts.states) == seen
    assert parts.status.backend_states == status_before
