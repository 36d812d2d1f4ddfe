"""The ComfyUI simulator's websocket side: sockets by clientId and one ordered publisher.

Like ComfyUI's ``PromptServer``: one socket per ``clientId`` (a second one takes over
delivery), messages for a client that has no socket are dropped, and a socket's clean-up
removes whatever socket is registered under its id at that moment (the reconnect race of
protocols.md §2.12 is kept on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4
SERVER_FEATURES = {"supports_preview_metadata": True, "max_upload_size": 100 * 1024 * 1024}


@dataclass(frozen=True)
class _Message:
    sid: str | None
    text: str | None = None
    binary: bytes | None = None
    close: bool = False
    preview_meta: dict[str, Any] | None = None


class Hub:
    """Registered sockets plus a queue drained by :meth:`publish_loop` in order.

    Args:
        on_connect: called with a new socket's id; returns extra messages for it (the
            ``executing`` node when that client's prompt is running).
    """

    def __init__(
        self, on_connect: Callable[[str], list[tuple[str, dict[str, Any]]]] | None = None
    ) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.metadata_clients: set[str] = set()
        self.on_connect = on_connect or (lambda _sid: [])
        self.queue_remaining: Callable[[], int] = lambda: 0
        self._queue: asyncio.Queue[_Message] = asyncio.Queue()
        self._mangle: set[str] = set()

    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """Queue a JSON message for one client (``sid``) or all (``None``)."""
        self._queue.put_nowait(_Message(sid, json.dumps({"type": event, "data": data})))

    def status(self) -> None:
        """Broadcast the queue size (``status``)."""
        remaining = self.queue_remaining()
        self.send("status", {"status": {"exec_info": {"queue_remaining": remaining}}}, None)

    def preview(self, image: bytes, sid: str, meta: dict[str, Any]) -> None:
        """Queue a JPEG preview frame: type 4 for clients that asked for metadata, else 1."""
        self._queue.put_nowait(_Message(sid, binary=image, preview_meta=meta))

    def close_socket(self, sid: str) -> None:
        """Fault injection: close this client's socket once earlier messages are out."""
        self._queue.put_nowait(_Message(sid, close=True))

    def mangle_next(self, sid: str) -> None:
        """Fault injection: truncate the next text message to this client."""
        self._mangle.add(sid)

    async def publish_loop(self) -> None:
        """Send queued messages forever, in queue order (cancel to stop)."""
        while True:
            message = await self._queue.get()
            targets = (
                list(self.sockets.items())
                if message.sid is None
                else [(message.sid, s) for s in [self.sockets.get(message.sid)] if s is not None]
            )
            for sid, socket in targets:
                with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
                    await self._deliver(sid, socket, message)

    async def _deliver(self, sid: str, socket: web.WebSocketResponse, message: _Message) -> None:
        if message.close:
            await socket.close()
        elif message.text is not None:
            text = message.text
            if sid in self._mangle and message.sid is not None:
                self._mangle.discard(sid)
                text = text[: max(1, len(text) // 2)]
            await socket.send_str(text)
        elif message.binary is not None:
            await socket.send_bytes(self._frame(sid, message))

    def _frame(self, sid: str, message: _Message) -> bytes:
        assert message.binary is not None
        if sid in self.metadata_clients and message.preview_meta is not None:
            meta = json.dumps({**message.preview_meta, "image_type": "image/jpeg"}).encode()
            head = struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(meta))
            return head + meta + message.binary
        return struct.pack(">II", PREVIEW_IMAGE, 1) + message.binary

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /ws?clientId=...``."""
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        sid = request.rel_url.query.get("clientId") or uuid.uuid4().hex
        self.sockets[sid] = socket
        self.metadata_clients.discard(sid)
        try:
            remaining = self.queue_remaining()
            status = {"status": {"exec_info": {"queue_remaining": remaining}}, "sid": sid}
            self.send("status", status, sid)
            for event, data in self.on_connect(sid):
                self.send(event, data, sid)
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._client_message(sid, message.data)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    break
        finally:
            # Deliberately faithful: this may remove a newer socket with the same id.
            self.sockets.pop(sid, None)
            self.metadata_clients.discard(sid)
        return socket

    def _client_message(self, sid: str, raw: str) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict) or message.get("type") != "feature_flags":
            return
        data = message.get("data")
        if isinstance(data, dict) and data.get("supports_preview_metadata"):
            self.metadata_clients.add(sid)
        self.send("feature_flags", dict(SERVER_FEATURES), sid)

    async def close_all(self) -> None:
        """Close every socket (shutdown)."""
        for socket in list(self.sockets.values()):
            with contextlib.suppress(Exception):
                await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY)
