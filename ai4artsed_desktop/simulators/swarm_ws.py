"""The SwarmUI simulator's ``GenerateText2ImageWS`` websocket route."""

from __future__ import annotations

import asyncio
import json
import traceback
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .swarm_common import RouteError
from .swarm_params import build_request

if TYPE_CHECKING:
    from .swarm_api import SwarmServer

FIRST_REQUEST_TIMEOUT_S = 60.0
STATUS_POLL_S = 0.1


class _Sender:
    """Serialises frames from the generation and the status watcher onto one socket.

    Once the client has left, frames go nowhere (``gone``): the generation goes on, as
    in SwarmUI, where only ``InterruptAll`` stops a generation.
    """

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._lock = asyncio.Lock()
        self.last_sent = asyncio.get_running_loop().time()
        self.gone = False

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._lock:
            if self.gone:
                return
            await self.ws.send_str(json.dumps(frame))
            self.last_sent = asyncio.get_running_loop().time()


async def generate_ws(server: SwarmServer, request: web.Request) -> web.StreamResponse:
    """Serve one websocket: requests in, status/progress/image frames out, then close.

    After each request the server announces ``socket_intention: close`` and waits about
    2 s (``FAKE_SWARM_WS_LINGER_MS``) for another request on the same socket before it
    sends a final status snapshot and closes.
    """
    ws = web.WebSocketResponse(max_msg_size=16 * 1024**2)
    await ws.prepare(request)
    sender = _Sender(ws)
    timeout = FIRST_REQUEST_TIMEOUT_S
    served = False
    try:
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), timeout)
            except TimeoutError:
                break
            if message.type != WSMsgType.TEXT:
                break
            served = await _one_request(server, sender, message.data)
            if not served:
                break
            await sender.send({"socket_intention": "close"})
            timeout = server.knobs.ws_linger_s
        if served and not ws.closed:
            await sender.send(server.engine.status())
    except (ConnectionError, RuntimeError):
        server.log.debug("GenerateText2ImageWS: client went away.")
    finally:
        await ws.close()
    return ws


def _check_request(
    server: SwarmServer, text: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(body, None) for a usable request frame, else (None, the error frame to send)."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return None, {"error_id": "basic_api", "error": "null input"}
    session_id = str(body.get("session_id") or "")
    if not session_id:
        return None, {"error_id": "basic_api", "error": "missing session id"}
    if not server.sessions.valid(session_id):
        return None, {
            "error": "Invalid session ID. You may need to refresh the page.",
            "error_id": "invalid_session_id",
        }
    return body, None


async def _one_request(server: SwarmServer, sender: _Sender, text: str) -> bool:
    """Handle one JSON request frame; False when the socket should close at once."""
    body, refusal = _check_request(server, text)
    if refusal is not None:
        await sender.send(refusal)
        return False
    assert body is not None
    await sender.send(server.engine.status())
    try:
        req = build_request(body, server.catalog, str(body["session_id"]), server.log)
    except RouteError as exc:
        await sender.send({"error": exc.message})
        return True
    watcher = asyncio.ensure_future(_watch_status(server, sender))
    generation = asyncio.ensure_future(_run_generation(server, sender, req))
    try:
        if await _client_left_during(sender.ws, generation):
            sender.gone = True
            _detach(server, generation)
            return False
        generation.result()
    except RouteError as exc:
        await sender.send({"error": exc.message})
    except (ConnectionError, RuntimeError):
        raise
    except Exception:
        server.log.error(f"Generation failed:\n{traceback.format_exc()}")
        await sender.send({"error": "Generation failed: an internal error occurred."})
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        if generation not in server.detached:
            generation.cancel()
            await asyncio.gather(generation, return_exceptions=True)
    return True


def _detach(server: SwarmServer, generation: asyncio.Future[None]) -> None:
    """Let a generation whose client left run to its end (SwarmUI does not stop it)."""
    server.log.info("Client left GenerateText2ImageWS; the generation goes on (InterruptAll).")
    server.detached.add(generation)

    def done(task: asyncio.Future[None]) -> None:
        server.detached.discard(task)
        if not task.cancelled() and task.exception() is None:
            server.stats["finished_without_client"] += 1

    generation.add_done_callback(done)


async def _client_left_during(ws: web.WebSocketResponse, generation: asyncio.Future[None]) -> bool:
    """Keep reading while generating, so a client's close is answered (and stops the work).

    Returns True if the client closed before the generation finished.
    """
    while True:
        reader = asyncio.ensure_future(ws.receive())
        pending: set[asyncio.Future[Any]] = {generation, reader}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if generation.done():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            return False
        if reader.result().type != WSMsgType.TEXT:  # close, closing or error
            return True
        # Another request while one is running: like the real server, not queued here.


async def _run_generation(server: SwarmServer, sender: _Sender, req: Any) -> None:
    server.request_counter += 1
    request_id = str(server.request_counter)

    async def on_progress(
        index: int, overall: float, current: float, preview: str | None, metadata: str | None
    ) -> None:
        progress: dict[str, Any] = {
            "batch_index": str(index),
            "request_id": request_id,
            "overall_percent": round(overall, 4),
            "current_percent": round(current, 4),
        }
        if metadata is not None:
            progress["metadata"] = metadata
        if preview is not None:
            progress["preview"] = preview
        await sender.send({"gen_progress": progress})

    async def on_image(index: int, path: str, metadata: str) -> None:
        frame = {"image": path, "batch_index": str(index), "request_id": request_id}
        await sender.send({**frame, "metadata": metadata})

    result = await server.engine.generate(req, on_progress, on_image)
    if result.interrupted:
        server.stats["interrupted"] += 1
        if not result.images:  # SwarmUI's answer to an interrupt before any image
            raise RouteError("Generation session interrupted.")
    await sender.send({"discard_indices": list(result.discard)})


async def _watch_status(server: SwarmServer, sender: _Sender) -> None:
    """Send a status snapshot when it changes, and ``keep_alive`` during long silences."""
    loop = asyncio.get_running_loop()
    last = json.dumps(server.engine.status(), sort_keys=True)
    while True:
        await asyncio.sleep(STATUS_POLL_S)
        snapshot = server.engine.status()
        encoded = json.dumps(snapshot, sort_keys=True)
        if encoded != last:
            last = encoded
            await sender.send(snapshot)
        elif loop.time() - sender.last_sent >= server.knobs.keepalive_s:
            await sender.send({"keep_alive": True})
