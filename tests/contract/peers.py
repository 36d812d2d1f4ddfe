"""Run the real peers: the models built with sd-scripts' code, and a real ComfyUI server.

Used by the contract tests (tests/contract/) and by scripts/record_golden.py. Everything
heavy is cached next to the peers venv (see peers_env.py): the random-weight checkpoint and
LoRA are built once per hash of their build script and the venv's requirements.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.contract import peers_env

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build_models.py"
#: ComfyUI on this machine needs 15-30 s idle, far more on a loaded 2-core machine.
READY_TIMEOUT_S = 300.0


def comfy_dir() -> Path:
    """ComfyUI 0.8.0's unmodified source folder."""
    return peers_env.peers_dir() / "comfyui"


def sd_scripts_dir() -> Path:
    """Kohya sd-scripts' unmodified source folder."""
    return peers_env.peers_dir() / "sd-scripts"


def peer_env(**extra: str) -> dict[str, str]:
    """Environment for a peer process: no bytecode written into the read-only sources."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "PYTEST_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    env.update(TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1")
    env.update(extra)
    return env


def die_with_parent() -> None:
    """``preexec_fn``: the kernel SIGKILLs the child when the test process dies (Linux).

    A CI step's timeout kills pytest with SIGTERM, which runs no fixture teardown; the
    server (in its own session, so that the tests can kill its whole group) must not stay.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ models


@dataclass(frozen=True)
class PeerModels:
    """The random-weight SD 1.5 checkpoint (fp16, original layout) and kohya LoRA."""

    checkpoint: Path
    lora: Path


def models_hash() -> str:
    digest = hashlib.sha256(BUILD_SCRIPT.read_bytes())
    digest.update(peers_env.requirements_hash().encode())
    for name in ("library/model_util.py", "networks/lora.py", "library/original_unet.py"):
        digest.update((sd_scripts_dir() / name).read_bytes())
    return digest.hexdigest()[:16]


def build_models() -> PeerModels:
    """The cached models, built with sd-scripts' code on first use (about 2 GB, a minute)."""
    python = peers_env.ensure_venv()
    folder = peers_env.cache_root() / f"models-{models_hash()}"
    models = PeerModels(folder / "sd15-random-fp16.safetensors", folder / "random-lora.safetensors")
    done = folder / peers_env.COMPLETE
    if done.is_file():
        return models
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return models
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        started = time.monotonic()
        result = subprocess.run(
            [str(python), str(BUILD_SCRIPT), str(models.checkpoint), str(models.lora)],
            cwd=sd_scripts_dir(),
            env=peer_env(PYTHONPATH=str(sd_scripts_dir())),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the models failed:\n{result.stdout}\n{result.stderr}")
        done.write_text(f"{time.monotonic() - started:.0f} s\n{result.stdout}")
        for old in folder.parent.glob("models-*"):
            if old.is_dir() and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return models


SD_TURBO_SCRIPT = HERE / "build_sd_turbo.py"


def build_sd_turbo() -> Path:
    """A random checkpoint with SD-Turbo's architecture (SD 2.1), built once with sd-scripts'
    code (build_sd_turbo.py; about 2.6 GB, under a minute) and cached like the others."""
    python = peers_env.ensure_venv()
    digest = hashlib.sha256(SD_TURBO_SCRIPT.read_bytes())
    digest.update(peers_env.requirements_hash().encode())
    folder = peers_env.cache_root() / f"sd-turbo-random-{digest.hexdigest()[:16]}"
    checkpoint = folder / "sd_turbo.safetensors"
    done = folder / peers_env.COMPLETE
    if done.is_file():
        return checkpoint
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return checkpoint
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        result = subprocess.run(
            [str(python), str(SD_TURBO_SCRIPT), str(checkpoint)],
            cwd=sd_scripts_dir(),
            env=peer_env(PYTHONPATH=str(sd_scripts_dir())),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the SD-Turbo checkpoint failed:\n{result.stderr[-4000:]}")
        done.write_text(result.stdout, encoding="utf-8")
        for old in folder.parent.glob("sd-turbo-random-*"):
            if old.is_dir() and old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return checkpoint


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows it (the checkpoint is 2 GB), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# ------------------------------------------------------------------ ComfyUI


@dataclass
class ComfyServer:
    """A real ComfyUI 0.8.0 child on 127.0.0.1 with its own base folder."""

    base: Path
    port: int = field(default_factory=free_port)
    extra_args: Sequence[str] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / "comfyui.log"

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    def argv(self) -> list[str]:
        return [
            str(peers_env.venv_python()),
            str(comfy_dir() / "main.py"),
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-auto-launch",
            "--preview-method",
            "latent2rgb",
            "--base-directory",
            str(self.base),
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start and wait until ``/system_stats`` answers (or the process dies)."""
        for folder in ("custom_nodes", "input", "output", "user"):
            (self.base / folder).mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                cwd=comfy_dir(),
                env=peer_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited at start:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/system_stats", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ComfyUI not ready in {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the server's whole process group (a crash, as far as clients can tell)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s; waits for the exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def running_comfy(
    base: Path, models: PeerModels, checkpoint_names: Sequence[str], lora_names: Sequence[str]
) -> Iterator[ComfyServer]:
    """A started ComfyUI whose model folders hold the test models under the given names."""
    for name in checkpoint_names:
        link_or_copy(models.checkpoint, base / "models" / "checkpoints" / name)
    for name in lora_names:
        link_or_copy(models.lora, base / "models" / "loras" / name)
    server = ComfyServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
