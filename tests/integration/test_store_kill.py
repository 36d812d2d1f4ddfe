"""A writer SIGKILLed in the middle of saving leaves every run readable (real child process)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ai4artsed_desktop.store.record import RunRecord
from ai4artsed_desktop.store.runs import RunStore

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import io, sys
    from pathlib import Path
    from PIL import Image
    from ai4artsed_desktop.events import Stage
    from ai4artsed_desktop.store.record import RunInputs, StageRecord, utc_now
    from ai4artsed_desktop.store.runs import RunStore

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (10, 200, 30)).save(buf, "PNG")
    png = buf.getvalue()
    store = RunStore(Path(sys.argv[1]))
    record = None
    for i in range(1, 1_000_000):
        if i % 25 == 1:
            record = store.new_run(RunInputs(idea=f"kill test {i}"))
        size = (i * 7919) % 200_000 + 1_000
        record.stages = [StageRecord(Stage.interception, utc_now(), text="x" * size)]
        record.parameters["iteration"] = i
        if i % 7 == 0:
            store.add_media(record, png, filename="image.png", mime="image/png", kind="image")
        else:
            store.save(record)
        print("saved", record.id, i, flush=True)
    """
)


def _run_writer_until(script: Path, runs_dir: Path, target: int) -> tuple[str, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(runs_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    last = ("", 0)
    try:
        while last[1] < target:
            line = proc.stdout.readline().decode().split()
            if not line:
                pytest.fail(f"writer exited early: {proc.stderr.read().decode()[-2000:]}")
            last = (line[1], int(line[2]))
    finally:
        proc.kill()  # SIGKILL on POSIX: no clean-up code runs
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return last


def _check_every_run(runs_dir: Path) -> dict[str, RunRecord]:
    records = {}
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        if folder.name.startswith("."):  # a staging folder of a killed new_run: never a run
            continue
        record = RunRecord.from_json(json.loads((folder / "run.json").read_bytes()))
        for item in record.media:
            data = (folder / item.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item.sha256
        records[record.id] = record
    return records


def test_killed_writer_leaves_every_run_json_whole(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    runs_dir = tmp_path / "runs"
    for target in (9, 33, 71, 26):
        run_id, iteration = _run_writer_until(script, runs_dir, target)
        records = _check_every_run(runs_dir)
        # The last reported save (or a later one) is on disk, whole.
        assert int(records[run_id].parameters["iteration"]) >= iteration
    with RunStore(runs_dir) as store:
        assert store.broken_runs == ()
        assert store.count() == len(records)
        assert {s.id for s in store.search(text="kill test")} == set(records)
