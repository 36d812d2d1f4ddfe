"""One window per data folder: an OS file lock that a crash releases by itself.

The window holds ``<data>/state/app.lock`` for its whole life. The kernel drops the lock
when the process ends however it ends (crash, SIGKILL, power cut), so a lock file left
behind is never "stale": the next start simply takes it. The file's text names the holder
(``pid:start-time``) for messages only; the lock, not the text, decides.

Headless commands do not take the lock (README, "One window per data folder"): a ``run``
works next to the window (its backends only borrow the window's servers, see
``backends/process.py``), ``doctor`` only reads; ``profile import`` asks
:func:`held_by_other` and refuses while a window would overwrite its settings.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import IO

from .system.processes import owner_id

log = logging.getLogger(__name__)

LOCK_NAME = "app.lock"


def lock_path(state_dir: Path) -> Path:
    """Where the window's lock of the data folder with ``state_dir`` lives."""
    return state_dir / LOCK_NAME


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class InstanceLock:
    """The exclusive lock of one data folder (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._handle is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it.

        Raises:
            OSError: the state folder cannot be created or the file cannot be opened.
        """
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+" never truncates: the holder's text stays readable for the one who waits.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (kept open: the lock)
        if not _try_lock(handle):
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(owner_id())
        handle.flush()
        self._handle = handle
        log.info("Instance lock %s taken", self.path)
        return True

    def holder(self) -> str:
        """The ``pid:start-time`` the holder wrote ("" when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def release(self) -> None:
        """Give the lock up (closing the file releases it)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()


def held_by_other(state_dir: Path) -> bool:
    """True when another process (a window) holds the lock of this data folder now."""
    probe = InstanceLock(lock_path(state_dir))
    try:
        if not probe.path.exists():
            return False
        handle = open(probe.path, "a+", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError:
        return False
    try:
        return not _try_lock(handle)
    finally:
        handle.close()  # closing releases a lock the probe got


def describe_holder(holder: str) -> str:
    """``"pid 4242"`` for messages, from the text :meth:`InstanceLock.holder` returns."""
    pid = holder.partition(":")[0]
    return f"pid {pid}" if pid.isdigit() else "another process"


__all__ = ["LOCK_NAME", "InstanceLock", "describe_holder", "held_by_other", "lock_path"]
