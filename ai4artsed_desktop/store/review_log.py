"""The teacher's review log: every block (and every switch of the media check), kept locally.

One SQLite file in the data folder. Every write is one transaction, so a crash never leaves
half an entry; the file is created readable by the user only. Students never see it: the
UI shows it only behind the teacher PIN (the Settings page, which the PIN locks). The
retention setting deletes old entries at start, as it does for runs. CSV export writes a
file that spreadsheets open (UTF-8 with BOM, one row per entry) atomically.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AppError
from ..fileio import atomic_write_bytes
from .retention import retention_cutoff

log = logging.getLogger(__name__)

FILE_NAME = "review_log.sqlite3"
SCHEMA_VERSION = 1
#: The cause of a teacher's own action (a switch of the media check), not a block.
TEACHER_CAUSE = "teacher"
#: The longest text kept per entry (a whole p5.js sketch fits).
MAX_TEXT = 20_000


class ReviewLogError(AppError):
    """The review log file cannot be opened, read or written."""


@dataclass(frozen=True)
class ReviewEntry:
    """One block (or one teacher action) as the log keeps it.

    Attributes:
        time: When, ISO 8601 in UTC (``2026-12-03T17:20:53+00:00``).
        level: The safety level of the run.
        stage: The stage that blocked (``input_safety``, ``interception``, ...,
            ``media_check``), or ``settings`` for a teacher action.
        text: What was blocked (the idea, a stage text, the final prompt; for an image the
            prompt that made it).
        reason: The reason the student saw.
        profile: The lesson profile that was active ("" = none).
        cause: ``wordlist``, ``llm``, ``code_scan``, ``vision``, ``unreadable``,
            ``unavailable`` or ``teacher``.
        run_id: The run ("" for a teacher action).
        detail: The technical detail (matched term, the model's raw answer).
    """

    time: str
    level: str
    stage: str
    text: str
    reason: str
    profile: str = ""
    cause: str = ""
    run_id: str = ""
    detail: str = ""


COLUMNS = tuple(f.name for f in fields(ReviewEntry))


def now_iso() -> str:
    """The current time as the log writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReviewLog:
    """The log file at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per call (callers use worker threads), one transaction."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            conn = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise ReviewLogError(
                "The teacher's review log cannot be opened.",
                detail=f"{self.path}: {exc}",
                key="error.review_log_unopened",
            ) from exc
        try:
            with conn:
                if not self._ready:
                    self._create(conn)
                yield conn
        except sqlite3.Error as exc:
            raise ReviewLogError(
                "The teacher's review log cannot be read or written.",
                key="error.review_log_broken",
                detail=f"{self.path}: {type(exc).__name__}: {exc}",
            ) from exc
        finally:
            conn.close()

    def _create(self, conn: sqlite3.Connection) -> None:
        columns = ", ".join(f"{name} TEXT NOT NULL DEFAULT ''" for name in COLUMNS)
        conn.execute(f"CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, {columns})")
        conn.execute("CREATE INDEX IF NOT EXISTS entries_time ON entries (time)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._ready = True

    def add(self, entry: ReviewEntry) -> None:
        """Append one entry (texts longer than :data:`MAX_TEXT` are shortened)."""
        values = asdict(entry)
        for key in ("text", "detail"):
            if len(values[key]) > MAX_TEXT:
                values[key] = values[key][:MAX_TEXT] + " …"
        marks = ", ".join("?" for _ in COLUMNS)
        with self._db() as conn:
            conn.execute(
                f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({marks})",
                [values[c] for c in COLUMNS],
            )

    def entries(self, limit: int | None = None) -> list[ReviewEntry]:
        """The entries, newest first."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM entries ORDER BY time DESC, id DESC"
        with self._db() as conn:
            if limit is not None:
                rows = conn.execute(sql + " LIMIT ?", (limit,)).fetchall()
            else:
                rows = conn.execute(sql).fetchall()
        return [ReviewEntry(*(str(v) for v in row)) for row in rows]

    def blocks(self, limit: int) -> list[ReviewEntry]:
        """The newest blocks (teacher actions left out), newest first, at most ``limit``."""
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM entries WHERE cause != ? "
            "ORDER BY time DESC, id DESC LIMIT ?"
        )
        with self._db() as conn:
            rows = conn.execute(sql, (TEACHER_CAUSE, max(limit, 0))).fetchall()
        return [ReviewEntry(*(str(v) for v in row)) for row in rows]

    def count(self) -> int:
        """How many entries there are."""
        with self._db() as conn:
            (value,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(value)

    def apply_retention(self, days: int, now: datetime | None = None) -> int:
        """Delete entries from before the retention cut-off; the number deleted."""
        cutoff = retention_cutoff(days, now)
        if cutoff is None:
            return 0
        bound = datetime.fromtimestamp(cutoff, UTC).isoformat(timespec="seconds")
        with self._db() as conn:
            deleted = conn.execute("DELETE FROM entries WHERE time < ?", (bound,)).rowcount
        return int(deleted)

    def clear(self) -> int:
        """Delete every entry; the number deleted."""
        with self._db() as conn:
            deleted = conn.execute("DELETE FROM entries").rowcount
        return int(deleted)

    def export_csv(self, target: Path) -> int:
        """Write every entry (newest first) as CSV to ``target``; the number of rows.

        Raises:
            ReviewLogError: the log cannot be read or the file cannot be written.
        """
        rows = self.entries()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for entry in rows:
            writer.writerow([_cell(getattr(entry, c)) for c in COLUMNS])
        try:
            atomic_write_bytes(target, ("\ufeff" + buffer.getvalue()).encode("utf-8"))
        except OSError as exc:
            raise ReviewLogError(
                "The review log could not be saved there. Choose another folder.",
                key="error.review_log_not_exported",
                detail=f"{target}: {exc}",
            ) from exc
        return len(rows)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
