"""A model file host on 127.0.0.1 as rude as the real internet, for download tests.

Runs an aiohttp server on its own thread and event loop (so a client in the test's loop
and ``curl`` in the benchmark compete with it for nothing). Files are served under
``/files/<name>`` with HTTP ranges like Hugging Face's storage; per-name :class:`Faults`
make it ignore ranges (200 instead of 206), hang up mid-body, answer slowly, refuse with a
status, redirect, or announce another length. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web

from ai4artsed_desktop.simulators.hostile import hang_up

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Faults:
    """What the server does wrong for one file.

    Attributes:
        ignore_range: Answer 200 with the whole file to a range request.
        drop_after: Hang up after this many body bytes, for the first ``drops`` answers.
        drops: How many answers are cut off.
        status: Answer this status instead of the file (404, 403, 500 ...), ``status_times``
            times (None: always).
        status_times: See ``status``.
        chunk_delay: Seconds between 64 KiB chunks (a slow server).
        redirects: Send this many 302 hops before the file.
        range_start_wrong: Answer a range request with a 206 that starts at byte 0.
    """

    ignore_range: bool = False
    drop_after: int | None = None
    drops: int = 1
    status: int | None = None
    status_times: int | None = None
    chunk_delay: float = 0.0
    redirects: int = 0
    range_start_wrong: bool = False


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    range: str | None
    authorization: str | None
    status: int = 0


@dataclass
class FileHost:
    """The served files, their faults and the request log (thread-safe enough for tests)."""

    files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, Faults] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""

    def url(self, name: str) -> str:
        """The address of a served file."""
        return f"{self.base_url}/files/{name}"

    def requests_for(self, name: str) -> list[Seen]:
        """Requests that reached the file (not the redirects before it)."""
        return [s for s in self.seen if s.path == f"/files/{name}"]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        hop = int(request.query.get("hop", "0"))
        seen = Seen(
            request.path, request.headers.get("Range"), request.headers.get("Authorization")
        )
        self.seen.append(seen)
        faults = self.faults.get(name, Faults())
        if hop < faults.redirects:
            seen.status = 302
            raise web.HTTPFound(f"/files/{name}?hop={hop + 1}")
        if faults.status is not None and (faults.status_times is None or faults.status_times > 0):
            if faults.status_times is not None:
                faults.status_times -= 1
            seen.status = faults.status
            return web.Response(status=faults.status, text=f"status {faults.status}")
        data = self.files.get(name)
        if data is None:
            seen.status = 404
            return web.Response(status=404, text="Entry not found")
        start, end = 0, len(data) - 1
        status = 200
        wanted = _RANGE.fullmatch(request.headers.get("Range", ""))
        if wanted is not None and not faults.ignore_range:
            start = int(wanted.group(1))
            if wanted.group(2):
                end = min(end, int(wanted.group(2)))
            if start >= len(data):
                seen.status = 416
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
        shown_start = 0 if faults.range_start_wrong else start
        response = web.StreamResponse(status=status)
        response.content_type = "application/octet-stream"
        response.content_length = end - start + 1
        if status == 206:
            response.headers["Content-Range"] = f"bytes {shown_start}-{end}/{len(data)}"
        response.headers["Accept-Ranges"] = "bytes"
        seen.status = status
        await response.prepare(request)
        await self._send(request, response, memoryview(data)[start : end + 1], faults)
        return response

    async def _send(
        self, request: web.Request, response: web.StreamResponse, body: memoryview, faults: Faults
    ) -> None:
        limit = None
        if faults.drop_after is not None and faults.drops > 0:
            faults.drops -= 1
            limit = faults.drop_after
        sent = 0
        step = 64 * 1024 if faults.chunk_delay or limit is not None else 1024 * 1024
        with contextlib.suppress(ConnectionError):
            while sent < len(body):
                piece = body[sent : sent + step]
                if limit is not None and sent + len(piece) > limit:
                    await response.write(bytes(body[sent:limit]))
                    hang_up(request)
                    return
                await response.write(bytes(piece))
                sent += len(piece)
                if faults.chunk_delay:
                    await asyncio.sleep(faults.chunk_delay)
            await response.write_eof()


@contextlib.contextmanager
def file_host(files: dict[str, bytes] | None = None) -> Iterator[FileHost]:
    """Serve ``files`` on a free loopback port on a thread of its own until the block ends."""
    host = FileHost(dict(files or {}))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/files/{name}", host._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        runner_box.append(runner)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner_box[0].cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="file-host", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield host
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
