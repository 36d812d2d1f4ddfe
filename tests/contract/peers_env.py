"""The real peers' venv: one Python environment for ComfyUI 0.8.0 and Kohya sd-scripts.

Built once into a cache folder outside the clone, keyed by a hash of
``peers-requirements.txt`` and of both peers' own requirements files, and reused while the
hash is the same (a second CI run on the same machine starts in seconds). A half-built venv
(a build that was killed) has no ``.complete`` marker and is rebuilt. A file lock keeps two
runs from building the same venv at once.

Run as a script to build (or find) it and print the venv's python::

    python3.11 tests/contract/peers_env.py

Standard library only: it runs before any venv exists.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REQUIREMENTS = HERE / "peers-requirements.txt"
REQUIREMENTS_NODEPS = HERE / "peers-requirements-nodeps.txt"
COMPLETE = ".complete"


def peers_dir() -> Path:
    """The unmodified peer sources: ``shared/peers`` beside the clone or beside a folder above
    it (a worktree sits one level deeper), or $AI4ARTSED_PEERS."""
    override = os.environ.get("AI4ARTSED_PEERS")
    if override:
        return Path(override)
    for folder in REPO.parents:
        candidate = folder / "shared" / "peers"
        if (candidate / "comfyui" / "main.py").is_file():
            return candidate
    return REPO.parent / "shared" / "peers"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/ai4artsed-ci`` (default ``~/.cache/ai4artsed-ci``), outside the clone."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ai4artsed-ci"


def requirements_hash() -> str:
    """Hash of everything that decides the venv's contents."""
    digest = hashlib.sha256()
    digest.update(sys.version.split()[0].encode())
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(REQUIREMENTS_NODEPS.read_bytes())
    for name in ("comfyui/requirements.txt", "sd-scripts/requirements.txt"):
        path = peers_dir() / name
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:16]


def venv_dir() -> Path:
    """Where the venv for the current requirements lives (built or not)."""
    return cache_root() / f"peers-{requirements_hash()}"


def venv_python(venv: Path | None = None) -> Path:
    """The venv's interpreter."""
    return (venv or venv_dir()) / "bin" / "python"


def is_built(venv: Path | None = None) -> bool:
    """Whether the venv finished building."""
    return ((venv or venv_dir()) / COMPLETE).is_file()


def ensure_venv(log: bool = True) -> Path:
    """Build the venv unless it is already there; returns its python. Raises on failure."""
    venv = venv_dir()
    if is_built(venv):
        return venv_python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_built(venv):
            return venv_python(venv)
        if venv.exists():
            shutil.rmtree(venv)
        start = time.monotonic()
        _say(log, f"building the peers venv in {venv} (cold: several minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        subprocess.run([*pip, "--no-deps", "-r", str(REQUIREMENTS_NODEPS)], check=True)
        (venv / COMPLETE).write_text(f"{time.monotonic() - start:.0f} s\n")
        _say(log, f"peers venv built in {time.monotonic() - start:.0f} s")
        _prune_old(venv)
    return venv_python(venv)


def _prune_old(keep: Path) -> None:
    """Remove venvs of earlier requirements (each is several GB)."""
    for other in keep.parent.glob("peers-*"):
        if other.is_dir() and other != keep and is_built(other):
            shutil.rmtree(other, ignore_errors=True)


def _say(log: bool, line: str) -> None:
    if log:
        print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    started = time.monotonic()
    python = ensure_venv()
    print(python)
    print(f"ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
