"""A demo headless ``run`` in a child process, read until its first progress event.

The signal, kill and server-death tests all start the same run and wait until the image
server is working on it before they interrupt something.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def start_demo_run(data_dir: Path, *, step_ms: int) -> subprocess.Popen[str]:
    """``run --demo --json`` of a fixed idea to sd15 at adult, steps of ``step_ms``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FAKE_COMFY_STEP_MS": str(step_ms)}
    args = [
        sys.executable, "-m", "ai4artsed_desktop", "run", "--demo", "--json",
        "--data-dir", str(data_dir), "--level", "adult", "--idea", "Ein Fuchs im Schnee",
        "--output", "sd15",
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)


def read_until_progress(proc: subprocess.Popen[str]) -> str:
    """Read JSON events until the first ``progress``; returns the run id seen so far."""
    assert proc.stdout is not None
    run_id = ""
    for line in proc.stdout:
        event = json.loads(line)
        run_id = event.get("run_id", run_id)
        if event["event"] == "progress":
            return str(run_id)
    raise AssertionError(f"no progress before the end (exit {proc.wait()})")
