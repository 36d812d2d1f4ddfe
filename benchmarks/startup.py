"""Start-up time: process start -> main window shown, and the whole ``--smoke-test``.

Each sample starts ``python -m ai4artsed_desktop --smoke-test --data-dir <fresh tmp>
--log-format json`` with ``QT_QPA_PLATFORM=offscreen`` (and ``QTWEBENGINE_DISABLE_SANDBOX=1``,
as a root user needs). The wall clock is read just before the process is spawned; the JSON
app log's timestamps (local time, millisecond resolution) give "first log line" (imports
done, logging configured) and "Window shown". The smoke test quits 0.5 s after the window
is shown, so its total wall time includes that fixed wait and the ordered shutdown.
A fresh data folder per sample means a first start each time (settings written, run index
created); the OS file cache is warm after the first sample, which is not counted.

Run: ``python -m benchmarks.startup [--runs N]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from ._stats import machine, summary

REPO = Path(__file__).resolve().parents[1]


def _stamp(line: dict[str, str]) -> float:
    """Epoch seconds of a JSON log line's ``time`` (``%Y-%m-%d %H:%M:%S,mmm``, local)."""
    return datetime.strptime(line["time"], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def one_start() -> tuple[float, float, float]:
    """(first log line, window shown, whole smoke test) in ms after the spawn."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        argv = [sys.executable, "-m", "ai4artsed_desktop", "--smoke-test"]
        argv += ["--data-dir", tmp, "--log-format", "json"]
        spawned = time.time()
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=120)
        total = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise RuntimeError(f"smoke test failed ({proc.returncode}):\n{proc.stderr.decode()}")
        lines = [
            json.loads(text)
            for text in (Path(tmp) / "logs" / "app.log").read_text("utf-8").splitlines()
        ]
    first = min(_stamp(line) for line in lines)
    shown = next(_stamp(line) for line in lines if line["message"].startswith("Window shown"))
    return (first - spawned) * 1000, (shown - spawned) * 1000, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="timed starts (after one warm-up)")
    args = parser.parse_args()
    one_start()  # warm-up: the OS file cache, .pyc files
    samples = [one_start() for _ in range(args.runs)]
    print(f"# startup ({machine()})")
    print(summary("process start -> first log line", [s[0] for s in samples]))
    print(summary("process start -> window shown", [s[1] for s in samples]))
    print(summary("whole --smoke-test (incl. 0.5 s wait, shutdown)", [s[2] for s in samples]))


if __name__ == "__main__":
    main()
