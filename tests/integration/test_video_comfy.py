"""The video template, filled as the app fills it, runs on the ComfyUI simulator to a real MP4."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import av
import pytest
import pytest_asyncio

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.backends.vram import OllamaMemory, VramArbiter
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import JobFinished, JobPreview, JobProgress
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.generation import (
    GIB,
    GenerationJob,
    GenerationOutcome,
    prepare_graph,
    run_comfy,
)
from ai4artsed_desktop.pipeline.lora import LoraSpec
from tests.integration.comfy_fixtures import ComfySim
from tests.integration.conftest import OllamaSim
from tests.integration.test_vram import OllamaBackedGpu

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


class _Backends:
    """Only ComfyUI, already running (the simulator)."""

    def __init__(self, client: ComfyClient) -> None:
        self.client = client

    async def comfy(self) -> ComfyClient:
        return self.client

    async def swarm(self) -> Any:
        raise AssertionError("a film never goes through SwarmUI")

    def engine_crash_since(self, since: float) -> str | None:
        return None


@pytest.mark.asyncio
async def test_the_language_models_leave_the_gpu_before_a_film_is_made(
    ollama_sim: OllamaSim, client: ComfyClient
) -> None:
    async with OllamaClient(ollama_sim.base_url) as ollama:
        for model in ("qwen3:8b", "qwen2.5vl:7b", "qwen2.5-coder:7b"):
            await ollama.load(model, keep_alive="10m")

        async def running() -> OllamaMemory | None:
            return ollama

        arbiter = VramArbiter(OllamaBackedGpu(ollama_sim), ollama=running, poll_interval=0.02)
        assert (await arbiter.report()).free_bytes < VIDEO.vram_gb * GIB  # a film does not fit
        job = GenerationJob(
            "r4", VIDEO, "a kite over dunes", seed=3, values={"seconds": 0.5, "steps": 1,
                                                              "width": 64, "height": 64},
        )  # fmt: skip
        outcome = GenerationOutcome()
        steps = run_comfy(job, _Backends(client), RESOURCES / "workflows", outcome, arbiter=arbiter)
        async with contextlib.aclosing(steps) as stream:
            async for _ in stream:
                assert await ollama.ps() == []  # gone before the first step
        assert (await arbiter.report()).free_bytes >= VIDEO.vram_gb * GIB
        [film] = outcome.files
        assert (film.mime, film.kind) == ("video/mp4", "video")
