"""What the console and a seat keep on disk, so that a restart keeps the class.

Console (its data folder): ``lab_console.json`` (class id and code, the pairing debit, the
known seats with their secrets and collection/wipe times), ``lab_console_cert.pem`` and
``lab_console_key.pem`` (the self-signed TLS identity seats pin), ``portfolios/``.
Seat (its data folder): ``lab_seat.json`` (the console's address and pinned fingerprint,
the seat id and secret) and ``lab_commands.json`` (the replay journal).

Every file is written atomically with mode 0600; a broken file is an error, never
silently replaced (the teacher would lose the class).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fileio import atomic_write_json
from .crypto import new_class_code

LAB_FOLDER = "lab"  # below the app's data folder: the console's class and the seat's pairing
CONSOLE_FILE = "lab_console.json"
SEAT_FILE = "lab_seat.json"
JOURNAL_FILE = "lab_commands.json"
CERT_FILE = "lab_console_cert.pem"
KEY_FILE = "lab_console_key.pem"
PORTFOLIOS_DIR = "portfolios"


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"The lab file {path.name} cannot be read; it was left untouched.",
            detail=str(exc),
            key="error.lab.file_unreadable",
            params={"file": path.name},
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"The lab file {path.name} is not a JSON object; it was left untouched.",
            detail=f"{path}: {type(data).__name__}",
            key="error.lab.file_broken",
            params={"file": path.name},
        )
    return data


@dataclass
class KnownSeat:
    """One paired seat as the console remembers it."""

    seat_id: str
    name: str
    secret: str  # hex
    paired_at: float
    collected_at: float | None = None
    wiped_at: float | None = None


@dataclass
class ConsoleState:
    """The class: identity, code, pairing debit and seats."""

    class_id: str
    class_code: str
    pairing_debit: int = 0
    seats: dict[str, KnownSeat] = field(default_factory=dict)
    pairing_open: bool = True

    @classmethod
    def load_or_create(cls, folder: Path) -> ConsoleState:
        """The saved class, or a new one (saved at once)."""
        data = _read(folder / CONSOLE_FILE)
        if data is None:
            state = cls(class_id=secrets.token_hex(8), class_code=new_class_code())
            state.save(folder)
            return state
        try:
            seats = {seat_id: KnownSeat(**entry) for seat_id, entry in dict(data["seats"]).items()}
            return cls(
                class_id=str(data["class_id"]),
                class_code=str(data["class_code"]),
                pairing_debit=int(data["pairing_debit"]),
                seats=seats,
                pairing_open=bool(data.get("pairing_open", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"The lab file {CONSOLE_FILE} is incomplete; it was left untouched.",
                detail=repr(exc),
                key="error.lab.file_broken",
                params={"file": CONSOLE_FILE},
            ) from exc

    def save(self, folder: Path) -> None:
        """Write the class atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / CONSOLE_FILE, asdict(self))


@dataclass
class SeatState:
    """A seat's pairing: where its console is and how both recognise each other."""

    host: str
    port: int
    fingerprint: str  # hex SHA-256 of the console certificate
    class_id: str
    seat_id: str
    seat_name: str
    secret: str  # hex

    @classmethod
    def load(cls, folder: Path) -> SeatState | None:
        """The saved pairing, or None when the seat was never paired."""
        data = _read(folder / SEAT_FILE)
        if data is None:
            return None
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(
                f"The lab file {SEAT_FILE} is incomplete; it was left untouched.",
                detail=str(exc),
                key="error.lab.file_broken",
                params={"file": SEAT_FILE},
            ) from exc

    def save(self, folder: Path) -> None:
        """Write the pairing atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / SEAT_FILE, asdict(self))

    @staticmethod
    def forget_journal(folder: Path) -> None:
        """Drop the command journal (a new pairing starts a new conversation)."""
        (folder / JOURNAL_FILE).unlink(missing_ok=True)

    @staticmethod
    def forget(folder: Path) -> None:
        """Unpair: remove the saved pairing (and the journal that belongs to it)."""
        for name in (SEAT_FILE, JOURNAL_FILE):
            (folder / name).unlink(missing_ok=True)


@dataclass
class JournalEntry:
    """One command a seat accepted: when, and (once done) its result."""

    ts: float
    done: bool = False
    ok: bool = False
    value: Any = None
    error: str = ""
    #: The error's catalogue key, parameters and problems for the console (protocol's
    #: ``error_fields``); absent in journals of earlier versions.
    error_fields: dict[str, Any] = field(default_factory=dict)


class CommandJournal:
    """The seat's memory of command ids, for replay refusal and idempotent answers.

    Ids are kept for as long as a command's timestamp is acceptable (plus a margin), so a
    command is either found here (answered from the journal, not run again) or refused as
    too old; it is never run twice.
    """

    def __init__(self, folder: Path, window_s: float) -> None:
        self._path = folder / JOURNAL_FILE
        self._window_s = window_s
        self.entries: dict[str, JournalEntry] = {}
        data = _read(self._path) or {}
        for command_id, entry in data.items():
            try:
                self.entries[str(command_id)] = JournalEntry(**entry)
            except TypeError as exc:
                raise ConfigError(
                    f"The lab file {JOURNAL_FILE} is broken; it was left untouched.",
                    detail=str(exc),
                    key="error.lab.file_broken",
                    params={"file": JOURNAL_FILE},
                ) from exc

    def prune(self, console_now: float) -> None:
        """Drop ids older than twice the window (their commands are refused as too old)."""
        limit = console_now - 2 * self._window_s
        self.entries = {key: e for key, e in self.entries.items() if e.ts >= limit}

    def save(self) -> None:
        """Write the journal atomically (before a command runs and after it finishes)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self._path, {key: asdict(e) for key, e in self.entries.items()}, durable=False
        )


def now() -> float:
    """Wall-clock unix time (one place, so tests read it the same way)."""
    return time.time()
