"""Shared HTTP plumbing for the protocol clients: timeouts, error mapping, JSON checks."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx

from ..errors import BackendProtocolError, BackendUnavailable

#: Quick calls (health, lists). Connect fails fast; a loopback server answers in ms.
QUICK_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=15.0, pool=5.0)
#: Work that includes model loads: first bytes may take minutes (cold load of a big model).
LONG_TIMEOUT = httpx.Timeout(connect=5.0, read=900.0, write=60.0, pool=10.0)


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
        ) from exc
    except httpx.TimeoutException as exc:
        raise BackendUnavailable(
            f"{backend} did not answer in time. It may be busy loading a model.",
            detail=repr(exc),
        ) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise BackendProtocolError(
            f"The connection to {backend} broke off in the middle of an answer.",
            detail=repr(exc),
        ) from exc


@asynccontextmanager
async def response_lines(resp: httpx.Response) -> AsyncIterator[AsyncIterator[str]]:
    """``resp.aiter_lines()``, closed when the block ends (also on an early return).

    httpx's line iterator is an async generator; left to the garbage collector it is
    finalised outside the event loop and httpcore complains (house-style guideline 7).
    """
    lines = resp.aiter_lines()
    try:
        yield lines
    finally:
        await cast(AsyncGenerator[str, None], lines).aclose()


def parse_json(text: str | bytes, backend: str, what: str) -> Any:
    """Parse JSON or raise ``BackendProtocolError`` naming ``what`` was being read."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        snippet = text[:200] if isinstance(text, str) else text[:200].decode("utf-8", "replace")
        raise BackendProtocolError(
            f"{backend} sent an answer that is not valid JSON ({what}).", detail=snippet
        ) from exc


def json_object(text: str | bytes, backend: str, what: str) -> dict[str, Any]:
    """Like :func:`parse_json` but the top level must be an object."""
    value = parse_json(text, backend, what)
    if not isinstance(value, dict):
        raise BackendProtocolError(
            f"{backend} sent an unexpected answer ({what}): expected a JSON object.",
            detail=repr(value)[:200],
        )
    return value
