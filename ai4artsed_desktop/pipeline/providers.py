"""LLM providers behind one protocol: Ollama and OpenAI-compatible APIs.

``OpenAICompatibleProvider`` streams ``POST {base_url}/chat/completions`` as server-sent
events: the cloud APIs (Mistral, OpenRouter, OpenAI) and a lab's own server (llama.cpp's
server, LM Studio, vLLM; a provider file with ``base_url``) speak the same dialect. A lab
server needs no key unless its file names ``api_key_env``. The API key is read from
an environment variable at request time; it is never stored in the object, never logged
and removed from every error text a server might echo it in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ..backends.http import (
    LONG_TIMEOUT,
    MAX_JSON_BYTES,
    QUICK_TIMEOUT,
    json_object,
    read_capped,
    request_capped,
    response_lines,
    translate_errors,
)
from ..backends.ollama import OllamaClient
from ..backends.ollama_parse import ThinkSplitter, normalize_model_name
from ..content.schema import Provider
from ..errors import BackendProtocolError, BackendRequestError, BackendUnavailable, ConfigError
from ..events import TextDelta, TextDone
from .keepalive import KeepAlivePolicy
from .locality import CLOUD_ENDPOINTS, check_resolves_locally, classify_host, host_of
from .prompts import Message, as_dicts
from .routing import RoutingError, refuse_ollama_cloud_name

log = logging.getLogger(__name__)

#: A ``keep_alive`` value (Ollama only): a Go duration or seconds.
KeepAlive = str | int | float
TextEvent = TextDelta | TextDone


class LlmProvider(Protocol):
    """Chat with a model; streams end with one ``TextDone``."""

    @property
    def name(self) -> str:
        """The provider id (``ollama``, ``mistral``, ...)."""
        ...

    def stream_chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> AsyncGenerator[TextEvent, None]:
        """Stream the answer: ``TextDelta``s (reasoning marked), then one ``TextDone``."""
        ...

    async def chat_once(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> TextDone:
        """The whole answer at once."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class OllamaProvider:
    """The Ollama server; ``client_getter`` starts it lazily when needed.

    Args:
        keep_alive: The lesson's keep-alive policy; its current value goes with every
            request that does not name one (Ollama resets the timer on each request).
        local_only: Whether cloud models are refused now. Ollama forwards names ending
            in ``:cloud``/``-cloud`` and pulled cloud stubs (``remote_host``) to
            ollama.com, so "provider ollama" alone does not mean "on this computer": each
            model is checked (its name, then ``/api/show`` once) before its first request.
    """

    def __init__(
        self,
        client_getter: Callable[[], Awaitable[OllamaClient]],
        *,
        keep_alive: KeepAlivePolicy | None = None,
        local_only: Callable[[], bool] | None = None,
    ) -> None:
        self._get = client_getter
        self._keep_alive = keep_alive
        self._local_only = local_only
        self._local_models: set[str] = set()

    @property
    def name(self) -> str:
        """Always ``ollama``."""
        return "ollama"

    def _keep(self, keep_alive: KeepAlive | None) -> KeepAlive | None:
        if keep_alive is None and self._keep_alive is not None:
            return self._keep_alive.current()
        return keep_alive

    async def _client(self, model: str) -> OllamaClient:
        client = await self._get()
        if self._local_only is None or not self._local_only():
            return client
        refuse_ollama_cloud_name(model)
        name = normalize_model_name(model).casefold()
        if name not in self._local_models:
            details = await client.show(model)
            if details.remote_host:
                raise RoutingError(
                    f"The model “{model}” runs on {details.remote_host}, not on this "
                    "computer, and cloud models are switched off (local-only). Ask your "
                    "teacher to choose a local model.",
                    detail=f"/api/show {model}: remote_host={details.remote_host!r}",
                    key="error.cloud_model_off",
                    params={"model": model},
                )
            self._local_models.add(name)
        return client

    async def stream_chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> AsyncGenerator[TextEvent, None]:
        """Stream through ``OllamaClient.chat`` (closed when the consumer stops)."""
        client = await self._client(model)
        stream = client.chat(
            model,
            as_dicts(list(messages)),
            options=options,
            keep_alive=self._keep(keep_alive),
            think=think,
        )
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                yield event

    async def chat_once(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> TextDone:
        """One non-streamed answer."""
        client = await self._client(model)
        return await client.chat_once(
            model,
            as_dicts(list(messages)),
            options=options,
            keep_alive=self._keep(keep_alive),
            think=think,
        )

    async def aclose(self) -> None:
        """Nothing to do: the backend manager owns the client."""


# ------------------------------------------------------------------ OpenAI-compatible


class OpenAICompatibleProvider:
    """A cloud chat API with the OpenAI ``/chat/completions`` streaming dialect.

    Args:
        base_url: The API root including the version, e.g. ``https://api.mistral.ai/v1``.
        api_key_env: The environment variable holding the key, e.g. ``MISTRAL_API_KEY``.
        name: The provider id (``mistral``); ``label`` is its name in messages.
        max_tokens_field: Request field for the token limit (OpenAI wants
            ``max_completion_tokens``).
        seed_field: Request field for the seed (Mistral calls it ``random_seed``).
        env: Where to read the key (default ``os.environ``; tests pass a dict).
        trust_env: Use the system's proxy settings (schools often need them).
    """

    def __init__(
        self,
        base_url: str,
        api_key_env: str,
        name: str,
        *,
        label: str = "",
        max_tokens_field: str = "max_tokens",
        seed_field: str = "seed",
        env: Mapping[str, str] | None = None,
        trust_env: bool = True,
        timeout: httpx.Timeout = LONG_TIMEOUT,
        must_stay_local: Callable[[], bool] | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._key_env = api_key_env
        self._name = name
        self._label = label or name
        self._max_tokens_field = max_tokens_field
        self._seed_field = seed_field
        self._env = env
        self._must_stay_local = must_stay_local
        self._verified_local = False
        # A school's proxy must not see requests to its own LAN server.
        local_host = classify_host(host_of(base_url)) != "public"
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=trust_env and not local_host)

    @property
    def name(self) -> str:
        """The provider id."""
        return self._name

    def __repr__(self) -> str:
        where = f"{self._base_url!r}, key from {self._key_env}"
        return f"OpenAICompatibleProvider({self._name!r}, {where})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _check_local(self) -> None:
        """Under local-only, make sure a LAN name really points into the school network."""
        if self._verified_local or self._must_stay_local is None or not self._must_stay_local():
            return
        parts = urlsplit(self._base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        reason = await check_resolves_locally(parts.hostname or "", port)
        if reason:
            raise RoutingError(
                f"{self._label} must stay inside the school network (local-only), but "
                f"{reason}. Ask your teacher to enter the server's LAN address.",
                detail=f"{self._base_url}: {reason}",
                key="error.server_not_local",
                params={"backend": self._label},
            )
        self._verified_local = True

    async def models(self) -> list[str]:
        """The model ids the server offers (``GET {base_url}/models``)."""
        await self._check_local()
        headers = self._headers("application/json")
        async with translate_errors(self._label):
            resp = await request_capped(
                self._http, "GET", f"{self._base_url}/models", backend=self._label,
                what="model list", headers=headers, timeout=QUICK_TIMEOUT,
            )  # fmt: skip
        if resp.status_code != 200:
            raise _status_error(self._label, "", resp.status_code, resp.content)
        body = json_object(resp.content, self._label, "model list")
        data = body.get("data")
        if not isinstance(data, list):
            raise BackendProtocolError(
                f"{self._label} sent an unexpected model list.",
                detail=repr(body)[:300],
                key="error.backend_protocol",
                params={"backend": self._label},
            )
        return [str(m["id"]) for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self._key_env:
            headers["Authorization"] = f"Bearer {self._api_key()}"
        return headers

    def _api_key(self) -> str:
        env = os.environ if self._env is None else self._env
        key = env.get(self._key_env, "").strip()
        if not key:
            raise ConfigError(
                f"No API key for {self._label}. Ask your teacher to set the environment "
                f"variable {self._key_env}, or choose a local model.",
                detail=f"{self._key_env} is not set or empty",
                key="error.provider_no_key",
                params={"backend": self._label, "variable": self._key_env},
            )
        return key

    def _body(
        self, model: str, messages: Sequence[Message], options: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": as_dicts(list(messages))}
        opts = options or {}
        for ours, theirs in (
            ("temperature", "temperature"),
            ("top_p", "top_p"),
            ("num_predict", self._max_tokens_field),
            ("seed", self._seed_field),
            ("stop", "stop"),
        ):
            value = opts.get(ours)
            if value is not None and not (ours == "num_predict" and value < 0):
                body[theirs] = value
        body["stream"] = True
        return body

    async def stream_chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> AsyncGenerator[TextEvent, None]:
        """Stream the answer (``keep_alive`` and ``think`` do not apply to these APIs)."""
        await self._check_local()
        headers = self._headers("text/event-stream")
        key = headers.get("Authorization", "").removeprefix("Bearer ")
        body = self._body(model, messages, options)
        url = f"{self._base_url}/chat/completions"
        log.debug("%s: streaming chat with %s", self._label, model)
        started = time.monotonic()
        assembler = _ChunkAssembler(self._label, model)
        try:
            try:
                async with (
                    translate_errors(self._label),
                    self._http.stream("POST", url, json=body, headers=headers) as resp,
                ):
                    if resp.status_code != 200:
                        answer = await read_capped(resp, MAX_JSON_BYTES, self._label, "error")
                        raise _status_error(self._label, model, resp.status_code, answer)
                    async with (
                        response_lines(resp, self._label) as lines,
                        contextlib.aclosing(_sse_data(lines)) as payloads,
                    ):
                        async for data in payloads:
                            if data.strip() == "[DONE]":
                                break
                            for event in assembler.feed(data):
                                yield event
            except BackendProtocolError:
                if not assembler.empty:
                    raise  # a real break in the middle of an answer
            if assembler.empty:
                # llama.cpp's server answers a refused streamed request (e.g. a prompt beyond
                # the context) with 200 and an empty, broken stream; the same request without
                # streaming (on a fresh connection) returns the real error, or the answer.
                async with translate_errors(self._label):
                    done = await self._without_stream(url, body, headers, model, started)
                if done.text:
                    yield TextDelta(done.text)
            else:
                done = assembler.finish((time.monotonic() - started) * 1000)
        except (BackendRequestError, BackendProtocolError, BackendUnavailable) as exc:
            raise (_redacted(exc, key) if key else exc) from None
        yield done

    async def _without_stream(
        self,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        model: str,
        started: float,
    ) -> TextDone:
        """The same request with ``stream: false`` (after an empty stream)."""
        log.info("%s: empty stream from %s; asking again without streaming", self._label, model)
        plain = {**body, "stream": False}
        headers = {**headers, "Accept": "application/json"}
        # a fresh connection: the server closed the one of the broken stream
        async with httpx.AsyncClient(timeout=LONG_TIMEOUT, trust_env=self._http.trust_env) as http:
            resp = await request_capped(
                http, "POST", url, backend=self._label, what="answer", json=plain,
                headers=headers,
            )  # fmt: skip
        if resp.status_code != 200:
            raise _status_error(self._label, model, resp.status_code, resp.content)
        assembler = _ChunkAssembler(self._label, model)
        assembler.feed(resp.text)
        return assembler.finish((time.monotonic() - started) * 1000)

    async def chat_once(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        keep_alive: KeepAlive | None = None,
        think: bool | None = None,
    ) -> TextDone:
        """The whole answer (collected from the stream)."""
        stream = self.stream_chat(model, messages, options=options)
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDone):
                    return event
        raise BackendProtocolError(  # pragma: no cover - stream_chat always ends with done
            f"{self._label} ended the answer without finishing it.",
            detail="no TextDone",
            key="error.backend_broke_off",
            params={"backend": self._label},
        )


async def _sse_data(lines: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    """The ``data`` payloads of a server-sent event stream (multi-line data joined)."""
    buffer: list[str] = []
    async for line in lines:
        if not line.strip():
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive (OpenRouter sends ": OPENROUTER PROCESSING")
        field, _, value = line.partition(":")
        if field == "data":
            buffer.append(value[1:] if value.startswith(" ") else value)
    if buffer:
        yield "\n".join(buffer)


class _ChunkAssembler:
    """Turns ``chat.completion.chunk`` objects into text events."""

    def __init__(self, label: str, model: str) -> None:
        self._label = label
        self._model = model
        self._splitter = ThinkSplitter()
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._finish = ""
        self._tokens = 0
        self._chunks = 0

    def feed(self, data: str) -> list[TextDelta]:
        try:
            obj = json.loads(data)
        except json.JSONDecodeError as exc:
            raise BackendProtocolError(
                f"{self._label} sent a broken piece of the answer.",
                detail=data[:300],
                key="error.backend_protocol",
                params={"backend": self._label},
            ) from exc
        if not isinstance(obj, dict):
            raise self._unexpected(data)
        if "error" in obj:
            raise BackendRequestError(
                f"{self._label} stopped the answer from “{self._model}”: {_message(obj)}",
                detail=data[:500],
                key="error.llm_stopped",
                params={"backend": self._label, "message": _message(obj)},
            )
        self._chunks += 1
        usage = obj.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self._tokens = usage["completion_tokens"]
        deltas: list[TextDelta] = []
        choices = obj.get("choices") or []
        if not isinstance(choices, list):
            raise self._unexpected(data)
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if not isinstance(delta, dict):
                raise self._unexpected(data)
            reasoning = delta.get("reasoning") or delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                deltas.append(TextDelta(reasoning, thinking=True))
            content = delta.get("content")
            if isinstance(content, str) and content:
                deltas += self._splitter.feed(content)
            if isinstance(choice.get("finish_reason"), str):
                self._finish = choice["finish_reason"]
        return self._keep(deltas)

    @property
    def empty(self) -> bool:
        """No chunk arrived at all."""
        return self._chunks == 0

    def _unexpected(self, data: str) -> BackendProtocolError:
        return BackendProtocolError(
            f"{self._label} sent an unexpected answer.",
            detail=data[:300],
            key="error.backend_protocol",
            params={"backend": self._label},
        )

    def _keep(self, deltas: list[TextDelta]) -> list[TextDelta]:
        for delta in deltas:
            (self._thinking if delta.thinking else self._text).append(delta.text)
        return deltas

    def finish(self, total_ms: float) -> TextDone:
        if not self._finish:
            raise BackendProtocolError(
                f"The answer from {self._label} broke off before it was complete. Try again.",
                detail=f"stream ended without finish_reason after {self._chunks} chunks",
                key="error.backend_broke_off",
                params={"backend": self._label},
            )
        self._keep(self._splitter.flush())
        return TextDone(
            text="".join(self._text),
            thinking="".join(self._thinking).strip(),
            done_reason=self._finish,
            total_ms=total_ms,
            eval_count=self._tokens,
        )


def _message(obj: Any) -> str:
    """The human part of an error body (OpenAI, Mistral and OpenRouter shapes)."""
    if isinstance(obj, dict):
        error = obj.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if isinstance(obj.get(key), str):
                return str(obj[key])
    return ""


def _status_error(label: str, model: str, status: int, body: bytes) -> Exception:
    text = body.decode("utf-8", "replace")
    try:
        message = _message(json.loads(text)) or text[:300]
    except json.JSONDecodeError:
        message = text[:300]
    detail = f"HTTP {status} from {label}: {message}"
    params = {"backend": label, "message": message}
    if status in (401, 403):
        user, key = f"{label} refused the API key. Ask your teacher to check it.", "api_key"
    elif status == 404:
        user, key = f"{label} does not offer the model “{model}”. Choose another model.", "model"
    elif status == 429:
        user = f"{label} says there were too many requests or the quota is used up."
        key = "quota"
    elif status >= 500:
        return BackendUnavailable(
            f"{label} has a problem right now. Try again later.",
            detail=detail,
            key="error.provider_down",
            params=params,
        )
    else:
        user, key = f"{label} refused the request: {message}", "refused"
    return BackendRequestError(
        user, detail=detail, status=status, key=f"error.provider_{key}", params=params
    )


def _redacted(exc: Exception, key: str) -> Exception:
    """The same error with every copy of ``key`` removed from its texts."""
    if not isinstance(exc, BackendRequestError | BackendProtocolError | BackendUnavailable):
        return exc
    user, detail = exc.user_message.replace(key, "***"), exc.detail.replace(key, "***")
    if isinstance(exc, BackendRequestError):
        return BackendRequestError(
            user, detail=detail, status=exc.status, key=exc.key, params=exc.params
        )
    return type(exc)(user, detail=detail, key=exc.key, params=exc.params)


# ------------------------------------------------------------------ registry


def _always() -> bool:
    return True


class ProviderRegistry:
    """One provider object per provider id, created on first use.

    Args:
        ollama: Returns the (lazily started) Ollama client.
        env: Where cloud API keys are read (default ``os.environ``).
        keep_alive: The keep-alive policy shared with the warm-up (a new one if None).
        local_only: Whether local-only is on now (Ollama then refuses cloud models).
    """

    def __init__(
        self,
        ollama: Callable[[], Awaitable[OllamaClient]],
        *,
        env: Mapping[str, str] | None = None,
        keep_alive: KeepAlivePolicy | None = None,
        local_only: Callable[[], bool] | None = None,
    ) -> None:
        self._ollama = ollama
        self._env = env
        #: The lesson's keep-alive for every Ollama request (the warm-up switches it).
        self.keep_alive = keep_alive or KeepAlivePolicy()
        self._local_only = local_only
        self._providers: dict[tuple[str, bool], LlmProvider] = {}

    def get(self, provider: Provider, *, local_role: bool = False) -> LlmProvider:
        """The provider object for a content ``Provider`` record.

        ``local_role``: the role must stay on this computer whatever the local-only
        switch says (safety, vision), so Ollama cloud models are refused for it always.

        Raises:
            ConfigError: no client exists for this provider id.
        """
        key = (provider.id, local_role)
        if key not in self._providers:
            self._providers[key] = self._make(provider, key[1])
        return self._providers[key]

    def _make(self, provider: Provider, local_role: bool) -> LlmProvider:
        if provider.id == "ollama":
            local_only = self._local_only
            if local_role:
                local_only = _always
            return OllamaProvider(self._ollama, keep_alive=self.keep_alive, local_only=local_only)
        must_stay_local = _always if local_role else self._local_only
        if provider.base_url:  # a lab server (llama.cpp, LM Studio, vLLM) or a redefinition
            return OpenAICompatibleProvider(
                provider.base_url, provider.api_key_env, provider.id, label=provider.name.en,
                env=self._env, must_stay_local=must_stay_local,
            )  # fmt: skip
        if provider.id in CLOUD_ENDPOINTS:
            base, key_env, max_field, seed_field = CLOUD_ENDPOINTS[provider.id]
            return OpenAICompatibleProvider(
                base, provider.api_key_env or key_env, provider.id, label=provider.name.en,
                max_tokens_field=max_field, seed_field=seed_field, env=self._env,
                must_stay_local=must_stay_local,
            )  # fmt: skip
        raise ConfigError(
            f"The app cannot talk to the provider “{provider.id}”: its file has no base_url. "
            f"Add the server's address (e.g. http://192.168.1.20:8080/v1) or choose a model "
            f"from another provider ({', '.join(['ollama', *CLOUD_ENDPOINTS])}).",
            detail=f"no client for provider id {provider.id!r} (no base_url)",
            key="error.provider_no_address",
            params={"provider": provider.id},
        )

    async def aclose(self) -> None:
        """Close every provider's connections."""
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
