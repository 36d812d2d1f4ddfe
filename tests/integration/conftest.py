"""Fixtures for integration tests: simulators run as real child processes on 127.0.0.1."""

from __future__ import annotations

# ============================================================== Ollama simulator: ollama_sim
# ``ollama_sim``: a running Ollama simulator (FAKE_CONTROL=1) on a free port.
# ``ollama_sim_factory(env={...}, wait_ready=True)``: start more, with env tweaks.
# ``OllamaSim.restart(env)``: same port, new environment. All are stopped at teardown.
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

_OLLAMA_REPO = Path(__file__).resolve().parents[2]
_OLLAMA_READY_S = 20.0


def _ollama_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OllamaSim:
    """A running Ollama simulator process."""

    port: int
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"ollama-sim-{self.port}-{self._starts}.stderr"

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def start(self, *, wait_ready: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "FAKE_"))}
        env.update({"OLLAMA_HOST": f"127.0.0.1:{self.port}", "FAKE_CONTROL": "1"})
        env.update(self.env)
        self._starts += 1
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ai4artsed_desktop.simulators.ollama", "serve"],
                cwd=_OLLAMA_REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, deadline_s: float = _OLLAMA_READY_S) -> None:
        """Poll ``GET /`` (short per-try timeout) until it answers or the deadline passes."""
        deadline = time.monotonic() + deadline_s
        with httpx.Client(trust_env=False, timeout=0.5) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    pytest.fail(f"Ollama simulator exited early:\n{self.stderr_text()}")
                try:
                    if client.get(self.base_url + "/").text == "Ollama is running":
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        pytest.fail(f"Ollama simulator not ready in {deadline_s}s:\n{self.stderr_text()}")

    def stop(self, sig: int = signal.SIGTERM, grace_s: float = 5.0) -> int | None:
        """Signal the process and reap it (SIGKILL after ``grace_s``); its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace_s)
        return self.proc.returncode

    def restart(self, env: dict[str, str] | None = None) -> None:
        self.stop()
        self.env = dict(env or {})
        self.start()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            resp = client.request(method, self.base_url + path, json=body)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def fault(self, mode: str, count: int = 1) -> None:
        self.control("POST", "/__fake__/fault", {"mode": mode, "count": count})

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self.control("GET", "/__fake__/stats")
        return result


@pytest.fixture
def ollama_sim_factory(tmp_path: Path) -> Iterator[Callable[..., OllamaSim]]:
    sims: list[OllamaSim] = []

    def start(*, env: dict[str, str] | None = None, wait_ready: bool = True) -> OllamaSim:
        sim = OllamaSim(port=_ollama_free_port(), log_dir=tmp_path, env=dict(env or {}))
        sims.append(sim)
        sim.start(wait_ready=wait_ready)
        return sim

    yield start
    for sim in sims:
        sim.stop()


@pytest.fixture
def ollama_sim(ollama_sim_factory: Callable[..., OllamaSim]) -> OllamaSim:
    return ollama_sim_factory()


# ============================================================== end of Ollama simulator block


# ---- SwarmUI fixtures ----
# ``swarm_sim`` (built-in backend, no ComfyUI child), ``swarm_sim_comfy`` (with the ComfyUI
# simulator child) and ``swarm_sim_factory(comfy=..., env=..., args=...)``; the helpers live
# in tests/integration/swarm_fixtures.py.
# ---- end of SwarmUI fixtures ----
# ---- ComfyUI fixtures ----
# ``comfy_sim`` (previews on, FAKE_CONTROL=1) and ``comfy_sim_factory(env=..., args=...,
# wait_ready=...)``; the helpers live in tests/integration/comfy_fixtures.py.
from tests.integration.comfy_fixtures import (  # noqa: E402, F401
    comfy_sim,
    comfy_sim_factory,
)

# ---- end of ComfyUI fixtures ----
# ---- run rig (RunSession services on simulators) ----
from tests.integration.run_rig import make_rig  # noqa: E402, F401
from tests.integration.swarm_fixtures import (  # noqa: E402, F401
    swarm_sim,
    swarm_sim_comfy,
    swarm_sim_factory,
)
