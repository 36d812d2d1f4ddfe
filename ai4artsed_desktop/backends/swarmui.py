"""SwarmUI client: sessions, text-to-image (blocking and websocket), models, backends.

Swarm's conventions (protocols.md section 3): every call is ``POST /API/<Route>`` with a
JSON body carrying ``session_id``; an expired session answers ``invalid_session_id``
(HTTP 401, but check every status); route-level failures come back as HTTP 200 with an
``error`` key. The health probe is ``POST GetNewSession``, never a GET (GET redirects to
an HTML page). Raw ComfyUI calls go through ``/ComfyBackendDirect``, see
:meth:`SwarmClient.comfy_base_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any

from ..errors import AppError, BackendProtocolError, BackendRequestError, BackendUnavailable
from .http import (
    LONG_TIMEOUT,
    MAX_MEDIA_BYTES,
    QUICK_TIMEOUT,
    make_client,
    normalize_base_url,
    parse_json,
    request_capped,
    translate_errors,
)
from .swarmui_frames import WsError, WsSilence
from .swarmui_parsing import (
    BACKEND,
    INVALID_SESSION,
    SessionInfo,
    SwarmBackend,
    SwarmModel,
    SwarmStatus,
    Text2ImageParams,
    decode_data_url,
    is_invalid_session,
    parse_backends,
    parse_images,
    parse_models,
    parse_session,
    parse_status,
    raise_for_answer,
    view_url_path,
)
from .swarmui_ws import Event, WsJobTracker, ws_frames

__all__ = [
    "SessionInfo",
    "SwarmBackend",
    "SwarmClient",
    "SwarmModel",
    "SwarmStatus",
    "Text2ImageParams",
]

log = logging.getLogger(__name__)

COMFY_DIRECT_PREFIX = "/ComfyBackendDirect"


class SwarmClient:
    """Async client for one SwarmUI server (``async with`` or :meth:`aclose`).

    The session is created on first use and renewed once, transparently, when the server
    says it is invalid. A change of ``server_id`` between sessions means the server
    restarted; :attr:`restart_count` counts those.

    Args:
        base_url: ``http://127.0.0.1:7801`` (or ``host:port``).
        silence: seconds without any frame during a generation before the watchdog asks
            the server whether it is still there (no limit on the generation as a whole).
    """

    def __init__(self, base_url: str, *, silence: float = 90.0) -> None:
        self.silence = silence  # the generation watchdog (seconds without any frame)
        self._base = normalize_base_url(base_url)
        self._http = make_client(self._base)
        self._session: SessionInfo | None = None
        self._session_lock = asyncio.Lock()
        self._server_id: str | None = None
        self._interrupts = 0
        self.restart_count = 0

    async def __aenter__(self) -> SwarmClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        """The normalised server URL."""
        return self._base

    @property
    def session(self) -> SessionInfo | None:
        """The current session, if one was created."""
        return self._session

    # ------------------------------------------------------------------ plumbing

    async def _post(self, route: str, body: dict[str, Any], long_running: bool) -> tuple[int, Any]:
        """POST one API call; returns (status, decoded JSON). Non-JSON answers raise."""
        async with translate_errors(BACKEND):
            response = await request_capped(
                self._http, "POST", f"/API/{route}", backend=BACKEND, what=route, json=body,
                timeout=LONG_TIMEOUT if long_running else QUICK_TIMEOUT,
            )  # fmt: skip
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type:
            raise BackendProtocolError(
                f"{BACKEND} answered {route} with something that is not JSON "
                f"(HTTP {response.status_code}). Is this really SwarmUI?",
                detail=f"{content_type}: {response.text[:300]}",
                key="error.backend_protocol",
                params={"backend": BACKEND},
            )
        return response.status_code, parse_json(response.content, BACKEND, route)

    async def new_session(self) -> SessionInfo:
        """Open a new session (and notice a server restart through ``server_id``)."""
        status, body = await self._post("GetNewSession", {}, False)
        info = parse_session(raise_for_answer(status, body, "GetNewSession"))
        if self._server_id and info.server_id and info.server_id != self._server_id:
            self.restart_count += 1
            log.info("%s restarted (server id %s -> %s)", BACKEND, self._server_id, info.server_id)
        self._server_id = info.server_id or self._server_id
        self._session = info
        return info

    async def _ensure_session(self) -> SessionInfo:
        async with self._session_lock:
            if self._session is None:
                return await self.new_session()
            return self._session

    async def _renew_session(self, rejected: str) -> SessionInfo:
        """A new session unless another task already replaced the rejected one."""
        async with self._session_lock:
            if self._session is not None and self._session.session_id != rejected:
                return self._session
            log.info("%s session expired; opening a new one", BACKEND)
            return await self.new_session()

    async def health(self) -> bool:
        """True if the API answers a ``POST GetNewSession`` (the session is kept for reuse)."""
        try:
            await self.new_session()
        except AppError:
            return False
        return True

    async def call(
        self, route: str, body: dict[str, Any], *, long_running: bool = False
    ) -> dict[str, Any]:
        """Call ``/API/<route>`` with the session added; one transparent session renewal.

        ``long_running`` allows minutes for the answer (generation, model loads).

        Raises:
            BackendRequestError: Swarm refused (``error`` in a 200 answer, permissions).
            BackendProtocolError: malformed call, non-JSON answer, or sessions keep failing.
            BackendUnavailable: the server cannot be reached or timed out.
        """
        session = await self._ensure_session()
        for attempt in range(2):
            payload = {**body, "session_id": session.session_id}
            status, answer = await self._post(route, payload, long_running)
            if not is_invalid_session(answer):
                return raise_for_answer(status, answer, route)
            if attempt == 0:
                session = await self._renew_session(session.session_id)
        raise BackendProtocolError(
            f"{BACKEND} rejected a brand-new session. Try restarting SwarmUI.",
            detail=f"route {route}: {INVALID_SESSION} twice",
            key="error.swarmui_session",
        )

    # ------------------------------------------------------------------ generation

    async def generate_text2image(self, params: Text2ImageParams) -> list[str]:
        """Generate and wait (may block for minutes); returns image paths or ``data:`` URLs."""
        answer = await self.call("GenerateText2Image", params.to_body(), long_running=True)
        return parse_images(answer)

    async def generate_text2image_ws(self, params: Text2ImageParams) -> AsyncGenerator[Event, None]:
        """Generate over the websocket, streaming queue/progress/preview events.

        Yields ``JobQueued``, ``JobStarted``, ``JobProgress`` (percent as step of 100),
        ``JobPreview``, then ``JobFinished`` (``OutputFile(type="swarm")`` per image path),
        ``JobFailed`` on an error frame, or ``JobInterrupted`` if :meth:`interrupt_all` on
        this client stopped it early. Close it with ``contextlib.aclosing``.
        """
        job_id = uuid.uuid4().hex
        interrupts_before = self._interrupts
        url = "ws" + self._base.removeprefix("http") + "/API/GenerateText2ImageWS"
        session = await self._ensure_session()
        for attempt in range(2):
            tracker = WsJobTracker(job_id, params.images)
            body = {**params.to_body(), "session_id": session.session_id}
            rejected = False
            try:
                frames_of = ws_frames(url, body, silence=self.silence)
                async with contextlib.aclosing(frames_of) as frames:
                    async for frame in frames:
                        if isinstance(frame, WsSilence):
                            await self._still_there(frame.seconds)
                            continue
                        if isinstance(frame, WsError) and frame.error_id == INVALID_SESSION:
                            rejected = True
                            break
                        events, done = tracker.handle(frame)
                        for event in events:
                            yield event
                        if done:
                            break
            except BaseException:
                # Stop, a cancel, a closed consumer or a broken socket: closing the socket
                # does not stop SwarmUI's generation, only InterruptAll does.
                if not tracker.over:
                    await self._interrupt_quietly()
                raise
            if not rejected:
                for event in tracker.finish(interrupted=self._interrupts != interrupts_before):
                    yield event
                return
            if attempt == 0:
                session = await self._renew_session(session.session_id)
        raise BackendProtocolError(
            f"{BACKEND} rejected a brand-new session. Try restarting SwarmUI.",
            detail=f"GenerateText2ImageWS: {INVALID_SESSION} twice",
            key="error.swarmui_session",
        )

    async def fetch_image(self, path: str) -> bytes:
        """The bytes of an image path from a generation (``data:`` URLs are decoded).

        Raises:
            BackendRequestError: a path that leaves the output folder, or a missing file.
        """
        if path.startswith("data:"):
            return decode_data_url(path)[0]
        url_path = view_url_path(path)
        async with translate_errors(BACKEND):
            response = await request_capped(
                self._http, "GET", url_path, backend=BACKEND, what="image",
                limit=MAX_MEDIA_BYTES,
            )  # fmt: skip
        if response.status_code == 200:
            return response.content
        if response.status_code in (400, 401, 403, 404):
            raise BackendRequestError(
                f"{BACKEND} could not hand out the image.",
                detail=f"HTTP {response.status_code} {url_path}: {response.text[:300]}",
                key="error.swarmui_no_image",
                status=response.status_code,
            )
        raise BackendProtocolError(
            f"{BACKEND} answered an image request with HTTP {response.status_code}.",
            detail=response.text[:300],
            key="error.backend_refused_http",
            params={"backend": BACKEND, "status": response.status_code},
        )

    # ------------------------------------------------------------------ models and backends

    async def list_models(self, subtype: str = "Stable-Diffusion") -> list[SwarmModel]:
        """Models of a subtype (``Stable-Diffusion``, ``LoRA``, ``VAE``...), all folders."""
        body = {"path": "", "depth": 10, "subtype": subtype}
        return parse_models(await self.call("ListModels", body))

    async def list_backends(self) -> list[SwarmBackend]:
        """The configured backends with their status."""
        body = {"nonreal": False, "full_data": True}
        return parse_backends(await self.call("ListBackends", body))

    async def current_status(self) -> SwarmStatus:
        """Queue counters and the overall backend status."""
        return parse_status(await self.call("GetCurrentStatus", {}))

    async def comfy_ready(self) -> bool:
        """True when at least one backend is running (idle counts), i.e. generation can start."""
        return any(backend.is_ready for backend in await self.list_backends())

    async def interrupt_all(self) -> None:
        """Cancel this session's queued and running generations."""
        self._interrupts += 1
        await self.call("InterruptAll", {"other_sessions": False})

    async def _still_there(self, seconds: float) -> None:
        """The inactivity watchdog: SwarmUI was silent for ``seconds``; does it answer?

        Raises:
            BackendUnavailable: it does not; the generation cannot finish.
        """
        log.info("%s silent for %.0f s during a generation; asking it", BACKEND, seconds)
        try:
            await self.current_status()
        except AppError as exc:
            raise BackendUnavailable(
                f"{BACKEND} stopped answering during the generation (nothing for "
                f"{seconds:.0f} seconds, and it does not reply). It may have crashed; restart "
                "it in Settings and try again.",
                detail=exc.detail or exc.user_message,
                key="error.image_server_silent",
                params={"seconds": f"{seconds:.0f}"},
            ) from exc

    async def _interrupt_quietly(self, within: float = 5.0) -> None:
        """InterruptAll after an early end, even while the caller is being cancelled.

        The call is shielded from the cancel and bounded in time; a failure is logged (the
        run ends anyway; the generation then finishes on the server by itself).
        """
        task = asyncio.ensure_future(asyncio.wait_for(self.interrupt_all(), within))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), within)
            raise
        except Exception as exc:  # logged: nothing better to do while leaving
            log.warning("%s: InterruptAll after an early close failed: %r", BACKEND, exc)

    async def free_backend_memory(self) -> int:
        """Unload models on every running backend; returns how many backends were freed."""
        answer = await self.call("FreeBackendMemory", {"system_ram": False, "backend": "all"})
        count = answer.get("count", 0)
        return count if isinstance(count, int) and not isinstance(count, bool) else 0

    async def trigger_refresh(self) -> None:
        """Rescan model folders (needed before using a LoRA that was just copied in)."""
        await self.call("TriggerRefresh", {"strong": True}, long_running=True)

    def comfy_base_url(self) -> tuple[str, str]:
        """``(base_url, "/ComfyBackendDirect")`` for a ComfyUI client with a path prefix."""
        return self._base, COMFY_DIRECT_PREFIX
