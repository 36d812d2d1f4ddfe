"""The trainer watchdog: transparent for the command, deadly for its group once it is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ai4artsed_desktop.system import processes
from ai4artsed_desktop.training.guard import GUARD_CODE, guarded

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the job object does it there")
PYTHON = Path(sys.executable)


def _gone_within(procs: list[psutil.Process], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(processes.is_alive(p.pid, p.create_time()) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _children(pid: int, count: int) -> list[psutil.Process]:
    """The first ``count`` children of ``pid`` (polled: they may still be starting)."""
    deadline = time.monotonic() + 10
    while len(found := psutil.Process(pid).children()) < count:
        assert time.monotonic() < deadline, f"expected {count} children, got {found}"
        time.sleep(0.02)
    return found


def test_guarded_prefixes_the_command_with_one_line_of_code() -> None:
    argv = ("/sd/venv/bin/accelerate", "launch", "train_network.py")
    wrapped = guarded(Path("/sd/venv/bin/python"), argv, platform="linux")
    assert wrapped[:3] == ("/sd/venv/bin/python", "-I", "-c")
    assert "\n" not in wrapped[3]
    assert wrapped[3] == f"exec({GUARD_CODE!r})"
    assert wrapped[4:] == argv
    assert guarded(Path("python.exe"), argv, platform="win32") == argv


@posix_only
def test_the_command_keeps_pid_output_and_exit_status_and_the_watchdog_ends_with_it() -> None:
    program = "import os, sys; print(os.getpid(), flush=True); sys.stdin.readline(); sys.exit(3)"
    proc = subprocess.Popen(
        guarded(PYTHON, [sys.executable, "-c", program]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert int(proc.stdout.readline()) == proc.pid  # exec'd: the supervisor's pid is the program
    [watchdog] = _children(proc.pid, 1)
    proc.stdin.write("\n")
    proc.stdin.close()
    with proc.stdout:
        out = proc.stdout.read()  # EOF right away: the watchdog holds none of the pipes
    assert (proc.wait(10), out) == (3, "")
    assert _gone_within([watchdog], 5)


@posix_only
def test_grandchildren_die_when_the_command_is_killed() -> None:
    # The command stands for ``accelerate``: killed with the app, it leaves the trainer.
    program = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print('ready', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        guarded(PYTHON, [sys.executable, "-c", program]),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "ready\n"
        tree = _children(proc.pid, 2)  # the watchdog and the "trainer"
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    survived = not _gone_within(tree, 5)
    for child in tree:  # clean up whatever a broken guard left behind
        if processes.is_alive(child.pid, child.create_time()):
            child.kill()
    assert not survived
