"""LabConsoleViewModel: the teacher's console page (listen, the seat grid, class commands).

The console itself (:class:`~ai4artsed_desktop.lab.console.LabConsole`) is plain asyncio;
this view-model starts and stops it, turns its change notifications into one coalesced
``seats_changed`` (30 seats push a status every few seconds: the grid redraws at most every
:data:`COALESCE_MS`), and runs one class command at a time through :class:`AsyncAction`.
Each command's answers are kept per seat, so the grid shows which seat did not do it and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ... import profiles
from ...errors import AppError, ConfigError
from ...lab.console import LabConsole, SeatResult, SeatView
from ...lab.state import PORTFOLIOS_DIR
from ...settings import Settings
from ...system.network import lan_addresses
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..i18n import Translator, both_languages, user_message

log = logging.getLogger(__name__)

COALESCE_MS = 150
#: How many blocked attempts the console asks a seat for.
BLOCKED_LIMIT = 100
#: "Eyes on me" and resume must be quick; a seat that does not answer is reported.
PAUSE_TIMEOUT_S = 15.0
ConsoleFactory = Callable[[Path, int], LabConsole]
#: The commands the page offers (each has its i18n texts under ``lab.command.<name>``).
COMMANDS = ("push", "prepare", "pause", "resume", "collect", "wipe")


@dataclass(frozen=True)
class SeatProgress:
    """A seat's progress in the running command (``message``: ``state:target[:reason]``)."""

    fraction: float
    message: str


