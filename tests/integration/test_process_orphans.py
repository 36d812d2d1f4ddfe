"""No orphans, leftovers adopted or removed, foreign port owners named (real processes)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.process import RestartPolicy
from ai4artsed_desktop.backends.process_record import RecordFile
from ai4artsed_desktop.errors import PortInUse
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes
from tests.fakes.procs import (
    StateRecorder,
    dead,
    fake_spec,
    finished_pid,
    make_supervisor,
    poll_until,
    read_pids,
    spawn,
    start_foreign,
)

pytestmark = pytest.mark.asyncio

REPO = Path(__file__).resolve().parent.parent.parent
SUPERVISE = REPO / "tests" / "fakes" / "supervise.py"


def write_record(app_paths: AppPaths, pid: int, port: int, argv: tuple[str, ...]) -> None:
    ctime = processes.create_time(pid)
    assert ctime is not None
    RecordFile(app_paths.state_dir, "fake").write(pid, ctime, port, argv)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
async def test_sigkilled_app_leaves_no_orphans(app_paths: AppPaths, tmp_path: Path) -> None:
    port = processes.free_port()
    pidfile, gc_file = tmp_path / "child.pid", tmp_path / "grandchild.pid"
    argv = [str(app_paths.state_dir), str(app_paths.log_dir), str(port), str(pidfile)]
    app = spawn(
        sys.executable,
        str(SUPERVISE),
        *argv,
        "--grandchild-pidfile",
        str(gc_file),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await poll_until(pidfile.exists, within=10)
        child, grandchild = int(pidfile.read_text()), int(gc_file.read_text())
        assert processes.is_alive(child)
        assert processes.is_alive(grandchild)
        app.send_signal(signal.SIGKILL)
        assert app.wait(timeout=5) == -signal.SIGKILL
        await poll_until(dead(child))  # the kernel's death signal, no code of ours ran
        # The grandchild outlived them both; the next start cleans it up via the pid record.
        assert processes.is_alive(grandchild)
        sup = make_supervisor(app_paths, fake_spec(port))
        try:
            await sup.ensure_ready()
            await poll_until(dead(grandchild))
            assert sup.pid != child
            assert not sup.adopted
        finally:
            await sup.stop()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


async def test_leftover_server_is_adopted_and_stopped_by_pid(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spawns = tmp_path / "spawns.txt"
    spec = fake_spec(port, "--spawn-log", str(spawns))
    leftover = start_foreign(port, "--spawn-log", str(spawns))
    try:
        write_record(app_paths, leftover.pid, port, spec.argv)
        rec = StateRecorder()
        sup = make_supervisor(app_paths, spec, rec)
        await sup.ensure_ready()
        assert sup.adopted
        assert sup.pid == leftover.pid
        assert read_pids(spawns) == [leftover.pid]  # no new process
        assert rec.states == [BackendState.ready]
        await sup.stop()
        assert leftover.wait(timeout=5) == -signal.SIGTERM
        assert not (app_paths.state_dir / "fake.json").exists()
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()


@pytest.mark.usefixtures("expect_log_warnings")
async def test_adopted_server_that_dies_is_restarted_as_our_child(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spec = fake_spec(port)
    leftover = start_foreign(port)
    rec = StateRecorder()
    sup = make_supervisor(app_paths, spec, rec, restart=RestartPolicy(base_delay=0.01))
    try:
        write_record(app_paths, leftover.pid, port, spec.argv)
        await sup.ensure_ready()
        assert sup.adopted
        leftover.kill()
        leftover.wait()
        await rec.wait_for(BackendState.ready, count=2)
        assert BackendState.crashed in rec.states
        assert not sup.adopted
        assert sup.pid not in (None, leftover.pid)
    finally:
        await sup.stop()


async def test_leftover_that_does_not_answer_is_killed_and_replaced(
    app_paths: AppPaths, tmp_path: Path
) -> None:
    port = processes.free_port()
    spec = fake_spec(port)
    hung = start_foreign(port, "--never-ready")
    try:
        write_record(app_paths, hung.pid, port, spec.argv)
        sup = make_supervisor(app_paths, spec)
        await sup.ensure_ready()
        assert hung.wait(timeout=5) != 0
        assert not sup.adopted
        assert sup.pid != hung.pid
        record = RecordFile(app_paths.state_dir, "fake").read()
        assert record is not None
        assert record.pid == sup.pid
        await sup.stop()
    finally:
        if hung.poll() is None:
            hung.kill()
            hung.wait()


async def test_record_of_a_dead_process_is_replaced(app_paths: AppPaths) -> None:
    gone_pid, ctime = finished_pid()
    port = processes.free_port()
    spec = fake_spec(port)
    RecordFile(app_paths.state_dir, "fake").write(gone_pid, ctime, port, spec.argv)
    sup = make_supervisor(app_paths, spec)
    try:
        await sup.ensure_ready()
        record = RecordFile(app_paths.state_dir, "fake").read()
        assert record is not None
        assert record.pid == sup.pid != gone_pid
    finally:
        await sup.stop()


async def test_foreign_port_owner_is_named_in_port_in_use(app_paths: AppPaths) -> None:
    port = processes.free_port()
    foreign = start_foreign(port)
    try:
        rec = StateRecorder()
        sup = make_supervisor(app_paths, fake_spec(port), rec)
        with pytest.raises(PortInUse) as info:
            await sup.ensure_ready()
        message = info.value.user_message
        assert f"port {port} is already used by python" in message
        assert f"(pid {foreign.pid})" in message
        assert "choose another port for Fake Server in Settings" in message
        assert sup.state is BackendState.failed
        assert processes.is_alive(foreign.pid)  # never touch a program that is not ours
    finally:
        foreign.terminate()
        foreign.wait()


async def test_unusable_record_file_is_removed(app_paths: AppPaths) -> None:
    path = app_paths.state_dir / "fake.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"pid": "not a number"}')
    assert RecordFile(app_paths.state_dir, "fake").read() is None
    assert not path.exists()


def _live_owner() -> tuple[subprocess.Popen[bytes], str]:
    """Another running process standing in for the app that owns a recorded server."""
    other = spawn(sys.executable, "-c", "import time; time.sleep(60)")
    ctime = processes.create_time(other.pid)
    assert ctime is not None
    return other, f"{other.pid}:{ctime:.2f}"


async def test_server_of_a_live_app_is_never_killed(app_paths: AppPaths) -> None:
    """A live app's server started with other arguments: not adopted, and not touched.

    Before owners were recorded this path logged "removing leftover pid … alive: True" and
    killed the first window's backend when a second copy of the app started.
    """
    port = processes.free_port()
    spec = fake_spec(port)
    server = start_foreign(port)
    other, owner = _live_owner()
    try:
        ctime = processes.create_time(server.pid)
        assert ctime is not None
        argv = (*spec.argv, "--other-settings")
        RecordFile(app_paths.state_dir, "fake").write(server.pid, ctime, port, argv, owner=owner)
        sup = make_supervisor(app_paths, spec)
        with pytest.raises(PortInUse):
            await sup.ensure_ready()
        assert server.poll() is None  # the live app's server survives
        record = RecordFile(app_paths.state_dir, "fake").read()
        assert record is not None
        assert (record.pid, record.owner) == (server.pid, owner)
    finally:
        for proc in (server, other):
            proc.kill()
            proc.wait()


async def test_server_of_a_live_app_is_borrowed_and_left_running(app_paths: AppPaths) -> None:
    port = processes.free_port()
    spec = fake_spec(port)
    server = start_foreign(port)
    other, owner = _live_owner()
    try:
        ctime = processes.create_time(server.pid)
        assert ctime is not None
        RecordFile(app_paths.state_dir, "fake").write(
            server.pid, ctime, port, spec.argv, owner=owner
        )
        sup = make_supervisor(app_paths, spec)
        await sup.ensure_ready()
        assert sup.adopted
        assert sup.pid == server.pid
        await sup.stop()
        assert server.poll() is None  # still running: its owner stops it, not a guest
        record = RecordFile(app_paths.state_dir, "fake").read()
        assert record is not None
        assert record.owner == owner
    finally:
        for proc in (server, other):
            proc.kill()
            proc.wait()


async def test_adopted_leftover_is_recorded_as_ours(app_paths: AppPaths) -> None:
    """After adopting a dead app's server, the record names us, so we own its clean-up."""
    port = processes.free_port()
    spec = fake_spec(port)
    leftover = start_foreign(port)
    try:
        ctime = processes.create_time(leftover.pid)
        assert ctime is not None
        gone_pid, gone_ctime = finished_pid()
        RecordFile(app_paths.state_dir, "fake").write(
            leftover.pid, ctime, port, spec.argv, owner=f"{gone_pid}:{gone_ctime:.2f}"
        )
        sup = make_supervisor(app_paths, spec)
        await sup.ensure_ready()
        assert sup.adopted
        record = RecordFile(app_paths.state_dir, "fake").read()
        assert record is not None
        assert record.owner == processes.owner_id()
        await sup.stop()
        assert leftover.wait(timeout=5) == -signal.SIGTERM
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()
