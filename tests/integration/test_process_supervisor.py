"""ProcessSupervisor with real child processes: lazy start, readiness, failures, output, stop."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.process import OutputLine, RestartPolicy
from ai4artsed_desktop.errors import BackendNotInstalled, BackendUnavailable, ProcessCrashed
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes
from tests.fakes.procs import StateRecorder, dead, fake_spec, make_supervisor, poll_until, read_pids

pytestmark = pytest.mark.asyncio


async def test_ten_concurrent_first_calls_start_exactly_one_process(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    rec = StateRecorder()
    sup = make_supervisor(
        app_paths, fake_spec(port, "--spawn-log", str(spawns), "--ready-delay", "0.2"), rec
    )
    try:
        await asyncio.gather(*(sup.ensure_ready() for _ in range(10)))
        assert len(read_pids(spawns)) == 1
        assert sup.state is BackendState.ready
        assert sup.pid == read_pids(spawns)[0]
        assert rec.states == [BackendState.starting, BackendState.ready]
        await sup.ensure_ready()  # fast path: no new process
        assert len(read_pids(spawns)) == 1
        record = json.loads((app_paths.state_dir / "fake.json").read_text())
        assert record["pid"] == sup.pid
        assert record["port"] == port
    finally:
        await sup.stop()
    assert not (app_paths.state_dir / "fake.json").exists()


async def test_never_ready_fails_with_last_lines_and_kills_the_process(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    spec = fake_spec(
        port,
        "--never-ready",
        "--spawn-log",
        str(spawns),
        "--say",
        "loading custom nodes from /opt/nodes",
        startup_timeout=1.0,
    )
    rec = StateRecorder()
    sup = make_supervisor(app_paths, spec, rec)
    with pytest.raises(BackendUnavailable) as info:
        await sup.ensure_ready()
    err = info.value
    assert "did not become ready within 1 seconds" in err.user_message
    assert "loading custom nodes from /opt/nodes" in err.detail
    assert "waiting for something that never comes" in err.detail
    assert sup.state is BackendState.failed
    assert rec.states[-1] is BackendState.failed
    assert not processes.is_alive(read_pids(spawns)[0])
    assert sup.pid is None


async def test_early_exit_reports_code_advice_and_is_not_restarted(
    app_paths: AppPaths,
) -> None:
    port = processes.free_port()
    spec = fake_spec(
        port,
        "--never-ready",
        "--crash-after",
        "0",
        "--exit-code",
        "3",
        "--say",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    )
    rec = StateRecorder()
    sup = make_supervisor(
        app_paths, spec, rec, restart=RestartPolicy(max_restarts=5, base_delay=0.01)
    )
    with pytest.raises(ProcessCrashed) as info:
        await sup.ensure_ready()
    assert "exited with code 3" in info.value.user_message
    assert "graphics card ran out of memory" in info.value.user_message
    assert "Tried to allocate 2.00 GiB" in info.value.detail
    assert rec.states == [BackendState.starting, BackendState.failed]
    outcome = await sup.wait_exit()
    assert outcome.returncode == 3
    assert str(outcome) == "Fake Server exited with code 3. See the log for details."


async def test_missing_program_is_not_installed_with_advice(app_paths: AppPaths) -> None:
    spec = fake_spec(
        1, argv=("/nonexistent/bin/ollama", "serve"), install_hint="Install it from example.org."
    )
    rec = StateRecorder()
    sup = make_supervisor(app_paths, spec, rec)
    with pytest.raises(BackendNotInstalled) as info:
        await sup.ensure_ready()
    assert "was not found (/nonexistent/bin/ollama)" in info.value.user_message
    assert "Install it from example.org." in info.value.user_message
    assert sup.state is BackendState.not_installed
    assert rec.events[-1].message == info.value.user_message


async def test_missing_required_file_is_not_installed(app_paths: AppPaths, tmp_path: Path) -> None:
    missing = tmp_path / "ComfyUI" / "main.py"
    sup = make_supervisor(app_paths, fake_spec(1, required_paths=(missing,)))
    with pytest.raises(BackendNotInstalled, match=r"main\.py"):
        await sup.ensure_ready()
    assert sup.state is BackendState.not_installed


async def test_output_is_split_on_cr_and_logged_to_the_child_logger(
    app_paths: AppPaths, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ai4artsed.child.fake")
    port = processes.free_port()
    sup = make_supervisor(app_paths, fake_spec(port, "--cr-lines", "4", "--say", "grüße ✓"))
    seen: list[OutputLine] = []
    sup.add_line_listener(seen.append)
    try:
        await sup.ensure_ready()
        texts = [line.text for line in seen]
        assert [t for t in texts if t.startswith("steps:")] == [
            f"steps: {i}/4" for i in range(1, 5)
        ]
        assert "grüße ✓" in texts
        assert any(
            line.stream == "stderr" and line.text.startswith("Listening on") for line in seen
        )
        logged = [r.getMessage() for r in caplog.records if r.name == "ai4artsed.child.fake"]
        assert "steps: 3/4" in logged
        assert "steps: 4/4" in sup.tail
    finally:
        await sup.stop()


async def test_child_environment_is_cleaned(
    app_paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/our/app/path")
    monkeypatch.setenv("PYTHONHOME", "/broken/home")  # the child's Python would not start
    monkeypatch.setenv("VIRTUAL_ENV", "/our/venv")
    monkeypatch.setenv("QT_SCALE_FACTOR", "2")
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    monkeypatch.setenv("KEEP_ME", "yes")
    dump = tmp_path / "env.json"
    port = processes.free_port()
    sup = make_supervisor(app_paths, fake_spec(port, "--env-dump", str(dump), env={"EXTRA": "1"}))
    try:
        await sup.ensure_ready()
    finally:
        await sup.stop()
    env = json.loads(dump.read_text())
    for name in (
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "QT_SCALE_FACTOR",
        "QTWEBENGINE_CHROMIUM_FLAGS",
    ):
        assert name not in env
    assert env["KEEP_ME"] == "yes"
    assert env["EXTRA"] == "1"


async def test_stop_kills_grandchildren_and_reports_stopped(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    gc_file = tmp_path / "grandchild.pid"
    rec = StateRecorder()
    sup = make_supervisor(app_paths, fake_spec(port, "--grandchild-pidfile", str(gc_file)), rec)
    await sup.ensure_ready()
    child = sup.pid
    assert child is not None
    grandchild = int(gc_file.read_text())
    assert processes.is_alive(grandchild)
    assert grandchild in processes.tree_pids(child)
    await sup.stop()
    assert not processes.is_alive(child)
    await poll_until(dead(grandchild))
    assert sup.state is BackendState.stopped
    assert BackendState.crashed not in rec.states
    assert not (app_paths.state_dir / "fake.json").exists()


async def test_stop_kills_a_child_that_ignores_sigterm(app_paths: AppPaths) -> None:
    port = processes.free_port()
    sup = make_supervisor(app_paths, fake_spec(port, "--ignore-term"))
    await sup.ensure_ready()
    await sup.stop(grace=0.3)
    outcome = await sup.wait_exit()
    assert outcome.returncode == -9
    assert str(outcome) == "Fake Server was killed by signal 9 (SIGKILL). See the log for details."


async def test_stop_during_start_interrupts_the_start(app_paths: AppPaths, tmp_path: Path) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    rec = StateRecorder()
    sup = make_supervisor(
        app_paths, fake_spec(port, "--never-ready", "--spawn-log", str(spawns)), rec
    )
    starting = asyncio.create_task(sup.ensure_ready())
    await poll_until(lambda: len(read_pids(spawns)) == 1)
    await sup.stop()
    with pytest.raises(BackendUnavailable, match="stopped before it was ready"):
        await starting
    assert sup.state is BackendState.stopped
    assert not processes.is_alive(read_pids(spawns)[0])
    assert BackendState.failed not in rec.states


async def test_unstartable_program_fails_with_a_plain_message(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    spec = fake_spec(processes.free_port(), cwd=tmp_path / "missing-folder")
    rec = StateRecorder()
    sup = make_supervisor(app_paths, spec, rec)
    with pytest.raises(BackendUnavailable, match="Fake Server could not be started") as info:
        await sup.ensure_ready()
    assert "missing-folder" in info.value.detail
    assert rec.states == [BackendState.starting, BackendState.failed]


async def test_a_start_that_installs_first_says_installing_until_ready(
    app_paths: AppPaths,
) -> None:
    """SwarmUI's first start builds: the same state machine says "installing", then "ready"."""
    port = processes.free_port()
    message = "Fake Server is installing: its log shows what it does."
    spec = fake_spec(port, "--ready-delay", "0.2", installs=True, starting_message=message)
    rec = StateRecorder()
    sup = make_supervisor(app_paths, spec, rec)
    try:
        await sup.ensure_ready()
        assert rec.states == [BackendState.installing, BackendState.ready]
        assert rec.events[0].message == message
        assert not BackendState.installing.is_usable
    finally:
        await sup.stop()
