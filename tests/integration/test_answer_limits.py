"""Huge and cut-off answers from each backend: a clear error, bounded memory, no hang.

A broken or hostile server on 127.0.0.1 (see :mod:`tests.integration.hostile_server`)
answers with JSON that never ends, a ``Content-Length`` of a terabyte, a streamed line
without end, or a body cut off halfway. Every client must stop reading at its limit and
say which server misbehaved.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psutil
import pytest
from aiohttp import web

from ai4artsed_desktop.backends import http as http_mod
from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.backends.swarmui import SwarmClient
from ai4artsed_desktop.errors import BackendProtocolError
from ai4artsed_desktop.events import OutputFile
from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.providers import OpenAICompatibleProvider

from .hostile_server import (
    Handler,
    body,
    cut_off,
    declared_huge,
    endless,
    endless_line,
    hostile_server,
)

TOO_LARGE = "far larger answer than expected"
BROKE_OFF = "broke off in the middle of an answer"
CHUNK = '{"model":"m:latest","response":"Hi","done":false}'
STATS = '{"system": {"comfyui_version": "0.3.60"}, "devices": []}'
SESSION = '{"session_id": "' + "a" * 40 + '", "user_id": "local", "version": "0.9.8.2"}'


async def _drain(stream: AsyncIterator[Any]) -> None:
    async with contextlib.aclosing(stream) as events:  # type: ignore[type-var]
        async for _ in events:
            pass


# ------------------------------------------------------------------ Ollama


async def _ollama_tags(url: str) -> None:
    async with OllamaClient(url) as client:
        await client.tags()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("handler", "message"),
    [(endless, TOO_LARGE), (declared_huge, TOO_LARGE), (cut_off('{"models": []}'), BROKE_OFF)],
    ids=["endless", "declared-huge", "cut-off"],
)
async def test_ollama_simple_answers(handler: Handler, message: str) -> None:
    async with hostile_server({"/api/tags": handler}) as url:
        with pytest.raises(BackendProtocolError, match="Ollama") as caught:
            await _ollama_tags(url)
    assert message in str(caught.value)


@pytest.mark.asyncio
async def test_ollama_endless_streamed_line_is_cut_at_the_line_limit() -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    async with (
        hostile_server({"/api/chat": endless_line(CHUNK)}) as url,
        OllamaClient(url) as client,
    ):
        with pytest.raises(BackendProtocolError, match="Ollama") as caught:
            await _drain(client.chat("m", [{"role": "user", "content": "hi"}]))
    assert TOO_LARGE in str(caught.value)
    assert "streamed answer" in (caught.value.detail or "")
    # The line limit (8 Mi characters) bounds what was held, not the server's 2 GiB.
    assert process.memory_info().rss - before < 40 * http_mod.MAX_LINE_CHARS


@pytest.mark.asyncio
async def test_ollama_health_is_false_for_an_endless_answer() -> None:
    async with hostile_server({"/": endless}) as url, OllamaClient(url) as client:
        assert not await client.health()


# ------------------------------------------------------------------ ComfyUI


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("handler", "message"),
    [(endless, TOO_LARGE), (declared_huge, TOO_LARGE), (cut_off(STATS), BROKE_OFF)],
    ids=["endless", "declared-huge", "cut-off"],
)
async def test_comfyui_json_answers(handler: Handler, message: str) -> None:
    async with hostile_server({"/system_stats": handler}) as url, ComfyClient(url) as client:
        with pytest.raises(BackendProtocolError, match="ComfyUI") as caught:
            await client.system_stats()
    assert message in str(caught.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("handler", "message"),
    [(declared_huge, TOO_LARGE), (cut_off("\x89PNG" + "x" * 4000, "image/png"), BROKE_OFF)],
    ids=["declared-huge", "cut-off"],
)
async def test_comfyui_media_download(handler: Handler, message: str) -> None:
    async with hostile_server({"/view": handler}) as url, ComfyClient(url) as client:
        with pytest.raises(BackendProtocolError, match="ComfyUI") as caught:
            await client.view(OutputFile("a.png"))
    assert message in str(caught.value)


# ------------------------------------------------------------------ SwarmUI


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("handler", "message"),
    [(endless, TOO_LARGE), (declared_huge, TOO_LARGE), (cut_off(SESSION), BROKE_OFF)],
    ids=["endless", "declared-huge", "cut-off"],
)
async def test_swarmui_api_answers(handler: Handler, message: str) -> None:
    async with (
        hostile_server({"/API/GetNewSession": handler}) as url,
        SwarmClient(url) as client,
    ):
        with pytest.raises(BackendProtocolError, match="SwarmUI") as caught:
            await client.new_session()
    assert message in str(caught.value)


@pytest.mark.asyncio
async def test_swarmui_image_of_a_terabyte_is_refused() -> None:
    routes: dict[str, Handler] = {"/View/local/raw/a.png": declared_huge}
    async with hostile_server(routes) as url, SwarmClient(url) as client:
        with pytest.raises(BackendProtocolError, match=TOO_LARGE):
            await client.fetch_image("View/local/raw/a.png")


@pytest.mark.asyncio
async def test_swarmui_health_survives_an_endless_answer() -> None:
    async with (
        hostile_server({"/API/GetNewSession": endless}) as url,
        SwarmClient(url) as client,
    ):
        assert not await client.health()


# ------------------------------------------------------------------ cloud LLM


def _cloud(url: str) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        url + "/v1", "KEY", "cloud", label="Cloud", env={"KEY": "sk-1"}, trust_env=False
    )


async def _refuse_with_a_terabyte(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=500, headers={"Content-Type": "application/json"})
    response.content_length = 1 << 40
    await response.prepare(request)
    return response


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "handler",
    [endless_line("data: " + '{"choices": []}'), _refuse_with_a_terabyte],
    ids=["endless-sse-line", "error-of-a-terabyte"],
)
async def test_cloud_provider_answers(handler: Handler) -> None:
    async with hostile_server({"/v1/chat/completions": handler}) as url:
        provider = _cloud(url)
        try:
            with pytest.raises(BackendProtocolError, match="Cloud") as caught:
                await _drain(provider.stream_chat("m", [Message("user", "hi")]))
        finally:
            await provider.aclose()
    assert TOO_LARGE in str(caught.value)


# ------------------------------------------------------------------ probes


@pytest.mark.asyncio
async def test_probe_reads_the_status_only() -> None:
    async with hostile_server({"/": endless, "/down": body("no", 503)}) as url:
        assert await http_mod.answers_http(url + "/", wait_s=2.0)
        assert not await http_mod.answers_http(url + "/down", wait_s=2.0)
