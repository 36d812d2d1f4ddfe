"""Progress of a long transfer: bytes, total, speed and time left, plus pause and cancel.

One helper for every transfer the Models page shows: file downloads, Ollama pulls and full
hash checks. :class:`TransferControl` is how the page pauses and cancels; :class:`Meter`
turns byte counts into :class:`TransferProgress` events with a smoothed speed.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UserCancelled

#: Speed is averaged over about this many seconds (exponential smoothing).
SPEED_WINDOW_S = 3.0
#: Progress events are sent at most this often (the last one always).
EVENT_INTERVAL_S = 0.2


class Phase(enum.Enum):
    """What a transfer is doing."""

    checking = "checking"  # re-reading a partial download before resuming
    downloading = "downloading"
    paused = "paused"
    retrying = "retrying"  # the connection dropped; waiting before the next try
    verifying = "verifying"  # hashing
    done = "done"


@dataclass(frozen=True)
class TransferProgress:
    """One progress event.

    Attributes:
        name: What is transferred (a file name or an Ollama model).
        phase: What happens now.
        done: Bytes done (a resumed download counts what it already had).
        total: Bytes in all; None while unknown.
        speed: Bytes per second, smoothed; 0 while unknown.
        eta: Seconds left; None while unknown.
    """

    name: str
    phase: Phase
    done: int
    total: int | None
    speed: float = 0.0
    eta: float | None = None

    @property
    def fraction(self) -> float | None:
        """Done as a share of the total (0..1), None while the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


Listener = Callable[[TransferProgress], None]


class TransferControl:
    """Pause, resume and cancel one transfer; the transfer polls it between chunks.

    Must be used on the transfer's event loop (the Qt page runs on the same qasync loop).
    """

    def __init__(self) -> None:
        self._running = asyncio.Event()
        self._running.set()
        self._cancelled = False

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        """True once cancelled."""
        return self._cancelled

    def pause(self) -> None:
        """Stop after the current chunk; the transfer keeps what it has."""
        if not self._cancelled:
            self._running.clear()

    def resume(self) -> None:
        """Continue a paused transfer."""
        self._running.set()

    def cancel(self) -> None:
        """Stop for good (a paused transfer stops too)."""
        self._cancelled = True
        self._running.set()

    def check(self) -> None:
        """Raise :class:`UserCancelled` when cancelled."""
        if self._cancelled:
            raise UserCancelled()

    async def wait_running(self) -> None:
        """Return when not paused; raise :class:`UserCancelled` when cancelled."""
        await self._running.wait()
        self.check()

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early to raise :class:`UserCancelled` on cancel."""
        self.check()
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.05))
            self.check()


class Meter:
    """Byte counts -> throttled :class:`TransferProgress` events with speed and ETA.

    Args:
        name: The transfer's name in the events.
        listener: Receives the events (None: counted only).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        name: str,
        listener: Listener | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._listener = listener
        self._clock = clock
        self._speed = 0.0
        self._last_t: float | None = None
        self._last_done = 0
        self._last_sent = -1.0

    @property
    def speed(self) -> float:
        """The smoothed speed, bytes per second."""
        return self._speed

    def restart(self, done: int) -> None:
        """Forget the speed history (after a pause or a new connection), counting from ``done``."""
        self._last_t = None
        self._last_done = done

    def update(
        self, phase: Phase, done: int, total: int | None, *, force: bool = False
    ) -> TransferProgress:
        """Record ``done`` bytes of ``total``; send an event when due (or ``force``)."""
        now = self._clock()
        if phase in (Phase.downloading, Phase.verifying):
            if self._last_t is None:
                self._last_t, self._last_done = now, done
            elif now > self._last_t:
                rate = (done - self._last_done) / (now - self._last_t)
                weight = min(1.0, (now - self._last_t) / SPEED_WINDOW_S)
                self._speed = (
                    rate if self._speed == 0.0 else self._speed + weight * (rate - self._speed)
                )
                self._last_t, self._last_done = now, done
        eta = None
        if total is not None and self._speed > 0 and phase in (Phase.downloading, Phase.verifying):
            eta = max(0.0, (total - done) / self._speed)
        event = TransferProgress(self.name, phase, done, total, self._speed, eta)
        if self._listener is not None and (force or now - self._last_sent >= EVENT_INTERVAL_S):
            self._last_sent = now
            self._listener(event)
        return event
