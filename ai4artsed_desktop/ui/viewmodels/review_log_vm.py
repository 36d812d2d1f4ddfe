"""ReviewLogViewModel: the teacher's review log for the Settings page (read, export, clear).

The page that shows it sits behind the teacher PIN (the whole Settings page is hidden while
the lock is locked). File work runs in worker threads; results come back as signals. The
view-model also writes a teacher action to the log: switching the picture check off or on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...errors import AppError
from ...settings import Settings
from ...store.review_log import ReviewEntry, ReviewLog, now_iso
from ...tasks import TaskRegistry

log = logging.getLogger(__name__)

#: How many entries the page shows (the CSV export has all of them).
SHOWN = 500


class ReviewLogViewModel(QObject):
    """The review log as the Settings page uses it.

    Signals:
        entries_changed(list): the newest entries (``ReviewEntry``), newest first.
        exported(str, int): the CSV was written: path and number of rows.
        cleared(int): the log was emptied: how many entries were deleted.
        failed(str, str): reading or writing failed: message and detail.
    """

    entries_changed = Signal(list)
    exported = Signal(str, int)
    cleared = Signal(int)
    failed = Signal(str, str)

    def __init__(
        self,
        review_log: ReviewLog | None,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._log = review_log
        self._tasks = tasks or TaskRegistry("review-log")
        self._running: set[asyncio.Task[None]] = set()
        self._media_check: bool | None = None

    @property
    def available(self) -> bool:
        """False when there is no log (the run store could not be opened)."""
        return self._log is not None

    def refresh(self) -> None:
        """Read the newest entries (``entries_changed`` when done)."""
        self._spawn(self._read(), "review-log-read")

    def export(self, target: Path) -> None:
        """Write every entry as CSV to ``target`` (``exported`` or ``failed``)."""
        self._spawn(self._export(target), "review-log-export")

    def clear(self) -> None:
        """Delete every entry (``cleared`` or ``failed``)."""
        self._spawn(self._clear(), "review-log-clear")

    def watch_settings(self, settings: Settings) -> None:
        """Log a teacher switching the picture check off or on (call on every change)."""
        on = settings.safety.media_check
        before, self._media_check = self._media_check, on
        if before is None or before == on or self._log is None:
            return
        text = "picture check switched on" if on else "picture check switched off"
        entry = ReviewEntry(
            time=now_iso(), level=settings.safety.level, stage="settings", text=text,
            reason="", profile=settings.lesson.profile_name, cause="teacher",
        )  # fmt: skip
        self._spawn(self._add(entry), "review-log-note")

    async def shutdown(self) -> None:
        """Wait for file work in progress (it is short and must not be torn)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    # ------------------------------------------------------------------ work
    def _spawn(self, work: Any, name: str) -> None:
        if self._log is None:
            work.close()
            self.failed.emit("error.review_log_missing", "no review log file")
            return
        task = self._tasks.spawn(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.shield(asyncio.to_thread(fn, *args))
        except AppError as exc:
            log.info("Review log: %s (%s)", exc.user_message, exc.detail)
            self.failed.emit(exc.key or exc.user_message, exc.detail)  # the panel translates
            return None

    async def _read(self) -> None:
        assert self._log is not None
        entries = await self._guard(self._log.entries, SHOWN)
        if entries is not None:
            self.entries_changed.emit(entries)

    async def _export(self, target: Path) -> None:
        assert self._log is not None
        rows = await self._guard(self._log.export_csv, target)
        if rows is not None:
            self.exported.emit(str(target), int(rows))

    async def _clear(self) -> None:
        assert self._log is not None
        deleted = await self._guard(self._log.clear)
        if deleted is not None:
            self.cleared.emit(int(deleted))
            await self._read()

    async def _add(self, entry: ReviewEntry) -> None:
        assert self._log is not None
        await self._guard(self._log.add, entry)
