"""The app SIGKILLed during a LoRA training: no orphaned trainer, a consistent next start.

A driver process (:mod:`tests.e2e.training_driver`) trains through ``TrainingService``
with the kohya simulator behind its ``accelerate launch`` mimic, one step a minute, and is
SIGKILLed once the trainer is in its training loop. ``accelerate`` dies with its parent,
but the trainer under it would sleep through its step as an orphan; the watchdog of
:mod:`ai4artsed_desktop.training.guard` must end it at once. A fresh service on the same
folders then finds nothing running, no LoRA, and trains the project again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ai4artsed_desktop.training.events import TrainingEvent, TrainingFinished
from tests.e2e.training_driver import DriverEnv, make_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")

REPO = Path(__file__).resolve().parents[2]
#: Longer than the whole test may take: a trainer that outlives the app shows up as alive.
STEP_S = "60"


def _trainers_in(folder: Path) -> list[psutil.Process]:
    """Live processes working below ``folder`` (trainer, accelerate and watchdog run there)."""
    found = []
    for proc in psutil.process_iter(["cwd", "status"]):
        cwd = proc.info["cwd"]
        if cwd and Path(cwd).is_relative_to(folder) and proc.info["status"] != "zombie":
            found.append(proc)
    return found


def _cmdlines(procs: list[psutil.Process]) -> str:
    lines = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            lines.append(" ".join(proc.cmdline()))
    return "\n".join(lines)


def _survivors_after(folder: Path, *, within: float) -> list[psutil.Process]:
    """Poll until nothing works below ``folder`` or ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while (left := _trainers_in(folder)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _train_and_kill(env: DriverEnv) -> list[str]:
    """Run the driver until the trainer's first epoch, SIGKILL it; return its events."""
    child_env = {**os.environ, "FAKE_KOHYA_STEP_S": STEP_S, "PYTHONPATH": str(REPO)}
    child_env.pop("FAKE_KOHYA_FAULT", None)
    args = [sys.executable, "-m", "tests.e2e.training_driver", str(env.base)]
    proc = subprocess.Popen(args, cwd=REPO, env=child_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(json.loads(line)["event"])
            if seen[-1] == "epoch":
                break
        else:
            raise AssertionError(f"no training epoch before the end (exit {proc.wait()}): {seen}")
        running = _cmdlines(_trainers_in(env.base))
        assert "--as-accelerate" in running, running
        assert "train_network.py" in running, running
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    return seen


@pytest.mark.asyncio
async def test_killed_training_leaves_no_orphans_and_can_start_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = make_env(tmp_path)
    assert _train_and_kill(env)[0] == "started"

    survivors = _survivors_after(tmp_path, within=8.0)
    orphans = _cmdlines(survivors)
    for proc in survivors:  # do not leave them sleeping through their step
        with contextlib.suppress(psutil.Error):
            proc.kill()
    assert survivors == [], orphans

    # The next app start: a fresh service on the same folders.
    service = env.service()
    assert not service.busy
    assert service.current is None
    assert service.gpu_busy_reason() is None
    assert service.list_loras() == []
    project = env.saved_project()
    assert not project.final_output.exists()
    assert "epoch 1/500" in (project.log_dir / "train.log").read_text(encoding="utf-8")

    monkeypatch.delenv("FAKE_KOHYA_STEP_S", raising=False)
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    events: list[TrainingEvent] = []
    async with contextlib.aclosing(service.start(dataclasses.replace(project, epochs=2))) as stream:
        events = [event async for event in stream]
    finished = events[-1]
    assert isinstance(finished, TrainingFinished), finished
    assert [lora.file for lora in service.list_loras()] == [finished.lora.file]
    assert finished.lora.file.read_bytes() == project.final_output.read_bytes()
    assert not (env.paths.state_dir / "kohya.json").exists()
    assert not service.busy
    assert _trainers_in(tmp_path) == []
