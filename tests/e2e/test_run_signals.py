"""``run`` stopped by Ctrl+C, SIGTERM or SIGHUP: one final ``done`` line, the job cancelled.

The real ComfyUI side (the server's queue left empty) is proven in
tests/contract/test_headless_run.py; here the demo backends answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.store.runs import RunStore

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_stop_signal_cancels_with_exactly_one_done_line(
    tmp_path: Path, signum: int, code: int
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
    proc.send_signal(signum)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(30) == code
    proc.stdout.close()

    done = [e for e in rest if e["event"] == "done"]
    assert len(done) == 1, rest
    assert rest[-1] is done[0]
    assert done[0]["status"] == "cancelled"
    assert done[0]["run_id"] == run_id != ""
    assert done[0]["folder"].endswith(run_id)
    with RunStore(tmp_path / "data" / "runs") as store:
        assert store.load(run_id).status == "cancelled"