class LabConsoleViewModel(QObject):
    """The console page's state and commands.

    Signals:
        listening_changed(bool): the console started or stopped listening.
        code_changed(str): the class code to show (also after "new code").
        seats_changed(): the grid's seats, their statuses or the per-seat answers changed.
        selection_changed(): the selected seats changed.
        busy_changed(bool): a command runs (the command buttons wait).
        command_finished(str, int, int): a command ended: its name, seats that did it,
            seats that did not (their reasons are in :meth:`outcome`).
        blocked_ready(str, list): a seat's blocked attempts (dicts, newest first).
        collected(str): portfolios were saved below this folder.
        error_occurred(str, str): a problem for the page's banner: message and detail.
    """

    listening_changed = Signal(bool)
    code_changed = Signal(str)
    seats_changed = Signal()
    selection_changed = Signal()
    busy_changed = Signal(bool)
    command_finished = Signal(str, int, int)
    blocked_ready = Signal(str, list)
    collected = Signal(str)
    error_occurred = Signal(str, str)

    def __init__(
        self,
        data_dir: Path,
        settings: Callable[[], Settings],
        tasks: TaskRegistry,
        translator: Translator,
        *,
        console_factory: ConsoleFactory | None = None,
        addresses: Callable[[], list[str]] = lan_addresses,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._settings = settings
        self._factory = console_factory or (lambda folder, port: LabConsole(folder, port))
        self._addresses = addresses
        self._tr = translator
        self._console: LabConsole | None = None
        self._seats: list[SeatView] = []
        self._selected: set[str] = set()
        self._progress: dict[str, SeatProgress] = {}
        self._outcome: dict[str, SeatResult] = {}
        self._last_command = ""
        self._lan: list[str] = []
        self._starting = AsyncAction("lab-listen", tasks, parent=self)
        self._command = AsyncAction("lab-command", tasks, parent=self)
        self._command.busy_changed.connect(self.busy_changed)
        # "Eyes on me" must work while a long command (a warm-up, a collection) runs.
        self._attention = AsyncAction("lab-attention", tasks, parent=self)
        self._attention.busy_changed.connect(self.busy_changed)
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self._refresh_seats)

    # ------------------------------------------------------------------ state
    @property
    def listening(self) -> bool:
        return self._console is not None

    @property
    def starting(self) -> bool:
        return self._starting.busy

    @property
    def busy(self) -> bool:
        """A class command (anything but pause and continue) runs."""
        return self._command.busy

    @property
    def attention_busy(self) -> bool:
        """An "eyes on me" or "continue" is on its way."""
        return self._attention.busy

    @property
    def port(self) -> int:
        return self._console.port if self._console else self._settings().lab.console_port

    @property
    def addresses(self) -> list[str]:
        """This PC's LAN addresses (what seats enter), read when listening started."""
        return list(self._lan)

    @property
    def class_code(self) -> str:
        return self._console.class_code if self._console else ""

    @property
    def pairing_locked(self) -> bool:
        return self._console.pairing_locked if self._console else False

    @property
    def seats(self) -> list[SeatView]:
        return list(self._seats)

    @property
    def selected(self) -> set[str]:
        return set(self._selected)

    @property
    def last_command(self) -> str:
        return self._last_command

    @property
    def portfolio_dir(self) -> Path:
        return self._data_dir / PORTFOLIOS_DIR

    def progress(self, seat_id: str) -> SeatProgress | None:
        """The seat's progress in the running (or last) prepare, None when none."""
        return self._progress.get(seat_id)

    def outcome(self, seat_id: str) -> SeatResult | None:
        """The seat's answer to the last command, None when it was not asked."""
        return self._outcome.get(seat_id)

    @property
    def lesson_profile(self) -> str:
        """The name of the active lesson profile on this PC ("" = none to push)."""
        return self._settings().lesson.profile_name

    # ------------------------------------------------------------------ listening
    def start_listening(self) -> bool:
        """Open the class on the port from the settings (the class and its seats persist)."""
        if self._console is not None:
            return False
        port = self._settings().lab.console_port

        async def work() -> LabConsole:
            # Loading the class and making the certificate touch the disk: off the loop.
            console = await asyncio.to_thread(self._factory, self._data_dir, port)
            try:
                await console.start()
            except OSError as exc:
                await console.close()
                raise ConfigError(
                    f"The console cannot listen on port {port}: {exc.strerror or exc}.",
                    detail=str(exc),
                    key="error.lab.port_busy",
                    params={"port": port},
                ) from exc
            self._lan = await asyncio.to_thread(self._addresses)
            return console

        return self._starting.start(work(), done=self._started, error=self._report)

    def _report(self, exc: AppError) -> None:
        message = user_message(self._tr, exc.key, exc.params, exc.user_message)
        self.error_occurred.emit(message, exc.detail)

    def _started(self, console: LabConsole) -> None:
        self._console = console
        console.add_listener(self._on_console_changed)
        log.info("Lab console listening on port %d", console.port)
        self.listening_changed.emit(True)
        self.code_changed.emit(console.class_code)
        self._refresh_seats()

    def stop_listening(self) -> None:
        """Close the port (seats show "offline" and reconnect when it opens again)."""
        console, self._console = self._console, None
        if console is None:
            return
        self._command.cancel()
        self._attention.cancel()
        self._starting.start(console.close(), done=lambda _none: self._stopped())

    def _stopped(self) -> None:
        self._progress.clear()
        self.listening_changed.emit(False)
        self.code_changed.emit("")
        self._refresh_seats()

    def new_code(self) -> None:
        """A fresh class code (e.g. after too many wrong tries); paired seats stay."""
        if self._console is not None:
            self.code_changed.emit(self._console.new_class_code())

    def forget_seat(self, seat_id: str) -> None:
        """Remove a seat from the class (it must pair again)."""
        if self._console is not None:
            self._console.forget_seat(seat_id)
            self._selected.discard(seat_id)
            self._outcome.pop(seat_id, None)

    # ------------------------------------------------------------------ selection
    def set_selected(self, seat_id: str, selected: bool) -> None:
        """Tick or untick one seat (commands then go to the ticked seats only)."""
        before = set(self._selected)
        if selected:
            self._selected.add(seat_id)
        else:
            self._selected.discard(seat_id)
        if self._selected != before:
            self.selection_changed.emit()

    def clear_selection(self) -> None:
        if self._selected:
            self._selected.clear()
            self.selection_changed.emit()

    def _targets(self) -> list[str] | None:
        """The ticked seats, or None for all seats of the class."""
        known = {seat.seat_id for seat in self._seats}
        chosen = sorted(self._selected & known)
        return chosen or None

    # ------------------------------------------------------------------ commands
    def push_profile(self) -> bool:
        """Send this PC's active lesson profile to the seats; False when none is active."""
        settings = self._settings()
        if not settings.lesson.profile_name:
            return False
        document = profiles.to_dict(profiles.profile_from_settings(settings))
        return self._run("push", lambda c, ids: c.push_profile(document, ids))

    def prepare_lesson(self) -> bool:
        """Every (ticked) seat warms its models; progress per seat."""
        self._progress.clear()
        return self._run(
            "prepare", lambda c, ids: c.prepare_lesson(ids, on_progress=self._on_progress)
        )

    def pause(self, message: str) -> bool:
        """Eyes on me: every (ticked) seat shows the pause screen with ``message``."""
        text = message.strip()[:500]
        return self._run(
            "pause",
            lambda c, ids: c.send(
                "set_paused", {"paused": True, "message": text}, ids, timeout_s=PAUSE_TIMEOUT_S
            ),
            attention=True,
        )

    def resume(self) -> bool:
        """Take the pause screen away on every (ticked) seat."""
        return self._run(
            "resume",
            lambda c, ids: c.send(
                "set_paused", {"paused": False, "message": ""}, ids, timeout_s=PAUSE_TIMEOUT_S
            ),
            attention=True,
        )

    def collect_portfolios(self) -> bool:
        """Every (ticked) seat sends its runs' portfolio; saved below :attr:`portfolio_dir`."""

        def done(results: Mapping[str, SeatResult]) -> None:
            if any(r.ok for r in results.values()):
                self.collected.emit(str(self.portfolio_dir))

        return self._run("collect", lambda c, ids: c.collect_portfolios(ids), after=done)

    def wipe(self) -> bool:
        """End-of-lesson wipe on every (ticked) seat; seats not collected refuse."""
        return self._run("wipe", lambda c, ids: c.wipe(ids))

    def blocked_attempts(self, seat_id: str) -> bool:
        """Ask one seat for its blocked attempts (``blocked_ready`` when they arrive)."""
        console = self._console
        if console is None:
            return False

        async def work() -> None:
            results = await console.blocked_attempts(BLOCKED_LIMIT, [seat_id])
            result = results.get(seat_id)
            if result is None or not result.ok:
                reason = result.error if result else ""
                self._outcome[seat_id] = result or SeatResult(seat_id, False, error=reason)
                self._schedule()
                key, params = (result.error_key, result.error_params) if result else ("", {})
                raise AppError(
                    f"The blocked attempts of this seat could not be read: {reason}",
                    key="error.lab.blocked_unreadable",
                    # the seat's reason in each language: the banner says it in its own
                    params=both_languages(self._tr, "reason", key, params, reason),
                )
            rows = result.value if isinstance(result.value, list) else []
            self.blocked_ready.emit(seat_id, [r for r in rows if isinstance(r, dict)])

        return self._command.start(work(), name="lab-blocked", error=self._report)

    def cancel(self) -> bool:
        """Stop waiting for the running command (seats finish what they started)."""
        return self._command.cancel()

    def _run(
        self,
        name: str,
        send: Callable[[LabConsole, list[str] | None], Coroutine[Any, Any, dict[str, SeatResult]]],
        *,
        after: Callable[[Mapping[str, SeatResult]], None] | None = None,
        attention: bool = False,
    ) -> bool:
        """Start a class command; the tiles show its answers.

        A pause or continue sent while another command runs leaves that command's
        answers on the tiles.
        """
        console = self._console
        if console is None:
            return False
        targets = self._targets()
        record = not (attention and self._command.busy)

        def done(results: dict[str, SeatResult]) -> None:
            self._finish(name, results, record=record)
            if after is not None:
                after(results)

        action = self._attention if attention else self._command
        started = action.start(
            send(console, targets), name=f"lab-{name}", done=done, error=self._report
        )
        if started and record:
            self._last_command = name
            self._outcome.clear()  # the tiles answer for this command only
            self._schedule()
        return started

    def _finish(self, name: str, results: Mapping[str, SeatResult], *, record: bool) -> None:
        if record:
            self._outcome.update(results)
        good = sum(1 for r in results.values() if r.ok)
        log.info("Lab console: %s done on %d seat(s), not on %d", name, good, len(results) - good)
        self._coalesce.stop()
        self._refresh_seats()  # the answers show together with the summary
        self.command_finished.emit(name, good, len(results) - good)

    def _on_progress(self, seat_id: str, fraction: float, message: str) -> None:
        self._progress[seat_id] = SeatProgress(max(0.0, min(fraction, 1.0)), message)
        self._schedule()

    # ------------------------------------------------------------------ seats
    def _on_console_changed(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if not self._coalesce.isActive():
            self._coalesce.start()

    def _refresh_seats(self) -> None:
        self._seats = self._console.seats() if self._console else []
        self.seats_changed.emit()

    def seat_ids(self) -> Iterable[str]:
        return (seat.seat_id for seat in self._seats)

    async def shutdown(self) -> None:
        """Stop the command and close the port (the class stays saved)."""
        self._coalesce.stop()
        await self._command.shutdown()
        await self._attention.shutdown()
        await self._starting.shutdown()
        console, self._console = self._console, None
        if console is not None:
            await console.close()
