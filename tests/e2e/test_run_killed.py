"""The app SIGKILLed during a generation: no orphan servers, a consistent history."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from ai4artsed_desktop.store.runs import INTERRUPTED, RunStore

from .headless_run import read_until_progress, start_demo_run


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
    proc = start_demo_run(tmp_path, step_ms=200)
    assert proc.stdout is not None
    run_id = read_until_progress(proc)
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
