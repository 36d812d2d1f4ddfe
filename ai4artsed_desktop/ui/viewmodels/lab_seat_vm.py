"""LabSeatViewModel: this PC as a seat of the teacher's lab console (pairing, connection).

The seat connects out to its console in the background from app start (when paired) and
reconnects by itself; nothing here waits on the network in the window's thread, so the
window never freezes when the console is unreachable. The console's commands reach the app
only through :class:`~ai4artsed_desktop.lab.app_actions.AppSeatActions`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...errors import AppError
from ...lab.protocol import MAX_SEAT_NAME
from ...lab.seat import LabError, LabSeat, SeatLink
from ...lab.seat_actions import SeatActions
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..i18n import Translator, user_message

log = logging.getLogger(__name__)

#: How long a pairing attempt may take before the seat says the console did not answer.
PAIR_TIMEOUT_S = 20.0


def default_seat_name() -> str:
    """This computer's name, as the console's grid shows it."""
    return (socket.gethostname().split(".")[0] or "Seat")[:MAX_SEAT_NAME]


class LabSeatViewModel(QObject):
    """The seat's pairing and link for the Settings page.

    Signals:
        link_changed(str): the connection state (a :class:`SeatLink` value).
        paired_changed(bool): the seat was paired or unpaired.
        busy_changed(bool): a pairing attempt runs.
        pair_failed(str, str): pairing failed: message and detail (nothing was changed).
        paired_with(str): pairing worked: the console's address.
    """

    link_changed = Signal(str)
    paired_changed = Signal(bool)
    busy_changed = Signal(bool)
    pair_failed = Signal(str, str)
    paired_with = Signal(str)

    def __init__(
        self,
        data_dir: Path,
        actions: SeatActions,
        tasks: TaskRegistry,
        translator: Translator,
        *,
        seat_options: Mapping[str, Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._tr = translator
        self._seat = LabSeat(data_dir, actions, on_link=self.on_link, **dict(seat_options or {}))
        self._runner: asyncio.Task[None] | None = None
        self._link = str(self._seat.state)
        self._action = AsyncAction("lab-pair", tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)

    # ------------------------------------------------------------------ state
    @property
    def link(self) -> str:
        return self._link

    @property
    def paired(self) -> bool:
        return self._seat.paired

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def console_address(self) -> str:
        """``host:port`` of the paired console ("" when not paired)."""
        pairing = self._seat.pairing
        return f"{pairing.host}:{pairing.port}" if pairing else ""

    @property
    def seat_name(self) -> str:
        pairing = self._seat.pairing
        return pairing.seat_name if pairing else default_seat_name()

    @property
    def last_error(self) -> str:
        return self._seat.last_error

    @property
    def seat(self) -> LabSeat:
        return self._seat

    def on_link(self, state: SeatLink) -> None:
        """The seat's connection changed (called by :class:`LabSeat`)."""
        self._link = str(state)
        self.link_changed.emit(self._link)

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        """Stay connected in the background (idempotent; an unpaired seat only waits)."""
        if self._runner is None or self._runner.done():
            self._runner = self._tasks.spawn(self._seat.run(), name="lab-seat")

    def pair(self, host: str, port: int, code: str, seat_name: str) -> bool:
        """Pair with the console at ``host:port`` with the class code; False when busy.

        The old pairing stays until the new one has worked.
        """
        host, code = host.strip(), code.strip()
        name = seat_name.strip()[:MAX_SEAT_NAME] or default_seat_name()

        async def work() -> None:
            try:
                async with asyncio.timeout(PAIR_TIMEOUT_S):
                    await self._seat.pair(host, port, code, name)
            except TimeoutError as exc:
                raise LabError(
                    f"The console at {host}:{port} did not answer.",
                    detail=f"no answer in {PAIR_TIMEOUT_S:.0f} s",
                    key="error.lab.no_answer",
                    params={"address": f"{host}:{port}"},
                ) from exc

        def done(_none: None) -> None:
            log.info("Lab seat: paired with %s:%d as %r", host, port, name)
            self.paired_changed.emit(True)
            self.paired_with.emit(self.console_address)
            self._seat.notify_status_changed()  # connect now, not after the idle wait
            self.start()

        def refused(exc: AppError) -> None:
            self.pair_failed.emit(
                user_message(self._tr, exc.key, exc.params, exc.user_message), exc.detail
            )

        return self._action.start(work(), done=done, error=refused, catch=(LabError,))

    def unpair(self) -> None:
        """Forget the console; the seat must pair again to be part of a class."""
        self._seat.unpair()
        self.paired_changed.emit(False)

    async def shutdown(self) -> None:
        """Disconnect and stop the background connection."""
        await self._action.shutdown()
        await self._seat.close()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
