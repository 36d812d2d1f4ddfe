"""Process trees and port owners through psutil; waits are async, never blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

#: How often the async waits below look at the process table.
POLL_INTERVAL = 0.02


@dataclass(frozen=True)
class PortOwner:
    """The process that listens on a port, as far as the OS lets us see it."""

    pid: int | None
    name: str = ""
    cmdline: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short description for a user message, e.g. ``"ollama (pid 4242)"``."""
        if self.pid is None:
            return "another program"
        label = self.name or (self.cmdline[0] if self.cmdline else "a program")
        return f"{label} (pid {self.pid})"


#: Linux's PF_EXITING task flag (include/linux/sched.h), field 9 of ``/proc/<pid>/stat``.
_PF_EXITING = 0x4


def stat_flags(stat: str) -> int | None:
    """The task flags in the text of a ``/proc/<pid>/stat`` file, or None when unreadable.

    The command name (field 2) is in parentheses and may itself hold spaces and ")", so
    the fields are counted after the last ")".
    """
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[6])
    except (IndexError, ValueError):
        return None


def _exiting(pid: int) -> bool:
    """True when ``pid`` has begun to exit (Linux; elsewhere always False).

    A killed server is still "running" for a moment after it has closed its sockets: the
    kernel sets PF_EXITING first, closes the files, and only then makes it a zombie. A
    client that lost its connection and asks at once must not be told it still runs.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        flags = stat_flags(Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace"))
    except OSError:
        return False  # gone or hidden: psutil has the answer
    return flags is not None and bool(flags & _PF_EXITING)


def _proc_alive(proc: psutil.Process) -> bool:
    """True while ``proc`` runs; a zombie or one that has begun to exit counts as dead."""
    try:
        running = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    return running and not _exiting(proc.pid)


def owner_id() -> str:
    """This process as an owner of runs and servers: pid and start time (reuse-proof)."""
    me = psutil.Process()
    return f"{me.pid}:{me.create_time():.2f}"


def owner_alive(owner: str) -> bool:
    """True while the process named by :func:`owner_id` still runs."""
    pid_text, _, started = owner.partition(":")
    try:
        proc = psutil.Process(int(pid_text))
        return f"{proc.create_time():.2f}" == started and proc.status() != psutil.STATUS_ZOMBIE
    except (ValueError, psutil.Error):
        return False


def is_alive(pid: int, create_time: float | None = None) -> bool:
    """True when ``pid`` runs (zombies count as dead).

    Args:
        pid: the process id.
        create_time: when given, the process must also have this creation time
            (guards against a recycled pid); compared with a small tolerance.
    """
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 0.01:
            return False
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return create_time is None
    return _proc_alive(proc)


def create_time(pid: int) -> float | None:
    """The creation time of ``pid`` (seconds since the epoch), or None when it is gone."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def descendants(pid: int) -> list[psutil.Process]:
    """All children of ``pid``, recursively; empty when ``pid`` is gone."""
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def tree_pids(pid: int) -> list[int]:
    """``pid`` followed by the pids of all its descendants (empty when ``pid`` is gone)."""
    if not is_alive(pid):
        return []
    return [pid, *(p.pid for p in descendants(pid))]


def signal_procs(procs: Iterable[psutil.Process], *, kill: bool) -> None:
    """Send SIGTERM (or SIGKILL with ``kill``) to every process still running."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if kill:
                proc.kill()
            else:
                proc.terminate()


async def wait_gone(procs: Iterable[psutil.Process], within: float) -> list[psutil.Process]:
    """Poll until every process has exited (zombies count); return the survivors.

    Never calls ``wait()``: psutil would reap an asyncio child and asyncio would then see
    exit code 255. Our own children are reaped by ``await proc.wait()``.
    """
    pending = [p for p in procs if _proc_alive(p)]
    deadline = time.monotonic() + within
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(POLL_INTERVAL)
        pending = [p for p in pending if _proc_alive(p)]
    return pending


async def stop_procs(procs: list[psutil.Process], grace: float) -> list[psutil.Process]:
    """Terminate, wait up to ``grace`` seconds, then kill; return the processes that survived."""
    signal_procs(procs, kill=False)
    alive = await wait_gone(procs, grace)
    if alive:
        signal_procs(alive, kill=True)
        alive = await wait_gone(alive, max(1.0, grace))
    for proc in alive:
        log.error("process %s survived SIGKILL", proc.pid)
    return alive


async def kill_tree(pid: int, grace: float = 5.0) -> bool:
    """Stop ``pid`` and all its descendants; True when none of them is left running.

    The descendants are collected **before** anything is signalled, so children that get
    re-parented when their parent dies are still found.
    """
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    procs = [root, *descendants(pid)]
    return not await stop_procs(procs, grace)


# ------------------------------------------------------------------ ports


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port`` (a bind test, the OS's own answer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":
            # Ignore TIME_WAIT leftovers of a server that just stopped; a listener still fails.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1), errno.EACCES):
            return False
        raise
    finally:
        sock.close()
    return True


def _listener(port: int) -> tuple[bool, int | None]:
    """``(seen, pid)`` of a TCP listener on ``port``; pid None when the OS hides it."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return True, None
    for conn in conns:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return True, conn.pid
    return False, None


def port_owner(port: int) -> PortOwner | None:
    """Who listens on ``port``; None when nobody does.

    The pid is None ("another program") when the OS hides other users' processes.
    """
    seen, pid = _listener(port)
    if not seen:
        return None if port_is_free(port) else PortOwner(None)
    if pid is None:
        return PortOwner(None)
    try:
        proc = psutil.Process(pid)
        return PortOwner(pid, proc.name(), tuple(proc.cmdline()))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return PortOwner(pid)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
