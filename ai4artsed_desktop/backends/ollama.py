"""Async Ollama client (protocols.md §1): typed results, text and pull event streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from ..errors import BackendProtocolError, BackendRequestError, InsufficientResources
from ..events import PullProgress, TextDelta, TextDone
from .http import (
    LONG_TIMEOUT,
    MAX_JSON_BYTES,
    QUICK_TIMEOUT,
    json_object,
    make_client,
    read_capped,
    request_capped,
    response_lines,
    translate_errors,
)
from .ollama_parse import (
    BACKEND,
    LoadedModel,
    ModelDetails,
    ModelInfo,
    PullTracker,
    TextAssembler,
    error_for_status,
    normalize_model_name,
    parse_ps,
    parse_show,
    parse_tags,
    same_model,
)

log = logging.getLogger(__name__)

__all__ = ["LoadedModel", "ModelDetails", "ModelInfo", "OllamaClient"]

#: A ``keep_alive`` value: a Go duration ("10m", "0s", "-1") or seconds (300, 0, -1).
KeepAlive = str | int | float
TextEvent = TextDelta | TextDone
_HEALTH_TEXT = "Ollama is running"


class OllamaClient:
    """One Ollama server. Model names are normalised to ``name:tag`` (``:latest``).

    Quick calls (health, lists, show, unload) use short timeouts; generation and pulls use
    ``timeout`` (long read timeout, since a cold load may take minutes before the first
    byte). Streams are async generators: consume them inside ``contextlib.aclosing`` so the
    HTTP stream is closed (and Ollama stops generating) when the consumer stops early.

    Raises (from every method): ``BackendUnavailable`` when the server cannot be reached
    or does not answer in time, ``BackendProtocolError`` for malformed or broken answers,
    ``BackendRequestError`` (``status`` 404 for an unknown model, 503 when busy, ...) and
    ``InsufficientResources`` when Ollama reports it ran out of memory.
    """

    def __init__(self, base_url: str, *, timeout: httpx.Timeout = LONG_TIMEOUT) -> None:
        self._timeout = timeout
        self._http = make_client(base_url, timeout=timeout)

    @property
    def base_url(self) -> str:
        """The server address, e.g. ``http://127.0.0.1:11434``."""
        return str(self._http.base_url).rstrip("/")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ simple calls

    async def health(self) -> bool:
        """True when ``GET /`` answers "Ollama is running"; False when unreachable."""
        try:
            resp = await request_capped(
                self._http, "GET", "/", backend=BACKEND, what="health", limit=64 * 1024,
                timeout=QUICK_TIMEOUT,
            )  # fmt: skip
        except (httpx.HTTPError, BackendProtocolError):
            return False
        return resp.status_code == 200 and resp.text.strip() == _HEALTH_TEXT

    async def version(self) -> str:
        """The server version, e.g. ``0.12.6``."""
        body = await self._json("GET", "/api/version", "version")
        value = body.get("version")
        if not isinstance(value, str):
            raise BackendProtocolError(
                "Ollama sent an unexpected answer (version).",
                detail=repr(body)[:300],
                key="error.backend_protocol",
                params={"backend": "Ollama"},
            )
        return value

    async def tags(self) -> list[ModelInfo]:
        """The installed models."""
        return parse_tags(await self._json("GET", "/api/tags", "model list"))

    async def ps(self) -> list[LoadedModel]:
        """The models loaded in memory right now."""
        return parse_ps(await self._json("GET", "/api/ps", "loaded models"))

    async def show(self, model: str) -> ModelDetails:
        """Capabilities, details and ``model_info`` of one installed model."""
        name = normalize_model_name(model)
        body = await self._json("POST", "/api/show", "model details", {"model": name}, name)
        return parse_show(name, body)

    async def delete(self, model: str) -> None:
        """Delete an installed model from disk."""
        name = normalize_model_name(model)
        async with translate_errors(BACKEND):
            resp = await request_capped(
                self._http, "DELETE", "/api/delete", backend=BACKEND, what="delete",
                json={"model": name}, timeout=QUICK_TIMEOUT,
            )  # fmt: skip
        if resp.status_code != 200:
            raise error_for_status(resp.status_code, resp.content, name, "/api/delete")

    # ------------------------------------------------------------------ text generation

    def chat(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
        fmt: str | Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[TextEvent, None]:
        """Stream a chat answer: ``TextDelta``s (reasoning marked), then one ``TextDone``."""
        payload = _payload(model, options, keep_alive, think, fmt, stream=True)
        payload["messages"] = [dict(m) for m in messages]
        return self._stream_text("/api/chat", payload, chat=True)

    async def chat_once(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
        fmt: str | Mapping[str, Any] | None = None,
    ) -> TextDone:
        """A whole chat answer in one response (``stream: false``)."""
        payload = _payload(model, options, keep_alive, think, fmt, stream=False)
        payload["messages"] = [dict(m) for m in messages]
        return await self._once("/api/chat", payload, chat=True)

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
        fmt: str | Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[TextEvent, None]:
        """Stream a completion: ``TextDelta``s (reasoning marked), then one ``TextDone``."""
        payload = _payload(model, options, keep_alive, think, fmt, stream=True)
        payload.update(_prompt(prompt, system))
        return self._stream_text("/api/generate", payload, chat=False)

    async def generate_once(
        self,
        model: str,
        prompt: str,
        *,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
        fmt: str | Mapping[str, Any] | None = None,
    ) -> TextDone:
        """A whole completion in one response (``stream: false``)."""
        payload = _payload(model, options, keep_alive, think, fmt, stream=False)
        payload.update(_prompt(prompt, system))
        return await self._once("/api/generate", payload, chat=False)

    # ------------------------------------------------------------------ memory

    async def load(
        self, model: str, *, keep_alive: KeepAlive, options: Mapping[str, Any] | None = None
    ) -> TextDone:
        """Load a model without generating (pre-warm); it stays for ``keep_alive``.

        ``options`` must hold the same runner options (``num_ctx``, ...) the later chats
        send: Ollama reloads a model whose runner options differ from the request's.
        """
        payload = _payload(model, options, keep_alive, None, None, stream=False)
        payload["prompt"] = ""
        return await self._once("/api/generate", payload, chat=False)

    async def unload(self, model: str, *, confirm_timeout: float = 10.0) -> None:
        """Unload a model and wait until ``/api/ps`` no longer lists it.

        Ollama unloads asynchronously, so the memory is only known to be free once the
        model is gone from ``/api/ps``. A model that is not installed counts as unloaded.

        Raises:
            InsufficientResources: the model was still loaded after ``confirm_timeout`` s.
        """
        name = normalize_model_name(model)
        payload = {"model": name, "prompt": "", "keep_alive": 0, "stream": False}
        try:
            await self._json("POST", "/api/generate", "unload", payload, name)
        except BackendRequestError as exc:
            if exc.status != 404:
                raise
            log.debug("unload: %s is not installed, nothing to unload", name)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + confirm_timeout
        delay = 0.02
        while any(same_model(m.name, name) for m in await self.ps()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise InsufficientResources(
                    f"Ollama did not release the model “{name}” within {confirm_timeout:g} "
                    "seconds, so its memory is still in use. Wait a moment and try again, "
                    "or restart Ollama.",
                    detail=f"{name} still listed by /api/ps after {confirm_timeout:g}s",
                    key="error.ollama_not_released",
                    params={"model": name, "seconds": f"{confirm_timeout:g}"},
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.25)

    # ------------------------------------------------------------------ downloads

    async def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        """Download a model; progress is summed over all layers. Ends after "success"."""
        name = normalize_model_name(model)
        tracker = PullTracker(name)
        payload = {"model": name, "stream": True}
        async with (
            translate_errors(BACKEND),
            self._http.stream("POST", "/api/pull", json=payload) as resp,
        ):
            await _check_status(resp, "", "/api/pull")
            async with response_lines(resp, BACKEND) as lines:
                async for line in lines:
                    if line.strip():
                        yield tracker.feed(json_object(line, BACKEND, "download progress"))
                        if tracker.succeeded:
                            return
        raise BackendProtocolError(
            f"The download of “{name}” stopped before Ollama reported success. Try again.",
            detail="pull stream ended without a success line",
            key="error.download_stopped",
            params={"model": name},
        )

    # ------------------------------------------------------------------ internals

    async def _json(
        self,
        method: str,
        path: str,
        what: str,
        body: Mapping[str, Any] | None = None,
        model: str = "",
        limits: httpx.Timeout = QUICK_TIMEOUT,
    ) -> dict[str, Any]:
        async with translate_errors(BACKEND):
            resp = await request_capped(
                self._http, method, path, backend=BACKEND, what=what, json=body, timeout=limits
            )
        if resp.status_code != 200:
            raise error_for_status(resp.status_code, resp.content, model, path)
        return json_object(resp.content, BACKEND, what)

    async def _once(self, path: str, payload: dict[str, Any], *, chat: bool) -> TextDone:
        model = payload["model"]
        body = await self._json("POST", path, "answer", payload, model, self._timeout)
        events = TextAssembler(model, chat=chat).feed(body)
        if not events or not isinstance(events[-1], TextDone):
            raise BackendProtocolError(
                f"Ollama's answer from “{model}” was incomplete.",
                detail=repr(body)[:300],
                key="error.backend_broke_off",
                params={"backend": "Ollama"},
            )
        return events[-1]

    async def _stream_text(
        self, path: str, payload: dict[str, Any], *, chat: bool
    ) -> AsyncGenerator[TextEvent, None]:
        model = payload["model"]
        assembler = TextAssembler(model, chat=chat)
        async with (
            translate_errors(BACKEND),
            self._http.stream("POST", path, json=payload) as resp,
        ):
            await _check_status(resp, model, path)
            async with response_lines(resp, BACKEND) as lines:
                async for line in lines:
                    if not line.strip():
                        continue
                    for event in assembler.feed(json_object(line, BACKEND, "a streamed chunk")):
                        yield event
                        if isinstance(event, TextDone):
                            return
        raise BackendProtocolError(
            f"The answer from “{model}” broke off before it was complete. Try again.",
            detail=f"{path} stream ended without done: true",
            key="error.backend_broke_off",
            params={"backend": "Ollama"},
        )


async def _check_status(resp: httpx.Response, model: str, path: str) -> None:
    if resp.status_code != 200:
        body = await read_capped(resp, MAX_JSON_BYTES, BACKEND, path)
        raise error_for_status(resp.status_code, body, model, path)


def _payload(
    model: str,
    options: Mapping[str, Any] | None,
    keep_alive: KeepAlive | None,
    think: bool | None,
    fmt: str | Mapping[str, Any] | None,
    *,
    stream: bool,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": normalize_model_name(model), "stream": stream}
    if options is not None:
        payload["options"] = dict(options)
    if keep_alive is not None:
        payload["keep_alive"] = keep_alive
    if think is not None:
        payload["think"] = think
    if fmt is not None:
        payload["format"] = fmt if isinstance(fmt, str) else dict(fmt)
    return payload


def _prompt(prompt: str, system: str | None) -> dict[str, Any]:
    return {"prompt": prompt} if system is None else {"prompt": prompt, "system": system}
