"""The kohya_ss GUI install: sd-scripts in ``kohya_ss/sd-scripts``, its venv in ``kohya_ss/venv``.

Teachers point the setting at either folder; the locator, doctor and a whole training
(simulated trainer) find the scripts and the Python in both cases.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.launchers import detect_kohya
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.events import TrainingFinished
from tests.integration.test_training_service import Env, collect

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")


def kohya_ss(root: Path) -> Path:
    """A kohya_ss GUI layout around the fake sd-scripts: the venv moved beside it."""
    scripts = install_fake_kohya(root / "kohya_ss" / "sd-scripts")
    shutil.move(scripts / "venv", root / "kohya_ss" / "venv")
    return root / "kohya_ss"


@pytest.mark.parametrize("chosen", ["kohya_ss", "kohya_ss/sd-scripts"])
def test_locator_finds_scripts_and_venv(tmp_path: Path, chosen: str) -> None:
    gui = kohya_ss(tmp_path)
    settings = TrainingSettings(kohya_dir=str(tmp_path / chosen))
    assert config.kohya_dir(settings) == gui / "sd-scripts"
    assert config.trainer_python(settings) == gui / "venv" / "bin" / "python"
    detection = detect_kohya(Settings(training=settings))
    assert detection.found, detection.advice
    assert detection.where == str(gui / "sd-scripts")


def test_a_folder_without_scripts_or_venv_is_still_refused(tmp_path: Path) -> None:
    empty = tmp_path / "kohya_ss"
    (empty / "sd-scripts").mkdir(parents=True)
    assert not detect_kohya(Settings(training=TrainingSettings(kohya_dir=str(empty)))).found
    gui = kohya_ss(tmp_path / "other")
    shutil.rmtree(gui / "venv")
    detection = detect_kohya(Settings(training=TrainingSettings(kohya_dir=str(gui))))
    assert not detection.found
    assert "venv" in detection.advice


@pytest.mark.asyncio
async def test_training_runs_from_a_kohya_ss_install(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    env = Env(tmp_path, app_paths)
    gui = kohya_ss(tmp_path / "gui")
    env.service.update_settings(
        dataclasses.replace(Settings(), training=TrainingSettings(kohya_dir=str(gui)))
    )
    events = await collect(env.service.start(env.project()))
    assert isinstance(events[-1], TrainingFinished), events[-1]
