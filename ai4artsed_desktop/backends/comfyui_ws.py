"""One shared ComfyUI websocket per client id, with bounded reconnects and fan-out.

ComfyUI delivers a client's events to the *latest* socket with that ``clientId``, and a late
close of an old socket can unregister a new one (protocols.md §2.12). So a client keeps
exactly one socket, closes it completely before reconnecting with the same id, and tells
every listener (:class:`WsReconnected`) so it can reconcile through ``/queue`` and
``/history`` for the events it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..errors import AppError, BackendProtocolError, BackendUnavailable
from .comfyui_parsing import WsMessage, WsPreview, parse_ws_binary, parse_ws_text

#: The biggest frame we accept: previews are small; a whole image sent by a websocket
#: save node is tens of MiB at most. A bigger one closes the socket (the run goes on by polling).
MAX_FRAME_BYTES = 256 * 1024 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WsReconnected:
    """The socket dropped and is connected again; events in between are lost."""


@dataclass(frozen=True)
class WsLost:
    """The socket dropped and every reconnect attempt failed."""

    error: AppError


WsItem = WsMessage | WsPreview | WsReconnected | WsLost | BackendProtocolError


class WsChannel:
    """The websocket of one ComfyUI client id.

    Args:
        url: ``ws://host:port[/prefix]/ws?clientId=...``.
        attempts: reconnect attempts after a drop (delays double from ``first_delay``).
    """

    def __init__(
        self, url: str, *, attempts: int = 8, first_delay: float = 0.1, max_delay: float = 2.0
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribers: list[asyncio.Queue[WsItem]] = []
        self._lock = asyncio.Lock()
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        """True while a socket is open and being read."""
        return self._reader is not None and not self._reader.done()

    async def open(self) -> None:
        """Connect (once) and start reading.

        Raises:
            BackendUnavailable: the websocket cannot be opened.
        """
        async with self._lock:
            if self.connected:
                return
            self._ws = await self._connect()
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(), name="comfyui-ws-reader"
            )

    def subscribe(self) -> asyncio.Queue[WsItem]:
        """A queue receiving every item from now on."""
        queue: asyncio.Queue[WsItem] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WsItem]) -> None:
        """Stop delivering to ``queue``."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    async def aclose(self) -> None:
        """Stop reading and close the socket; every waiting job is woken with :class:`WsLost`.

        Closing happens when the image engine or a backend setting changes, or the app
        quits. A job waiting for its events would otherwise wait forever.
        """
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        self._dispatch(
            WsLost(
                BackendUnavailable(
                    "The connection to ComfyUI was closed while the job ran (the image engine "
                    "or a server setting was changed, or the app is closing). Start it again.",
                    detail=f"{self.url}: closed by the app",
                    key="error.image_server_closed",
                )
            )
        )

    async def _connect(self) -> ClientConnection:
        try:
            return await connect(
                self.url, max_size=MAX_FRAME_BYTES, open_timeout=5, ping_interval=20,
                ping_timeout=60, proxy=None, compression=None,
            )  # fmt: skip
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise BackendUnavailable(
                "The live connection to ComfyUI could not be opened. It may still be starting.",
                detail=f"{self.url}: {exc!r}",
                key="error.image_server_no_live",
            ) from exc

    def _dispatch(self, item: WsItem) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(item)

    async def _read_loop(self) -> None:
        try:
            await self._read_frames()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a reader that dies must not leave jobs waiting
            log.exception("ComfyUI websocket reader failed")
            self._dispatch(
                WsLost(
                    BackendProtocolError(
                        "The live connection to ComfyUI failed.",
                        detail=f"{self.url}: {exc!r}",
                        key="error.image_server_no_live",
                    )
                )
            )

    async def _read_frames(self) -> None:
        while self._ws is not None:
            try:
                frame = await self._ws.recv()
            except ConnectionClosed:
                if not await self._reconnect():
                    return
                continue
            try:
                item: WsItem | None = (
                    parse_ws_text(frame) if isinstance(frame, str) else parse_ws_binary(frame)
                )
            except BackendProtocolError as exc:
                item = exc
            if item is not None:
                self._dispatch(item)

    async def _reconnect(self) -> bool:
        old = self._ws
        if old is not None:
            await old.close()  # completely closed before the same clientId connects again
        delay = self.first_delay
        last: AppError = BackendUnavailable(
            "The live connection to ComfyUI was lost.", key="error.image_server_lost"
        )
        for _attempt in range(self.attempts):
            await asyncio.sleep(delay)
            try:
                self._ws = await self._connect()
            except BackendUnavailable as exc:
                last = exc
                delay = min(delay * 2, self.max_delay)
                continue
            self.reconnects += 1
            log.info("ComfyUI websocket reconnected (%s)", self.url)
            self._dispatch(WsReconnected())
            return True
        self._ws = None
        self._dispatch(
            WsLost(
                BackendUnavailable(
                    "The connection to ComfyUI broke off and could not be restored: ComfyUI "
                    "has stopped or cannot be reached any more.",
                    detail=f"{self.url}: {last.detail or last.user_message}",
                    key="error.image_server_lost",
                )
            )
        )
        return False
