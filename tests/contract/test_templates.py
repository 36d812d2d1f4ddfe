"""Every shipped ComfyUI template, with and without LoRAs, passes the real ``/prompt`` checks.

The real server validates class names, combo values (model and LoRA file names), link
types and ranges. The graphs queue behind one long SD 1.5 job ("blocker") and are taken out
of the queue again, so none of them runs with a model it was not made for; the blocker is
interrupted at the end, which leaves the queue empty.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.comfyui_parsing import parse_queue
from ai4artsed_desktop.errors import BackendRequestError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec
from tests.contract.conftest import OUTPUTS, TEMPLATES, layouts
from tests.contract.graphs import STYLE, UNET_ONLY, template_graph
from tests.contract.peers import ComfyServer

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(600)]


def post_prompt(url: str, graph: dict[str, Any]) -> httpx.Response:
    body = {"prompt": graph, "client_id": "contract", "prompt_id": str(uuid.uuid4())}
    return httpx.post(f"{url}/prompt", json=body, timeout=60)


def wait_queue_empty(url: str, within_s: float = 240) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        queue = parse_queue(httpx.get(f"{url}/queue", timeout=10).json())
        if not queue.running and not queue.pending:
            return
        time.sleep(0.2)
    raise AssertionError(f"ComfyUI's queue is not empty after {within_s:.0f} s")


@pytest.fixture(scope="module")
def blocked(comfy: ComfyServer) -> Iterator[ComfyServer]:
    """The server busy with one long SD 1.5 job, so that other graphs only queue."""
    wait_queue_empty(comfy.url)
    answer = post_prompt(comfy.url, template_graph("sd15", steps=10000, seed=1))
    assert answer.status_code == 200, answer.text
    blocker = answer.json()["prompt_id"]
    try:
        yield comfy
    finally:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{comfy.url}/queue", json={"clear": True}, timeout=10)
            httpx.post(f"{comfy.url}/interrupt", json={"prompt_id": blocker}, timeout=10)
        wait_queue_empty(comfy.url)


@pytest.mark.parametrize("with_loras", [False, True], ids=["plain", "loras"])
@pytest.mark.parametrize(
    ("output_id", "layout"), TEMPLATES, ids=[f"{o}{'-' + x if x else ''}" for o, x in TEMPLATES]
)
def test_shipped_template_passes_the_real_validation(
    blocked: ComfyServer, output_id: str, layout: str, with_loras: bool
) -> None:
    loras = (STYLE, UNET_ONLY) if with_loras else ()
    graph = template_graph(output_id, layout=layout, loras=loras, seed=7)
    answer = post_prompt(blocked.url, graph)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["node_errors"] == {}, body
    prompt_id = body["prompt_id"]
    httpx.post(f"{blocked.url}/queue", json={"delete": [prompt_id]}, timeout=10)
    queue = parse_queue(httpx.get(f"{blocked.url}/queue", timeout=10).json())
    assert prompt_id not in queue.pending
    assert prompt_id not in queue.running


@pytest.mark.asyncio
async def test_missing_lora_is_rejected_with_a_message_naming_the_file(
    blocked: ComfyServer,
) -> None:
    graph = template_graph("sd15", loras=(LoraSpec("not_installed_style.safetensors", 1.0),))

    async def submit() -> None:
        async with (
            ComfyClient(blocked.url) as client,
            contextlib.aclosing(client.run(graph)) as events,
        ):
            async for _ in events:
                pass

    with pytest.raises(BackendRequestError) as caught:
        await submit()
    assert caught.value.status == 400
    assert "not_installed_style.safetensors" in caught.value.user_message


def test_every_shipped_template_file_is_covered() -> None:
    used = {workflow for o, _ in TEMPLATES for lay, workflow, _ in layouts(OUTPUTS[o])}
    shipped = {p.name for p in (resources_dir() / "workflows").glob("*.json")}
    assert shipped == used
