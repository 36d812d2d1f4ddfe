"""A lab seat in its own process (for the process test and benchmarks/lab_console.py).

It pairs with the code when given one and not yet paired, then runs the seat with the
recording SeatActions double; every call is appended as one JSON line to
``DATA_DIR/calls.jsonl``. ``--tick S`` changes the status every S seconds (the stage holds
the change's unix time, so the console can measure status fan-in latency).

Run: ``python -m tests.fakes.lab_seat_proc --data-dir D --port P [--code C --name N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from ai4artsed_desktop.lab.seat import LabSeat
from tests.fakes.lab_actions import RecordingActions


class JournalingActions(RecordingActions):
    """RecordingActions that also write each call to a file the parent process reads."""

    journal: Path | None = None

    def _log(self) -> None:
        if self.journal is None or not self.calls:
            return
        name, args = self.calls[-1]
        with self.journal.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"call": name, "args": args, "at": time.time()}) + "\n")

    async def apply_profile(self, profile: dict[str, object]) -> None:
        await super().apply_profile(profile)
        self._log()

    async def set_paused(self, paused: bool, message: str) -> None:
        await super().set_paused(paused, message)
        self._log()

    async def wipe(self) -> int:
        removed = await super().wipe()
        self._log()
        return removed


async def _tick(seat: LabSeat, actions: RecordingActions, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        actions.set_status(stage=f"bench:{time.time():.6f}")
        seat.notify_status_changed()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--code")
    parser.add_argument("--name", default="seat")
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--tick", type=float, default=0.0)
    args = parser.parse_args()
    actions = JournalingActions(seat_name=args.name)
    actions.journal = args.data_dir / "calls.jsonl"
    seat = LabSeat(
        args.data_dir,
        actions,
        heartbeat_s=args.heartbeat,
        status_poll_s=0.05,
        backoff_s=(0.05, 0.5),
    )
    if args.code and not seat.paired:
        await seat.pair(args.host, args.port, args.code, args.name)
    print("PAIRED", flush=True)
    ticker = asyncio.create_task(_tick(seat, actions, args.tick)) if args.tick > 0 else None
    try:
        await seat.run()
    finally:
        if ticker:
            ticker.cancel()


if __name__ == "__main__":
    asyncio.run(main())
