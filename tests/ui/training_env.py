"""Helpers for the training page tests: a fake sd-scripts install, images, a view-model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil

from ai4artsed_desktop.backends.vram import GIB, VramArbiter
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.training.loras import TrainedLora, install_lora
from ai4artsed_desktop.training.service import TrainingService
from ai4artsed_desktop.ui.viewmodels.training_vm import TrainingViewModel
from tests.unit.training.helpers import make_image


def write_gpu(
    path: Path, *, free_gb: float = 20.0, total_gb: float = 24.0, **extra: object
) -> None:
    total, free = int(total_gb * GIB), int(free_gb * GIB)
    gpu = {
        "index": 0,
        "name": "Fake GPU",
        "uuid": "GPU-1",
        "total_bytes": total,
        "used_bytes": total - free,
        "free_bytes": free,
        **extra,
    }
    path.write_text(json.dumps({"driver": "1", "gpus": [gpu]}), encoding="utf-8")


def dataset(folder: Path, *, good: int = 2, small: int = 1, broken: int = 1) -> Path:
    """Distinct good 640 px images, too-small 200 px ones and damaged .png files."""
    for i in range(good):
        make_image(folder / f"good{i}.png", seed=i)
    for i in range(small):
        make_image(folder / f"small{i}.png", size=(200, 200), seed=100 + i)
    for i in range(broken):
        (folder / f"broken{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


class TrainingEnv:
    """A fake sd-scripts, a base model file, a fake GPU and a TrainingService."""

    def __init__(self, tmp_path: Path, paths: AppPaths, *, configured: bool = True) -> None:
        self.tmp = tmp_path
        self.paths = paths
        self.kohya = install_fake_kohya(tmp_path / "sd-scripts")
        self.base = tmp_path / "models" / "v1-5-pruned.safetensors"
        self.base.parent.mkdir(exist_ok=True)
        self.base.write_bytes(b"fake checkpoint")
        self.gpu_path = tmp_path / "gpu.json"
        write_gpu(self.gpu_path)
        self.gpu = FakeGpuProvider(self.gpu_path)
        self.configured = Settings(
            training=TrainingSettings(kohya_dir=str(self.kohya), base_model=str(self.base))
        )
        self.settings = self.configured if configured else Settings()
        self.service = TrainingService(
            self.settings,
            paths,
            VramArbiter(self.gpu, poll_interval=0.01),
            gpu=self.gpu,
            stop_grace=2.0,
            vram_wait=0.2,
        )
        self.tasks = TaskRegistry("training-test")
        self.presets = load_content(resources_dir() / "configs").presets

    def configure(self) -> None:
        self.settings = self.configured
        self.service.update_settings(self.configured)

    def install_lora(self, name: str = "clay", trigger: str = "lmnx") -> TrainedLora:
        """A (fake) trained LoRA with its sidecar in the app's LoRA folder."""
        source = self.tmp / "out" / f"{name}.safetensors"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(b"fake lora weights")
        return install_lora(
            source,
            self.paths.loras_dir,
            trigger=trigger,
            base_model=str(self.base),
            project=name,
            family="sd15",
        )

    def view_model(self, **options: Any) -> TrainingViewModel:
        """The view-model under test; ``options`` go to its constructor (content, ...)."""
        snapshot = self.gpu.snapshot()
        total = snapshot.total_vram_gb if snapshot else None
        return TrainingViewModel(
            self.service,
            lambda: self.settings,
            self.paths.training_dir,
            self.presets,
            self.tasks,
            vram_total_gb=lambda: total,
            **options,
        )

    def trainer_processes(self) -> list[psutil.Process]:
        """Children of this test process that run the fake trainer."""
        found = []
        for child in psutil.Process().children(recursive=True):
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if str(self.kohya) in line or "simulators.kohya" in line:
                found.append(child)
        return found
