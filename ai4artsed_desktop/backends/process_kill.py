"""Stopping a supervised process tree: group signal, grace period, SIGKILL, then reaping."""

from __future__ import annotations

import asyncio
import logging

import psutil

from ..system import processes
from .process_platform import signal_group

log = logging.getLogger(__name__)


def handle_for(pid: int) -> psutil.Process | None:
    """A psutil handle taken at spawn time; later signals through it are safe from pid reuse."""
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


async def stop_tree(
    pid: int,
    *,
    proc: asyncio.subprocess.Process | None,
    handle: psutil.Process | None,
    group: bool,
    grace: float,
) -> None:
    """Stop ``pid`` and every descendant; reap ``proc`` when it is our own child.

    Args:
        pid: the process at the top of the tree.
        proc: our asyncio child, or None for a process we merely adopted.
        handle: psutil handle of ``pid`` taken at spawn time (None when already gone).
        group: ``pid`` leads its own process group (started with a new session).
        grace: seconds between SIGTERM and SIGKILL.
    """
    tree = processes.descendants(pid)  # collected before the parent goes away
    if proc is None:
        await processes.kill_tree(pid, grace)
    elif proc.returncode is None:
        await _stop_child(proc, handle, group=group, grace=grace)
    if tree:
        await processes.stop_procs(tree, grace)
    if group:
        signal_group(pid, kill=True)  # stragglers started after the tree was collected


async def _stop_child(
    proc: asyncio.subprocess.Process,
    handle: psutil.Process | None,
    *,
    group: bool,
    grace: float,
) -> None:
    # Signals go through psutil, never through Popen.terminate()/kill(): those call
    # Popen.poll(), which may reap the child before asyncio's watcher does, and asyncio then
    # reports exit code 255.
    handles = [handle] if handle is not None else []
    if not (group and signal_group(proc.pid, kill=False)):
        processes.signal_procs(handles, kill=False)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        log.info("pid %d did not stop within %.1fs; killing it", proc.pid, grace)
        if group:
            signal_group(proc.pid, kill=True)
        processes.signal_procs(handles, kill=True)
        await proc.wait()  # reap our own child (never psutil.wait_procs on it)


async def remove_leftover(pid: int, create_time: float, *, alive: bool, grace: float) -> None:
    """Clean up after a recorded server that is not adopted.

    Alive: its tree is stopped (it is ours: the creation time matched). Dead, or our own
    zombie: only its process group is killed. Leftover grandchildren keep the dead leader's
    group, and the group id cannot be reused by anyone while that group exists.
    """
    if alive:
        await processes.kill_tree(pid, grace)
        signal_group(pid, kill=True)
        return
    now = processes.create_time(pid)
    if now is None or abs(now - create_time) < 0.01:
        signal_group(pid, kill=True)
