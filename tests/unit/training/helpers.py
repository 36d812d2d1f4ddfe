"""Shared helpers of the training tests: images, prepared datasets, simulator runs."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[3]
SIMULATOR = [sys.executable, "-m", "ai4artsed_desktop.simulators.kohya"]


def make_image(
    path: Path, size: tuple[int, int] = (640, 640), seed: int = 0, fmt: str | None = None
) -> Path:
    """A noisy image (distinct per seed, so near-duplicate checks do not fire)."""
    rng = random.Random(seed)
    small = Image.new("RGB", (8, 8))
    small.frombytes(bytes(rng.randrange(256) for _ in range(64 * 3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    small.resize(size, Image.Resampling.NEAREST).save(path, format=fmt)
    return path


def dataset_folder(root: Path, *, images: int = 3, repeats: int = 2, token: str = "lmnx") -> Path:
    """``root/<repeats>_<token>/`` with tiny images and ``.txt`` captions; returns ``root``."""
    subset = root / f"{repeats}_{token}"
    subset.mkdir(parents=True, exist_ok=True)
    for index in range(images):
        (subset / f"{index}.png").write_bytes(b"\x89PNG fake")
        (subset / f"{index}.txt").write_text(f"{token}, picture {index}\n", encoding="utf-8")
    return root


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sim_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_KOHYA_")}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("FAKE_KOHYA_STEP_MS", "0")
    env.update(extra)
    return env


def run_sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    r"""Run the simulator to completion (bounded); both streams decoded, ``\r`` kept."""
    raw = subprocess.run(
        [*SIMULATOR, *args], env=env or sim_env(), capture_output=True, timeout=30, check=False
    )
    return subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8"), raw.stderr.decode("utf-8")
    )
