"""A whole run with the files a teacher really downloaded: the graph follows what is installed.

The ComfyUI simulator validates every /prompt like the real server (classes, links, combo
values), so a graph that names a file ComfyUI does not list, or keeps a TripleCLIPLoader
whose files are missing, is refused there.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ai4artsed_desktop.events import RunResult, Stage
from ai4artsed_desktop.pipeline.lora import LoraSpec
from tests.integration.run_rig import RigFactory, collect


def _submitted_graph(base_url: str, run_id: str) -> dict[str, dict[str, object]]:
    history = httpx.get(f"{base_url}/history", trust_env=False, timeout=5).json()
    for entry in history.values():
        graph = entry["prompt"][2]
        if any(
            str(node["inputs"].get("filename_prefix", "")).endswith(run_id)
            for node in graph.values()
        ):
            result: dict[str, dict[str, object]] = graph
            return result
    raise AssertionError(f"run {run_id} not in /history: {json.dumps(history)[:400]}")


def _install_only(models: Path, keep: dict[str, list[str]]) -> None:
    """Empty the seeded models folder, then place ``keep`` (folder -> names)."""
    for path in models.rglob("*.safetensors"):
        path.unlink()
    for folder, names in keep.items():
        for name in names:
            target = models / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"placeholder")


@pytest.mark.asyncio
async def test_sd35_single_file_download_with_a_lora(make_rig: RigFactory) -> None:
    rig = await make_rig()
    _install_only(
        rig.comfy.models_dir,
        {
            "checkpoints": ["SD3.5/sd3.5_large_fp8_scaled.safetensors"],
            "loras": ["paper_cut.safetensors"],
        },
    )
    lora = LoraSpec("paper_cut.safetensors", 0.7, 0.7, trigger="papercut")
    session = rig.session(level="adult", output_id="sd35_large", loras=(lora,), values={"steps": 2})
    events = await collect(session)
    assert isinstance(events[-1], RunResult), events[-1]
    graph = _submitted_graph(rig.comfy.base_url, session.run_id)
    classes = {node["class_type"] for node in graph.values()}
    assert "TripleCLIPLoader" not in classes
    assert "LoraLoader" in classes
    checkpoint = next(n for n in graph.values() if n["class_type"] == "CheckpointLoaderSimple")
    assert checkpoint["inputs"] == {"ckpt_name": "SD3.5/sd3.5_large_fp8_scaled.safetensors"}
    record = rig.run_json(session)
    assert record["loras_applied"][0]["file"] == "paper_cut.safetensors"
    assert record["parameters"]["steps"] == 2


@pytest.mark.asyncio
async def test_sd15_fp16_download_and_a_missing_model_recorded_for_create(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    _install_only(rig.comfy.models_dir, {"checkpoints": ["v1-5-pruned-emaonly-fp16.safetensors"]})
    session = rig.session(level="adult", output_id="sd15", values={"steps": 2})
    events = await collect(session)
    assert isinstance(events[-1], RunResult), events[-1]
    graph = _submitted_graph(rig.comfy.base_url, session.run_id)
    checkpoint = next(n for n in graph.values() if n["class_type"] == "CheckpointLoaderSimple")
    assert checkpoint["inputs"]["ckpt_name"] == "v1-5-pruned-emaonly-fp16.safetensors"
    # The board the Create page reads now knows sd15 is fine.
    board = rig.services.models
    assert board is not None
    status = board.get("sd15")
    assert status is not None
    assert status.available

    failing = rig.session(level="adult", output_id="sdxl")
    failed = (await collect(failing))[-1]
    assert getattr(failed, "stage", None) is Stage.generation
    assert "sd_xl_base_1.0.safetensors" in getattr(failed, "message", "")
    sdxl = board.get("sdxl")
    assert sdxl is not None
    assert not sdxl.available
