"""Sessions, the simulated backend and the generation engine of the SwarmUI simulator."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .swarm_common import VERSION, Knobs
from .swarm_images import (
    data_url,
    encode_png,
    output_relpath,
    preview_jpeg,
    render_image,
    write_output,
)

SESSION_MAX_AGE_S = 31 * 24 * 3600


class SessionStore:
    """Session ids, optionally persisted in a JSON file so they survive a restart.

    Args:
        path: the JSON file, or None for ``--no_persist``.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._sessions: dict[str, float] = {}
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text("utf-8"))
                now = time.time()
                self._sessions = {
                    str(sid): float(created)
                    for sid, created in raw.get("sessions", {}).items()
                    if now - float(created) < SESSION_MAX_AGE_S
                }
            except (OSError, ValueError, AttributeError):
                self._sessions = {}

    def new(self) -> str:
        """Create, remember and persist a new session id."""
        sid = secrets.token_hex(20).upper()
        self._sessions[sid] = time.time()
        self._save()
        return sid

    def valid(self, sid: str) -> bool:
        """True if ``sid`` is a live session."""
        return sid in self._sessions

    def expire_all(self) -> int:
        """Drop every session (the control hook); returns how many were dropped."""
        count = len(self._sessions)
        self._sessions.clear()
        self._save()
        return count

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sessions": self._sessions}), "utf-8")
        os.replace(tmp, self._path)


@dataclass
class Backend:
    """The one backend (id 0): a self-started ComfyUI, or a built-in one with ``--no-comfy``."""

    type: str
    status: str = "waiting"
    message: str = ""
    port: int | None = None
    current_model: str | None = None
    last_used: float = field(default_factory=time.monotonic)
    modcount: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    start_now: asyncio.Event = field(default_factory=asyncio.Event)

    async def start_delay(self, seconds: float) -> None:
        """Wait ``seconds`` before starting, unless the control hook says to start now."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.start_now.wait(), seconds)

    def set_status(self, status: str, message: str = "") -> None:
        """Change the status (and the ready flag that waiting generations watch)."""
        self.status = status
        self.message = message
        self.modcount += 1
        if status in ("running", "idle"):
            self.ready.set()
        else:
            self.ready.clear()


@dataclass(frozen=True)
class GenRequest:
    """A validated text-to-image request."""

    session_id: str
    prompt: str
    model: str
    images: int
    seed: int
    seed_increment: bool
    steps: int
    width: int
    height: int
    donotsave: bool
    metadata: dict[str, Any]


@dataclass
class GenResult:
    """What a generation produced; ``interrupted`` when InterruptAll stopped it early."""

    images: list[str] = field(default_factory=list)
    interrupted: bool = False
    #: ``batch_index`` values the client should drop (the intermediate images).
    discard: list[int] = field(default_factory=list)


ProgressFn = Callable[[int, float, float, str | None, str | None], Awaitable[None]]
ImageFn = Callable[[int, str, str], Awaitable[None]]


class Interrupted(Exception):
    """Raised inside the engine when the generation's cancel flag was set."""


