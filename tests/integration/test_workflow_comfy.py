"""Real templates, filled and LoRA-injected, against the ComfyUI simulator (a child process).

The simulator validates /prompt like ComfyUI (unknown classes, combo values such as the
LoRA file name, link types, ranges) and runs accepted graphs to completion.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.errors import BackendRequestError, ConfigError
from ai4artsed_desktop.events import JobFinished
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.availability import (
    describe_missing,
    missing_loras,
    missing_models,
)
from ai4artsed_desktop.pipeline.lora import LoraSpec, add_trigger_words, inject_loras
from ai4artsed_desktop.pipeline.workflow import apply_inputs, set_filename_prefix, upload_inputs
from tests.integration.comfy_fixtures import ComfySim

RESOURCES = resources_dir()
OUTPUTS = load_content(RESOURCES / "configs").outputs
COMFY_OUTPUTS = ["sd15", "sdxl", "sd35_large", "stable_audio", "ace_step"]
STYLE = LoraSpec("ai4artsed_test_style.safetensors", 0.8, 0.7, "zinestyle")
UNET_ONLY = LoraSpec("ai4artsed_test_unet.safetensors", 0.5, model_only=True)
VALUES: dict[str, object] = {
    "prompt": "a lighthouse on a basalt cliff, gouache",
    "negative": "blurry",
    "tags": "lo-fi, rhodes piano, 80 bpm",
    "lyrics": "[instrumental]",
    "steps": 3,
    "width": 64,
    "height": 64,
    "seconds": 1.5,
}


@pytest_asyncio.fixture
async def client(comfy_sim: ComfySim) -> AsyncIterator[ComfyClient]:
    async with ComfyClient(comfy_sim.base_url) as comfy:
        yield comfy


def add_lora_files(sim: ComfySim, *specs: LoraSpec) -> None:
    for spec in specs:
        (sim.models_dir / "loras" / spec.file).write_bytes(b"placeholder LoRA for tests\n")


def filled_template(output_id: str, **values: object) -> dict[str, Any]:
    output = OUTPUTS[output_id]
    graph = load_workflow(output, RESOURCES / "workflows")
    return apply_inputs(graph, output, {**VALUES, **values})


async def run_to_end(comfy: ComfyClient, graph: dict[str, Any]) -> JobFinished:
    async with contextlib.aclosing(comfy.run(graph)) as stream:
        events = [event async for event in stream]
    final = events[-1]
    assert isinstance(final, JobFinished), events
    return final


@pytest.mark.asyncio
@pytest.mark.parametrize("output_id", COMFY_OUTPUTS)
async def test_real_template_with_loras_is_accepted_and_runs(
    comfy_sim: ComfySim, client: ComfyClient, output_id: str
) -> None:
    add_lora_files(comfy_sim, STYLE, UNET_ONLY)
    prompt = add_trigger_words(str(VALUES["prompt"]), [STYLE])
    graph = filled_template(output_id, prompt=prompt, seed=4242)
    injected = inject_loras(graph, [STYLE, UNET_ONLY])
    assert [a.model_only for a in injected.applied] == [False, True]
    final_graph = set_filename_prefix(injected.graph, f"test_{output_id}")
    finished = await run_to_end(client, final_graph)
    assert finished.outputs
    for file in finished.outputs:
        assert file.filename.startswith(f"test_{output_id}_")
        assert (comfy_sim.output_dir / file.subfolder / file.filename).is_file()
    if OUTPUTS[output_id].media.value == "image":
        (file,) = finished.outputs
        with Image.open(io.BytesIO(await client.view(file))) as png:
            ran = json.loads(png.text["prompt"])  # type: ignore[attr-defined]
        loaders = {
            n["class_type"]: n["inputs"]["lora_name"]
            for n in ran.values()
            if "Lora" in n["class_type"]
        }
        assert loaders == {"LoraLoader": STYLE.file, "LoraLoaderModelOnly": UNET_ONLY.file}
        assert any("zinestyle, a lighthouse" in str(n["inputs"].get("text")) for n in ran.values())


@pytest.mark.asyncio
async def test_lora_the_server_does_not_have_is_rejected_and_reported(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    missing = await missing_loras(client, [STYLE])
    assert [m.file for m in missing] == [STYLE.file]
    assert describe_missing(missing) == (
        f"LoRA file '{STYLE.file}' is missing; put it into ComfyUI/models/loras."
    )
    injected = inject_loras(filled_template("sd15", seed=1), [STYLE])
    with pytest.raises(BackendRequestError) as caught:
        await run_to_end(client, injected.graph)
    assert caught.value.status == 400
    add_lora_files(comfy_sim, STYLE)  # copied in while running: listed at once
    assert await missing_loras(client, [STYLE]) == []
    await run_to_end(client, injected.graph)


@pytest.mark.asyncio
async def test_availability_after_deleting_a_model_file(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    for output_id in COMFY_OUTPUTS:
        assert await missing_models(client, OUTPUTS[output_id]) == [], output_id
    (comfy_sim.models_dir / "checkpoints" / "sd3.5_large.safetensors").unlink()
    (comfy_sim.models_dir / "text_encoders" / "t5xxl_fp16.safetensors").unlink()
    missing = await missing_models(client, OUTPUTS["sd35_large"])
    assert [(m.file, m.folder, m.node_class) for m in missing] == [
        ("sd3.5_large.safetensors", "checkpoints", "CheckpointLoaderSimple"),
        ("t5xxl_fp16.safetensors", "text_encoders", "TripleCLIPLoader"),
    ]
    assert describe_missing(missing[0]) == (
        "Model file 'sd3.5_large.safetensors' is missing; put it into ComfyUI/models/checkpoints."
    )
    assert await missing_models(client, OUTPUTS["sdxl"]) == []


def png_bytes(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def img2img(graph: dict[str, Any]) -> dict[str, Any]:
    """SD 1.5 with a LoadImage -> VAEEncode latent instead of an empty one."""
    graph["20"] = {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"}}
    graph["21"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["20", 0], "vae": ["1", 2]}}
    graph["5"]["inputs"]["latent_image"] = ["21", 0]
    graph["5"]["inputs"]["denoise"] = 0.6
    return graph


@pytest.mark.asyncio
async def test_upload_inputs_uses_the_name_the_server_returned(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    picture = png_bytes((200, 40, 40))
    taken = f"ai4artsed_{hashlib.sha256(picture).hexdigest()[:16]}.png"
    (comfy_sim.input_dir / taken).write_bytes(png_bytes((0, 0, 255)))  # same name, other image
    graph = img2img(filled_template("sd15", seed=7))
    uploaded = await upload_inputs(client, graph, {"20": picture})
    stored = uploaded["20"]["inputs"]["image"]
    assert stored == taken.replace(".png", " (1).png")
    assert (comfy_sim.input_dir / stored).read_bytes() == picture
    assert graph["20"]["inputs"]["image"] == "placeholder.png"  # the input graph is untouched
    again = await upload_inputs(client, graph, {"20": picture})  # identical content: reused
    assert again["20"]["inputs"]["image"] == stored
    await run_to_end(client, inject_loras(uploaded, []).graph)


@pytest.mark.asyncio
async def test_upload_inputs_refuses_a_node_without_image_input(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    graph = filled_template("sd15", seed=7)
    with pytest.raises(ConfigError):
        await upload_inputs(client, graph, {"5": png_bytes((1, 2, 3))})
    with pytest.raises(ConfigError):
        await upload_inputs(client, img2img(graph), {"20": b""})
    assert not any(comfy_sim.input_dir.iterdir())
