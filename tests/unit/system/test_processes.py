"""psutil helpers: liveness (zombies count as dead), trees, tree kills, port owners."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.system import processes
from tests.fakes.procs import finished_pid, poll_until, spawn, start_foreign, wait_sync

SPAWN_GRANDCHILD = (
    "import subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "open(sys.argv[1], 'w').write(str(c.pid))\n"
    "time.sleep(60)\n"
)


def test_is_alive_for_ourselves_and_a_recycled_create_time() -> None:
    me = os.getpid()
    ctime = processes.create_time(me)
    assert ctime is not None
    assert processes.is_alive(me)
    assert processes.is_alive(me, ctime)
    assert not processes.is_alive(me, ctime - 100)


def test_a_zombie_counts_as_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert wait_sync(lambda: not processes.is_alive(proc.pid))
        assert os.path.exists(f"/proc/{proc.pid}") or sys.platform != "linux"  # not reaped yet
    finally:
        proc.wait()
    assert not processes.is_alive(proc.pid)


def test_stat_flags_count_fields_after_the_command_name() -> None:
    own = Path(f"/proc/{os.getpid()}/stat")
    if own.exists():  # Linux: a running process has not begun to exit
        flags = processes.stat_flags(own.read_text())
        assert flags is not None
        assert not flags & 0x4
    # A command name may hold spaces and parentheses; flags are the 9th field.
    line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194564 120 0 0 0"
    assert processes.stat_flags(line) == 0x400104  # PF_EXITING (0x4) among them
    assert processes.stat_flags("4242 (cut") is None
    assert processes.stat_flags("4242 (x) S 1 2 3 4 5 notanumber") is None


@pytest.mark.asyncio
async def test_tree_pids_and_kill_tree_reach_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "gc.pid"
    parent = spawn(sys.executable, "-c", SPAWN_GRANDCHILD, str(pidfile))
    try:
        await poll_until(lambda: pidfile.exists() and pidfile.read_text() != "")
        grandchild = int(pidfile.read_text())
        assert processes.tree_pids(parent.pid) == [parent.pid, grandchild]
        assert await processes.kill_tree(parent.pid, grace=2.0)
        assert not processes.is_alive(grandchild)
        assert not processes.is_alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()
    assert processes.tree_pids(parent.pid) == []


@pytest.mark.asyncio
async def test_kill_tree_of_a_missing_pid_is_true() -> None:
    pid, _ctime = finished_pid()
    assert await processes.kill_tree(pid, grace=0.1)


def test_port_is_free_and_port_owner_name_the_listener() -> None:
    port = processes.free_port()
    assert processes.port_is_free(port)
    assert processes.port_owner(port) is None
    server = start_foreign(port)
    try:
        assert not processes.port_is_free(port)
        owner = processes.port_owner(port)
        assert owner is not None
        assert owner.pid == server.pid
        assert owner.name.startswith("python")
        assert owner.describe() == f"{owner.name} (pid {server.pid})"
    finally:
        server.terminate()
        server.wait()


def test_port_owner_in_our_own_process() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        owner = processes.port_owner(port)
        assert owner is not None
        assert owner.pid == os.getpid()


def test_hidden_owner_is_described_as_another_program() -> None:
    assert processes.PortOwner(None).describe() == "another program"
