"""Helpers for supervisor tests: a LaunchSpec for fake_server.py, a state recorder, polling."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai4artsed_desktop.backends.launchers import http_probe
from ai4artsed_desktop.backends.process import LaunchSpec, ProcessSupervisor, RestartPolicy
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes

FAKE_SERVER = Path(__file__).with_name("fake_server.py")


def fake_argv(port: int, *args: str) -> tuple[str, ...]:
    return (sys.executable, str(FAKE_SERVER), "--port", str(port), *args)


def fake_spec(port: int, /, *args: str, **overrides: Any) -> LaunchSpec:
    values: dict[str, Any] = {
        "name": "fake",
        "display_name": "Fake Server",
        "argv": fake_argv(port, *args),
        "cwd": None,
        "env": {},
        "port": port,
        "ready_probe": http_probe(port, "/"),
        "ready_line": re.compile(r"Listening on "),
        "startup_timeout": 10.0,
        "probe_interval": 0.02,
        "probe_timeout": 1.0,
    }
    values.update(overrides)
    return LaunchSpec(**values)


class StateRecorder:
    """Collects state events; ``wait_for`` waits (bounded) for the n-th occurrence of a state."""

    def __init__(self) -> None:
        self.events: list[BackendStateChanged] = []
        self._changed = asyncio.Event()

    def __call__(self, event: BackendStateChanged) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def states(self) -> list[BackendState]:
        return [e.state for e in self.events]

    async def wait_for(self, state: BackendState, *, count: int = 1, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while self.states.count(state) < count:
                self._changed.clear()
                await self._changed.wait()


async def poll_until(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` until it is true; fail with TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


def wait_sync(check: Callable[[], bool], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def read_pids(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(x) for x in path.read_text().split()]


def spawn(*argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` for tests (the caller waits for or kills the process)."""
    return subprocess.Popen(list(argv), **kwargs)


def finished_pid() -> tuple[int, float]:
    """Pid and creation time of a process that has already exited (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    ctime = processes.create_time(proc.pid)
    proc.wait()
    return proc.pid, ctime or 1.0


def start_foreign(port: int, *args: str) -> subprocess.Popen[bytes]:
    """Start fake_server.py outside any supervisor and wait until it listens."""
    proc = subprocess.Popen(
        list(fake_argv(port, *args)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if "--never-ready" not in args:
        assert wait_sync(lambda: not processes.port_is_free(port)), "fake did not bind"
    return proc


def dead(pid: int) -> Callable[[], bool]:
    return lambda: not processes.is_alive(pid)


def make_supervisor(
    paths: AppPaths,
    spec: LaunchSpec,
    rec: StateRecorder | None = None,
    restart: RestartPolicy | None = None,
) -> ProcessSupervisor:
    """A supervisor with isolated folders; no automatic restarts unless ``restart`` says so."""
    return ProcessSupervisor(
        spec,
        log_dir=paths.log_dir,
        state_dir=paths.state_dir,
        on_state=rec,
        restart=restart or RestartPolicy(max_restarts=0),
    )
