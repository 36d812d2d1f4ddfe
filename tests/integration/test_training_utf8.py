"""The trainer's output is UTF-8 whatever the parent's encoding (Windows: cp1252).

sd-scripts prints ``指定エポックまでのステップ数`` on every run with epochs; under a cp1252
pipe encoding that print raises UnicodeEncodeError. The kohya simulator prints the same line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.training.config import trainer_env
from ai4artsed_desktop.training.events import TrainingFinished, TrainingLog
from tests.integration.test_training_service import Env, collect

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")

LINE = "override steps. steps for 2 epochs is / 指定エポックまでのステップ数: 6"


def _print_line(extra: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUTF8"}
    env.update({"PYTHONIOENCODING": "cp1252", **extra})
    code = f"print({LINE!r})"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)


def test_cp1252_output_fails_on_the_japanese_line_and_trainer_env_fixes_it() -> None:
    broken = _print_line({})
    assert broken.returncode != 0
    assert b"UnicodeEncodeError" in broken.stderr
    fixed = _print_line(trainer_env())
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.decode("utf-8").strip() == LINE


@pytest.mark.asyncio
async def test_training_under_a_cp1252_parent_finishes_and_reads_the_line(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    monkeypatch.setenv("PYTHONIOENCODING", "cp1252")  # what a Windows parent passes on
    monkeypatch.delenv("PYTHONUTF8", raising=False)
    env = Env(tmp_path, app_paths)
    events = await collect(env.service.start(env.project()))
    assert isinstance(events[-1], TrainingFinished), events[-1]
    lines = [e.line for e in events if isinstance(e, TrainingLog)]
    assert LINE in lines
