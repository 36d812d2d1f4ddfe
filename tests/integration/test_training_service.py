"""TrainingService end to end with the kohya simulator as a real child process tree."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from ai4artsed_desktop.backends.vram import GIB, VramArbiter
from ai4artsed_desktop.errors import BackendNotInstalled, ConfigError, InsufficientResources
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.system import processes
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import (
    CheckpointSaved,
    TrainingDone,
    TrainingEpoch,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingProgress,
    TrainingStarted,
    TrainingStopped,
)
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import TrainingProject, new_project
from ai4artsed_desktop.training.service import TrainingService
from tests.unit.training.helpers import make_image

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")


def gpu_file(path: Path, *, free_gb: float, total_gb: float = 24.0) -> FakeGpuProvider:
    total, free = int(total_gb * GIB), int(free_gb * GIB)
    gpu = {
        "index": 0,
        "name": "Fake GPU",
        "uuid": "GPU-1",
        "total_bytes": total,
        "used_bytes": total - free,
        "free_bytes": free,
    }
    path.write_text(json.dumps({"driver": "1", "gpus": [gpu]}), encoding="utf-8")
    return FakeGpuProvider(path)


class Env:
    def __init__(
        self, tmp_path: Path, paths: AppPaths, *, accelerate: bool = False, free_gb: float = 20.0
    ) -> None:
        self.tmp = tmp_path
        self.paths = paths
        self.kohya = install_fake_kohya(tmp_path / "sd-scripts", accelerate=accelerate)
        self.base = tmp_path / "models" / "v1-5-pruned.safetensors"
        self.base.parent.mkdir()
        self.base.write_bytes(b"fake checkpoint")
        gpu = gpu_file(tmp_path / "gpu.json", free_gb=free_gb)
        settings = Settings(training=TrainingSettings(kohya_dir=str(self.kohya)))
        self.service = TrainingService(
            settings,
            paths,
            VramArbiter(gpu, poll_interval=0.01),
            gpu=gpu,
            stop_grace=2.0,
            vram_wait=0.2,
        )

    def project(
        self, name: str = "clay", *, epochs: int = 2, family: ModelFamily = ModelFamily.sd15
    ) -> TrainingProject:
        project = new_project(
            self.paths.training_dir, name, "lmnx", self.base, family=family, epochs=epochs
        )
        sources = [make_image(self.tmp / "drop" / f"{i}.png", seed=i) for i in range(3)]
        prepare(scan(sources), project.root, trigger="lmnx", repeats=1)
        return project


async def collect(stream: AsyncIterator[TrainingEvent]) -> list[TrainingEvent]:
    async with contextlib.aclosing(stream) as events:
        return [event async for event in events]


@pytest.fixture
def env(tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    return Env(tmp_path, app_paths)


@pytest.mark.asyncio
async def test_training_succeeds_and_installs_the_lora(env: Env) -> None:
    project = env.project()
    reasons: list[str | None] = []
    events: list[TrainingEvent] = []
    async with contextlib.aclosing(env.service.start(project)) as stream:
        async for event in stream:
            events.append(event)
            if isinstance(event, TrainingProgress):
                reasons.append(env.service.gpu_busy_reason())
    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert started.steps_estimate == 6
    assert started.tier_gb == 24
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert progress[-1].step == progress[-1].total == 6
    assert [e for e in events if isinstance(e, TrainingEpoch)] == [
        TrainingEpoch(1, 2),
        TrainingEpoch(2, 2),
    ]
    assert [e.path.name for e in events if isinstance(e, CheckpointSaved)] == ["clay.safetensors"]
    assert TrainingDone() in events
    finished = events[-1]
    assert isinstance(finished, TrainingFinished)
    lora = finished.lora
    assert lora.file == env.paths.loras_dir / "clay.safetensors"
    assert lora.file.read_bytes() == project.final_output.read_bytes()
    assert (lora.trigger, lora.project, lora.family) == ("lmnx", "clay", "sd15")
    assert [item.file for item in env.service.list_loras()] == [lora.file]
    assert reasons
    assert all(r is not None and "'clay'" in r for r in reasons)
    assert not env.service.busy
    assert env.service.gpu_busy_reason() is None
    assert "model saved." in (project.log_dir / "train.log").read_text(encoding="utf-8")


@pytest.mark.asyncio
async def test_stop_kills_accelerate_and_trainer(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "20")
    env = Env(tmp_path, app_paths, accelerate=True)
    project = env.project(epochs=200)
    tree: list[psutil.Process] = []
    events: list[TrainingEvent] = []
    async with contextlib.aclosing(env.service.start(project)) as stream:
        async for event in stream:
            events.append(event)
            if isinstance(event, TrainingProgress) and event.step >= 1 and not tree:
                supervisor = env.service._supervisor
                assert supervisor is not None
                assert supervisor.pid is not None
                root = psutil.Process(supervisor.pid)
                tree = [root, *root.children(recursive=True)]
                assert len(tree) >= 2, "accelerate and the trainer under it"
                assert "--as-accelerate" in " ".join(root.cmdline())
                await env.service.stop()
    stopped = events[-1]
    assert isinstance(stopped, TrainingStopped)
    assert "Nothing from this run was saved" in stopped.message
    assert all(not processes.is_alive(p.pid, p.create_time()) for p in tree)
    assert not project.final_output.exists()
    assert not env.service.busy


@pytest.mark.asyncio
async def test_closing_the_stream_early_kills_the_trainer(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "20")
    env = Env(tmp_path, app_paths)
    pid = None
    async with contextlib.aclosing(env.service.start(env.project(epochs=200))) as stream:
        async for event in stream:
            if isinstance(event, TrainingProgress):
                assert env.service._supervisor is not None
                pid = env.service._supervisor.pid
                break
    assert pid is not None
    assert not processes.is_alive(pid)
    assert not env.service.busy


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "cause", "advice"),
    [
        ("oom", "oom", "batch size"),
        ("missing_model", "missing_model", "base model"),
        ("empty_caption", "empty_caption", "caption"),
        ("no_data", "no_data", "Prepare the dataset"),
        ("crash", "crashed", "log"),
    ],
)
async def test_failures_name_their_cause(
    env: Env, monkeypatch: pytest.MonkeyPatch, fault: str, cause: str, advice: str
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_FAULT", fault)
    project = env.project()
    events = await collect(env.service.start(project))
    failed = events[-1]
    assert isinstance(failed, TrainingFailed)
    assert failed.cause == cause
    assert advice in failed.advice
    assert failed.log_tail
    assert not any(isinstance(e, TrainingFinished) for e in events)
    assert env.service.list_loras() == []
    if fault == "crash":
        assert "RuntimeError: simulated trainer crash" in failed.message


@pytest.mark.asyncio
async def test_second_training_is_refused(
    tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "20")
    env = Env(tmp_path, app_paths)
    first = env.project("first", epochs=200)
    async with contextlib.aclosing(env.service.start(first)) as stream:
        async for event in stream:
            if isinstance(event, TrainingStarted):
                with pytest.raises(InsufficientResources, match="already running"):
                    await collect(env.service.start(env.project("second")))
                assert env.service.current is not None
                assert env.service.current.name == "first"
                await env.service.stop()
    assert not env.service.busy


@pytest.mark.asyncio
async def test_too_little_vram_refuses_before_anything_starts(
    tmp_path: Path, app_paths: AppPaths
) -> None:
    env = Env(tmp_path, app_paths, free_gb=2.0)
    project = env.project()
    with pytest.raises(InsufficientResources, match="Not enough GPU memory") as info:
        await collect(env.service.start(project))
    assert "LoRA training" in info.value.user_message
    assert not project.config_file.exists()
    assert not project.log_dir.exists()
    assert not env.service.busy


@pytest.mark.asyncio
async def test_setup_problems_are_clear_errors(env: Env, tmp_path: Path) -> None:
    missing_base = new_project(
        env.paths.training_dir, "x", "lmnx", tmp_path / "nope.safetensors", family=ModelFamily.sd15
    )
    with pytest.raises(ConfigError, match="base model file was not found"):
        await collect(env.service.start(missing_base))
    sd3 = env.project("sd3", family=ModelFamily.sd35)
    with pytest.raises(ConfigError, match="clip_l, clip_g, t5xxl"):
        await collect(env.service.start(sd3))
    unprepared = new_project(
        env.paths.training_dir, "empty", "lmnx", env.base, family=ModelFamily.sd15
    )
    with pytest.raises(ConfigError, match="no prepared images"):
        await collect(env.service.start(unprepared))
    env.service.update_settings(Settings())
    with pytest.raises(BackendNotInstalled):
        await collect(env.service.start(env.project("y")))
    assert not env.service.busy


@pytest.mark.asyncio
async def test_sd3_passes_the_text_encoders(env: Env) -> None:
    for name in ("clip_l", "clip_g", "t5xxl_fp16"):
        (env.base.parent / f"{name}.safetensors").write_bytes(b"x")
    events = await collect(env.service.start(env.project("sd3", family=ModelFamily.sd35)))
    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert "--clip_g" in started.argv
    assert started.argv[2].endswith("sd3_train_network.py")
    assert isinstance(events[-1], TrainingFinished)


@pytest.mark.asyncio
async def test_delete_project(env: Env) -> None:
    keep = env.project("keep")
    await collect(env.service.start(keep))
    await env.service.delete_project(keep, delete_lora=False)
    assert not keep.root.exists()
    assert (env.paths.loras_dir / "keep.safetensors").is_file()
    gone = env.project("gone")
    await collect(env.service.start(gone))
    await env.service.delete_project(gone, delete_lora=True)
    assert not gone.root.exists()
    assert sorted(p.name for p in env.paths.loras_dir.iterdir()) == [
        "keep.ai4artsed.json",
        "keep.safetensors",
    ]
