"""A watchdog beside the trainer, so that a killed app leaves no orphaned training (POSIX).

On Linux the supervisor gives its direct child a death signal, so ``accelerate launch``
dies with the app. But ``accelerate`` neither has nor forwards one: the Python trainer
under it would keep the GPU busy until it next writes to its dead output pipe, which can
take a whole training step or a silent model load.

:func:`guarded` therefore prefixes the trainer command with a few lines run by the
trainer's own Python (the app may be a frozen executable without a Python). They fork a
watchdog and then ``exec`` the real command, so the supervisor's pid, exit status and
output stay exactly the trainer command's. The watchdog lets go of the output pipes and
checks every :data:`POLL_S` seconds whether its parent (the exec'd command) still runs;
when that parent is gone, whether killed with the app or exited, it SIGKILLs the process
group the supervisor created for the trainer, grandchildren included. A normal stop
(SIGTERM to the group) ends the watchdog too.

On Windows the kill-on-close job object already ends the whole tree with the app.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

#: Seconds between the watchdog's checks of its parent.
POLL_S = 0.2

#: The watchdog's source; it runs on the trainer's Python (3.8 or later will do).
GUARD_CODE = f"""\
import os, signal, sys, time
leader = os.getpid()
own_group = os.getpgrp() == leader
if os.fork() == 0:
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        while os.getppid() == leader:
            time.sleep({POLL_S})
        if own_group:
            os.killpg(leader, signal.SIGKILL)
    finally:
        os._exit(0)
os.execv(sys.argv[1], sys.argv[1:])
"""


def guarded(python: Path, argv: Sequence[str], *, platform: str = sys.platform) -> tuple[str, ...]:
    """``argv`` behind the watchdog, run by ``python`` (``argv`` unchanged on Windows).

    The code goes in as one line (``exec('...')``), so logs of the command stay one line.
    ``argv[0]`` must be a path: it is exec'd without a PATH search.
    """
    if platform == "win32":
        return tuple(argv)
    return (str(python), "-I", "-c", f"exec({GUARD_CODE!r})", *argv)
