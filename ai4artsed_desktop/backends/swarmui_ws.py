"""The websocket half of the SwarmUI client: frame transport and the per-job event tracker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import websockets
from websockets.asyncio.client import connect

from ..errors import BackendProtocolError, BackendUnavailable
from ..events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    OutputFile,
)
from .swarmui_frames import (
    WsClose,
    WsDiscard,
    WsError,
    WsFrame,
    WsImage,
    WsProgress,
    WsSilence,
    WsStatus,
    parse_ws_frame,
)
from .swarmui_parsing import BACKEND

Event = JobQueued | JobStarted | JobProgress | JobPreview | JobFinished | JobFailed | JobInterrupted

#: Previews arrive as base64 data URLs inside JSON; allow big frames.
MAX_FRAME_BYTES = 64 * 1024 * 1024
OPEN_TIMEOUT_S = 10.0


async def ws_frames(
    url: str, body: dict[str, Any], *, silence: float = 90.0
) -> AsyncGenerator[WsFrame, None]:
    """Connect, send ``body`` as the one request frame, then yield parsed frames until close.

    Binary frames are skipped. After ``silence`` seconds without any frame a
    :class:`WsSilence` is yielded (SwarmUI sends keep-alive frames during long waits, so
    silence means trouble) and reading goes on. Always use it inside
    ``contextlib.aclosing`` so an early exit closes the socket.

    Raises:
        BackendUnavailable: the server cannot be reached.
        BackendProtocolError: the handshake was refused or the connection broke off.
    """
    try:
        async with connect(
            url, max_size=MAX_FRAME_BYTES, open_timeout=OPEN_TIMEOUT_S, proxy=None
        ) as socket:
            await socket.send(json.dumps(body))
            while True:
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancel that arrives together with a frame (Stop is lost).
                    async with asyncio.timeout(silence):
                        message = await socket.recv()
                except TimeoutError:
                    yield WsSilence(silence)
                    continue
                except websockets.ConnectionClosedOK:
                    return
                if isinstance(message, str):
                    yield parse_ws_frame(_decode(message))
    except websockets.ConnectionClosedError as exc:
        raise BackendProtocolError(
            f"The connection to {BACKEND} broke off during generation.",
            detail=repr(exc),
            key="error.backend_broke_off",
            params={"backend": BACKEND},
        ) from exc
    except websockets.InvalidStatus as exc:
        raise BackendProtocolError(
            f"{BACKEND} refused the generation socket (HTTP {exc.response.status_code}).",
            detail=repr(exc),
            key="error.backend_refused_http",
            params={"backend": BACKEND, "status": exc.response.status_code},
        ) from exc
    except websockets.InvalidHandshake as exc:
        raise BackendProtocolError(
            f"{BACKEND} did not open the generation socket.",
            detail=repr(exc),
            key="error.image_server_no_live",
        ) from exc
    except (OSError, TimeoutError) as exc:
        raise BackendUnavailable(
            f"{BACKEND} is not reachable. It may still be starting or it has stopped.",
            detail=repr(exc),
            key="error.backend_unreachable",
            params={"backend": BACKEND},
        ) from exc


def _decode(message: str) -> Any:
    try:
        return json.loads(message)
    except ValueError:
        return None


def _is_interrupt(frame: WsError) -> bool:
    """SwarmUI's answer to InterruptAll: "Generation session interrupted." (no error_id)."""
    return not frame.error_id and "interrupted" in frame.message.lower()


class WsJobTracker:
    """Turns ``GenerateText2ImageWS`` frames into ``events.py`` events for one job.

    Args:
        job_id: the id the events carry (chosen by the client).
        expected_images: how many images were requested.
    """

    def __init__(self, job_id: str, expected_images: int) -> None:
        self.job_id = job_id
        self.expected = expected_images
        self.images: list[tuple[int, str]] = []  # (server batch_index, path)
        self.discarded: set[int] = set()
        self.interrupted = False
        self.queued = False
        self.started = False
        self.failed = False
        self.closed = False

    def handle(self, frame: WsFrame) -> tuple[list[Event], bool]:
        """Events for one frame, and whether the job is over (error or close intention)."""
        events: list[Event] = []
        if isinstance(frame, WsStatus | WsProgress | WsImage) and not self.queued:
            self.queued = True
            events.append(JobQueued(self.job_id))
        if isinstance(frame, WsProgress | WsImage) and not self.started:
            self.started = True
            events.append(JobStarted(self.job_id))
        if isinstance(frame, WsProgress):
            events.append(JobProgress(self.job_id, step=round(frame.overall * 100), total=100))
            if frame.preview is not None:
                events.append(JobPreview(self.job_id, frame.preview, frame.preview_mime))
        elif isinstance(frame, WsImage):
            if frame.is_result:  # grids (-1) and intermediate steps (<= -11) are not results
                self.images.append((frame.batch_index, frame.path))
        elif isinstance(frame, WsDiscard):
            self.discarded.update(frame.indices)
        elif isinstance(frame, WsError) and _is_interrupt(frame):
            self.interrupted = True
            events.append(JobInterrupted(self.job_id))
            return events, True
        elif isinstance(frame, WsError):
            self.failed = True
            detail = f"error_id={frame.error_id}" if frame.error_id else frame.message
            events.append(JobFailed(self.job_id, f"{BACKEND}: {frame.message}", detail=detail))
            return events, True
        elif isinstance(frame, WsClose):
            self.closed = True
            return events, True
        return events, False

    def outputs(self) -> tuple[OutputFile, ...]:
        """The images that were not discarded, as ``OutputFile(type="swarm")``."""
        return tuple(
            OutputFile(filename=path, type="swarm")
            for index, path in self.images
            if index not in self.discarded
        )

    @property
    def over(self) -> bool:
        """The server said the job ended (done, failed or interrupted)."""
        return self.closed or self.failed or self.interrupted

    def finish(self, *, interrupted: bool) -> list[Event]:
        """The closing event after the socket ended.

        Raises:
            BackendProtocolError: the server closed before saying it was done.
        """
        if self.failed or self.interrupted:
            return []
        if interrupted and len(self.images) < self.expected:
            return [JobInterrupted(self.job_id)]
        if not self.closed:
            raise BackendProtocolError(
                f"{BACKEND} closed the generation socket before the job was finished.",
                detail=f"{len(self.images)} of {self.expected} images received",
                key="error.image_server_closed",
            )
        return [JobFinished(self.job_id, self.outputs())]
