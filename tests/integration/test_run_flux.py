"""A FLUX.1 [dev] run through RunSession against the ComfyUI simulator, with LoRAs by family.

The simulator seeds ComfyUI's separate Flux files (flux1-dev, clip_l, t5xxl_fp16, ae), so
the run takes the UNETLoader template; the expert's prompt strength reaches FluxGuidance and
the sampler stays at CFG 1. A rule that carries LoRAs of several base models gives each
output only its own family's: the FLUX.1 LoRA goes into Flux, the SD 1.5 one into SD 1.5.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from ai4artsed_desktop.content.schema import LoraRef
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.pipeline.runner import RunRequest, RunResult, RunSession
from tests.integration.run_rig import IDEA, Rig, RigFactory, collect


def submitted_graph(rig: Rig, run_id: str) -> dict[str, Any]:
    history = httpx.get(f"{rig.comfy.base_url}/history", timeout=10).json()
    for entry in history.values():
        graph: dict[str, Any] = entry["prompt"][2]
        if any(run_id in json.dumps(node.get("inputs", {})) for node in graph.values()):
            return graph
    raise AssertionError(f"run {run_id} not in /history")


def by_class(graph: dict[str, Any], class_type: str) -> list[dict[str, Any]]:
    return [node for node in graph.values() if node["class_type"] == class_type]


def put_loras(rig: Rig, *names: str) -> None:
    folder = rig.comfy.models_dir / "loras"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"lora")


@pytest.mark.asyncio
async def test_flux_runs_with_guidance_and_a_lora_on_model_and_clip(make_rig: RigFactory) -> None:
    rig = await make_rig()
    put_loras(rig, "flux_clay.safetensors")
    lora = LoraSpec("flux_clay.safetensors", 0.8, 0.6, trigger="lmnx")
    session = rig.session(
        level="adult", output_id="flux1_dev", loras=(lora,), values={"cfg": 2.5, "steps": 3}
    )
    events = await collect(session)
    assert isinstance(events[-1], RunResult), events[-1]
    graph = submitted_graph(rig, session.run_id)
    (unet,) = by_class(graph, "UNETLoader")
    (dual,) = by_class(graph, "DualCLIPLoader")
    (loader,) = by_class(graph, "LoraLoader")
    assert unet["inputs"]["unet_name"] == "flux1-dev.safetensors"
    assert dual["inputs"]["type"] == "flux"
    assert (loader["inputs"]["strength_model"], loader["inputs"]["strength_clip"]) == (0.8, 0.6)
    assert by_class(graph, "FluxGuidance")[0]["inputs"]["guidance"] == 2.5
    (sampler,) = by_class(graph, "KSampler")
    assert (sampler["inputs"]["cfg"], sampler["inputs"]["steps"]) == (1.0, 3)
    record = rig.run_json(session)
    assert record["loras_applied"][0]["file"] == "flux_clay.safetensors"
    assert record["prompt"].startswith("lmnx")


@pytest.mark.asyncio
async def test_a_rule_s_loras_go_only_into_outputs_of_their_family(make_rig: RigFactory) -> None:
    rig = await make_rig()
    put_loras(rig, "flux_clay.safetensors", "sd15_ink.safetensors", "old.safetensors")
    base = rig.services.content
    rule = dataclasses.replace(
        base.interceptions["bauhaus"],
        loras=(
            LoraRef("flux_clay.safetensors", 0.7, "lmnx", family="flux"),
            LoraRef("sd15_ink.safetensors", 0.5, "inkz", family="sd15"),
            LoraRef("old.safetensors", 0.4),  # no family known: it goes everywhere
        ),
    )
    content = dataclasses.replace(base, interceptions={**base.interceptions, "bauhaus": rule})
    services = dataclasses.replace(rig.services, content=content)

    applied: dict[str, list[str]] = {}
    for output_id in ("flux1_dev", "sd15"):
        request = RunRequest(
            idea=IDEA, config_id="bauhaus", output_id=output_id, level="adult",
            values={"steps": 2},
        )  # fmt: skip
        session = RunSession(services, request)
        events = await collect(session)
        assert isinstance(events[-1], RunResult), (output_id, events[-1])
        applied[output_id] = [lora["file"] for lora in rig.run_json(session)["loras_applied"]]
        graph = submitted_graph(rig, session.run_id)
        names = {n["inputs"]["lora_name"] for n in by_class(graph, "LoraLoader")}
        assert names == set(applied[output_id])
    assert applied == {
        "flux1_dev": ["flux_clay.safetensors", "old.safetensors"],
        "sd15": ["sd15_ink.safetensors", "old.safetensors"],
    }
