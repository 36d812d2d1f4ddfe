"""Lab console with 30 seats on loopback: profile push, status fan-in latency, console RSS.

The console runs in this process; each seat is its own Python process by default
(``tests/fakes/lab_seat_proc.py``: a real LabSeat with the recording SeatActions double and
its own data folder), so the console's RSS is its own. ``--mode inproc`` runs the seats
in this process's event loop instead (then the RSS includes the seats).

- profile push: ``push_profile`` to every seat until every seat has answered (apply
  included), one round after the other;
- status fan-in: each seat changes its status every ``--tick`` seconds (the stage holds the
  change's time); the latency is from that change to the console's snapshot showing it;
- console RSS: before the seats, and with every seat online after the measurements.

Run: ``python -m benchmarks.lab_console [--seats 30] [--rounds 50] [--mode procs|inproc]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import psutil

from ai4artsed_desktop.lab.console import LabConsole

from ._stats import machine

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20


def _summary(name: str, samples_ms: Sequence[float], unit: str = "runs") -> str:
    data = sorted(samples_ms)
    p99 = data[min(len(data) - 1, int(len(data) * 0.99))]
    return (
        f"{name}: median {statistics.median(data):.1f} ms "
        f"(p99 {p99:.1f}, max {data[-1]:.1f}) over {len(data)} {unit}"
    )


@contextlib.asynccontextmanager
async def _seat_processes(
    root: Path, console: LabConsole, count: int, tick: float
) -> AsyncIterator[None]:
    procs = []
    for n in range(count):
        argv = ["-m", "tests.fakes.lab_seat_proc", "--data-dir", str(root / f"seat-{n}")]
        argv += ["--port", str(console.port), "--code", console.class_code]
        argv += ["--name", f"Platz {n + 1:02d}", "--tick", str(tick)]
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, *argv, cwd=REPO, stdout=asyncio.subprocess.DEVNULL
            )
        )
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()


@contextlib.asynccontextmanager
async def _seats_in_process(
    root: Path, console: LabConsole, count: int, tick: float
) -> AsyncIterator[None]:
    from ai4artsed_desktop.lab.seat import LabSeat

    sys.path.insert(0, str(REPO))
    from tests.fakes.lab_actions import RecordingActions
    from tests.fakes.lab_seat_proc import _tick

    seats, tasks = [], []
    for n in range(count):
        actions = RecordingActions(seat_name=f"Platz {n + 1:02d}")
        seat = LabSeat(root / f"seat-{n}", actions, status_poll_s=0.05)
        await seat.pair("127.0.0.1", console.port, console.class_code, actions.seat_name)
        seats.append(seat)
        tasks += [asyncio.create_task(seat.run()), asyncio.create_task(_tick(seat, actions, tick))]
    try:
        yield
    finally:
        for task in tasks[1::2]:
            task.cancel()
        for seat in seats:
            await seat.close()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _wait_online(console: LabConsole, count: int, within_s: float) -> None:
    started = time.monotonic()
    while sum(view.online for view in console.seats()) < count:
        if time.monotonic() - started > within_s:
            raise SystemExit(f"only {sum(v.online for v in console.seats())}/{count} online")
        await asyncio.sleep(0.05)


async def _fan_in(console: LabConsole, seconds: float) -> list[float]:
    # the stages already shown are not new changes (they would count up to a tick as latency)
    seen = {view.seat_id: view.status.stage if view.status else "" for view in console.seats()}
    latencies: list[float] = []

    def on_change() -> None:
        arrived = time.time()
        for view in console.seats():
            stage = view.status.stage if view.status else ""
            if stage.startswith("bench:") and seen.get(view.seat_id) != stage:
                seen[view.seat_id] = stage
                latencies.append((arrived - float(stage[6:])) * 1000)

    console.add_listener(on_change)
    await asyncio.sleep(seconds)
    console.remove_listener(on_change)
    return latencies


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        root = Path(tmp)
        console = LabConsole(root / "console", 0, "127.0.0.1")
        await console.start()
        rss_before = psutil.Process().memory_info().rss / MIB
        seats = _seat_processes if args.mode == "procs" else _seats_in_process
        try:
            started = time.monotonic()
            async with seats(root, console, args.seats, args.tick):
                await _wait_online(console, args.seats, 180)
                joined = time.monotonic() - started
                print(f"{args.seats} seats started, paired and online after: {joined:.1f} s")
                pushes = []
                for n in range(args.rounds):
                    started = time.perf_counter()
                    results = await console.push_profile({"name": f"Runde {n}"})
                    pushes.append((time.perf_counter() - started) * 1000)
                    failed = [r.error for r in results.values() if not r.ok]
                    if len(results) != args.seats or failed:
                        raise SystemExit(f"push round {n}: {len(results)} answers, {failed}")
                print(_summary(f"profile push to {args.seats} seats (all answered)", pushes))
                latencies = await _fan_in(console, args.fan_in_s)
                print(_summary("status fan-in, seat change -> console", latencies, "changes"))
                rss = psutil.Process().memory_info().rss / MIB
                what = "console" if args.mode == "procs" else "console + seats (one process)"
                print(f"{what} RSS with {args.seats} seats online: {rss:.1f} MiB")
                print(f"{what} RSS before the seats: {rss_before:.1f} MiB")
        finally:
            await console.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--fan-in-s", type=float, default=10.0)
    parser.add_argument("--mode", choices=("procs", "inproc"), default="procs")
    args = parser.parse_args()
    seat_kind = "seat processes" if args.mode == "procs" else "in-process seats"
    print(f"# lab_console ({args.seats} {seat_kind}; {machine()})")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
