"""Hostile answers for fault injection: endless bodies, endless lines, cut-off bodies.

Used by the simulators' ``/__fake__/fault`` modes and by tests that stand up a broken
server. Each writer keeps going until the client hangs up, so it costs only what the client
is willing to read.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

#: One write of an endless answer.
CHUNK_BYTES = 1024 * 1024
#: An endless answer stops by itself after this much (a client without any limit).
GIVE_UP_BYTES = 2 * 1024 * 1024 * 1024


async def endless_body(
    request: web.Request,
    *,
    prefix: bytes = b'{"items": [',
    filler: bytes = b'"ab", ',
    content_type: str = "application/json",
) -> web.StreamResponse:
    """A chunked answer that starts like JSON and never ends (no newline either)."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    await write_endless(response, prefix, filler)
    return response


async def write_endless(response: web.StreamResponse, prefix: bytes, filler: bytes) -> None:
    """Write ``prefix`` and then ``filler`` over and over into a prepared response."""
    chunk = filler * (CHUNK_BYTES // len(filler))
    with contextlib.suppress(ConnectionError):  # the client gave up reading: the point
        await response.write(prefix)
        for _ in range(GIVE_UP_BYTES // len(chunk)):
            await response.write(chunk)


async def declared_huge(
    request: web.Request, *, content_type: str = "application/json"
) -> web.StreamResponse:
    """An answer announcing a terabyte in ``Content-Length``; sends a little, then hangs up."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = 1 << 40
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(b'{"items": [')
    hang_up(request)
    return response


async def cut_off(request: web.Request, body: bytes, *, content_type: str) -> web.StreamResponse:
    """``body`` announced in full but cut off halfway: the connection closes mid-answer."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.content_length = len(body)
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(body[: len(body) // 2])
    hang_up(request)
    return response


def hang_up(request: web.Request) -> None:
    """Close the connection at once, mid-answer."""
    transport = request.transport
    if transport is not None:
        transport.abort()
