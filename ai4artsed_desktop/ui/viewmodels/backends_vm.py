"""BackendsViewModel: per-backend rows (state, mode, log tail) and start / stop / restart."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...backends.manager import BACKENDS, Backend, BackendManager
from ...events import BackendState, BackendStateChanged
from ...settings import Settings
from ...tasks import TaskRegistry
from ..async_action import AsyncAction, AsyncActions
from ..bindings import Binding
from ..i18n import Translator
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
    restart or settings change of this backend is in progress. ``message`` is the backend's
    English reason; ``message_key`` / ``message_params`` name it in the catalogues.
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
    message_key: str = ""
    message_params: tuple[tuple[str, str], ...] = ()

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

    Start / stop / restart run as keyed actions (:class:`AsyncActions`, one per backend):
    a second click on a busy backend is ignored, other backends stay usable. A settings
    change runs as one action; a further change while it runs is applied after it (only
    the newest settings).

    Signals:
        row_changed(str): the row of one backend changed.
        rows_changed(): every row may have changed (after a settings change).
        demo_changed(bool): the backends switched between demo simulators and real servers.
        applying_changed(bool): a settings change is being applied (all rows busy).
        error_occurred(str, str): an action or settings change failed (message, detail).
        error_raised(AppError): the same error itself (a banner rewords it on a language
            switch).
    """

    row_changed = Signal(str)
    rows_changed = Signal()
    demo_changed = Signal(bool)
    applying_changed = Signal(bool)
    error_occurred = Signal(str, str)
    error_raised = Signal(object)

    def __init__(
        self,
        manager: BackendManager,
        settings_vm: SettingsViewModel,
        tasks: TaskRegistry,
        *,
        status: StatusViewModel | None = None,
        demo_forced: bool = False,
        translator: Translator | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._manager = manager
        self._status = status
        self._demo_forced = demo_forced
        self._applied = settings_vm.current
        self._actions = AsyncActions("backend", tasks, self, translator=translator)
        self._actions.failed.connect(self.error_occurred)
        self._actions.error_raised.connect(self.error_raised)
        self._actions.busy_changed.connect(lambda name, _busy: self._refresh_row(name))
        self._apply_action = AsyncAction("backends-apply", tasks, self, translator=translator)
        self._apply_action.failed.connect(self.error_occurred)
        self._apply_action.error_raised.connect(self.error_raised)
        self._apply_action.busy_changed.connect(self._on_applying)
        self._pending: Settings | None = None
        self._applying_shown = False
        self._demo = manager.demo
        self._rows = {name: self._read_row(name) for name in BACKENDS}
        self._remove_listener: Callable[[], None] | None = manager.add_listener(self._on_event)
        self._settings_binding = Binding(settings_vm.settings_changed, self._on_settings_changed)
        if status is not None:
            for row in self._rows.values():
                status.update_backend(self._status_event(row))

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
        return self._apply_action.busy

    # ------------------------------------------------------------------ actions
    def start(self, name: str) -> bool:
        """Start (or connect to) backend ``name``; failures go to ``error_occurred``.

        False when refused: ``name`` is busy, settings are being applied, or shut down.
        """
        return self._act(name, lambda backend: backend.ensure_ready())

    def stop(self, name: str) -> bool:
        """Stop backend ``name`` (a remote server is only no longer watched)."""
        return self._act(name, lambda backend: backend.stop())

    def restart(self, name: str) -> bool:
        """Stop backend ``name`` and start it again."""
        return self._act(name, lambda backend: backend.restart())

    def _act(self, name: str, action: Callable[[Backend], Awaitable[None]]) -> bool:
        if self.applying or self._remove_listener is None:
            return False
        impl = self._manager.entry(name).impl

        async def work() -> None:
            await action(impl)

        return self._actions.start(name, work())

    def busy(self, name: str) -> bool:
        """True while a start, stop or restart of ``name`` runs."""
        return self._actions.busy(name)

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
            self._status.update_backend(self._status_event(row))
        self.row_changed.emit(event.backend)

    @staticmethod
    def _status_event(row: BackendRow) -> BackendStateChanged:
        return BackendStateChanged(
            row.name, row.state, row.message, row.message_key, row.message_params
        )

    def _read_row(self, name: str) -> BackendRow:
        entry = self._manager.entry(name)
        return BackendRow(
            name=name,
            display_name=entry.display_name,
            mode=entry.mode,
            url=entry.url,
            state=entry.impl.state,
            message=entry.impl.message,
            message_key=entry.impl.message_key,
            message_params=tuple(entry.impl.message_params.items()),
            busy=self._actions.busy(name) or self.applying,
            tail=self._read_tail(name),
            log_file=entry.log_file,
        )

    def _read_tail(self, name: str) -> tuple[str, ...]:
        return tuple(self._manager.entry(name).impl.tail)[-TAIL_LINES:]

    def _refresh_row(self, name: str) -> None:
        self._rows[name] = self._read_row(name)
        self.row_changed.emit(name)

    # ------------------------------------------------------------------ settings
    def _on_settings_changed(self, new: Settings) -> None:
        old, self._applied = self._applied, new
        if all(getattr(old, f) == getattr(new, f) for f in BACKEND_FIELDS):
            return
        self._pending = new
        self._apply_next()

    def _apply_next(self) -> None:
        """Apply the newest waiting settings unless an apply runs (it calls again)."""
        settings = self._pending
        if settings is None or self._apply_action.busy or self._remove_listener is None:
            return
        self._pending = None
        demo = settings.demo_mode or self._demo_forced
        self._apply_action.start(self._manager.apply_settings(settings, demo=demo))

    def _on_applying(self, busy: bool) -> None:
        if not busy:
            self._apply_next()  # settings that came meanwhile: applying stays on
        now = self.applying
        if now and not self._applying_shown:
            self._applying_shown = True
            self.applying_changed.emit(True)
        self._rows = {name: self._read_row(name) for name in BACKENDS}
        self.rows_changed.emit()
        if self._manager.demo != self._demo:
            self._demo = self._manager.demo
            self.demo_changed.emit(self._demo)
        if not now and self._applying_shown:
            self._applying_shown = False
            self.applying_changed.emit(False)

    # ------------------------------------------------------------------ life cycle
    async def shutdown(self) -> None:
        """Stop listening and cancel running actions (``manager.shutdown()`` comes after)."""
        self._settings_binding.disconnect()
        remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            remove()
        self._pending = None
        await self._actions.shutdown()
        await self._apply_action.shutdown()
