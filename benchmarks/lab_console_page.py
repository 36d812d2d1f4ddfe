"""The teacher's console page with 30 busy seats: grid redraw cost and event-loop stalls.

A ``QApplication`` (offscreen) runs a qasync loop, as the app does, with the real console
page and view-model over a real ``LabConsole`` on 127.0.0.1. Thirty real ``LabSeat`` clients
(the recording SeatActions double, each its own data folder) run in the same loop and
change their status every ``--tick`` seconds (stage, VRAM, a block now and then), so every
seat pushes a status several times a second.

Measured while that goes on for ``--seconds``:

- grid redraw: the time one ``show_seats()`` pass takes (the page's whole reaction to a
  coalesced ``seats_changed``), and how many tiles a pass redrew;
- loop lateness: a 5 ms asyncio timer's lateness on the same loop (what a teacher's click
  would wait for at most), idle first for comparison.

Run: ``python -m benchmarks.lab_console_page [--seats 30] [--seconds 10] [--tick 0.25]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.seat import LabSeat
from ai4artsed_desktop.settings import Settings
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.lab_page import LabPage
from ai4artsed_desktop.ui.qt_async import run_qt_loop
from ai4artsed_desktop.ui.viewmodels.lab_console_vm import LabConsoleViewModel
from tests.fakes.lab_actions import RecordingActions

from ._stats import machine

STAGES = ("", "input_safety", "interception", "generation", "media_check")


def _summary(name: str, samples_ms: Sequence[float], unit: str = "samples") -> str:
    data = sorted(samples_ms)
    p99 = data[min(len(data) - 1, int(len(data) * 0.99))]
    return (
        f"{name}: median {statistics.median(data):.2f} ms "
        f"(p99 {p99:.2f}, max {data[-1]:.2f}) over {len(data)} {unit}"
    )


async def _until(done: Callable[[], bool], within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        if done():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the lab did not get ready")
        await asyncio.sleep(0.02)


async def _lateness(seconds: float) -> list[float]:
    late: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        start = loop.time()
        await asyncio.sleep(0.005)
        late.append((loop.time() - start - 0.005) * 1000)
    return late


async def _churn(seats: list[tuple[LabSeat, RecordingActions]], tick: float) -> None:
    n = 0
    while True:
        for index, (seat, actions) in enumerate(seats):
            actions.set_status(
                stage=STAGES[(n + index) % len(STAGES)],
                vram_used_mb=1000 + (n * 37 + index * 11) % 7000,
                vram_total_mb=8192,
                last_block="Deine Idee enthält Gewalt." if (n + index) % 17 == 0 else "",
                last_block_at=time.time(),
            )
            seat.notify_status_changed()
        n += 1
        await asyncio.sleep(tick)


async def run(args: argparse.Namespace, root: Path) -> None:
    tasks = TaskRegistry("bench-lab-page")
    vm = LabConsoleViewModel(
        root / "console",
        Settings,
        tasks,
        Translator("de"),
        console_factory=lambda folder, _p: LabConsole(folder, 0, "127.0.0.1", heartbeat_s=1.0),
        addresses=lambda: ["127.0.0.1"],
    )
    page = LabPage(vm, Translator("de"), root / "logs")
    page.resize(1366, 700)
    page.show()
    vm.start_listening()
    await _until(lambda: vm.listening)
    seats: list[tuple[LabSeat, RecordingActions]] = []
    for n in range(args.seats):
        actions = RecordingActions(seat_name=f"PC-{n + 1:02d}")
        seat = LabSeat(root / f"seat-{n}", actions, heartbeat_s=1.0, status_poll_s=0.05)
        await seat.pair("127.0.0.1", vm.port, vm.class_code, actions.seat_name)
        tasks.spawn(seat.run(), name=f"seat-{n}")
        seats.append((seat, actions))
    await _until(lambda: sum(s.online for s in vm.seats) == args.seats)
    passes: list[float] = []
    redrawn: list[int] = []
    original = page.show_seats

    def timed() -> None:
        before = {seat_id: tile._shown for seat_id, tile in page.tiles.items()}
        start = time.perf_counter()
        original()
        passes.append((time.perf_counter() - start) * 1000)
        redrawn.append(sum(1 for i, t in page.tiles.items() if t._shown is not before.get(i)))

    vm.seats_changed.disconnect(page.show_seats)
    vm.seats_changed.connect(timed)
    idle = await _lateness(args.idle)
    churn = tasks.spawn(_churn(seats, args.tick), name="churn")
    busy = await _lateness(args.seconds)
    churn.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await churn
    print(machine())
    print(f"{args.seats} seats, a status change each every {args.tick} s, {args.seconds} s")
    print(_summary("grid redraw (one show_seats pass)", passes, "passes"))
    print(f"tiles redrawn per pass: median {statistics.median(redrawn):.0f} of {args.seats}")
    print(_summary("loop lateness idle (5 ms timer)", idle))
    print(_summary("loop lateness with 30 busy seats (5 ms timer)", busy))
    for seat, _actions in seats:
        await seat.close()
    await vm.shutdown()
    await tasks.cancel_all()
    page.deleteLater()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--idle", type=float, default=2.0)
    parser.add_argument("--tick", type=float, default=0.25)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        run_qt_loop(app, run(args, Path(tmp)))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
