"""Crash detection and automatic restarts of supervised children (real processes, SIGKILL)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.http import make_client, translate_errors
from ai4artsed_desktop.backends.process import ProcessSupervisor, RestartPolicy
from ai4artsed_desktop.errors import AppError
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes
from tests.fakes.procs import StateRecorder, dead, fake_spec, poll_until, read_pids

pytestmark = pytest.mark.asyncio

FAST = RestartPolicy(max_restarts=3, base_delay=0.05, max_delay=0.2)


def supervisor(app_paths: AppPaths, spec, rec, restart=FAST) -> ProcessSupervisor:  # type: ignore[no-untyped-def]
    return ProcessSupervisor(
        spec,
        log_dir=app_paths.log_dir,
        state_dir=app_paths.state_dir,
        on_state=rec,
        restart=restart,
    )


async def get_pid(port: int, path: str = "/") -> int:
    async with make_client(f"127.0.0.1:{port}") as client, translate_errors("Fake Server"):
        response = await client.get(path)
    return int(response.json()["pid"])


@pytest.mark.usefixtures("expect_log_warnings")
async def test_sigkill_while_idle_is_detected_and_restarted(
    app_paths: AppPaths, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    rec = StateRecorder()
    sup = supervisor(app_paths, fake_spec(port, "--spawn-log", str(spawns)), rec)
    try:
        await sup.ensure_ready()
        first = sup.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await rec.wait_for(BackendState.ready, count=2)
        assert rec.states == [
            BackendState.starting,
            BackendState.ready,
            BackendState.crashed,
            BackendState.restarting,
            BackendState.ready,
        ]
        crashed = next(e for e in rec.events if e.state is BackendState.crashed)
        assert "killed by signal 9" in crashed.message
        assert sup.pid != first
        assert sup.pid == read_pids(spawns)[-1]
        assert await get_pid(port) == sup.pid
        assert any(
            r.levelno == logging.WARNING and "crashed" in r.getMessage() for r in caplog.records
        )
    finally:
        await sup.stop()


@pytest.mark.usefixtures("expect_log_warnings")
async def test_sigkill_during_a_request_then_the_next_call_works(app_paths: AppPaths) -> None:
    port = processes.free_port()
    rec = StateRecorder()
    # A long backoff: the next ensure_ready() must start the server itself, not wait for it.
    sup = supervisor(app_paths, fake_spec(port), rec, RestartPolicy(base_delay=30.0))
    try:
        await sup.ensure_ready()
        first = sup.pid
        assert first is not None
        request = asyncio.create_task(get_pid(port, "/slow"))
        await poll_until(lambda: "slow request started" in sup.tail or request.done())
        os.kill(first, signal.SIGKILL)
        with pytest.raises(AppError):
            await request
        await sup.ensure_ready()
        assert sup.state is BackendState.ready
        assert await get_pid(port) == sup.pid != first
    finally:
        await sup.stop()
    assert rec.states[-1] is BackendState.stopped


async def test_no_restart_after_an_explicit_stop(app_paths: AppPaths, tmp_path: Path) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    rec = StateRecorder()
    sup = supervisor(app_paths, fake_spec(port, "--spawn-log", str(spawns)), rec)
    await sup.ensure_ready()
    await sup.stop()
    outcome = await sup.wait_exit()
    assert outcome.signal == signal.SIGTERM
    assert rec.states == [BackendState.starting, BackendState.ready, BackendState.stopped]
    assert len(read_pids(spawns)) == 1


@pytest.mark.usefixtures("expect_log_warnings")
async def test_restarts_stop_after_the_limit(app_paths: AppPaths, tmp_path: Path) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    rec = StateRecorder()
    spec = fake_spec(port, "--spawn-log", str(spawns), "--crash-after", "0.3", "--exit-code", "7")
    sup = supervisor(app_paths, spec, rec, RestartPolicy(max_restarts=1, base_delay=0.01))
    try:
        await sup.ensure_ready()
        await rec.wait_for(BackendState.failed)
        assert rec.states == [
            BackendState.starting,
            BackendState.ready,
            BackendState.crashed,
            BackendState.restarting,
            BackendState.ready,
            BackendState.crashed,
            BackendState.failed,
        ]
        assert "exited with code 7" in rec.events[2].message
        assert "not restarted automatically" in rec.events[-1].message
        assert len(read_pids(spawns)) == 2
        await poll_until(dead(read_pids(spawns)[-1]))
    finally:
        await sup.stop()


async def test_one_shot_job_exit_is_the_end_not_a_crash(app_paths: AppPaths) -> None:
    port = processes.free_port()
    rec = StateRecorder()
    spec = fake_spec(
        port,
        "--never-ready",
        "--crash-after",
        "0.2",
        "--exit-code",
        "0",
        port=None,
        ready_probe=None,
        ready_line=None,
        one_shot=True,
    )
    sup = supervisor(app_paths, spec, rec)
    await sup.start()
    assert sup.state is BackendState.ready
    outcome = await sup.wait_exit()
    assert outcome.ok
    await rec.wait_for(BackendState.stopped)
    assert BackendState.crashed not in rec.states
    assert BackendState.restarting not in rec.states
