"""Fixtures running the SwarmUI simulator as a real child process on a free port.

``swarm_sim``: built-in backend, no ComfyUI child (fast). ``swarm_sim_comfy``: with the
ComfyUI simulator child. ``swarm_sim_factory(comfy=..., env=..., args=...)`` for custom
knobs. Every simulator is stopped (SIGTERM, then SIGKILL) and its child tree is killed
at teardown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SwarmSim:
    """A running simulator: its process, port, data folder and captured stdout lines."""

    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    comfy_start_port: int
    lines: list[str] = field(default_factory=list)
    eof: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _reader(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.eof = True
            self._cond.notify_all()

    def wait_for_line(
        self, text: str, timeout: float = START_DEADLINE_S, fail_on: str | None = None
    ) -> str:
        """The first stdout line containing ``text`` (waits; fails early on ``fail_on``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                    if fail_on is not None and fail_on in line:
                        raise AssertionError(f"got {line!r} while waiting for {text!r}")
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(f"no line with {text!r}; got {self.lines}")
                self._cond.wait(min(left, 0.2))

    def post(self, route: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base_url}/API/{route}", json=body, timeout=30, trust_env=False)

    def new_session(self) -> str:
        response = self.post("GetNewSession", {})
        return str(response.json()["session_id"])

    def control(self, hook: str) -> httpx.Response:
        return httpx.post(f"{self.base_url}/__fake__/{hook}", timeout=10, trust_env=False)

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        kids = self.children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for kid in kids:
            with contextlib.suppress(psutil.Error):
                kid.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def wait_ready(sim: SwarmSim) -> None:
    """Poll ``POST GetNewSession`` until it answers, with a deadline."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if sim.proc.poll() is not None:
            raise AssertionError(f"simulator exited early: {sim.lines}")
        with contextlib.suppress(httpx.HTTPError):
            if sim.post("GetNewSession", {}).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"simulator not ready in time: {sim.lines}")


def start_swarm_sim(
    data_dir: Path,
    *,
    comfy: bool = False,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    port: int | None = None,
    wait: bool = True,
) -> SwarmSim:
    """Start the simulator (and wait until its API answers unless ``wait`` is False)."""
    port = port or free_port()
    comfy_port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "FAKE_CONTROL": "1",
        "FAKE_SWARM_STEP_MS": "2",
        "FAKE_SWARM_WS_LINGER_MS": "100",
        "FAKE_SWARM_COMFY_START_PORT": str(comfy_port),
        **(env or {}),
    }
    command = [sys.executable, "-m", "ai4artsed_desktop.simulators.swarmui", "--port", str(port)]
    command += ["--launch_mode", "none", "--data_dir", str(data_dir), *args]
    if not comfy:
        command.append("--no-comfy")
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sim = SwarmSim(proc, port, data_dir, int(full_env["FAKE_SWARM_COMFY_START_PORT"]))
    threading.Thread(target=sim._reader, daemon=True).start()
    if wait:
        try:
            wait_ready(sim)
        except BaseException:
            sim.stop()
            raise
    return sim


SimFactory = Callable[..., SwarmSim]


@pytest.fixture
def swarm_sim_factory(tmp_path: Path) -> Iterator[SimFactory]:
    """Start simulators with custom options; all are stopped at teardown."""
    started: list[SwarmSim] = []

    def factory(**kwargs: Any) -> SwarmSim:
        data_dir = kwargs.pop("data_dir", None) or tmp_path / f"swarm{len(started)}"
        sim = start_swarm_sim(data_dir, **kwargs)
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def swarm_sim(swarm_sim_factory: SimFactory) -> SwarmSim:
    """A ready simulator with the built-in backend (no ComfyUI child)."""
    return swarm_sim_factory()


@pytest.fixture
def swarm_sim_comfy(swarm_sim_factory: SimFactory) -> SwarmSim:
    """A ready simulator whose ComfyUI child has started."""
    sim = swarm_sim_factory(comfy=True)
    sim.wait_for_line("Self-Start ComfyUI-0 on port", timeout=5)
    sim.wait_for_line("started.", fail_on="[Error]")
    return sim
