"""What each output's model files look like right now: one Qt-free board the whole app reads.

The board is filled when the image engine (ComfyUI, or SwarmUI's ComfyUI) becomes ready and
again by every generation's own check, so Create can grey an output with the missing file and
its folder named before anyone typed an idea, and doctor and Create tell the same story.
The board also keeps what is known of the vision model (role ``vision``): at *kids* with the
media check on, image outputs are greyed before a run when there is none, with the
``ollama pull ...`` that fixes it (:meth:`ModelStatusBoard.images_unavailable`).
View-models listen with :meth:`ModelStatusBoard.add_listener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from ..backends import launchers
from ..content.schema import ContentLibrary, OutputConfig, Route
from ..errors import AppError
from ..events import BackendState, BackendStateChanged
from ..models.catalogue import load_catalogue
from ..settings import Settings
from .availability import (
    Availability,
    FolderListing,
    ModelState,
    ObjectInfoSource,
    resolve_models,
)
from .model_files import LocalModels
from .safety_media import VisionState, images_unavailable

log = logging.getLogger(__name__)

Listener = Callable[[], None]

#: Looks the vision model up now; None when Ollama cannot be asked (``MediaGate.vision_state``).
VisionLookup = Callable[[], Awaitable[VisionState | None]]


class ComfySource(Protocol):
    """Hands out a ready ComfyUI client (the BackendManager has it)."""

    async def comfy(self) -> ObjectInfoSource:
        """A ready ComfyUI client."""
        ...


def local_models(settings: Settings, *, demo: bool = False) -> LocalModels | None:
    """The models folders of the ComfyUI the app starts itself, when there is one.

    None for a remote server, SwarmUI and demo mode: then only the names ComfyUI lists are
    known, and files cannot be checked for damage.
    """
    if demo or settings.demo_mode or settings.image_engine != "comfyui":
        return None
    if settings.comfyui.mode == "remote" and settings.comfyui.url.strip():
        return None
    folder = launchers.comfyui_dir(settings.comfyui)
    return LocalModels.of_comfyui(folder, published_sizes()) if folder is not None else None


@functools.cache
def published_sizes() -> dict[str, int]:
    """The model catalogue's confirmed file sizes (lower-case name -> bytes).

    The quick check at every start compares each model file with these (a stat, no
    reading). A broken catalogue leaves the check on headers alone; it never blocks a start.
    """
    try:
        return load_catalogue().sizes()
    except AppError as exc:
        log.warning("Model catalogue not used for the size check: %s", exc)
        return {}


def needs_models(output: OutputConfig) -> bool:
    """True for outputs whose model files ComfyUI must have."""
    return output.route is Route.comfyui and bool(output.required_models)


class ModelStatusBoard:
    """The latest :class:`Availability` of every ComfyUI output.

    Args:
        content: The outputs to check (``None``: only outputs passed to :meth:`check`).
        local: Returns the local models folders now (settings may change), or None.
        vision: Looks the vision model up (None: image outputs are never greyed for it).
    """

    def __init__(
        self,
        content: ContentLibrary | None = None,
        local: Callable[[], LocalModels | None] = lambda: None,
        vision: VisionLookup | None = None,
    ) -> None:
        self._content = content
        self._local = local
        self._vision_lookup = vision
        self._vision: VisionState | None = None  # not known until looked up
        self._ollama_ready = False
        self._results: dict[str, Availability] = {}
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready: ComfySource | None = None  # the engine, while it is ready

    # ------------------------------------------------------------------ reading
    def get(self, output_id: str) -> Availability | None:
        """The latest result for ``output_id``; None when never checked or no models needed."""
        return self._results.get(output_id)

    def results(self) -> dict[str, Availability]:
        """Every result, by output id."""
        return dict(self._results)

    @property
    def vision(self) -> VisionState | None:
        """The vision model as last looked up; None when not known yet."""
        return self._vision

    def images_unavailable(self, level: str, *, media_check: bool) -> VisionState | None:
        """The missing vision model when image outputs cannot run at ``level``, else None."""
        vision = self._vision
        return vision if images_unavailable(level, enabled=media_check, vision=vision) else None

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` whenever a result changes; returns the remover."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    # ------------------------------------------------------------------ checking
    def _outputs(self) -> list[OutputConfig]:
        if self._content is None:
            return []
        return [o for o in self._content.sorted_outputs() if o.enabled and needs_models(o)]

    def _store(self, updates: dict[str, Availability]) -> None:
        changed = {k: v for k, v in updates.items() if self._results.get(k) != v}
        if not changed:
            return
        self._results.update(changed)
        self._tell()

    def _tell(self) -> None:
        for listener in list(self._listeners):
            listener()

    def forget(self) -> None:
        """Drop every result: another engine or server; nothing is greyed until it was checked."""
        self._ready = None
        if self._results:
            self._results.clear()
            self._tell()

    def recheck(self) -> bool:
        """Check again now if the image engine is ready; never starts a server.

        A teacher may have copied a file in while ComfyUI ran. Returns False when the engine
        is not ready (nothing is checked).
        """
        if self._ready is None:
            return False
        self._spawn(self._refresh_from(self._ready.comfy))
        return True

    async def check_vision(self) -> VisionState | None:
        """Look the vision model up now and record it; listeners hear of a change.

        When Ollama cannot be asked the last known state stays (the run checks again).
        """
        if self._vision_lookup is None:
            return None
        state = await self._vision_lookup()
        if state is not None and state != self._vision:
            self._vision = state
            log.info("Vision model: %s", state.missing or f"{state.model} installed")
            self._tell()
        return self._vision

    def recheck_vision(self) -> bool:
        """Look the vision model up again in the background while Ollama is ready.

        Never starts Ollama (that is the first run's or the Backends page's job). False when
        nothing is looked up.
        """
        if self._vision_lookup is None or not self._ollama_ready:
            return False
        self._spawn(self._lookup_vision())
        return True

    def watch_vision(self) -> Callable[[BackendStateChanged], None]:
        """A backend-state listener that looks the vision model up whenever Ollama is ready."""

        def on_state(event: BackendStateChanged) -> None:
            if event.backend != "ollama":
                return
            self._ollama_ready = event.state is BackendState.ready
            self.recheck_vision()

        return on_state

    async def _lookup_vision(self) -> None:
        try:
            await self.check_vision()
        except AppError as exc:
            log.info("Vision model lookup failed: %s", exc)

    def check_disk(self) -> bool:
        """The quick check at start: damaged model files grey their output at once.

        Reads the local ComfyUI's models folders (size against the catalogue's published
        size, the safetensors header; no weights) with the same :func:`resolve_models` the
        engine check uses. Only damage is recorded: a name missing here may sit in a folder
        only ComfyUI knows (``extra_model_paths.yaml``), so "missing" waits for the engine,
        whose check replaces these results when it is ready. False when there is no local
        folder (remote server, SwarmUI, demo).
        """
        local = self._local()
        if local is None or self._content is None:
            return False
        self._spawn(self._check_disk(local))
        return True

    async def _check_disk(self, local: LocalModels) -> None:
        found: dict[str, Availability] = {}
        for output in self._outputs():
            slots = [
                *output.required_models,
                *(slot for layout in output.layouts for slot in layout.required_models),
            ]
            result = await resolve_models(FolderListing(local, slots), output, local)
            if result.state is ModelState.damaged and output.id not in self._results:
                found[output.id] = result
        self._store(found)
        log.info(
            "Model files checked on disk at start: %s",
            "; ".join(f"{k}: {v.reason}" for k, v in found.items()) or "nothing damaged",
        )

    async def check(self, client: ObjectInfoSource, output: OutputConfig) -> Availability:
        """Check one output now, record and return the result.

        Raises:
            BackendUnavailable, BackendRequestError, BackendProtocolError: ComfyUI could not
                be asked (the old result stays).
        """
        result = await resolve_models(client, output, self._local())
        if needs_models(output):
            self._store({output.id: result})
        return result

    async def refresh(self, client: ObjectInfoSource) -> None:
        """Check every enabled ComfyUI output; a failed request marks them unchecked."""
        results: dict[str, Availability] = {}
        for output in self._outputs():
            try:
                results[output.id] = await resolve_models(client, output, self._local())
            except AppError as exc:
                log.info("Model check of %s failed: %s", output.id, exc)
                results[output.id] = Availability(
                    output.id, ModelState.unchecked, detail=f"ComfyUI could not be asked: {exc}"
                )
        self._store(results)
        summary = {k: v.state.value for k, v in results.items()}
        log.info("Model files checked: %s", summary)

    def watch(
        self, backends: ComfySource, engine: Callable[[], str]
    ) -> Callable[[BackendStateChanged], None]:
        """A backend-state listener that refreshes the board when the image engine is ready.

        Args:
            backends: Where the ComfyUI client comes from.
            engine: The name of the backend that runs workflows now (``comfyui``/``swarmui``).
        """

        def on_state(event: BackendStateChanged) -> None:
            if event.backend != engine():
                return
            if event.state is BackendState.ready:
                self._ready = backends
                self._spawn(self._refresh_from(backends.comfy))
            else:
                self._ready = None

        return on_state

    async def _refresh_from(self, comfy: Callable[[], Awaitable[ObjectInfoSource]]) -> None:
        try:
            client = await comfy()
        except AppError as exc:
            log.info("Model check skipped: %s", exc)
            return
        await self.refresh(client)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            await work

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the checks in progress have ended (nothing is cancelled)."""
        while pending := [t for t in self._tasks if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel checks in progress."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
