"""Pid+port records of running managed servers, so a later app start can adopt or clean up."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from ..fileio import atomic_write_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PidRecord:
    """Identity of a server we started: the pid plus its creation time guards pid reuse.

    ``owner`` names the app process that started (or adopted) it, as
    :func:`~ai4artsed_desktop.system.processes.owner_id` writes it; "" in records written
    before owners were recorded.
    """

    pid: int
    create_time: float
    port: int | None
    argv: tuple[str, ...]
    started_at: float
    owner: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form written to ``<state_dir>/<name>.json``."""
        return {
            "pid": self.pid,
            "create_time": self.create_time,
            "port": self.port,
            "argv": list(self.argv),
            "started_at": self.started_at,
            "owner": self.owner,
        }

    @classmethod
    def from_json(cls, data: Any) -> PidRecord | None:
        """Parse a record; None when any field is missing or has the wrong type."""
        if not isinstance(data, dict):
            return None
        pid, ctime, port = data.get("pid"), data.get("create_time"), data.get("port")
        argv, started = data.get("argv"), data.get("started_at", 0.0)
        owner = data.get("owner", "")
        if not (_is_int(pid) and isinstance(ctime, int | float) and not isinstance(ctime, bool)):
            return None
        if port is not None and not _is_int(port):
            return None
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            return None
        if not isinstance(started, int | float) or not isinstance(owner, str):
            return None
        return cls(pid, float(ctime), port, tuple(argv), float(started), owner)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class RecordFile:
    """The record of one backend: ``<state_dir>/<name>.json``."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.path = state_dir / f"{name}.json"

    def read(self) -> PidRecord | None:
        """The stored record; a corrupt file is removed and reads as None."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.info("cannot read %s: %s", self.path, exc)
            return None
        try:
            record = PidRecord.from_json(json.loads(raw))
        except json.JSONDecodeError:
            record = None
        if record is None:
            log.info("removing unusable process record %s", self.path)
            self.remove()
        return record

    def write(
        self,
        pid: int,
        create_time: float,
        port: int | None,
        argv: tuple[str, ...],
        *,
        owner: str = "",
    ) -> None:
        """Store the record atomically (``owner``: the app process responsible for it).

        Raises:
            OSError: the state folder is not writable.
        """
        record = PidRecord(pid, create_time, port, argv, time.time(), owner)
        atomic_write_json(self.path, record.to_json())

    def remove(self) -> None:
        """Delete the record (no error when it is already gone)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
