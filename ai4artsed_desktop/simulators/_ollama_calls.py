"""/api/generate and /api/chat of the Ollama simulator: validation, loading, streaming."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._ollama_http import ApiError, Faults, NdjsonStream, check_types, json_response, slog
from ._ollama_http import utc_stamp as _now
from ._ollama_quirks import apply_text
from ._ollama_state import (
    KeepAliveError,
    ModelSpec,
    ModelStore,
    RunnerOptions,
    is_cloud_name,
    parse_keep_alive,
    runner_options,
    spec_for,
)
from ._textgen import TextRequest, compose, detect_task, split_idea_rules, tokenize

_ROLES = frozenset({"system", "user", "assistant", "tool"})
_FLOAT_OPTS = ("temperature", "top_p", "min_p", "repeat_penalty", "presence_penalty", "typical_p")
_INT_OPTS = ("seed", "num_predict", "num_ctx", "top_k", "num_gpu", "num_thread", "num_batch")
_GENERATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "prompt": str,
    "system": str,
    "template": str,
    "suffix": str,
    "raw": bool,
    "stream": bool,
    "images": list,
    "context": list,
    "options": dict,
}
_CHAT_TYPES: dict[str, type | tuple[type, ...]] = {
    "messages": list,
    "tools": list,
    "stream": bool,
    "options": dict,
}
_THINK_LEVELS = frozenset({"low", "medium", "high", "max"})


@dataclass(frozen=True)
class ModelCall:
    """A validated generate/chat request."""

    kind: str  # "generate" or "chat"
    spec: ModelSpec
    stream: bool
    keep_alive: float
    num_ctx: int
    num_predict: int
    stop: tuple[str, ...]
    think: bool | None
    text: TextRequest
    empty: bool
    prompt_tokens: int
    token_delay: float = 0.0
    runner: RunnerOptions = ()
    #: Small-model quirks that apply to this answer (:mod:`._ollama_quirks`).
    quirks: frozenset[str] = frozenset()


def _check_options(options: dict[str, Any]) -> None:
    for key in (*_FLOAT_OPTS, *_INT_OPTS):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            kind = "float32" if key in _FLOAT_OPTS else "int"
            raise ApiError(500, f'option "{key}" must be of type {kind}')
    stop = options.get("stop")
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise ApiError(500, 'option "stop" must be of type []string')


def _think(value: object, spec: ModelSpec) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str) and value in _THINK_LEVELS:
        value = True
    if not isinstance(value, bool):
        raise ApiError(400, f"invalid think value: {value!r}")
    if value and not spec.has("thinking"):
        raise ApiError(400, f'"{spec.name}" does not support thinking')
    return value


def _format(value: object) -> object:
    if value in (None, ""):
        return None
    if value == "json" or isinstance(value, dict):
        return value
    raise ApiError(400, f'invalid format: {value!r}, expected "json" or a JSON schema')


def _chat_texts(messages: list[Any]) -> tuple[str, str, int]:
    """(system, prompt, image count) of a chat.

    A follow-up turn ("That was not English. Translate ...") is read together with the
    first user message, which holds the labelled material, as a real model sees both.
    """
    system, prompt, images = [], "", 0
    first = ""
    for msg in messages:
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES:
            raise ApiError(400, "invalid message: each message needs a valid role")
        content = msg.get("content") or ""
        if not isinstance(content, str):
            raise ApiError(400, "invalid message content: expected a string")
        if msg["role"] == "system":
            system.append(content)
        elif msg["role"] == "user":
            first = first or content
            prompt = content if content == first else f"{content}\n\n{first}"
            images += len(msg.get("images") or [])
    return "\n".join(system), prompt, images


def build_call(store: ModelStore, body: dict[str, Any], kind: str, name: str) -> ModelCall:
    """Validate a generate/chat body the way Ollama does (400/404/500 as ``ApiError``)."""
    check_types(body, _GENERATE_TYPES if kind == "generate" else _CHAT_TYPES)
    spec = store.find(name)
    if spec is None and is_cloud_name(name):
        spec = spec_for(name)  # cloud names go to ollama.com without a pull
    if spec is None:
        raise ApiError(404, f"model '{name}' not found")
    if kind == "generate":
        if body.get("raw") and (body.get("system") or body.get("template") or body.get("context")):
            raise ApiError(400, "raw mode does not support template, system, or context")
        system, prompt = body.get("system") or "", body.get("prompt") or ""
        images = len(body.get("images") or [])
        empty = not prompt and not images
    else:
        messages = body.get("messages") or []
        system, prompt, images = _chat_texts(messages)
        empty = not messages
    try:
        keep_alive = parse_keep_alive(body.get("keep_alive"), store.default_keep_alive)
    except KeepAliveError as exc:
        raise ApiError(400, str(exc)) from exc
    options = body.get("options") or {}
    _check_options(options)
    text = TextRequest(
        model=spec.name,
        system=system,
        prompt=prompt,
        seed=options.get("seed"),
        temperature=options.get("temperature"),
        fmt=_format(body.get("format")),
        images=images,
    )
    return ModelCall(
        kind=kind,
        spec=spec,
        stream=body.get("stream") is not False,
        keep_alive=keep_alive,
        num_ctx=int(options.get("num_ctx") or store.default_num_ctx),
        num_predict=int(options.get("num_predict") or -1),
        stop=tuple(options.get("stop") or ()),
        think=_think(body.get("think"), spec),
        text=text,
        empty=empty,
        prompt_tokens=len(tokenize(system + prompt)),
        token_delay=store.timing.token,
        runner=runner_options(options, store.default_num_ctx),
    )


def plan_pieces(call: ModelCall) -> tuple[list[tuple[str, str]], str]:
    """The (field, text) pieces to stream and the ``done_reason``.

    Thinking goes into the ``thinking`` field with ``think: true``; with ``think`` absent a
    thinking model inlines it as ``<think>...</think>`` in the content (the classic way).
    """
    answer = compose(call.text)
    text, reason = answer.text, "stop"
    if call.quirks:
        idea = split_idea_rules(call.text.system, call.text.prompt)[0]
        text = apply_text(call.quirks, detect_task(call.text), text, idea)
    for stop in call.stop:
        if stop and stop in text:
            text = text[: text.index(stop)]
    pieces: list[tuple[str, str]] = []
    if call.spec.has("thinking") and call.think is True:
        pieces = [("thinking", p) for p in tokenize(answer.thinking)]
    elif call.spec.has("thinking") and call.think is None:
        text = f"<think>\n{answer.thinking}\n</think>\n\n{text}"
    pieces += [("content", p) for p in tokenize(text)]
    if 0 < call.num_predict < len(pieces):
        pieces, reason = pieces[: call.num_predict], "length"
    if "cutoff" in call.quirks and len(pieces) > 1:
        pieces, reason = pieces[: len(pieces) // 2], "length"
    return pieces, reason


def _chunk(call: ModelCall, content: str, thinking: str, done: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {"model": call.spec.name, "created_at": _now()}
    if call.kind == "generate":
        obj["response"] = content
        if thinking:
            obj["thinking"] = thinking
    else:
        obj["message"] = {"role": "assistant", "content": content}
        if thinking:
            obj["message"]["thinking"] = thinking
    obj["done"] = done
    return obj


def _final(
    call: ModelCall, reason: str, metrics: dict[str, int], full: tuple[str, str]
) -> dict[str, Any]:
    obj = _chunk(call, full[0], full[1], True)
    obj["done_reason"] = reason
    if call.kind == "generate" and reason in ("stop", "length"):
        digest = hashlib.sha256(call.text.prompt.encode()).digest()
        obj["context"] = [b * 131 + i for i, b in enumerate(digest[:8])]
    obj.update({key: val for key, val in metrics.items() if val})  # zero metrics are omitted
    return obj


async def ensure_loaded(store: ModelStore, faults: Faults, call: ModelCall) -> float:
    """Play out a cold load (or a reload for other runner options); returns its seconds."""
    if not store.needs_load(call.spec, call.runner):
        return 0.0
    if store.is_reload(call.spec):
        faults.count("reloads")
        slog(
            "reloading model: runner options changed",
            source="sched.go:1090",
            model=call.spec.name,
            options=dict(call.runner),
        )
    started = time.monotonic()
    try:
        await asyncio.sleep(store.timing.load)
    except asyncio.CancelledError:
        faults.count("aborted_loads")
        slog(
            "client connection closed before llama-server finished loading, aborting load",
            level="WARN",
            source="sched.go:451",
            model=call.spec.name,
        )
        raise
    faults.count("loads")
    took = time.monotonic() - started
    slog(f"llama-server started in {took:.2f} seconds", source="server.go:1289")
    return took


async def answer_stream(
    request: web.Request, call: ModelCall, faults: Faults, fault: str | None, load_s: float
) -> web.StreamResponse:
    """Stream the answer as NDJSON chunks (with mid-stream faults when armed)."""
    token_delay = call.token_delay
    pieces, reason = plan_pieces(call)
    out = NdjsonStream(request)
    started = time.monotonic()
    try:
        for index, (kind, piece) in enumerate(pieces):
            if index == min(2, len(pieces) - 1) and fault == "error_midstream":
                await out.send(
                    {"error": "an error was encountered while running the model: unexpected EOF"}
                )
                return await out.finish()
            if index == min(2, len(pieces) - 1) and fault == "drop_midstream":
                return out.drop()
            if index == min(2, len(pieces) - 1) and fault == "huge_line":
                return await out.endless_line()
            if token_delay:
                await asyncio.sleep(token_delay)
            thinking = piece if kind == "thinking" else ""
            await out.send(_chunk(call, "" if thinking else piece, thinking, False))
        metrics = _metrics(call, len(pieces), load_s, started)
        await out.send(_final(call, reason, metrics, ("", "")))
        return await out.finish()
    except (asyncio.CancelledError, ConnectionResetError):
        faults.count("disconnects")
        slog("client disconnected during the stream", level="WARN", model=call.spec.name)
        raise


async def answer_once(
    call: ModelCall, faults: Faults, fault: str | None, load_s: float
) -> web.Response:
    """The ``stream: false`` answer: one object with the whole text."""
    if fault in ("error_midstream", "drop_midstream"):
        raise ApiError(500, "an error was encountered while running the model: unexpected EOF")
    started = time.monotonic()
    pieces, reason = plan_pieces(call)
    content = "".join(p for kind, p in pieces if kind == "content")
    thinking = "".join(p for kind, p in pieces if kind == "thinking")
    metrics = _metrics(call, len(pieces), load_s, started)
    return json_response(_final(call, reason, metrics, (content, thinking)))


def _metrics(call: ModelCall, count: int, load_s: float, started: float) -> dict[str, int]:
    eval_ns = int((time.monotonic() - started) * 1e9) or 1
    prompt_ns = call.prompt_tokens * 850_000
    load_ns = int(load_s * 1e9)
    return {
        "total_duration": load_ns + prompt_ns + eval_ns,
        "load_duration": load_ns,
        "prompt_eval_count": call.prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": count,
        "eval_duration": eval_ns if count else 0,
    }
