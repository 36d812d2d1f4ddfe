"""OllamaClient against the Ollama simulator (real child process) and a malformed server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest
import pytest_asyncio

from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.errors import (
    BackendProtocolError,
    BackendRequestError,
    BackendUnavailable,
    InsufficientResources,
)
from ai4artsed_desktop.events import PullProgress, TextDelta, TextDone

from .conftest import OllamaSim
from .hostile_server import body, hostile_server, ndjson

IDEA = [
    {"role": "system", "content": "Rules: fairy tale, castles, dragons"},
    {"role": "user", "content": "A bicycle in the rain"},
]
SKETCH = [{"role": "user", "content": "Write p5.js code for a dancing moon."}]


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    async with aclosing(stream) as events:  # type: ignore[type-var]
        return [event async for event in events]


def split(events: list[TextDelta | TextDone]) -> tuple[list[TextDelta], TextDone]:
    *deltas, done = events
    assert isinstance(done, TextDone)
    assert all(isinstance(d, TextDelta) for d in deltas)
    return deltas, done  # type: ignore[return-value]


async def wait_until(check: Callable[[], bool], deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def ollama(ollama_sim: OllamaSim) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(ollama_sim.base_url) as client:
        yield client


# ------------------------------------------------------------------ simple calls


@pytest.mark.asyncio
async def test_health_version_tags_show(ollama: OllamaClient) -> None:
    assert await ollama.health()
    assert await ollama.version() == "0.12.6"
    models = {m.name: m for m in await ollama.tags()}
    assert models["qwen3:8b"].meta.family == "qwen3"
    assert models["qwen3:8b"].modified_at is not None
    details = await ollama.show("qwen3:8b")
    assert details.supports_thinking
    assert not details.supports_vision
    assert details.context_length == 40960
    assert (await ollama.show("qwen2.5vl:7b")).supports_vision


@pytest.mark.asyncio
async def test_health_false_and_unavailable_when_down(ollama_sim: OllamaSim) -> None:
    ollama_sim.stop()
    async with OllamaClient(ollama_sim.base_url) as client:
        assert not await client.health()
        with pytest.raises(BackendUnavailable):
            await client.tags()


@pytest.mark.asyncio
async def test_show_unknown_model_is_404_with_advice(ollama: OllamaClient) -> None:
    with pytest.raises(BackendRequestError) as info:
        await ollama.show("nosuch")
    assert info.value.status == 404
    assert "ollama pull nosuch:latest" in info.value.user_message


@pytest.mark.asyncio
async def test_delete(ollama: OllamaClient) -> None:
    await ollama.delete("llama3.2:3b")
    assert "llama3.2:3b" not in {m.name for m in await ollama.tags()}
    with pytest.raises(BackendRequestError) as info:
        await ollama.delete("llama3.2:3b")
    assert info.value.status == 404


# ------------------------------------------------------------------ text


@pytest.mark.asyncio
async def test_chat_stream_and_once_agree(ollama: OllamaClient) -> None:
    opts = {"seed": 3, "temperature": 0.7}
    deltas, done = split(await collect(ollama.chat("llama3.2:3b", IDEA, options=opts)))
    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == done.text
    assert "bicycle" in done.text
    assert done.done_reason == "stop"
    assert done.eval_count == len(deltas)
    once = await ollama.chat_once("llama3.2:3b", IDEA, options=opts)
    assert once.text == done.text


@pytest.mark.asyncio
async def test_generate_stream_and_once_agree(ollama: OllamaClient) -> None:
    kwargs: dict[str, Any] = {"system": "Translate into English.", "keep_alive": "1m"}
    _deltas, done = split(await collect(ollama.generate("llama3.2:3b", "Der blaue Mond", **kwargs)))
    assert done.text == "The blue moon"
    once = await ollama.generate_once("llama3.2:3b", "Der blaue Mond", **kwargs)
    assert once.text == done.text
    assert once.total_ms > 0


@pytest.mark.asyncio
async def test_name_is_normalised_in_errors(ollama: OllamaClient) -> None:
    with pytest.raises(BackendRequestError) as info:
        await collect(ollama.chat("qwen3", IDEA))
    assert info.value.status == 404
    assert "qwen3:latest" in info.value.user_message


@pytest.mark.asyncio
async def test_think_true_separates_reasoning(ollama: OllamaClient) -> None:
    deltas, done = split(await collect(ollama.chat("qwen3:8b", IDEA, think=True)))
    thinking = [d for d in deltas if d.thinking]
    assert thinking
    assert deltas[0].thinking
    assert done.thinking == "".join(d.text for d in thinking).strip()
    assert done.thinking not in done.text
    assert done.text == "".join(d.text for d in deltas if not d.thinking)


@pytest.mark.asyncio
async def test_inline_think_tags_are_split(ollama: OllamaClient) -> None:
    deltas, done = split(await collect(ollama.generate("qwen3:8b", "A red kite")))
    assert any(d.thinking for d in deltas)
    assert "<think>" not in done.text
    assert "think>" not in done.text
    assert done.thinking.startswith("The request looks like")
    assert done.text.startswith("Imagine")


@pytest.mark.asyncio
async def test_think_on_model_without_it_is_refused(ollama: OllamaClient) -> None:
    with pytest.raises(BackendRequestError) as info:
        await ollama.chat_once("llama3.2:3b", IDEA, think=True)
    assert info.value.status == 400
    assert "does not support thinking" in info.value.user_message


@pytest.mark.asyncio
async def test_json_format_and_length_limit(ollama: OllamaClient) -> None:
    done = await ollama.generate_once("llama3.2:3b", "A red kite", fmt="json")
    assert done.text.startswith("{")
    short = await ollama.generate_once("llama3.2:3b", "A red kite", options={"num_predict": 2})
    assert short.done_reason == "length"
    assert short.eval_count == 2


# ------------------------------------------------------------------ memory


@pytest.mark.asyncio
async def test_load_ps_unload(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_UNLOAD_MS": "300"})
    async with OllamaClient(sim.base_url) as client:
        await client.load("qwen3:8b", keep_alive="10m")
        (loaded,) = await client.ps()
        assert loaded.name == "qwen3:8b"
        assert loaded.context_length == 4096
        assert loaded.fully_on_gpu
        assert loaded.expires_at is not None
        started = time.monotonic()
        await client.unload("qwen3:8b")
        assert time.monotonic() - started >= 0.25  # waited for the async unload
        assert await client.ps() == []
        await client.unload("qwen3:8b")  # not loaded: fine
        await client.unload("nosuch")  # not installed: nothing to unload


@pytest.mark.asyncio
async def test_unload_confirm_timeout(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_UNLOAD_MS": "20000"})
    async with OllamaClient(sim.base_url) as client:
        await client.load("llama3.2:3b", keep_alive=-1)
        with pytest.raises(InsufficientResources) as info:
            await client.unload("llama3.2:3b", confirm_timeout=0.3)
    assert "llama3.2:3b" in info.value.user_message


# ------------------------------------------------------------------ pull


@pytest.mark.asyncio
async def test_pull_progress_summed(ollama: OllamaClient) -> None:
    events: list[PullProgress] = await collect(ollama.pull("gemma3:4b"))
    assert events[0].status == "pulling manifest"
    assert events[-1].status == "success"
    completed = [e.completed for e in events]
    assert completed == sorted(completed)
    assert events[-1].completed == events[-1].total > 3_000_000_000
    assert "gemma3:4b" in {m.name for m in await ollama.tags()}


@pytest.mark.asyncio
async def test_pull_unknown_model(ollama: OllamaClient) -> None:
    with pytest.raises(BackendRequestError) as info:
        await collect(ollama.pull("nosuch"))
    assert info.value.status == 0
    assert "nosuch:latest" in info.value.user_message


# ------------------------------------------------------------------ faults


@pytest.mark.asyncio
async def test_error_line_midstream(ollama_sim: OllamaSim, ollama: OllamaClient) -> None:
    ollama_sim.fault("error_midstream")
    with pytest.raises(BackendRequestError) as info:
        await collect(ollama.chat("llama3.2:3b", IDEA))
    assert info.value.status == 0
    assert "unexpected EOF" in info.value.user_message


@pytest.mark.asyncio
async def test_dropped_connection_midstream(ollama_sim: OllamaSim, ollama: OllamaClient) -> None:
    ollama_sim.fault("drop_midstream")
    with pytest.raises(BackendProtocolError):
        await collect(ollama.generate("llama3.2:3b", "A red kite"))


@pytest.mark.asyncio
async def test_pull_dropped_midstream(ollama_sim: OllamaSim, ollama: OllamaClient) -> None:
    ollama_sim.fault("drop_midstream")
    with pytest.raises(BackendProtocolError):
        await collect(ollama.pull("gemma3:4b"))


@pytest.mark.asyncio
async def test_http_500_and_503(ollama_sim: OllamaSim, ollama: OllamaClient) -> None:
    ollama_sim.fault("http500")
    with pytest.raises(BackendRequestError) as failed:
        await collect(ollama.chat("llama3.2:3b", IDEA))
    assert failed.value.status == 500
    assert "llama-server process has terminated" in failed.value.user_message
    ollama_sim.fault("http503")
    with pytest.raises(BackendRequestError) as busy:
        await ollama.generate_once("llama3.2:3b", "A red kite")
    assert busy.value.status == 503
    assert "busy" in busy.value.user_message


@pytest.mark.asyncio
async def test_read_timeout_is_unavailable(ollama_sim: OllamaSim) -> None:
    ollama_sim.fault("hang")
    timeout = httpx.Timeout(connect=2.0, read=0.3, write=2.0, pool=2.0)
    async with OllamaClient(ollama_sim.base_url, timeout=timeout) as client:
        with pytest.raises(BackendUnavailable):
            await collect(client.generate("llama3.2:3b", "A red kite"))


@pytest.mark.asyncio
async def test_crash_mid_session(ollama_sim: OllamaSim, ollama: OllamaClient) -> None:
    assert await ollama.health()
    with pytest.raises(httpx.HTTPError):
        ollama_sim.control("POST", "/__fake__/crash")
    assert ollama_sim.proc is not None
    assert ollama_sim.proc.wait(10) == 2
    assert not await ollama.health()
    with pytest.raises(BackendUnavailable):
        await ollama.ps()


@pytest.mark.asyncio
async def test_early_exit_closes_the_stream(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_TOKEN_MS": "20"})
    async with OllamaClient(sim.base_url) as client:
        async with aclosing(client.chat("llama3.2:3b", SKETCH)) as events:
            async for event in events:
                assert isinstance(event, TextDelta)
                break
        await wait_until(lambda: sim.stats()["disconnects"] == 1)
        assert await client.health()  # the client is still usable


# ------------------------------------------------------------------ malformed answers


CHUNK = '{"model":"m:latest","response":"Hi","done":false}'


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "lines",
    [
        (CHUNK, "not json"),
        (CHUNK, "[1, 2]"),
        (CHUNK, '{"response": 5, "done": false}'),
        (CHUNK, '{"response": "x", "done": "yes"}'),
        (CHUNK,),  # ends without done: true
        (CHUNK, '{"response": "", "done": true, "eval_count": "many"}'),
    ],
)
async def test_malformed_generate_stream(lines: tuple[str, ...]) -> None:
    async with (
        hostile_server({"/api/generate": ndjson(*lines)}) as url,
        OllamaClient(url) as client,
    ):
        with pytest.raises(BackendProtocolError):
            await collect(client.generate("m", "hi"))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/api/tags", '{"models": {"a": 1}}'),
        ("/api/tags", '{"models": [{"size": 1}]}'),
        ("/api/tags", "<html>"),
        ("/api/ps", '{"models": [{"name": "a", "size": "big"}]}'),
        ("/api/version", '{"version": 12}'),
    ],
)
async def test_malformed_simple_answers(path: str, text: str) -> None:
    async with hostile_server({path: body(text)}) as url, OllamaClient(url) as client:
        call = {"/api/tags": client.tags, "/api/ps": client.ps, "/api/version": client.version}
        with pytest.raises(BackendProtocolError):
            await call[path]()


@pytest.mark.asyncio
async def test_missing_route_is_protocol_error() -> None:
    routes = {"/api/chat": body("404 page not found", 404)}
    async with hostile_server(routes) as url, OllamaClient(url) as client:
        with pytest.raises(BackendProtocolError):
            await collect(client.chat("m", IDEA))
        assert not await client.health()


@pytest.mark.asyncio
async def test_pull_without_success_is_protocol_error() -> None:
    routes = {"/api/pull": ndjson('{"status":"pulling manifest"}')}
    async with hostile_server(routes) as url, OllamaClient(url) as client:
        with pytest.raises(BackendProtocolError):
            await collect(client.pull("m"))
