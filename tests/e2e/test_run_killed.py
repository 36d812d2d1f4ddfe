"""The app SIGKILLed during a generation: no orphan servers, a consistent history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from ai4artsed_desktop.store.runs import INTERRUPTED, RunStore

REPO = Path(__file__).resolve().parents[2]


def _children_in(folder: Path) -> list[psutil.Process]:
    """Processes whose working folder is below ``folder`` (the demo servers run there)."""
    found = []
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info["cwd"]
        if cwd and Path(cwd).is_relative_to(folder) and proc.pid != os.getpid():
            found.append(proc)
    return found


def test_killed_headless_run_leaves_no_orphans_and_an_interrupted_record(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FAKE_COMFY_STEP_MS": "200"}
    args = [
        sys.executable, "-m", "ai4artsed_desktop", "run", "--demo", "--json",
        "--data-dir", str(tmp_path), "--level", "adult", "--idea", "Ein Fuchs im Schnee",
        "--output", "sd15",
    ]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_id = ""
    for line in proc.stdout:
        event = json.loads(line)
        run_id = event.get("run_id", run_id)
        if event["event"] == "progress":
            break
    else:
        raise AssertionError(f"no progress before the end (exit {proc.wait()})")
    assert _children_in(tmp_path), "the demo servers should run below the data folder"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()

    deadline = time.monotonic() + 20
    while _children_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _children_in(tmp_path) == []

    with RunStore(tmp_path / "data" / "runs") as store:
        record = store.load(run_id)
        assert record.status == "failed"
        assert record.error is not None
        assert record.error["message"] == INTERRUPTED
        assert [s.id for s in store.search()] == [run_id]
