"""LLM providers and the safety gate against real servers on 127.0.0.1.

* the Ollama simulator (child process) answers safety verdicts and chat streams;
* a small aiohttp server in this file speaks the OpenAI ``/v1/chat/completions`` SSE
  dialect (chunks, ``[DONE]``, error JSON) for ``OpenAICompatibleProvider``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.content.schema import DataProtection, LlmParams, Provider, Text
from ai4artsed_desktop.errors import (
    BackendProtocolError,
    BackendRequestError,
    BackendUnavailable,
    ConfigError,
)
from ai4artsed_desktop.events import Stage, TextDelta, TextDone
from ai4artsed_desktop.pipeline.prompts import Message, build_interception, llm_options
from ai4artsed_desktop.pipeline.providers import (
    OllamaProvider,
    OpenAICompatibleProvider,
    ProviderRegistry,
)
from ai4artsed_desktop.pipeline.routing import RoutingError
from ai4artsed_desktop.pipeline.safety import SafetyGate, provider_judge
from ai4artsed_desktop.pipeline.safety_reasons import UNAVAILABLE, UNREADABLE
from tests.integration.conftest import OllamaSim

KEY = "sk-test-0123456789abcdefSECRET"
KEY_ENV = "TEST_CLOUD_API_KEY"


# ============================================================== Ollama simulator


@contextlib.asynccontextmanager
async def ollama_provider(sim: OllamaSim) -> AsyncIterator[OllamaProvider]:
    async with OllamaClient(sim.base_url) as client:

        async def get() -> OllamaClient:
            return client

        yield OllamaProvider(get)


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["llama-guard3:1b", "qwen3:8b"])
async def test_gate_with_simulator_follows_the_policy(ollama_sim: OllamaSim, model: str) -> None:
    async with ollama_provider(ollama_sim) as provider:
        gate = SafetyGate(provider_judge(provider, model), model=model)
        idea = "Ein Soldat erschießt einen Mann, überall ist Blut"
        blocked = await gate.check_input(idea, "", level="kids", lang="de")
        assert not blocked.allowed
        assert blocked.decisions[-1].result == "block"
        stage = await gate.check_stage_text(Stage.interception, idea, level="youth", lang="de")
        assert not stage.allowed
        assert stage.decisions[-1].result == "block"
        before = ollama_sim.stats()["requests"]
        harmless = await gate.check_input("Eine Katze im Garten", "", level="kids", lang="de")
        assert harmless.allowed
        assert ollama_sim.stats()["requests"] == before + 1  # kids: the judge sees every text
        youth = await gate.check_input("Eine Katze im Garten", "", level="youth", lang="de")
        assert youth.allowed
        assert ollama_sim.stats()["requests"] == before + 1  # youth: only hits go to the judge


@pytest.mark.asyncio
async def test_gate_youth_context_with_simulator(ollama_sim: OllamaSim) -> None:
    async with ollama_provider(ollama_sim) as provider:
        gate = SafetyGate(provider_judge(provider, "qwen3:8b"), model="qwen3:8b")
        fairy = await gate.check_input(
            "Ein Ritter kämpft mit dem Schwert gegen den Drachen", "Erzähle es als Märchen",
            level="youth", lang="de",
        )  # fmt: skip
        assert fairy.allowed
        cleared = [d for d in fairy.decisions if d.check == "llm"]
        assert all("context: fairy tale" in d.detail for d in cleared)


@pytest.mark.asyncio
async def test_gate_output_check_with_simulator(ollama_sim: OllamaSim) -> None:
    async with ollama_provider(ollama_sim) as provider:
        gate = SafetyGate(provider_judge(provider, "qwen3:8b"), model="qwen3:8b")
        ok = await gate.check_prompt("a quiet lake at dawn, watercolour", level="kids", lang="en")
        assert ok.allowed
        bad = await gate.check_prompt("a soldier shoots people", level="youth", lang="en")
        assert not bad.allowed
        assert bad.decisions[-1].result == "block"


@pytest.mark.asyncio
@pytest.mark.parametrize(("style", "why"), [("prose", "prose"), ("cutoff", "cut off")])
async def test_gate_fails_closed_on_small_model_answers(
    ollama_sim_factory: Callable[..., OllamaSim], style: str, why: str
) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_JUDGE": style})
    async with ollama_provider(sim) as provider:
        gate = SafetyGate(provider_judge(provider, "qwen3:8b"), model="qwen3:8b")
        outcome = await gate.check_prompt("a quiet lake", level="youth", lang="en")
    assert not outcome.allowed
    assert outcome.reason == UNREADABLE["en"]
    assert outcome.decisions[-1].result == "unreadable"
    assert why in outcome.decisions[-1].detail
    assert "qwen3:8b answered" in outcome.decisions[-1].detail


@pytest.mark.asyncio
async def test_gate_fails_closed_when_ollama_is_gone(ollama_sim: OllamaSim) -> None:
    async with ollama_provider(ollama_sim) as provider:
        ollama_sim.stop()
        gate = SafetyGate(provider_judge(provider, "llama-guard3:1b"), model="llama-guard3:1b")
        outcome = await gate.check_input("a cat", "", level="kids", lang="en")
    assert not outcome.allowed
    assert outcome.reason == UNAVAILABLE["en"]
    assert outcome.decisions[-1].result == "unavailable"
    assert "BackendUnavailable" in outcome.decisions[-1].detail


@pytest.mark.asyncio
async def test_ollama_provider_streams_and_closes(ollama_sim: OllamaSim) -> None:
    messages = build_interception("A cat on a roof", "Paint it like Bauhaus.", lang="en")
    options = llm_options(LlmParams(temperature=0.5, top_p=0.9, max_tokens=200), seed=3)
    async with ollama_provider(ollama_sim) as provider:
        assert provider.name == "ollama"
        events = []
        async with contextlib.aclosing(
            provider.stream_chat("qwen3:8b", messages, options=options, think=False)
        ) as stream:
            async for event in stream:
                events.append(event)
        assert isinstance(events[-1], TextDone)
        deltas = [e for e in events if isinstance(e, TextDelta) and not e.thinking]
        assert "".join(d.text for d in deltas) == events[-1].text
        assert "cat" in events[-1].text.lower()
        once = await provider.chat_once("qwen3:8b", messages, options=options, think=False)
        assert once.text == events[-1].text  # same seed, same answer
        # stopping early closes the stream without errors
        async with contextlib.aclosing(provider.stream_chat("qwen3:8b", messages)) as stream:
            async for _event in stream:
                break


# ============================================================== OpenAI-compatible server


@dataclass
class CloudServer:
    base_url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


SERVER = web.AppKey("server", CloudServer)


def _chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> str:
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return "data: " + json.dumps({"object": "chat.completion.chunk", "choices": [choice]}) + "\n\n"


SCRIPTS: dict[str, list[str]] = {
    "ok": [
        ": keep-alive comment\n\n",
        _chunk(role="assistant", content=""),
        _chunk("Hello"),
        _chunk(", wor"),
        _chunk("ld!"),
        _chunk(None, "stop"),
        'data: {"choices": [], "usage": {"completion_tokens": 4}}\n\n',
        "data: [DONE]\n\n",
    ],
    "thinking": [
        _chunk(reasoning="Let me think."),
        _chunk("<think>inline</think>"),
        _chunk("Answer"),
        _chunk(None, "length"),
        "data: [DONE]\n\n",
    ],
    "mistral-context-full": [
        _chunk("Once upon a"),
        _chunk(None, "model_length"),
        "data: [DONE]\n\n",
    ],
    "midstream-error": [
        _chunk("Hel"),
        'data: {"error": {"message": "upstream overloaded", "code": 502}}\n\n',
    ],
    "broken": [_chunk("Hel"), _chunk("lo")],
    "garbage": ["data: {not json\n\n"],
}


async def _completions(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    body = await request.json()
    server.bodies.append(body)
    server.headers.append(dict(request.headers))
    auth = request.headers.get("Authorization", "")
    if auth != f"Bearer {KEY}":
        given = auth.removeprefix("Bearer ")
        message = f"Incorrect API key provided: {given}. You can find your key in the dashboard."
        return web.json_response({"error": {"message": message, "type": "auth"}}, status=401)
    return await _answer(request, body)


async def _open_completions(request: web.Request) -> web.StreamResponse:
    """A lab server without keys (llama.cpp's server by default)."""
    server = request.app[SERVER]
    body = await request.json()
    server.bodies.append(body)
    server.headers.append(dict(request.headers))
    return await _answer(request, body)


async def _open_models(request: web.Request) -> web.Response:
    return web.json_response(
        {"object": "list", "data": [{"id": "smollm2", "object": "model", "owned_by": "me"}]}
    )


CONTEXT_FULL = {
    "error": {
        "message": "This model's maximum context length is 2048 tokens. However, you "
        "requested 4135 tokens.",
        "type": "invalid_request_error",
        "code": "context_length_exceeded",
    }
}


async def _answer(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    model = body.get("model")
    if model in ("context-full", "empty-stream") and body.get("stream"):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)  # llama.cpp: 200 and nothing, then the end
        await response.write_eof()
        return response
    if model == "context-full":
        return web.json_response(CONTEXT_FULL, status=400)
    if model == "empty-stream":
        message = {"role": "assistant", "content": "Hello from the plain answer."}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return web.json_response({"object": "chat.completion", "choices": [choice]})
    if model == "missing":
        return web.json_response(
            {"object": "error", "message": "Invalid model: missing"}, status=404
        )
    if model == "overloaded":
        return web.json_response({"detail": "try later"}, status=503)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for piece in SCRIPTS[model]:
        await response.write(piece.encode())
    await response.write_eof()
    return response


@pytest_asyncio.fixture
async def cloud_server() -> AsyncIterator[CloudServer]:
    server = CloudServer("")
    app = web.Application()
    app[SERVER] = server
    app.router.add_post("/v1/chat/completions", _completions)
    app.router.add_post("/open/v1/chat/completions", _open_completions)
    app.router.add_get("/open/v1/models", _open_models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def cloud(
    server: CloudServer, key: str | None = KEY, **kwargs: Any
) -> AsyncIterator[OpenAICompatibleProvider]:
    env = {} if key is None else {KEY_ENV: key}
    provider = OpenAICompatibleProvider(
        server.base_url, KEY_ENV, "testcloud", label="Test Cloud", env=env, trust_env=False,
        **kwargs,
    )  # fmt: skip
    try:
        yield provider
    finally:
        await provider.aclose()


MESSAGES = [Message("system", "Be brief."), Message("user", "Say hello")]


async def collect(provider: OpenAICompatibleProvider, model: str, **kw: Any) -> list[Any]:
    events = []
    async with contextlib.aclosing(provider.stream_chat(model, MESSAGES, **kw)) as stream:
        async for event in stream:
            events.append(event)
    return events


@pytest.mark.asyncio
async def test_cloud_streams_sse_chunks_until_done(cloud_server: CloudServer) -> None:
    options = {"temperature": 0.2, "top_p": 0.9, "num_predict": 64, "num_ctx": 8192, "seed": 5}
    async with cloud(cloud_server, max_tokens_field="max_completion_tokens") as provider:
        events = await collect(provider, "ok", options=options, keep_alive="10m")
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == ["Hello", ", wor", "ld!"]
    done = events[-1]
    assert isinstance(done, TextDone)
    assert (done.text, done.done_reason, done.eval_count) == ("Hello, world!", "stop", 4)
    body = cloud_server.bodies[-1]
    assert body == {
        "model": "ok",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 64,
        "seed": 5,
        "stream": True,
    }


@pytest.mark.asyncio
async def test_cloud_chat_once_and_reasoning(cloud_server: CloudServer) -> None:
    async with cloud(cloud_server, seed_field="random_seed") as provider:
        done = await provider.chat_once("thinking", MESSAGES, options={"seed": 1})
        events = await collect(provider, "thinking")
    assert done.text == "Answer"
    assert done.thinking == "Let me think.inline"
    assert done.done_reason == "length"
    assert cloud_server.bodies[0]["random_seed"] == 1
    assert [e.thinking for e in events if isinstance(e, TextDelta)] == [True, True, False]


@pytest.mark.asyncio
async def test_cloud_stop_reasons_are_normalised_to_truncated(cloud_server: CloudServer) -> None:
    async with cloud(cloud_server) as provider:
        cut = await provider.chat_once("mistral-context-full", MESSAGES)
        whole = await provider.chat_once("ok", MESSAGES)
    assert (cut.done_reason, cut.truncated) == ("length", True)
    assert (whole.done_reason, whole.truncated) == ("stop", False)


@pytest.mark.asyncio
async def test_ollama_provider_reports_truncation(ollama_sim: OllamaSim) -> None:
    messages = build_interception("A cat on a roof", "Paint it like Bauhaus.", lang="en")
    short = llm_options(LlmParams(temperature=0.5, top_p=0.9, max_tokens=3))
    async with ollama_provider(ollama_sim) as provider:
        events = []
        stream = provider.stream_chat("llama3.2:3b", messages, options=short, think=False)
        async with contextlib.aclosing(stream) as chunks:
            async for event in chunks:
                events.append(event)
        once = await provider.chat_once("llama3.2:3b", messages, options=short, think=False)
    done = events[-1]
    assert isinstance(done, TextDone)
    assert (done.done_reason, done.truncated) == ("length", True)
    assert once.truncated


@pytest.mark.asyncio
async def test_cloud_errors(cloud_server: CloudServer) -> None:
    async with cloud(cloud_server) as provider:
        with pytest.raises(BackendRequestError) as info:
            await collect(provider, "midstream-error")
        assert "upstream overloaded" in info.value.user_message
        with pytest.raises(BackendProtocolError, match="broke off"):
            await collect(provider, "broken")
        with pytest.raises(BackendProtocolError, match="broken piece"):
            await collect(provider, "garbage")
        with pytest.raises(BackendRequestError) as missing:
            await collect(provider, "missing")
        assert missing.value.status == 404
        assert "“missing”" in missing.value.user_message
        with pytest.raises(BackendUnavailable):
            await collect(provider, "overloaded")


@pytest.mark.asyncio
async def test_cloud_unreachable_is_backend_unavailable() -> None:
    server = CloudServer("http://127.0.0.1:9/v1")  # discard port: nothing listens
    async with cloud(server) as provider:
        with pytest.raises(BackendUnavailable, match="Test Cloud is not reachable"):
            await collect(provider, "ok")


@pytest.mark.asyncio
async def test_missing_key_is_a_clear_error_and_sends_nothing(cloud_server: CloudServer) -> None:
    async with cloud(cloud_server, key=None) as provider:
        with pytest.raises(ConfigError) as info:
            await provider.chat_once("ok", MESSAGES)
    assert KEY_ENV in info.value.user_message
    assert cloud_server.bodies == []


@pytest.mark.asyncio
async def test_api_key_never_reaches_logs_or_errors(
    cloud_server: CloudServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = KEY + "-revoked"
    async with cloud(cloud_server) as provider:
        await provider.chat_once("ok", MESSAGES)
        assert KEY not in repr(provider)
    async with cloud(cloud_server, key=wrong) as provider:
        with pytest.raises(BackendRequestError) as info:
            await provider.chat_once("ok", MESSAGES)
    assert cloud_server.headers[0]["Authorization"] == f"Bearer {KEY}"  # it was really sent
    error = info.value
    assert error.status == 401
    assert "refused the API key" in error.user_message
    assert "Incorrect API key provided: ***" in error.detail
    for text in (str(error), error.user_message, error.detail, caplog.text):
        assert KEY not in text
    assert caplog.records  # the requests were logged, just without the key


@pytest.mark.asyncio
async def test_registry_builds_providers_by_id(ollama_sim: OllamaSim) -> None:
    async with OllamaClient(ollama_sim.base_url) as client:

        async def get() -> OllamaClient:
            return client

        registry = ProviderRegistry(get, env={"MISTRAL_API_KEY": KEY})

        def provider(pid: str, local: bool) -> Provider:
            protection = DataProtection.local if local else DataProtection.eu
            return Provider(pid, Text(pid, pid), protection, local)

        ollama = registry.get(provider("ollama", True))
        assert registry.get(provider("ollama", True)) is ollama
        done = await ollama.chat_once("qwen3:8b", MESSAGES)
        assert done.text
        mistral = registry.get(provider("mistral", False))
        assert mistral.name == "mistral"
        assert "api.mistral.ai" in repr(mistral)
        with pytest.raises(ConfigError, match="cannot talk to the provider"):
            registry.get(provider("acme", False))
        await registry.aclose()


# ============================================================== Ollama cloud models


@pytest.mark.asyncio
async def test_ollama_cloud_stub_is_refused_under_local_only_before_any_chat(
    ollama_sim_factory: Any,
) -> None:
    """A pulled cloud stub has a local-looking name; /api/show's remote_host gives it away."""
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_CLOUD_STUBS": "mystery:70b"})
    local_only = True
    async with OllamaClient(sim.base_url) as client:

        async def get() -> OllamaClient:
            return client

        provider = OllamaProvider(get, local_only=lambda: local_only)
        with pytest.raises(RoutingError) as info:
            await provider.chat_once("mystery:70b", MESSAGES)
        assert "ollama.com" in info.value.user_message
        with pytest.raises(RoutingError):  # the name rule needs no request at all
            await provider.chat_once("gpt-oss:20b-cloud", MESSAGES)
        assert sim.stats()["cloud_requests"] == 0
        assert await provider.chat_once("llama3.2:3b", MESSAGES)  # local models pass
        local_only = False  # the teacher allowed the cloud: the stub is forwarded
        await provider.chat_once("mystery:70b", MESSAGES)
        assert sim.stats()["cloud_requests"] == 1


@pytest.mark.asyncio
async def test_ollama_no_cloud_answers_403_with_a_clear_message(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"OLLAMA_NO_CLOUD": "1"})
    async with OllamaClient(sim.base_url) as client:
        with pytest.raises(BackendRequestError) as info:
            await client.chat_once("gpt-oss:20b-cloud", [{"role": "user", "content": "hi"}])
        (tag,) = [m for m in await client.tags() if m.name == "gpt-oss:20b-cloud"] or [None]
    assert info.value.status == 403
    assert "cloud models are switched off" in info.value.user_message
    assert sim.stats()["cloud_requests"] == 0
    assert tag is None  # a cloud name needs no pull: it is not installed


@pytest.mark.asyncio
async def test_unload_waits_for_ps_whatever_the_case_of_the_name(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_UNLOAD_MS": "300"})
    async with OllamaClient(sim.base_url) as client:
        await client.load("qwen3:8b", keep_alive="10m")
        await client.unload("Qwen3:8B")  # /api/ps says "qwen3:8b"
        assert await client.ps() == []


# ============================================================== lab servers (base_url)


def _lab(base_url: str, key_env: str = "") -> Provider:
    name = Text("Schulserver", "School server")
    return Provider("lab", name, DataProtection.local, True, base_url, key_env)


@pytest.mark.asyncio
async def test_lab_server_without_key_streams_and_lists_models(cloud_server: CloudServer) -> None:
    base = cloud_server.base_url.replace("/v1", "/open/v1")
    registry = ProviderRegistry(_unused_ollama, env={}, local_only=lambda: True)
    try:
        provider = registry.get(_lab(base))
        assert isinstance(provider, OpenAICompatibleProvider)
        assert await provider.models() == ["smollm2"]
        done = await provider.chat_once("ok", MESSAGES, options={"seed": 3, "num_predict": 20})
    finally:
        await registry.aclose()
    assert done.text == "Hello, world!"
    assert "Authorization" not in cloud_server.headers[-1]  # no key configured, none sent
    assert cloud_server.bodies[-1]["seed"] == 3


@pytest.mark.asyncio
async def test_lab_server_key_comes_from_the_named_variable(cloud_server: CloudServer) -> None:
    registry = ProviderRegistry(_unused_ollama, env={"LAB_KEY": KEY})
    try:
        done = await registry.get(_lab(cloud_server.base_url, "LAB_KEY")).chat_once("ok", MESSAGES)
    finally:
        await registry.aclose()
    assert done.text == "Hello, world!"
    missing = ProviderRegistry(_unused_ollama, env={})
    try:
        with pytest.raises(ConfigError, match="LAB_KEY"):
            await missing.get(_lab(cloud_server.base_url, "LAB_KEY")).chat_once("ok", MESSAGES)
    finally:
        await missing.aclose()


@pytest.mark.asyncio
async def test_lan_name_that_does_not_resolve_locally_is_refused_under_local_only() -> None:
    registry = ProviderRegistry(_unused_ollama, env={}, local_only=lambda: True)
    try:
        provider = registry.get(_lab("http://no-such-lab-server.invalid.local:8080/v1"))
        with pytest.raises(RoutingError, match="school network"):
            await provider.chat_once("m", MESSAGES)
    finally:
        await registry.aclose()


async def _unused_ollama() -> OllamaClient:
    raise AssertionError("Ollama is not used here")


@pytest.mark.asyncio
async def test_an_empty_stream_is_asked_again_without_streaming(cloud_server: CloudServer) -> None:
    """llama.cpp answers a refused streamed request with 200 and an empty stream."""
    base = cloud_server.base_url.replace("/v1", "/open/v1")
    registry = ProviderRegistry(_unused_ollama, env={})
    try:
        provider = registry.get(_lab(base))
        with pytest.raises(BackendRequestError) as info:
            await provider.chat_once("context-full", MESSAGES)
        done = await provider.chat_once("empty-stream", MESSAGES)
    finally:
        await registry.aclose()
    assert info.value.status == 400
    assert "maximum context length" in info.value.user_message
    assert (done.text, done.done_reason) == ("Hello from the plain answer.", "stop")
    assert [b["stream"] for b in cloud_server.bodies[-4:]] == [True, False, True, False]
