"""The lab rig: a console and seats on 127.0.0.1, each with its own data folder."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.seat import LabSeat, SeatLink
from tests.fakes.lab_actions import RecordingActions

HEARTBEAT_S = 0.2


async def wait_until(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    """Poll until ``predicate()`` holds (fails the test after ``within_s``)."""
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def make_console(folder: Path, port: int = 0, **kwargs: object) -> LabConsole:
    return LabConsole(folder, port, "127.0.0.1", heartbeat_s=HEARTBEAT_S, **kwargs)  # type: ignore[arg-type]


@dataclass
class RunningSeat:
    seat: LabSeat
    actions: RecordingActions
    task: asyncio.Task[None]
    links: list[SeatLink] = field(default_factory=list)

    @property
    def seat_id(self) -> str:
        pairing = self.seat.pairing
        assert pairing is not None
        return pairing.seat_id

    async def stop(self) -> None:
        await self.seat.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@dataclass
class Lab:
    root: Path
    console: LabConsole
    seats: list[RunningSeat] = field(default_factory=list)

    async def add_seat(self, name: str, *, pair: bool = True, run: bool = True) -> RunningSeat:
        actions = RecordingActions(seat_name=name)
        links: list[SeatLink] = []
        seat = LabSeat(
            self.root / f"seat-{len(self.seats)}",
            actions,
            heartbeat_s=HEARTBEAT_S,
            status_poll_s=0.02,
            backoff_s=(0.02, 0.2),
            on_link=links.append,
        )
        if pair:
            await seat.pair("127.0.0.1", self.console.port, self.console.class_code, name)
        task = asyncio.create_task(seat.run() if run else asyncio.sleep(0))
        running = RunningSeat(seat, actions, task, links)
        self.seats.append(running)
        if pair and run:
            await wait_until(lambda: self.online(running))
        return running

    def online(self, running: RunningSeat) -> bool:
        return any(v.seat_id == running.seat_id and v.online for v in self.console.seats())

    async def restart_console(self) -> None:
        port = self.console.port
        await self.console.close()
        self.console = make_console(self.root / "console", port)
        await self.console.start()


@contextlib.asynccontextmanager
async def lab(root: Path, **console_kwargs: object) -> AsyncIterator[Lab]:
    console = make_console(root / "console", **console_kwargs)
    await console.start()
    rig = Lab(root, console)
    try:
        yield rig
    finally:
        for running in rig.seats:
            await running.stop()
        await rig.console.close()
