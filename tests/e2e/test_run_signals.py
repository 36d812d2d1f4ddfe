"""``run`` stopped by Ctrl+C, SIGTERM or SIGHUP: one final ``done`` line, the job cancelled.

The real ComfyUI side (the server's queue left empty) is proven in
tests/contract/test_headless_run.py; here the demo backends answer.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from ai4artsed_desktop.store.runs import RunStore

from .headless_run import read_until_progress, start_demo_run


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_stop_signal_cancels_with_exactly_one_done_line(
    tmp_path: Path, signum: int, code: int
) -> None:
    proc = start_demo_run(tmp_path, step_ms=200)
    assert proc.stdout is not None
    run_id = read_until_progress(proc)
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
