"""Shared HTTP plumbing for the protocol clients: timeouts, error mapping, JSON checks."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ..errors import BackendProtocolError, BackendUnavailable

#: Quick calls (health, lists). Connect fails fast; a loopback server answers in ms.
QUICK_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=15.0, pool=5.0)
#: Work that includes model loads: first bytes may take minutes (cold load of a big model).
LONG_TIMEOUT = httpx.Timeout(connect=5.0, read=900.0, write=60.0, pool=10.0)

#: The largest JSON answer we read. ComfyUI's whole ``/object_info`` with many custom nodes is
#: a few MiB; anything near this is a wrong or broken server, not an answer.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: The largest media file we download (videos are the biggest legitimate outputs).
MAX_MEDIA_BYTES = 1024 * 1024 * 1024
#: The longest line of a streamed answer (an Ollama chunk is well under 1 KiB; the final one
#: with its ``context`` token list stays far below a MiB).
MAX_LINE_CHARS = 8 * 1024 * 1024


def normalize_base_url(url: str) -> str:
    """``host:port`` or ``http://host:port/`` -> ``http://host:port`` (no trailing slash)."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def make_client(base_url: str, *, timeout: httpx.Timeout = QUICK_TIMEOUT) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for one backend; no proxies from the environment.

    ``trust_env=False``: a school's HTTP proxy variables must never divert loopback traffic.
    """
    return httpx.AsyncClient(
        base_url=normalize_base_url(base_url), timeout=timeout, trust_env=False
    )


@asynccontextmanager
async def translate_errors(backend: str) -> AsyncIterator[None]:
    """Map transport failures to ``BackendUnavailable`` / ``BackendProtocolError``.

    Args:
        backend: the user-facing backend name ("Ollama", "ComfyUI", "SwarmUI").
    """
    try:
        yield
    except httpx.ConnectError as exc:
        raise BackendUnavailable(
            f"{backend} is not reachable. It may still be starting or it has stopped.",
            detail=repr(exc),
            key="error.backend_unreachable",
            params={"backend": backend},
        ) from exc
    except httpx.TimeoutException as exc:
        raise BackendUnavailable(
            f"{backend} did not answer in time. It may be busy loading a model.",
            detail=repr(exc),
            key="error.backend_timeout",
            params={"backend": backend},
        ) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise BackendProtocolError(
            f"The connection to {backend} broke off in the middle of an answer.",
            detail=repr(exc),
            key="error.backend_broke_off",
            params={"backend": backend},
        ) from exc


async def answers_http(url: str, *, wait_s: float) -> bool:
    """True when something serves HTTP at ``url`` with a status below 500.

    Only the status line and headers are read, never the body: a probe must stay cheap
    whatever the server at that address sends.
    """
    try:
        async with (
            httpx.AsyncClient(timeout=wait_s, trust_env=False) as client,
            client.stream("GET", url) as resp,
        ):
            return resp.status_code < 500
    except httpx.HTTPError:
        return False


def answer_too_large(backend: str, what: str, limit: int) -> BackendProtocolError:
    """The error for an answer beyond ``limit`` bytes (characters for a line)."""
    return BackendProtocolError(
        f"{backend} sent a far larger answer than expected ({what}). "
        "Is the address right, and is it really that server?",
        detail=f"{what}: more than {limit} bytes",
        key="error.backend_too_large",
        params={"backend": backend},
    )


async def read_capped(resp: httpx.Response, limit: int, backend: str, what: str) -> bytes:
    """The (decoded) body of a streamed response; at most ``limit`` bytes are held.

    Raises:
        BackendProtocolError: the declared or the received size is beyond ``limit``.
    """
    declared = resp.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        raise answer_too_large(backend, what, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise answer_too_large(backend, what, limit)
        chunks.append(chunk)
    return b"".join(chunks)


_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def request_capped(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    backend: str,
    what: str,
    limit: int = MAX_JSON_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request`` whose body may hold at most ``limit`` bytes.

    A hostile or broken server could otherwise fill the memory with one endless answer.
    The returned response is complete (``.content``, ``.json()``, ``.text`` work as usual).
    Transport errors are left to :func:`translate_errors` around the call.
    """
    async with client.stream(method, url, **kwargs) as resp:
        body = await read_capped(resp, limit, backend, what)
    headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in _BODY_HEADERS]
    return httpx.Response(resp.status_code, headers=headers, content=body, request=resp.request)


async def _capped_lines(
    resp: httpx.Response, backend: str, limit: int
) -> AsyncGenerator[str, None]:
    pending = ""
    async for text in resp.aiter_text():
        pending += text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line.removesuffix("\r")
        if len(pending) > limit:
            raise answer_too_large(backend, "one line of a streamed answer", limit)
    if pending:
        yield pending.removesuffix("\r")


@asynccontextmanager
async def response_lines(
    resp: httpx.Response, backend: str, *, limit: int = MAX_LINE_CHARS
) -> AsyncIterator[AsyncIterator[str]]:
    """The lines of a streamed answer, closed when the block ends (also on an early return).

    Unlike ``resp.aiter_lines()`` one line may hold at most ``limit`` characters: a server
    that never sends a newline cannot fill the memory. The iterator is an async generator;
    left to the garbage collector it is finalised outside the event loop and httpcore
    complains (house-style guideline 7), hence the context manager.
    """
    lines = _capped_lines(resp, backend, limit)
    try:
        yield lines
    finally:
        await lines.aclose()


def parse_json(text: str | bytes, backend: str, what: str) -> Any:
    """Parse JSON or raise ``BackendProtocolError`` naming ``what`` was being read."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        snippet = text[:200] if isinstance(text, str) else text[:200].decode("utf-8", "replace")
        raise BackendProtocolError(
            f"{backend} sent an answer that is not valid JSON ({what}).",
            detail=snippet,
            key="error.backend_protocol",
            params={"backend": backend},
        ) from exc


def json_object(text: str | bytes, backend: str, what: str) -> dict[str, Any]:
    """Like :func:`parse_json` but the top level must be an object."""
    value = parse_json(text, backend, what)
    if not isinstance(value, dict):
        raise BackendProtocolError(
            f"{backend} sent an unexpected answer ({what}): expected a JSON object.",
            detail=repr(value)[:200],
            key="error.backend_protocol",
            params={"backend": backend},
        )
    return value
