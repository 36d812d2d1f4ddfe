"""The video template, filled as the app fills it, runs on the ComfyUI simulator to a real MP4."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator

import av
import pytest
import pytest_asyncio

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import JobFinished, JobPreview, JobProgress
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.generation import GenerationJob, prepare_graph
from ai4artsed_desktop.pipeline.lora import LoraSpec
from tests.integration.comfy_fixtures import ComfySim

RESOURCES = resources_dir()
VIDEO = load_content(RESOURCES / "configs").outputs["wan22_video"]
MOTION = LoraSpec("ai4artsed_test_motion.safetensors", 0.7, 0.7, trigger="mtnstyle")


@pytest_asyncio.fixture
async def client(comfy_sim: ComfySim) -> AsyncIterator[ComfyClient]:
    async with ComfyClient(comfy_sim.base_url) as comfy:
        yield comfy


@pytest.mark.asyncio
async def test_the_video_template_runs_to_an_h264_mp4_with_progress_and_previews(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    (comfy_sim.models_dir / "loras" / MOTION.file).write_bytes(b"placeholder LoRA for tests\n")
    job = GenerationJob(
        "r1",
        VIDEO,
        "a paper boat drifting on a puddle",
        seed=11,
        values={"seconds": 1.0, "steps": 3, "width": 96, "height": 64},
        loras=(MOTION,),
    )
    graph, _, applied = prepare_graph(job, RESOURCES / "workflows")
    assert [a.model_only for a in applied] == [True]
    async with contextlib.aclosing(client.run(graph)) as stream:
        events = [event async for event in stream]
    steps = [e.step for e in events if isinstance(e, JobProgress)]
    assert steps == [1, 2, 3]
    assert any(isinstance(e, JobPreview) and e.image for e in events)
    finished = events[-1]
    assert isinstance(finished, JobFinished)
    [file] = finished.outputs
    assert file.subfolder == "video"
    assert file.filename.endswith("_00001_.mp4")
    assert file.kind == "images"  # SaveVideo reports its file as ui.PreviewVideo does
    data = await client.view(file)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (96, 64)
        assert stream.average_rate == 24
        frames = [frame.to_image() for frame in container.decode(stream)]
        ran = json.loads(container.metadata["prompt"])
    assert len(frames) == 25  # 1 s at 24 fps, as 4n+1
    assert frames[0].tobytes() != frames[-1].tobytes()  # it moves
    loaders = [n for n in ran.values() if n["class_type"].startswith("Lora")]
    assert [n["class_type"] for n in loaders] == ["LoraLoaderModelOnly"]
    assert "mtnstyle, a paper boat" in ran["5"]["inputs"]["text"]


@pytest.mark.asyncio
async def test_an_image_latent_on_the_video_model_fails_as_the_real_one_does(
    client: ComfyClient,
) -> None:
    graph, _, _ = prepare_graph(
        GenerationJob("r2", VIDEO, "waves", values={"seconds": 1.0, "steps": 1}),
        RESOURCES / "workflows",
    )
    graph["7"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
    }
    async with contextlib.aclosing(client.run(graph)) as stream:
        events = [event async for event in stream]
    assert "conv3d" in getattr(events[-1], "message", "") + getattr(events[-1], "detail", "")
