"""TrainingService with the real Kohya sd-scripts: a real LoRA training on the CPU, offline.

The random SD 1.5 checkpoint is the base model; 64 px, two images, two epochs (four steps);
a CPU preset (``mixed_precision = "no"``: fp16 autocast fails on the CPU; plain AdamW:
bitsandbytes' 8-bit one needs CUDA). ``HF_HUB_OFFLINE=1``: sd-scripts must take its
tokenizer from the ones the app ships (this machine cannot reach the hub anyway). The LoRA
it produces is then loaded by the real ComfyUI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from PIL import Image

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.vram import VramArbiter
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import VramPreset
from ai4artsed_desktop.events import JobFinished
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.settings import Settings, TrainingSettings
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import (
    CheckpointSaved,
    TrainingDone,
    TrainingEvent,
    TrainingFinished,
    TrainingLog,
    TrainingProgress,
    TrainingStarted,
    TrainingStopped,
)
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import TrainingProject, new_project
from ai4artsed_desktop.training.service import TrainingService
from tests.contract import peers, peers_env
from tests.contract.graphs import template_graph
from tests.unit.training.helpers import make_image

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(1200)]
CPU_KNOBS = {
    "mixed_precision": "no",
    "optimizer_type": "AdamW",
    "gradient_checkpointing": False,
    "cache_latents_to_disk": False,
    "max_data_loader_n_workers": 0,
    "network_dim": 4,
    "network_alpha": 4,
    "max_train_epochs": 2,
    "save_every_n_epochs": 1,
}


def cpu_preset() -> VramPreset:
    shipped = min(
        load_content(resources_dir() / "configs").presets.values(), key=lambda p: p.tier_gb
    )
    return dataclasses.replace(shipped, training={**shipped.training, **CPU_KNOBS})


def trainer_processes() -> list[psutil.Process]:
    script = str(peers.sd_scripts_dir() / "train_network.py")
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if script in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


class Rig:
    def __init__(self, tmp: Path, base_model: Path) -> None:
        self.tmp = tmp
        self.paths = AppPaths.under(tmp / "app")
        self.paths.ensure()
        self.base_model = base_model
        gpu = FakeGpuProvider(tmp / "no-gpu.json")  # no file: no NVIDIA card
        settings = Settings(
            training=TrainingSettings(
                kohya_dir=str(peers.sd_scripts_dir()),
                python=str(peers_env.venv_python()),
                lora_dir=str(tmp / "loras"),
            )
        )
        self.service = TrainingService(
            settings, self.paths, VramArbiter(gpu), gpu=gpu,
            presets={8: cpu_preset()}, stop_grace=5.0, vram_wait=0.1,
        )  # fmt: skip

    def project(self, name: str) -> TrainingProject:
        project = new_project(
            self.paths.training_dir, name, "zinestyle", self.base_model,
            family=ModelFamily.sd15, epochs=2, resolution=64,
        )  # fmt: skip
        sources = [make_image(self.tmp / name / f"{i}.png", size=(96, 96), seed=i) for i in (1, 2)]
        prepare(scan(sources), project.root, trigger="zinestyle", repeats=1)
        return project


@pytest.fixture
def rig(tmp_path: Path, peer_models: peers.PeerModels, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # the peers' sources stay untouched
    return Rig(tmp_path, peer_models.checkpoint)


async def collect(stream: AsyncIterator[TrainingEvent]) -> list[TrainingEvent]:
    async with contextlib.aclosing(stream) as events:
        return [event async for event in events]


@pytest.mark.asyncio
async def test_real_training_succeeds_offline_and_comfyui_loads_the_lora(
    rig: Rig, comfy: peers.ComfyServer
) -> None:
    project = rig.project("contract")
    events = await collect(rig.service.start(project))

    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert started.steps_estimate == 4
    toml = project.config_file.read_text("utf-8")
    assert 'mixed_precision = "no"' in toml
    assert "tokenizer_cache_dir" in toml
    log_lines = [e.line for e in events if isinstance(e, TrainingLog)]
    assert any("load tokenizer from cache" in line for line in log_lines), log_lines[-20:]
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert progress[-1].step == progress[-1].total == 4
    assert [p.step for p in progress] == sorted(p.step for p in progress)
    assert progress[-1].loss is not None
    assert progress[-1].epochs == 2
    assert len([e for e in events if isinstance(e, CheckpointSaved)]) >= 1
    assert any(isinstance(e, TrainingDone) for e in events)
    final = events[-1]
    assert isinstance(final, TrainingFinished), final
    lora_file = final.lora.file
    assert lora_file.parent == rig.tmp / "loras"
    assert trainer_processes() == []

    # The real ComfyUI loads the trained LoRA (UNet and text encoder) with no key left over.
    installed = comfy.base / "models" / "loras" / "trained_contract.safetensors"
    peers.link_or_copy(lora_file, installed)
    spec = LoraSpec(installed.name, 1.0, 1.0)
    before = comfy.log_text()
    async with ComfyClient(comfy.url) as client:
        graph = template_graph("sd15", loras=(spec,), seed=9, prefix="trained")
        async with contextlib.aclosing(client.run(graph)) as stream:
            outcome = [event async for event in stream]
        assert isinstance(outcome[-1], JobFinished), outcome[-1]
        png = await client.view(outcome[-1].outputs[0])
    with Image.open(io.BytesIO(png)) as image:
        ran = json.loads(image.text["prompt"])  # type: ignore[attr-defined]
    assert [n["inputs"]["lora_name"] for n in ran.values() if n["class_type"] == "LoraLoader"] == [
        installed.name
    ]
    assert "lora key not loaded" not in comfy.log_text()[len(before) :]


@pytest.mark.asyncio
async def test_stopping_a_real_training_leaves_no_process(rig: Rig) -> None:
    project = rig.project("stopped")
    events: list[TrainingEvent] = []
    async with contextlib.aclosing(rig.service.start(project)) as stream:
        async for event in stream:
            events.append(event)
            if isinstance(event, TrainingLog) and "load tokenizer from cache" in event.line:
                assert trainer_processes(), "the trainer should be running now"
                await rig.service.stop()
    assert isinstance(events[-1], TrainingStopped), events[-1]
    assert await asyncio.to_thread(wait_no_trainer, 30.0) == []
    assert not project.final_output.exists()


def wait_no_trainer(within_s: float) -> list[psutil.Process]:
    deadline = time.monotonic() + within_s
    while (left := trainer_processes()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left
