"""The supervisor inside the app's real loop: qasync on a Qt event loop (environment.md traps)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ai4artsed_desktop.backends.process import ProcessSupervisor, RestartPolicy
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes
from tests.fakes.procs import StateRecorder, dead, fake_spec, poll_until, read_pids


@pytest.mark.usefixtures("expect_log_warnings")
def test_start_crash_restart_and_stop_under_qasync(
    qloop: asyncio.AbstractEventLoop, qtbot: QtBot, app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spawns, gc_file = tmp_path / "spawns.txt", tmp_path / "gc.pid"
    rec = StateRecorder()
    spec = fake_spec(port, "--spawn-log", str(spawns), "--grandchild-pidfile", str(gc_file))
    sup = ProcessSupervisor(
        spec,
        log_dir=app_paths.log_dir,
        state_dir=app_paths.state_dir,
        on_state=rec,
        restart=RestartPolicy(base_delay=0.01),
    )

    async def scenario() -> tuple[int, int]:
        await asyncio.gather(*(sup.ensure_ready() for _ in range(5)))
        first = sup.pid
        assert first is not None
        first_grandchild = int(gc_file.read_text())
        os.kill(first, signal.SIGKILL)
        await rec.wait_for(BackendState.ready, count=2)
        await poll_until(dead(first_grandchild))  # the crashed server's group was killed
        second = sup.pid
        assert second is not None
        await sup.stop()
        outcome = await sup.wait_exit()
        assert outcome.signal == signal.SIGTERM  # reaped by asyncio, not psutil (no 255)
        await poll_until(dead(int(gc_file.read_text())))
        return first, second

    task = qloop.create_task(scenario())
    qtbot.waitUntil(task.done, timeout=15_000)
    first, second = task.result()
    assert read_pids(spawns) == [first, second]
    assert rec.states[-1] is BackendState.stopped
    assert not processes.is_alive(first)
    assert not processes.is_alive(second)
