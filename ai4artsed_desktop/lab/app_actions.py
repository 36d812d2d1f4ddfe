"""The app's side of every console command: :class:`SeatActions` against its services (no Qt).

The seat's window supplies what only it knows through two callables: the stage of the run in
progress and the "eyes on me" screen. Everything else comes from the services the window
already uses (backend manager states, the warm-up, the review log, the run store, the
settings store), so a command from the console does exactly what the teacher's own buttons
on this seat do:

- ``apply_profile`` validates the document with :func:`profiles.check_profile` and applies
  it with :func:`profiles.apply_profile` into the settings store (whose listeners update the
  header, the pickers and the safety level, as an imported profile file does);
- ``prepare_lesson`` runs :func:`pipeline.warmup.prepare_lesson` for the lesson's allowed
  outputs that load weights;
- ``export_portfolio`` is the History page's portfolio export of every run on the seat;
- ``wipe`` deletes the seat's runs only once they were all collected (no run made since the
  last export), and keeps the review log for the retention period as the policy says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from .. import profiles
from ..content.schema import ContentLibrary
from ..errors import AppError
from ..events import BackendState
from ..pipeline.runner import RunServices
from ..pipeline.warmup import (
    WARM_ROLES,
    WarmupEvent,
    WarmupState,
    is_warmable,
    prepare_lesson,
)
from ..settings_store import SettingsStore
from ..store.review_log import ReviewEntry
from ..store.runs import RunStore
from ..system.gpu import GpuSnapshot
from .seat_actions import ProgressFn, SeatStatus

log = logging.getLogger(__name__)

#: How a backend's life-cycle state shows as a light on the console.
LIGHTS: dict[BackendState, str] = {
    BackendState.not_installed: "error",
    BackendState.stopped: "off",
    BackendState.starting: "starting",
    BackendState.installing: "starting",
    BackendState.restarting: "starting",
    BackendState.ready: "ready",
    BackendState.failed: "error",
    BackendState.crashed: "error",
}
#: The longest blocked text sent to the console per entry (the seat keeps all of it).
MAX_BLOCK_TEXT = 2000
PROFILE_SOURCE = "console"

StageFn = Callable[[], str]
PauseFn = Callable[[bool, str], None]


class SeatActionError(AppError):
    """A console command this seat cannot carry out now (the reason says why)."""


def _no_pause(_paused: bool, _message: str) -> None:
    return None


class AppSeatActions:
    """:class:`~ai4artsed_desktop.lab.seat_actions.SeatActions` of a running app.

    Args:
        seat_name: the name the console shows (usually the computer's name).
        store: the live settings (a profile is applied into it).
        content: the content library (profile validation, output names).
        services: the run pipeline; None where it could not be opened (commands that need
            it then fail with a reason).
        backend_states: the backend manager's states now.
        gpu: the last GPU snapshot (read elsewhere: NVML blocks, ``status()`` must not).
        stage: the stage key of the run in progress, "" when idle.
        show_pause: shows (True) or hides the "eyes on me" screen with the message.
    """

    def __init__(
        self,
        *,
        seat_name: str,
        store: SettingsStore,
        content: ContentLibrary,
        services: RunServices | None,
        backend_states: Callable[[], Mapping[str, BackendState]],
        gpu: Callable[[], GpuSnapshot | None],
        stage: StageFn = lambda: "",
        show_pause: PauseFn = _no_pause,
    ) -> None:
        self.seat_name = seat_name
        self._store = store
        self._content = content
        self._services = services
        self._backend_states = backend_states
        self._gpu = gpu
        self._stage = stage
        self._show_pause = show_pause
        self._paused = False
        self._warm = False
        self._last_block: ReviewEntry | None = None
        self._exported: frozenset[str] | None = None
        self._prepare_lock = asyncio.Lock()

    def set_hooks(self, *, stage: StageFn, show_pause: PauseFn) -> None:
        """Connect the window's run stage and pause screen (built after this object)."""
        self._stage = stage
        self._show_pause = show_pause

    # ------------------------------------------------------------------ status
    def status(self) -> SeatStatus:
        """What the console's grid shows about this seat (no I/O)."""
        used, total = self._vram()
        block = self._last_block
        return SeatStatus(
            seat_name=self.seat_name,
            backends={name: LIGHTS.get(s, "error") for name, s in self._backend_states().items()},
            warm=self._warm,
            stage=self._stage(),
            last_block=block.reason if block else "",
            last_block_at=_timestamp(block.time) if block else None,
            vram_used_mb=used,
            vram_total_mb=total,
            paused=self._paused,
            profile_name=self._store.current.lesson.profile_name,
        )

    def _vram(self) -> tuple[int | None, int | None]:
        snapshot = self._gpu()
        if snapshot is None or not snapshot.gpus:
            return None, None
        main = max(snapshot.gpus, key=lambda g: g.total_bytes)
        return main.used_bytes // 2**20, main.total_bytes // 2**20

    @property
    def warm(self) -> bool:
        """True after a warm-up without failures (until the models are released)."""
        return self._warm

    def set_warm(self, warm: bool) -> None:
        """The seat's own lesson panel warmed (True) or released (False) the models."""
        self._warm = warm

    async def refresh(self) -> None:
        """Re-read the newest block from the review log (after a run ended, at start)."""
        if self._services is None or self._services.review_log is None:
            return
        try:
            newest = await asyncio.to_thread(self._services.review_log.blocks, 1)
        except AppError as exc:  # the grid keeps the last known block
            log.warning("Lab seat: review log unreadable: %s (%s)", exc.user_message, exc.detail)
            return
        self._last_block = newest[0] if newest else None

    # ------------------------------------------------------------------ profile
    async def apply_profile(self, profile: dict[str, object]) -> None:
        """Validate and apply the lesson profile document (all or nothing).

        Raises:
            ProfileError: the document has problems (each is listed); nothing changed.
            ConfigError: the settings could not be saved.
        """
        checked, problems = profiles.check_profile(profile, PROFILE_SOURCE, self._content)
        if checked is None:
            raise profiles.ProfileError(PROFILE_SOURCE, problems, key="error.lab.profile_refused")
        self._store.replace(profiles.apply_profile(self._store.current, checked))
        log.info("Lab seat: lesson profile %r applied from the console", checked.name)

    # ------------------------------------------------------------------ warm-up
    def lesson_outputs(self) -> list[str]:
        """The outputs a lesson warm-up loads: the allowed ones that load weights."""
        allowed = self._store.current.lesson.allowed_outputs
        return [
            output_id
            for output_id in allowed
            if (output := self._content.outputs.get(output_id)) is not None and is_warmable(output)
        ]

    async def prepare_lesson(self, progress: ProgressFn) -> None:
        """Warm the safety and interception models and the lesson's outputs.

        ``progress(fraction, message)``: the message is ``"<state>:<target>"`` (for a
        failure ``"failed:<target>:<reason>"``), so the console words it in its language.
        A second call while one runs waits for it and warms again (idempotent).

        Raises:
            SeatActionError: the run pipeline is unavailable, or a target failed (the
                others were still warmed; the reason names the first failure).
        """
        services = self._require_services()
        async with self._prepare_lock:
            outputs = self.lesson_outputs()
            total = len(WARM_ROLES) + len(outputs)
            failures = await self._warm_up(services, outputs, total, progress)
        self._warm = not failures
        if failures:
            raise SeatActionError(
                f"The warm-up of {failures[0][0]} failed: {failures[0][1]}",
                key="error.lab.warmup_failed",
                params={"target": failures[0][0], "reason": failures[0][1]},
                detail="\n".join(f"{t}: {m}" for t, m in failures),
            )
        progress(1.0, "done:")

    async def _warm_up(
        self, services: RunServices, outputs: list[str], total: int, progress: ProgressFn
    ) -> list[tuple[str, str]]:
        done = 0
        failures: list[tuple[str, str]] = []
        progress(0.0, "started:")
        events: AsyncGenerator[WarmupEvent, None] = prepare_lesson(services, outputs)
        async with aclosing(events) as stream:
            async for event in stream:
                if event.state is WarmupState.started:
                    progress(done / total, f"started:{event.target}")
                    continue
                done = min(done + 1, total)
                if event.state is WarmupState.failed:
                    failures.append((event.target, event.message))
                    progress(done / total, f"failed:{event.target}:{event.message}")
                else:
                    progress(done / total, f"{event.state.value}:{event.target}")
        return failures

    # ------------------------------------------------------------------ pause
    async def set_paused(self, paused: bool, message: str) -> None:
        """Show or hide the "eyes on me" screen (the same state twice changes nothing)."""
        if paused == self._paused and not paused:
            return
        self._paused = paused
        self._show_pause(paused, message)
        log.info("Lab seat: %s", "paused by the console" if paused else "resumed")

    @property
    def paused(self) -> bool:
        """True while the "eyes on me" screen is shown."""
        return self._paused

    # ------------------------------------------------------------------ review log
    async def blocked_attempts(self, limit: int) -> list[dict[str, object]]:
        """The newest blocks from the review log (teacher actions left out).

        Raises:
            ReviewLogError: the log cannot be read.
        """
        services = self._require_services()
        if services.review_log is None:
            return []
        entries = await asyncio.to_thread(services.review_log.blocks, max(0, min(limit, 500)))
        rows: list[dict[str, object]] = []
        for entry in entries:
            row: dict[str, object] = asdict(entry)
            text = entry.text
            row["text"] = text if len(text) <= MAX_BLOCK_TEXT else text[:MAX_BLOCK_TEXT] + " …"
            row["detail"] = entry.detail[:MAX_BLOCK_TEXT]
            rows.append(row)
        if entries:
            self._last_block = entries[0]
        return rows

    # ------------------------------------------------------------------ portfolio
    async def export_portfolio(self) -> bytes:
        """Every run of this seat as the History page's portfolio ZIP.

        Raises:
            ConfigError: a run is unreadable or the temporary file cannot be written.
            InsufficientResources: the disk is full.
        """
        services = self._require_services()
        language = self._store.current.ui.language
        names = {c.id: c.name.get(language) for c in self._content.interceptions.values()}
        names.update({o.id: o.name.get(language) for o in self._content.outputs.values()})

        def export(store: RunStore) -> tuple[bytes, frozenset[str]]:
            ids = _all_run_ids(store)
            with tempfile.TemporaryDirectory(prefix="ai4artsed-lab-") as folder:
                target = Path(folder) / "portfolio.zip"
                store.export_portfolio(ids, target, language=language, names=names)
                return target.read_bytes(), frozenset(ids)

        async with services.store_lock:
            data, ids = await asyncio.to_thread(export, services.store)
        self._exported = ids
        log.info("Lab seat: portfolio of %d run(s) sent (%d bytes)", len(ids), len(data))
        return data

    # ------------------------------------------------------------------ wipe
    async def wipe(self) -> int:
        """Delete every run of this seat, once all were collected; the number deleted.

        The review log is not emptied: the retention policy deletes only its entries older
        than ``retention_days`` (the teacher may still need the rest).

        Raises:
            SeatActionError: a run is in progress, or runs were made (or never collected)
                since the last portfolio export: collect again first. Nothing was deleted.
            ConfigError: a run folder could not be removed.
        """
        services = self._require_services()
        if self._stage():
            raise SeatActionError(
                "A run is in progress on this seat; the wipe waits until it has ended.",
                key="error.lab.wipe_running",
            )
        days = self._store.current.retention_days
        async with services.store_lock:
            removed = await asyncio.to_thread(self._wipe_runs, services.store)
        if services.review_log is not None and days > 0:
            await asyncio.to_thread(services.review_log.apply_retention, days)
        await self.refresh()
        log.info("Lab seat: end-of-lesson wipe removed %d run(s)", removed)
        return removed

    def _wipe_runs(self, store: RunStore) -> int:
        ids = frozenset(_all_run_ids(store))
        missing = ids - (self._exported or frozenset())
        if missing:
            raise SeatActionError(
                f"{len(missing)} run(s) on this seat were not collected yet; "
                "collect the portfolios first, then wipe.",
                key="error.lab.wipe_uncollected",
                params={"count": len(missing)},
            )
        removed = store.delete_all()
        self._exported = frozenset()
        return removed

    def _require_services(self) -> RunServices:
        if self._services is None:
            raise SeatActionError(
                "The run history of this seat is unavailable, so it cannot do this.",
                key="error.lab.no_services",
            )
        return self._services


def _all_run_ids(store: RunStore) -> list[str]:
    total = store.count()
    return [summary.id for summary in store.search(limit=max(total, 1))]


def _timestamp(iso: str) -> float | None:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(iso).timestamp()
    return None
