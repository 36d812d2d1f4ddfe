"""A broken HTTP server on 127.0.0.1 for client tests: each route answers what it is told.

``async with hostile_server({"/api/tags": body("<html>")}) as url`` serves until the block
ends. Route handlers: :func:`body` (fixed text), :func:`ndjson` (lines), and the writers of
:mod:`ai4artsed_desktop.simulators.hostile` (endless, declared-huge and cut-off answers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from ai4artsed_desktop.simulators import hostile

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def hostile_server(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """Serve ``routes`` (any method) on a free loopback port; yields the base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def ndjson(*lines: str) -> Handler:
    """Answer these lines as an NDJSON stream."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        for line in lines:
            await resp.write(line.encode() + b"\n")
        await resp.write_eof()
        return resp

    return handler


def body(text: str, status: int = 200, content_type: str = "text/plain") -> Handler:
    """Answer ``text`` with ``status``."""

    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, status=status, content_type=content_type)

    return handler


#: JSON that never ends (chunked, no length), and an answer that announces a terabyte.
endless: Handler = hostile.endless_body
declared_huge: Handler = hostile.declared_huge


def cut_off(text: str, content_type: str = "application/json") -> Handler:
    """``text`` announced in full, the connection closed halfway through it."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await hostile.cut_off(request, text.encode(), content_type=content_type)

    return handler


def endless_line(first: str) -> Handler:
    """An NDJSON stream: ``first``, then a line that never ends."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        await hostile.write_endless(resp, first.encode() + b'\n{"response": "', b"la ")
        return resp

    return handler