async def _wait_for_event(target: asyncio.Event, cancel: asyncio.Event) -> None:
    """Wait until ``target`` is set; raise :class:`Interrupted` if ``cancel`` is set first."""
    while not target.is_set():
        if cancel.is_set():
            raise Interrupted
        waiters = [asyncio.ensure_future(target.wait()), asyncio.ensure_future(cancel.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
    if cancel.is_set():
        raise Interrupted


class Engine:
    """Runs generations one at a time on the backend, like a backend with ``max_usages`` 1.

    Generations wait (counted as ``waiting_backends``) until the backend is ready, then
    queue for it (``waiting_gens``), "load" the model and step through the sampler with a
    delay per step, writing deterministic PNGs.
    """

    def __init__(self, backend: Backend, output_root: Path, user: str, knobs: Knobs) -> None:
        self.backend = backend
        self.output_root = output_root
        self.user = user
        self.knobs = knobs
        self.waiting_gens = 0
        self.loading_models = 0
        self.waiting_backends = 0
        self.live_gens = 0
        self._free = asyncio.Event()
        self._free.set()
        self._cancels: dict[str, set[asyncio.Event]] = {}

    def status(self) -> dict[str, Any]:
        """The ``status`` / ``backend_status`` / ``supported_features`` snapshot."""
        backend = self.backend
        return {
            "status": {
                "waiting_gens": self.waiting_gens,
                "loading_models": self.loading_models,
                "waiting_backends": self.waiting_backends,
                "live_gens": self.live_gens,
            },
            "backend_status": {
                "status": backend.status,
                "class": "" if backend.status == "running" else "log_message_warning",
                "message": backend.message,
                "any_loading": backend.status in ("waiting", "loading"),
            },
            "supported_features": ["comfyui", "refiners", "controlnet", "sd3", "flux-dev"],
        }

    def interrupt(self, session_id: str, other_sessions: bool) -> int:
        """Set the cancel flag of this session's (or every session's) generations."""
        count = 0
        for sid, flags in self._cancels.items():
            if sid == session_id or other_sessions:
                for flag in flags:
                    flag.set()
                    count += 1
        return count

    async def generate(
        self, req: GenRequest, on_progress: ProgressFn, on_image: ImageFn
    ) -> GenResult:
        """Run one request; returns early (``interrupted``) if InterruptAll hits it."""
        cancel = asyncio.Event()
        self._cancels.setdefault(req.session_id, set()).add(cancel)
        result = GenResult()
        try:
            await self._queue(cancel)
            try:
                self.live_gens += 1
                await self._run(req, cancel, result, on_progress, on_image)
            finally:
                self.live_gens -= 1
                self.backend.last_used = time.monotonic()
                self._free.set()
        except Interrupted:
            result.interrupted = True
        finally:
            self._cancels[req.session_id].discard(cancel)
        return result

    async def _queue(self, cancel: asyncio.Event) -> None:
        self.waiting_gens += 1
        try:
            if not self.backend.ready.is_set():
                self.waiting_backends += 1
                try:
                    await _wait_for_event(self.backend.ready, cancel)
                finally:
                    self.waiting_backends -= 1
            while not self._free.is_set():
                await _wait_for_event(self._free, cancel)
                await _wait_for_event(self.backend.ready, cancel)
            self._free.clear()
        finally:
            self.waiting_gens -= 1

    async def _pause(self, seconds: float, cancel: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(cancel.wait(), seconds)
        except TimeoutError:
            return
        raise Interrupted

    async def _run(
        self,
        req: GenRequest,
        cancel: asyncio.Event,
        result: GenResult,
        on_progress: ProgressFn,
        on_image: ImageFn,
    ) -> None:
        if self.backend.current_model != req.model:
            self.loading_models += 1
            try:
                await self._pause(self.knobs.step_s * 2, cancel)
            finally:
                self.loading_models -= 1
            self.backend.current_model = req.model
        steps = max(1, req.steps)
        preview_every = max(1, steps // 4)
        for index in range(req.images):
            seed = req.seed + index if req.seed_increment else req.seed
            metadata = json.dumps({**req.metadata, "seed": seed, "swarm_version": VERSION})
            for step in range(1, steps + 1):
                await self._pause(self.knobs.step_s, cancel)
                current = step / steps
                if self.knobs.intermediates and step == max(1, steps // 2) and step < steps:
                    # SwarmUI's own numbering: intermediate images are <= -11, not results
                    jpeg = await asyncio.to_thread(preview_jpeg, req.prompt, seed, current)
                    await on_image(-11 - index, data_url("image/jpeg", jpeg), metadata)
                    result.discard.append(-11 - index)
                preview = None
                if step % preview_every == 0 and step < steps:
                    jpeg = await asyncio.to_thread(preview_jpeg, req.prompt, seed, current)
                    preview = data_url("image/jpeg", jpeg)
                overall = (index + current) / req.images
                await on_progress(index, overall, current, preview, metadata if step == 1 else None)
            path = await asyncio.to_thread(self._produce, req, seed)
            result.images.append(path)
            await on_image(index, path, metadata)

    def _produce(self, req: GenRequest, seed: int) -> str:
        """Render, encode and store one image; returns the path or data URL the API reports."""
        image = render_image(req.prompt, seed, req.width, req.height)
        png = encode_png(image, {**req.metadata, "seed": seed})
        if req.donotsave:
            return data_url("image/png", png)
        rel = output_relpath(dt.datetime.now(), req.prompt, req.model, seed)
        final = write_output(self.output_root / self.user, rel, png)
        return f"View/{self.user}/{final}"
