"""A stand-in app: supervises fake_server.py, writes the child's pid, then waits forever.

Tests SIGKILL this process and check that the child dies with it (PR_SET_PDEATHSIG).
Usage: supervise.py STATE_DIR LOG_DIR PORT PIDFILE [fake_server args...]
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from ai4artsed_desktop.backends.process import ProcessSupervisor
from tests.fakes.procs import fake_spec


def write_atomically(path: str, text: str) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(path + ".tmp", path)


async def main() -> None:
    state_dir, log_dir, port, pidfile, *extra = sys.argv[1:]
    sup = ProcessSupervisor(
        fake_spec(int(port), *extra), log_dir=Path(log_dir), state_dir=Path(state_dir)
    )
    await sup.ensure_ready()
    write_atomically(pidfile, str(sup.pid))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
