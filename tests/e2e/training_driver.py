"""A stand-in for the app during a LoRA training, run as its own process by the e2e tests.

The test prepares ``<base>`` with :func:`make_env` (a fake sd-scripts with ``accelerate``, a
base model, a fake GPU, a dataset), then runs ``python -m tests.e2e.training_driver <base>``:
it trains the project ``clay`` through :class:`TrainingService` like the app does and prints
one JSON line per event (``started``, ``epoch``, ``progress``, then the end; log lines are
left out). The test kills it part-way and checks the folders with a fresh service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ai4artsed_desktop.backends.vram import GIB, VramArbiter
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import (
    TrainingEpoch,
    TrainingLog,
    TrainingProgress,
    TrainingStarted,
)
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import TrainingProject, load_project, new_project
from ai4artsed_desktop.training.service import TrainingService
from tests.unit.training.helpers import make_image

PROJECT = "clay"


@dataclass(frozen=True)
class DriverEnv:
    """A fake sd-scripts (with ``accelerate``), a base model, a fake GPU, below one folder."""

    base: Path

    @property
    def paths(self) -> AppPaths:
        """The app folders (``--data-dir <base>/app``)."""
        return AppPaths.under(self.base / "app")

    @property
    def kohya(self) -> Path:
        """The fake sd-scripts folder."""
        return self.base / "sd-scripts"

    @property
    def model(self) -> Path:
        """The (fake) base checkpoint."""
        return self.base / "models" / "v1-5-pruned.safetensors"

    def service(self) -> TrainingService:
        """A fresh TrainingService on these folders, as a newly started app would build it."""
        gpu = FakeGpuProvider(self.base / "gpu.json")
        settings = Settings(training=TrainingSettings(kohya_dir=str(self.kohya)))
        arbiter = VramArbiter(gpu, poll_interval=0.01)
        return TrainingService(
            settings, self.paths, arbiter, gpu=gpu, stop_grace=2.0, vram_wait=0.2
        )

    def new_project(self) -> TrainingProject:
        """The project ``clay`` as the app creates it (500 epochs: it runs until killed)."""
        return new_project(
            self.paths.training_dir,
            PROJECT,
            "lmnx",
            self.model,
            family=ModelFamily.sd15,
            epochs=500,
        )

    def saved_project(self) -> TrainingProject:
        """The project as saved in its folder when the training started."""
        return load_project(self.paths.training_dir / PROJECT)


def make_env(base: Path) -> DriverEnv:
    """Create the folders, the fake install, the GPU file and a prepared project ``clay``."""
    env = DriverEnv(base)
    env.paths.ensure()
    install_fake_kohya(env.kohya, accelerate=True)
    env.model.parent.mkdir(parents=True, exist_ok=True)
    env.model.write_bytes(b"fake checkpoint")
    total = int(24 * GIB)
    gpu = {
        "index": 0,
        "name": "Fake GPU",
        "uuid": "GPU-1",
        "total_bytes": total,
        "used_bytes": total // 6,
        "free_bytes": total - total // 6,
    }
    (base / "gpu.json").write_text(json.dumps({"driver": "1", "gpus": [gpu]}), encoding="utf-8")
    sources = [make_image(base / "drop" / f"{i}.png", seed=i) for i in range(2)]
    prepare(scan(sources), env.new_project().root, trigger="lmnx", repeats=1)
    return env


def _say(event: str, **data: object) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


async def _train(env: DriverEnv) -> None:
    service = env.service()
    async with contextlib.aclosing(service.start(env.new_project())) as events:
        async for event in events:
            if isinstance(event, TrainingStarted):
                _say("started", steps=event.steps_estimate)
            elif isinstance(event, TrainingEpoch):
                _say("epoch", n=event.n, total=event.total)
            elif isinstance(event, TrainingProgress):
                _say("progress", step=event.step, total=event.total)
            elif not isinstance(event, TrainingLog):
                _say(type(event).__name__)


def main(argv: list[str]) -> int:
    """``training_driver <base>``: train in the folders :func:`make_env` prepared."""
    asyncio.run(_train(DriverEnv(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
