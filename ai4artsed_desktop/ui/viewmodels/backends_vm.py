"""BackendsViewModel: per-backend rows (state, mode, log tail) and start / stop / restart."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...backends.manager import BACKENDS, Backend, BackendManager
from ...errors import AppError
from ...events import BackendState, BackendStateChanged
from ...settings import Settings
from ...tasks import TaskRegistry
from ..bindings import Binding
from ..qt_async import async_slot
from .settings_vm import SettingsViewModel
from .status_vm import StatusViewModel

log = logging.getLogger(__name__)

#: Output lines a row keeps (the card shows the end of them).
TAIL_LINES = 80
#: Settings that decide how the backends run; a change rebuilds the affected backends.
BACKEND_FIELDS = ("ollama", "swarmui", "comfyui", "image_engine", "demo_mode")

_RUNNING = (
    BackendState.ready,
    BackendState.starting,
    BackendState.installing,
    BackendState.restarting,
)


@dataclass(frozen=True)
class BackendRow:
    """What the UI shows of one backend.

    ``mode`` is ``managed``, ``remote`` or ``demo``; ``busy`` is True while a start, stop,
    restart or settings change of this backend is in progress.
    """

    name: str
    display_name: str
    mode: str
    url: str
    state: BackendState
    message: str = ""
    busy: bool = False
    tail: tuple[str, ...] = ()
    log_file: Path | None = None

    @property
    def can_start(self) -> bool:
        """Start makes sense: not busy and not already running."""
        return not self.busy and self.state not in _RUNNING

    @property
    def can_stop(self) -> bool:
        """Stop makes sense: not busy and something runs (or is being watched)."""
        return not self.busy and self.state not in (
            BackendState.stopped,
            BackendState.not_installed,
        )

    @property
    def can_restart(self) -> bool:
        """Restart makes sense: not busy and running, failed or crashed."""
        return not self.busy and self.state in (
            BackendState.ready,
            BackendState.failed,
            BackendState.crashed,
        )


class BackendsViewModel(QObject):
    """The backends of the session as rows, with start / stop / restart and live states.

    Every state change of the manager updates the backend's row and is forwarded to the
    status view-model (the status-bar lights). A change of a backend setting (or of the
    demo switch) rebuilds the affected backends through ``manager.apply_settings``.

    Signals:
        row_changed(str): the row of one backend changed.
        rows_changed(): every row may have changed (after a settings change).
        demo_changed(bool): the backends switched between demo simulators and real servers.
        applying_changed(bool): a settings change is being applied (all rows busy).
        error_occurred(str, str): an action or settings change failed (message, detail).
    """

    row_changed = Signal(str)
    rows_changed = Signal()
    demo_changed = Signal(bool)
    applying_changed = Signal(bool)
    error_occurred = Signal(str, str)

    def __init__(
        self,
        manager: BackendManager,
        settings_vm: SettingsViewModel,
        tasks: TaskRegistry,
        *,
        status: StatusViewModel | None = None,
        demo_forced: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._manager = manager
        self._tasks = tasks
        self._status = status
        self._demo_forced = demo_forced
        self._applied = settings_vm.current
        self._busy: set[str] = set()
        self._applying = 0
        self._apply_lock = asyncio.Lock()
        self._running: set[asyncio.Task[None]] = set()
        self._demo = manager.demo
        self._rows = {name: self._read_row(name) for name in BACKENDS}
        self._remove_listener: Callable[[], None] | None = manager.add_listener(self._on_event)
        self._settings_binding = Binding(settings_vm.settings_changed, self._on_settings_changed)
        if status is not None:
            for row in self._rows.values():
                status.update_backend(BackendStateChanged(row.name, row.state, row.message))

    # ------------------------------------------------------------------ properties
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._rows)

    @property
    def rows(self) -> list[BackendRow]:
        return list(self._rows.values())

    def row(self, name: str) -> BackendRow:
        """The row of backend ``name`` (KeyError for an unknown name)."""
        return self._rows[name]

    @property
    def demo(self) -> bool:
        """True while the backends are demo simulators."""
        return self._demo

    @property
    def demo_forced(self) -> bool:
        """True when the command line asked for demo backends (the setting cannot undo it)."""
        return self._demo_forced

    @property
    def applying(self) -> bool:
        return self._applying > 0

    # ------------------------------------------------------------------ actions
    @async_slot(str)
    async def start(self, name: str) -> None:
        """Start (or connect to) backend ``name``; failures go to ``error_occurred``."""
        await self._act(name, lambda backend: backend.ensure_ready())

    @async_slot(str)
    async def stop(self, name: str) -> None:
        """Stop backend ``name`` (a remote server is only no longer watched)."""
        await self._act(name, lambda backend: backend.stop())

    @async_slot(str)
    async def restart(self, name: str) -> None:
        """Stop backend ``name`` and start it again."""
        await self._act(name, lambda backend: backend.restart())

    async def _act(self, name: str, action: Callable[[Backend], Awaitable[None]]) -> None:
        if name in self._busy or self.applying or self._remove_listener is None:
            return  # a second click while the first one still runs
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)  # shutdown() cancels it
        self._set_busy(name, True)
        try:
            await action(self._manager.entry(name).impl)
        except AppError as exc:
            log.info("Backend action on %s failed: %s", name, exc.user_message)
            self.error_occurred.emit(exc.user_message, exc.detail)
        finally:
            self._set_busy(name, False)
            if task is not None:
                self._running.discard(task)

    def refresh_tail(self, name: str) -> bool:
        """Re-read the last output lines of ``name``; True (and ``row_changed``) if new."""
        row = self._rows[name]
        tail = self._read_tail(name)
        if tail == row.tail:
            return False
        self._rows[name] = dataclasses.replace(row, tail=tail)
        self.row_changed.emit(name)
        return True

    def refresh_tails(self) -> None:
        """Re-read the output lines of every backend (the page calls this while shown)."""
        for name in self._rows:
            self.refresh_tail(name)

    # ------------------------------------------------------------------ manager events
    def _on_event(self, event: BackendStateChanged) -> None:
        if event.backend not in self._rows:
            if self._status is not None:
                self._status.update_backend(event)
            return
        # The entry is the truth: an event of a backend just replaced by a settings change
        # must not paint the light of its successor.
        row = self._rows[event.backend] = self._read_row(event.backend)
        if self._status is not None:
            self._status.update_backend(BackendStateChanged(row.name, row.state, row.message))
        self.row_changed.emit(event.backend)

    def _read_row(self, name: str) -> BackendRow:
        entry = self._manager.entry(name)
        return BackendRow(
            name=name,
            display_name=entry.display_name,
            mode=entry.mode,
            url=entry.url,
            state=entry.impl.state,
            message=entry.impl.message,
            busy=name in self._busy or self.applying,
            tail=self._read_tail(name),
            log_file=entry.log_file,
        )

    def _read_tail(self, name: str) -> tuple[str, ...]:
        return tuple(self._manager.entry(name).impl.tail)[-TAIL_LINES:]

    def _set_busy(self, name: str, busy: bool) -> None:
        if busy:
            self._busy.add(name)
        else:
            self._busy.discard(name)
        self._rows[name] = self._read_row(name)
        self.row_changed.emit(name)

    # ------------------------------------------------------------------ settings
    def _on_settings_changed(self, new: Settings) -> None:
        old, self._applied = self._applied, new
        if all(getattr(old, f) == getattr(new, f) for f in BACKEND_FIELDS):
            return
        task = self._tasks.spawn(self._apply(new), name="backends-apply-settings")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _apply(self, settings: Settings) -> None:
        self._set_applying(+1)
        try:
            async with self._apply_lock:
                demo = settings.demo_mode or self._demo_forced
                await self._manager.apply_settings(settings, demo=demo)
        except AppError as exc:
            log.info("Applying backend settings failed: %s", exc.user_message)
            self.error_occurred.emit(exc.user_message, exc.detail)
        finally:
            self._set_applying(-1)

    def _set_applying(self, step: int) -> None:
        self._applying += step
        if step > 0 and self._applying == 1:
            self.applying_changed.emit(True)
        self._rows = {name: self._read_row(name) for name in BACKENDS}
        self.rows_changed.emit()
        if self._applying == 0:
            self.applying_changed.emit(False)
        if self._manager.demo != self._demo:
            self._demo = self._manager.demo
            self.demo_changed.emit(self._demo)

    # ------------------------------------------------------------------ life cycle
    async def shutdown(self) -> None:
        """Stop listening and cancel running actions (``manager.shutdown()`` comes after)."""
        self._settings_binding.disconnect()
        remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            remove()
        running = [t for t in self._running if t is not asyncio.current_task()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
