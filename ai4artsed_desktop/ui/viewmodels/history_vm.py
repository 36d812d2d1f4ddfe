"""HistoryViewModel: the saved runs as pages, filters, selection, favourites, delete, export.

Every store call runs in a worker thread while holding ``services.store_lock`` (the run
store is not thread-safe). Pages are applied to :attr:`HistoryViewModel.rows` inside the
same critical section, so the paging offset always matches the store it was read from.

Deleting is deferred: :meth:`HistoryViewModel.delete_selected` hides the runs at once and
offers Undo; the folders are removed only when the undo window closes (the banner is
dismissed, the next delete starts, the undo time runs out or the app shuts down).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from ...content.schema import ContentLibrary
from ...errors import AppError
from ...pipeline.runner import RunServices
from ...store.record import MediaRecord, RunRecord
from ...store.runs import BrokenRun, RunStore, RunSummary
from ...tasks import TaskRegistry
from ..async_action import AsyncActions

log = logging.getLogger(__name__)

PAGE_SIZE = 100
SEARCH_DEBOUNCE_MS = 250
UNDO_MS = 15_000

_T = TypeVar("_T")


class DateFilter(enum.Enum):
    """Which creation days the grid shows."""

    all = "all"
    today = "today"
    week = "week"  # today and the six days before


@dataclass(frozen=True)
class RunDetails:
    """A loaded run for the details panel, with its folder and media files."""

    record: RunRecord
    folder: Path
    media: tuple[tuple[MediaRecord, Path], ...]


@dataclass(frozen=True)
class _Query:
    text: str
    config_id: str | None
    output_id: str | tuple[str, ...] | None
    favourites_only: bool
    date_from: date | None

    def kwargs(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "config_id": self.config_id,
            "output_id": self.output_id,
            "favourites_only": self.favourites_only,
            "date_from": self.date_from,
        }


def _details(store: RunStore, run_id: str) -> RunDetails:
    record = store.load(run_id)
    media = []
    for item in record.media:
        try:
            media.append((item, store.media_path(record, item)))
        except ValueError:  # a tampered file name: not shown
            log.info("run %s lists an unsafe media name %r", run_id, item.path)
    return RunDetails(record, store.folder(run_id), tuple(media))


class HistoryViewModel(QObject):
    """State and actions of the History page.

    Signals:
        rows_reset(list): the shown runs (``RunSummary``) were replaced.
        rows_appended(list): these runs were added at the end.
        rows_removed(list): the runs with these ids left the grid.
        row_changed(object): a shown run changed (a ``RunSummary``).
        loading_changed(bool): a page is being read or not.
        broken_changed(list): the unreadable run folders (``BrokenRun``).
        selection_changed(list): the selected run ids.
        details_changed(object): the ``RunDetails`` of the one selected run, or None.
        pending_delete_changed(int): how many deleted runs wait for Undo (0: none).
        message(str, dict): an inline message key and its fields ("" clears it).
        exported(str): a portfolio ZIP was written to this path.
        reopen_requested(object): the user wants this ``RunRecord`` in Create.
        create_busy_changed(bool): the Create page runs something (no reopening).
        filters_changed(): search text or a filter changed.
    """

    rows_reset = Signal(list)
    rows_appended = Signal(list)
    rows_removed = Signal(list)
    row_changed = Signal(object)
    loading_changed = Signal(bool)
    broken_changed = Signal(list)
    selection_changed = Signal(list)
    details_changed = Signal(object)
    pending_delete_changed = Signal(int)
    message = Signal(str, dict)
    exported = Signal(str)
    reopen_requested = Signal(object)
    create_busy_changed = Signal(bool)
    filters_changed = Signal()

    def __init__(
        self,
        services: RunServices | None,
        content: ContentLibrary,
        language: Callable[[], str],
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        debounce_ms: int = SEARCH_DEBOUNCE_MS,
        undo_ms: int = UNDO_MS,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._content = content
        self._language = language
        self._tasks = tasks or TaskRegistry("history")
        # Store work as keyed actions, keyed by what it reads or writes: the same work twice
        # (a double click) is refused, other work queues on the store lock. Nothing is
        # replaced: cancelling a read would free the lock while its thread still reads.
        self._actions = AsyncActions("history", self._tasks, self)
        self._page_size = page_size
        self._search = ""
        self._config = ""
        self._output: str | tuple[str, ...] = ""
        self._date = DateFilter.all
        self._favourites = False
        self._gen = 0
        self._query = self._make_query()
        self._rows: list[RunSummary] = []
        self._seen: set[str] = set()  # every id read in this generation (hidden ones too)
        self._fetched = 0  # store rows covered by the pages read (the next offset)
        self._total = 0
        self._loading = 0
        self._broken: list[BrokenRun] = []
        self._selected: list[str] = []
        self._details: RunDetails | None = None
        self._pending: list[str] = []
        self._create_busy = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.refresh)
        self._undo_timer = QTimer(self)
        self._undo_timer.setSingleShot(True)
        self._undo_timer.setInterval(undo_ms)
        self._undo_timer.timeout.connect(self.commit_delete)

    # ------------------------------------------------------------------ properties
    @property
    def available(self) -> bool:
        """False when the run store could not be opened."""
        return self._services is not None

    @property
    def tasks(self) -> TaskRegistry:
        """The registry of this page's background work (shutdown waits for it)."""
        return self._tasks

    @property
    def content(self) -> ContentLibrary:
        return self._content

    @property
    def language(self) -> str:
        return self._language()

    @property
    def rows(self) -> list[RunSummary]:
        return list(self._rows)

    @property
    def total(self) -> int:
        """How many stored runs match the filters (runs waiting for Undo included)."""
        return self._total

    @property
    def loading(self) -> bool:
        return self._loading > 0

    @property
    def busy(self) -> bool:
        """Some store work of this view-model is still in flight."""
        return self._actions.any_busy or bool(self._tasks.tasks) or self._debounce.isActive()

    @property
    def can_fetch_more(self) -> bool:
        return self.available and not self.loading and self._fetched < self._total

    @property
    def broken_runs(self) -> list[BrokenRun]:
        return list(self._broken)

    @property
    def search_text(self) -> str:
        return self._search

    @property
    def config_filter(self) -> str:
        return self._config

    @property
    def output_filter(self) -> str | tuple[str, ...]:
        """The output (or outputs, e.g. all of one kind) the grid shows; "" for all."""
        return self._output

    @property
    def date_filter(self) -> DateFilter:
        return self._date

    @property
    def favourites_only(self) -> bool:
        return self._favourites

    @property
    def filtered(self) -> bool:
        """True when the search or a filter narrows the grid."""
        return bool(self._search.strip() or self._config or self._output or self._favourites) or (
            self._date is not DateFilter.all
        )

    @property
    def selected_ids(self) -> list[str]:
        return list(self._selected)

    @property
    def selected(self) -> list[RunSummary]:
        chosen = set(self._selected)
        return [r for r in self._rows if r.id in chosen]

    @property
    def details(self) -> RunDetails | None:
        return self._details

    @property
    def pending_delete(self) -> list[str]:
        """Ids deleted by the user that Undo can still bring back."""
        return list(self._pending)

    @property
    def create_busy(self) -> bool:
        return self._create_busy

    @property
    def can_reopen(self) -> bool:
        return len(self._selected) == 1 and not self._create_busy

    def config_name(self, config_id: str) -> str:
        """The config's name in the UI language (its id when it is not installed)."""
        config = self._content.interceptions.get(config_id)
        return config.name.get(self.language) if config else config_id

    def output_name(self, output_id: str) -> str:
        """The output's name in the UI language (its id when it is not installed)."""
        output = self._content.outputs.get(output_id)
        return output.name.get(self.language) if output else output_id

    def config_choices(self) -> list[tuple[str, str]]:
        """``(id, name)`` of every config, for the filter."""
        lang = self.language
        return [(c.id, c.name.get(lang)) for c in self._content.sorted_interceptions()]

    def output_choices(self) -> list[tuple[str, str]]:
        """``(id, name)`` of every output, for the filter."""
        lang = self.language
        return [(o.id, o.name.get(lang)) for o in self._content.sorted_outputs()]

    # ------------------------------------------------------------------ filters
    def set_search_text(self, text: str) -> None:
        """Change the search; the grid follows after a short pause in typing."""
        if text != self._search:
            self._search = text
            self.filters_changed.emit()
            self._debounce.start()

    def set_config_filter(self, config_id: str) -> None:
        """Show only runs of ``config_id`` ("" for all)."""
        if config_id != self._config:
            self._config = config_id
            self._filter_now()

    def set_output_filter(self, output_id: str | tuple[str, ...]) -> None:
        """Show only runs of ``output_id``, or of any output in a tuple ("" or () for all)."""
        value = output_id or ""
        if value != self._output:
            self._output = value
            self._filter_now()

    def set_date_filter(self, value: DateFilter) -> None:
        if value is not self._date:
            self._date = value
            self._filter_now()

    def set_favourites_only(self, value: bool) -> None:
        if value != self._favourites:
            self._favourites = value
            self._filter_now()

    def _filter_now(self) -> None:
        self.filters_changed.emit()
        self.refresh()

    def _make_query(self) -> _Query:
        today = date.today()
        since = {
            DateFilter.all: None,
            DateFilter.today: today,
            DateFilter.week: today - timedelta(days=6),
        }[self._date]
        return _Query(
            self._search.strip(),
            self._config or None,
            self._output or None,
            self._favourites,
            since,
        )

    # ------------------------------------------------------------------ paging
    def refresh(self) -> None:
        """Read the first page again with the current filters (e.g. after a new run)."""
        self._debounce.stop()
        if self._services is None:
            return
        self._gen += 1
        self._query = self._make_query()
        self._set_selection([])
        self._start(f"refresh:{self._gen}", self._load_first(self._gen))

    def fetch_more(self) -> None:
        """Read the next page (the grid asks when it scrolls near the end)."""
        if self.can_fetch_more:
            self._start(f"page:{self._gen}:{self._fetched}", self._load_next(self._gen))

    async def _load_first(self, gen: int) -> None:
        services = self._store_services()
        async with self._page_loading(), services.store_lock:
            if gen != self._gen:
                return
            query, size = self._query, self._page_size

            def read(store: RunStore) -> tuple[int, list[RunSummary], list[BrokenRun]]:
                total = store.count(**query.kwargs())
                rows = store.search(**query.kwargs(), limit=size)
                return total, rows, list(store.broken_runs)

            total, rows, broken = await asyncio.to_thread(read, services.store)
            if gen != self._gen:
                return
            self._total, self._fetched, self._seen = total, len(rows), {r.id for r in rows}
            self._rows = [r for r in rows if r.id not in self._pending]
            self.rows_reset.emit(list(self._rows))
            if broken != self._broken:
                self._broken = broken
                self.broken_changed.emit(list(broken))

    async def _load_next(self, gen: int) -> None:
        services = self._store_services()
        async with self._page_loading(), services.store_lock:
            if gen != self._gen:
                return
            offset, query = self._fetched, self._query
            rows = await asyncio.to_thread(
                lambda: services.store.search(
                    **query.kwargs(), limit=self._page_size, offset=offset
                )
            )
            if gen != self._gen:
                return
            self._fetched += len(rows)
            if not rows:
                self._total = self._fetched  # runs were deleted elsewhere meanwhile
            new = [r for r in rows if r.id not in self._seen and r.id not in self._pending]
            self._seen.update(r.id for r in rows)
            if new:
                self._rows.extend(new)
                self.rows_appended.emit(new)

    # ------------------------------------------------------------------ selection
    def select(self, run_ids: list[str]) -> None:
        """The user selected these runs; one selected run gets its details loaded."""
        self._set_selection([i for i in run_ids if i not in self._pending])

    def _set_selection(self, run_ids: list[str]) -> None:
        if run_ids == self._selected:
            return
        self._selected = list(run_ids)
        self.selection_changed.emit(list(run_ids))
        if self._details is not None:
            self._details = None
            self.details_changed.emit(None)
        if len(run_ids) == 1 and self._services is not None:
            self._start(f"details:{run_ids[0]}", self._load_details(run_ids[0]))

    async def _load_details(self, run_id: str) -> None:
        details = await self._call(lambda store: _details(store, run_id))
        if self._selected == [run_id]:
            self._details = details
            self.details_changed.emit(details)

    # ------------------------------------------------------------------ actions
    def toggle_favourite(self) -> None:
        """Mark the selected runs as favourites (or unmark them when all are)."""
        chosen = self.selected
        if not chosen or self._services is None:
            return
        value = not all(r.favourite for r in chosen)
        ids = [r.id for r in chosen]
        self._start(f"favourite:{','.join(ids)}", self._set_favourite(ids, value))

    async def _set_favourite(self, run_ids: list[str], value: bool) -> None:
        def write(store: RunStore) -> None:
            for run_id in run_ids:
                store.set_favourite(run_id, value)

        await self._call(write)
        for i, row in enumerate(self._rows):
            if row.id in run_ids and row.favourite != value:
                self._rows[i] = replace(row, favourite=value)
                self.row_changed.emit(self._rows[i])
        if self._details is not None and self._details.record.id in run_ids:
            self._details.record.favourite = value
            self.details_changed.emit(self._details)
        if self._favourites and not value:
            self.refresh()

    def delete_selected(self) -> None:
        """Hide the selected runs and offer Undo; the files go when the window closes."""
        chosen = list(self._selected)
        if not chosen:
            return
        self.commit_delete()  # the previous undo window closes
        self._pending = chosen
        self._rows = [r for r in self._rows if r.id not in chosen]
        self._set_selection([])
        self.rows_removed.emit(list(chosen))
        self.pending_delete_changed.emit(len(chosen))
        self.message.emit("", {})
        self._undo_timer.start()

    def undo_delete(self) -> None:
        """Bring the runs deleted last back; nothing was removed from disk yet."""
        if not self._pending:
            return
        self._undo_timer.stop()
        self._pending = []
        self.pending_delete_changed.emit(0)
        self.refresh()

    def commit_delete(self) -> None:
        """Close the undo window: really delete the runs waiting for Undo."""
        self._undo_timer.stop()
        if not self._pending or self._services is None:
            return
        ids, self._pending = self._pending, []
        self.pending_delete_changed.emit(0)
        self._start(f"delete:{','.join(ids)}", self._delete(ids))

    async def _delete(self, run_ids: list[str]) -> None:
        services = self._store_services()
        query = self._query

        def remove(store: RunStore) -> int:
            for run_id in run_ids:
                store.delete(run_id)
            return store.count(**query.kwargs())

        async with services.store_lock:
            total = await asyncio.to_thread(remove, services.store)
            if query == self._query:  # keep the paging offset in step with the store
                self._fetched -= len(self._seen.intersection(run_ids))
                self._seen.difference_update(run_ids)
                self._total = total
        form = "one" if len(run_ids) == 1 else "other"  # the page formats it
        self.message.emit(f"history.deleted_for_good.{form}", {"count": str(len(run_ids))})

    def export_selected(self, target: Path) -> None:
        """Write the selected runs as a portfolio ZIP to ``target`` (``exported`` when done)."""
        run_ids = list(self._selected)
        if not run_ids or self._services is None:
            return
        language = self.language
        self._start("export", self._export(run_ids, target, language))

    def _names(self, language: str) -> dict[str, str]:
        """The rules' and outputs' names for the portfolio's headings."""
        names = {c.id: c.name.get(language) for c in self._content.interceptions.values()}
        names.update({o.id: o.name.get(language) for o in self._content.outputs.values()})
        return names

    async def _export(self, run_ids: list[str], target: Path, language: str) -> None:
        names = self._names(language)
        path = await self._call(
            lambda store: store.export_portfolio(run_ids, target, language=language, names=names)
        )
        self.message.emit("history.exported", {"path": str(path)})
        self.exported.emit(str(path))

    def reopen_selected(self) -> None:
        """Load the one selected run and ask the shell to show it in Create."""
        if len(self._selected) != 1 or self._services is None:
            return
        if self._create_busy:
            self.message.emit("history.reopen_busy", {})
            return
        run_id = self._selected[0]
        self._start("reopen", self._reopen(run_id))

    async def _reopen(self, run_id: str) -> None:
        record = await self._call(lambda store: store.load(run_id))
        self.reopen_requested.emit(record)

    def set_create_busy(self, busy: bool) -> None:
        """The Create page started or ended a run (reopening waits until it ends)."""
        if busy != self._create_busy:
            self._create_busy = busy
            self.create_busy_changed.emit(busy)

    def on_create_run_ended(self, busy: bool) -> None:
        """Connected to the Create run's ``busy_changed``: show a finished run at once."""
        self.set_create_busy(busy)
        if not busy:
            self.refresh()

    async def shutdown(self) -> None:
        """Stop the timers, delete what waits for Undo and wait for the store work."""
        self._debounce.stop()
        self.commit_delete()
        await self._actions.join()

    # ------------------------------------------------------------------ helpers
    def _store_services(self) -> RunServices:
        services = self._services
        assert services is not None, "callers check available"
        return services

    async def _call(self, work: Callable[[RunStore], _T]) -> _T:
        services = self._store_services()
        async with services.store_lock:
            return await asyncio.to_thread(work, services.store)

    def _start(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as the store work ``key``; a failure goes to :meth:`_report`."""
        self._actions.start(key, work, error=self._report)

    def _report(self, exc: AppError) -> None:
        log.info("History: %s (%s)", exc.user_message, exc.detail)
        if exc.key:  # the page shows the error's own text in the UI language
            self.message.emit(exc.key, dict(exc.params))
        else:
            self.message.emit("history.error", {"message": exc.user_message})

    @contextlib.asynccontextmanager
    async def _page_loading(self) -> AsyncIterator[None]:
        """Count a page read as loading while it runs (``loading_changed`` on the edges)."""
        self._loading += 1
        if self._loading == 1:
            self.loading_changed.emit(True)
        try:
            yield
        finally:
            self._loading -= 1
            if self._loading == 0:
                self.loading_changed.emit(False)
