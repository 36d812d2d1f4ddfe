"""The training verdict ignores a final LoRA file left over from an earlier, killed run."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.vram import GIB, VramArbiter
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import TrainingEvent, TrainingFailed, TrainingFinished
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import TrainingProject, new_project
from ai4artsed_desktop.training.service import TrainingService
from tests.unit.training.helpers import make_image

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")

#: The first bytes of a final LoRA whose writing was cut off by a kill.
HALF_WRITTEN = b'\x40\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"ss_out'


def _service(tmp_path: Path, paths: AppPaths) -> TrainingService:
    total = int(24 * GIB)
    gpu = {"index": 0, "name": "Fake GPU", "uuid": "GPU-1", "total_bytes": total}
    gpu |= {"used_bytes": 0, "free_bytes": total}
    (tmp_path / "gpu.json").write_text(json.dumps({"driver": "1", "gpus": [gpu]}), "utf-8")
    provider = FakeGpuProvider(tmp_path / "gpu.json")
    kohya = install_fake_kohya(tmp_path / "sd-scripts")
    settings = Settings(training=TrainingSettings(kohya_dir=str(kohya)))
    arbiter = VramArbiter(provider, poll_interval=0.01)
    return TrainingService(settings, paths, arbiter, gpu=provider, stop_grace=2.0, vram_wait=0.2)


def _project_with_leftover(tmp_path: Path, paths: AppPaths) -> TrainingProject:
    base = tmp_path / "models" / "v1-5-pruned.safetensors"
    base.parent.mkdir()
    base.write_bytes(b"fake checkpoint")
    project = new_project(
        paths.training_dir, "clay", "lmnx", base, family=ModelFamily.sd15, epochs=1
    )
    sources = [make_image(tmp_path / "drop" / f"{i}.png", seed=i) for i in range(2)]
    prepare(scan(sources), project.root, trigger="lmnx", repeats=1)
    project.output_dir.mkdir(parents=True)
    project.final_output.write_bytes(HALF_WRITTEN)
    return project


async def _train(service: TrainingService, project: TrainingProject) -> TrainingEvent:
    async with contextlib.aclosing(service.start(project)) as events:
        return [event async for event in events][-1]


@pytest.fixture(autouse=True)
def _fast_trainer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_STEP_S", raising=False)
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)


@pytest.mark.asyncio
async def test_a_run_that_saves_nothing_does_not_install_a_leftover_file(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_FAULT", "no_data")  # exit 0, no model written
    service = _service(tmp_path, app_paths)
    project = _project_with_leftover(tmp_path, app_paths)
    failed = await _train(service, project)
    assert isinstance(failed, TrainingFailed)
    assert failed.cause == "no_data"
    assert service.list_loras() == []


@pytest.mark.asyncio
async def test_a_run_that_saves_replaces_the_leftover_file(
    tmp_path: Path, app_paths: AppPaths
) -> None:
    service = _service(tmp_path, app_paths)
    project = _project_with_leftover(tmp_path, app_paths)
    finished = await _train(service, project)
    assert isinstance(finished, TrainingFinished)
    installed = finished.lora.file.read_bytes()
    assert installed == project.final_output.read_bytes()
    assert installed != HALF_WRITTEN
    assert b'"ss_steps":"2"' in installed
