"""Record the golden transcripts in tests/data/golden/ from the real ComfyUI and sd-scripts.

Run from the repository root (it builds or reuses the cached peers venv and models)::

    .venv/bin/python -m tests.contract.record_golden

Writes:
- ``comfyui_run.json``: websocket frames and ``/history`` of a tiny SD 1.5 job with a LoRA;
- ``comfyui_interrupted.json``: the same for a job interrupted after its first step;
- ``comfyui_object_info.json``: ``/object_info`` of every node class the templates use;
- ``comfyui_prompt_rejected.json``: the 400 answer to a graph naming a missing LoRA;
- ``comfyui_system_stats.json``: ``/system_stats``;
- ``kohya_sd15_train.bin``: the raw output bytes (stdout and stderr in one pipe) of a real
  sd-scripts LoRA training, started with the command line and TOML the app writes.

Paths of this machine are replaced by ``<peers>``, ``<venv>``, ``<tmp>`` and ``<home>``.
Fast tests replay these into the app's parsers (tests/unit/test_golden_replay.py) and diff
the simulators against them (tests/integration/test_golden_drift.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from ai4artsed_desktop.content.loader import load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.settings import TrainingSettings
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import new_project
from ai4artsed_desktop.training.tokenizers import prepare_cache
from tests.contract import peers, peers_env
from tests.contract.conftest import COMFY_OUTPUTS, OUTPUTS, install_models, layouts
from tests.contract.graphs import STYLE, template_graph
from tests.contract.test_training import cpu_preset
from tests.contract.transcript import record_job
from tests.unit.training.helpers import make_image

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
LORA_CLASSES = ("LoraLoader", "LoraLoaderModelOnly")


def node_classes() -> list[str]:
    """Every node class of every shipped template, and the LoRA loaders the app injects."""
    classes = set(LORA_CLASSES)
    for output_id in COMFY_OUTPUTS:
        output = OUTPUTS[output_id]
        for _, workflow, _ in layouts(output):
            graph = load_workflow(output, resources_dir() / "workflows", workflow)
            classes |= {node["class_type"] for node in graph.values()}
    return sorted(classes)


class Scrubber:
    """Replaces this machine's paths by placeholders."""

    def __init__(self, tmp: Path) -> None:
        self.pairs = [
            (str(peers_env.venv_dir()), "<venv>"),
            (str(peers_env.peers_dir()), "<peers>"),
            (str(peers_env.peers_dir().resolve()), "<peers>"),
            (str(tmp), "<tmp>"),
            (str(Path.home()), "<home>"),
        ]

    def text(self, value: str) -> str:
        for old, new in self.pairs:
            value = value.replace(old, new)
        return value

    def json(self, value: Any) -> str:
        return self.text(json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)) + "\n"

    def bytes(self, value: bytes) -> bytes:
        for old, new in self.pairs:
            value = value.replace(old.encode(), new.encode())
        return value


async def record_comfyui(server: peers.ComfyServer, scrub: Scrubber) -> None:
    run = await record_job(server.url, template_graph("sd15", loras=(STYLE,), seed=42))
    (GOLDEN / "comfyui_run.json").write_text(scrub.json(run.to_json()), "utf-8")
    stopped = await record_job(
        server.url, template_graph("sd15", steps=50, seed=43), interrupt_after_progress=True
    )
    (GOLDEN / "comfyui_interrupted.json").write_text(scrub.json(stopped.to_json()), "utf-8")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        infos: dict[str, Any] = {}
        for name in node_classes():
            infos.update((await http.get(f"/object_info/{name}")).json())
        (GOLDEN / "comfyui_object_info.json").write_text(scrub.json(infos), "utf-8")
        missing = template_graph("sd15", loras=(LoraSpec("not_installed.safetensors", 1.0),))
        body = {"prompt": missing, "client_id": "golden", "prompt_id": str(uuid.uuid4())}
        answer = await http.post("/prompt", json=body)
        assert answer.status_code == 400, answer.text
        rejected = {"status": answer.status_code, "body": answer.json()}
        (GOLDEN / "comfyui_prompt_rejected.json").write_text(scrub.json(rejected), "utf-8")
        stats = (await http.get("/system_stats")).json()
        (GOLDEN / "comfyui_system_stats.json").write_text(scrub.json(stats), "utf-8")


def record_kohya(tmp: Path, models: peers.PeerModels, scrub: Scrubber) -> None:
    project = new_project(
        tmp / "training", "golden", "zinestyle", models.checkpoint,
        family=ModelFamily.sd15, epochs=2, resolution=64,
    )  # fmt: skip
    sources = [make_image(tmp / "drop" / f"{i}.png", size=(96, 96), seed=i) for i in (1, 2)]
    prepare(scan(sources), project.root, trigger="zinestyle", repeats=1)
    preset = dataclasses.replace(cpu_preset(), tier_gb=8)
    config.write_config(project, preset, prepare_cache(tmp / "cache"))
    settings = TrainingSettings(
        kohya_dir=str(peers.sd_scripts_dir()), python=str(peers_env.venv_python())
    )
    result = subprocess.run(
        config.command(settings, project),
        cwd=peers.sd_scripts_dir(),
        env=peers.peer_env(**config.trainer_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    (GOLDEN / "kohya_sd15_train.bin").write_bytes(scrub.bytes(result.stdout))


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    models = peers.build_models()
    with tempfile.TemporaryDirectory(prefix="golden-") as folder:
        tmp = Path(folder)
        scrub = Scrubber(tmp)
        install_models(tmp / "comfyui", models)
        server = peers.ComfyServer(tmp / "comfyui")
        server.start()
        try:
            asyncio.run(record_comfyui(server, scrub))
        finally:
            server.stop()
        record_kohya(tmp, models, scrub)
    print(f"golden transcripts written to {GOLDEN}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
