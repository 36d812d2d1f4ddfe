"""The app's ComfyClient against the real ComfyUI 0.8.0: a tiny SD 1.5 generation, cancel.

64 x 64 pixels and two steps with the random-weight checkpoint: the pictures are noise, the
protocol is real (progress, latent2rgb previews, ``/history``, ``/view``, PNG metadata,
interrupt, queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from ai4artsed_desktop.backends.comfyui import ComfyClient, RunEvent
from ai4artsed_desktop.events import (
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    NodeExecuting,
)
from tests.contract.graphs import STYLE, template_graph
from tests.contract.peers import ComfyServer

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(900)]
SEED = 20260107


@pytest_asyncio.fixture
async def client(comfy: ComfyServer) -> AsyncIterator[ComfyClient]:
    async with ComfyClient(comfy.url) as comfy_client:
        yield comfy_client


async def run_all(client: ComfyClient, graph: dict[str, Any]) -> list[RunEvent]:
    async with contextlib.aclosing(client.run(graph)) as stream:
        return [event async for event in stream]


async def wait_idle(client: ComfyClient, within_s: float = 120.0) -> None:
    async with asyncio.timeout(within_s):
        while True:
            queue = await client.queue()
            if not queue.running and not queue.pending:
                return
            await asyncio.sleep(0.2)


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (64, 64)
        return image.convert("RGB").tobytes()


@pytest.mark.asyncio
async def test_tiny_generation_with_and_without_lora(
    comfy: ComfyServer, client: ComfyClient
) -> None:
    plain = await run_all(client, template_graph("sd15", seed=SEED, prefix="plain"))
    styled = await run_all(client, template_graph("sd15", loras=(STYLE,), seed=SEED, prefix="lora"))
    again = await run_all(client, template_graph("sd15", seed=SEED, prefix="again"))

    for events in (plain, styled):
        assert isinstance(events[0], JobQueued)
        job = events[0].job_id
        assert isinstance(events[1], JobStarted)
        assert all(e.job_id == job for e in events)
        progress = [(e.step, e.total) for e in events if isinstance(e, JobProgress)]
        assert progress[-1] == (2, 2)
        assert sorted(set(progress)) == [(1, 2), (2, 2)]
        previews = [e for e in events if isinstance(e, JobPreview)]
        assert previews, "latent2rgb previews were not forwarded"
        with Image.open(io.BytesIO(previews[-1].image)) as preview:
            preview.load()
        assert any(isinstance(e, NodeExecuting) and e.node == "5" for e in events)
        assert isinstance(events[-1], JobFinished)
        (output,) = events[-1].outputs
        assert output.type == "output"
        assert (comfy.output_dir / output.subfolder / output.filename).is_file()
        entry = await client.history(job)
        assert entry is not None
        assert entry.status == "success"
        assert entry.outputs == events[-1].outputs

    images = {}
    for name, events in (("plain", plain), ("styled", styled), ("again", again)):
        final = events[-1]
        assert isinstance(final, JobFinished)
        png = await client.view(final.outputs[0])
        with Image.open(io.BytesIO(png)) as image:
            ran = json.loads(image.text["prompt"])  # type: ignore[attr-defined]
        assert ran["5"]["inputs"]["seed"] == SEED
        images[name] = pixels(png)
        loras = [n["inputs"]["lora_name"] for n in ran.values() if n["class_type"] == "LoraLoader"]
        assert loras == ([STYLE.file] if name == "styled" else [])

    assert images["plain"] == images["again"], "same seed, same picture"
    assert images["plain"] != images["styled"], "the LoRA must change the picture"
    assert "lora key not loaded" not in comfy.log_text()


@pytest.mark.asyncio
async def test_closing_the_stream_interrupts_and_leaves_the_queue_empty(
    client: ComfyClient,
) -> None:
    graph = template_graph("sd15", seed=5, steps=500, prefix="cancel")
    seen: list[RunEvent] = []
    async with contextlib.aclosing(client.run(graph)) as stream:
        async for event in stream:
            seen.append(event)
            if isinstance(event, JobProgress):
                break  # the consumer leaves: the client must interrupt the server job
    job = seen[0].job_id
    await wait_idle(client)
    entry = await client.history(job)
    assert entry is not None
    assert entry.message("execution_interrupted") is not None
    assert not any(isinstance(e, JobFinished | JobInterrupted) for e in seen)
