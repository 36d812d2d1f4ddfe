"""Platform details of child processes: clean environment, death signal, job object, groups."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

#: Variables of *our* interpreter and Qt that must not leak into a child's own Python / Qt.
_DROPPED_EXACT = frozenset(
    {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONEXECUTABLE"}
)
_DROPPED_PREFIXES = ("QT_", "QTWEBENGINE_")

_PR_SET_PDEATHSIG = 1


def child_env(extra: Mapping[str, str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (``os.environ``) without our Python/Qt variables, plus ``extra``.

    ``extra`` is applied last, so a launcher may set e.g. ``PYTHONPATH`` on purpose.
    """
    source = os.environ if base is None else base
    env = {
        key: value
        for key, value in source.items()
        if key.upper() not in _DROPPED_EXACT and not key.upper().startswith(_DROPPED_PREFIXES)
    }
    env.update(extra)
    return env


if sys.platform.startswith("linux"):

    def _linux_death_signal(parent_pid: int) -> Callable[[], None]:
        """A ``preexec_fn`` that makes the kernel SIGKILL the child when its parent dies.

        Runs in the forked child before ``exec``. PR_SET_PDEATHSIG is tied to the *thread*
        that forked; asyncio forks from the event-loop thread, which lives as long as the app.
        If the parent already died before the call took effect, the child kills itself.
        """
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl

        def preexec() -> None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

        return preexec


def spawn_options(new_session: bool) -> dict[str, Any]:
    """Keyword arguments for ``asyncio.create_subprocess_exec`` on this platform."""
    options: dict[str, Any] = {}
    if sys.platform == "win32":
        options["creationflags"] = 0x08000000 | 0x00000200  # NO_WINDOW | NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = new_session
        if sys.platform.startswith("linux"):
            options["preexec_fn"] = _linux_death_signal(os.getpid())
    return options


def signal_group(pid: int, *, kill: bool) -> bool:
    """Send SIGTERM (SIGKILL with ``kill``) to the process group led by ``pid``.

    POSIX only (False on Windows, where the job object does this job). Only a group whose
    id is ``pid`` is signalled (a child started in its own session), so the app's own group
    is never hit. The group outlives its leader, which is how grandchildren of a crashed
    server are still reached. Returns True when the signal was sent.
    """
    if sys.platform == "win32":
        return False
    else:  # both branches are platform blocks, so mypy --platform win32 stays quiet
        sig = signal.SIGKILL if kill else signal.SIGTERM
        try:
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(pid) != pid:
                    return False
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True


if sys.platform == "win32":  # pragma: no cover - cannot run on the Linux CI
    from ctypes import wintypes

    class _IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_ulonglong) for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount",
        )]  # fmt: skip

    class _BasicLimits(ctypes.Structure):
        _fields_ = [
            ("PerProcessUserTimeLimit", ctypes.c_int64),
            ("PerJobUserTimeLimit", ctypes.c_int64),
            ("LimitFlags", wintypes.DWORD),
            ("MinimumWorkingSetSize", ctypes.c_size_t),
            ("MaximumWorkingSetSize", ctypes.c_size_t),
            ("ActiveProcessLimit", wintypes.DWORD),
            ("Affinity", ctypes.c_size_t),
            ("PriorityClass", wintypes.DWORD),
            ("SchedulingClass", wintypes.DWORD),
        ]

    class _ExtendedLimits(ctypes.Structure):
        _fields_ = [
            ("BasicLimitInformation", _BasicLimits),
            ("IoInfo", _IoCounters),
            ("ProcessMemoryLimit", ctypes.c_size_t),
            ("JobMemoryLimit", ctypes.c_size_t),
            ("PeakProcessMemoryUsed", ctypes.c_size_t),
            ("PeakJobMemoryUsed", ctypes.c_size_t),
        ]

    _KILL_ON_JOB_CLOSE = 0x2000
    _EXTENDED_LIMIT_INFO_CLASS = 9
    _PROCESS_SET_QUOTA_AND_TERMINATE = 0x0100 | 0x0001
    _job_handle: int | None = None

    def _kill_on_close_job() -> int:
        """The app's one job object; closing its handle (app exit) kills every member."""
        global _job_handle
        if _job_handle is None:
            kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
            handle = kernel32.CreateJobObjectW(None, None)
            if not handle:
                raise ctypes.WinError(ctypes.get_last_error())
            info = _ExtendedLimits()
            info.BasicLimitInformation.LimitFlags = _KILL_ON_JOB_CLOSE
            ok = kernel32.SetInformationJobObject(
                handle, _EXTENDED_LIMIT_INFO_CLASS, ctypes.byref(info), ctypes.sizeof(info)
            )
            if not ok:
                raise ctypes.WinError(ctypes.get_last_error())
            _job_handle = int(handle)
        return _job_handle

    def attach_to_job(pid: int) -> None:
        """Put ``pid`` into the kill-on-close job (its later children join automatically)."""
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        job = _kill_on_close_job()
        process = kernel32.OpenProcess(_PROCESS_SET_QUOTA_AND_TERMINATE, False, pid)
        if not process:
            raise ctypes.WinError(ctypes.get_last_error())
        try:
            if not kernel32.AssignProcessToJobObject(job, process):
                raise ctypes.WinError(ctypes.get_last_error())
        finally:
            kernel32.CloseHandle(process)

else:

    def attach_to_job(pid: int) -> None:
        """Windows only: nothing to do here (POSIX uses sessions and the death signal)."""
        del pid
