"""Python's cyclic garbage collector, run on the main (GUI) thread only.

The collector runs in whichever thread happens to allocate when a threshold is passed; in
this app that is often a worker of ``asyncio.to_thread`` (hashing, scanning, decoding). A
Qt object freed there ("QObject::~QObject: Timers cannot be stopped from another thread")
can crash Qt. So the automatic collector is switched off and a timer on the main thread
does its work: the same generations at the same thresholds, a few times a second.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the main thread looks at the collector's counts.
CHECK_INTERVAL_MS = 250


class MainThreadCollector(QObject):
    """Switches the automatic collector off and collects from a main-thread timer."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS):
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """From now on only this object's timer collects (call it on the main thread)."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Give collection back to Python (at the end of the program)."""
        self._timer.stop()
        gc.enable()

    def check(self) -> int:
        """Collect the oldest generation whose count is over its threshold, as Python would.

        Returns the generation collected, or -1 when none was due.
        """
        due = -1
        for generation, (count, threshold) in enumerate(
            zip(gc.get_count(), self._thresholds, strict=False)
        ):
            if threshold and count > threshold:
                due = generation
        if due >= 0:
            gc.collect(due)
        return due
