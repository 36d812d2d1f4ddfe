"""The history index: a SQLite cache of the run folders for fast listing and search.

The run folders are the truth; this file can be deleted at any time and is rebuilt from
them. Text search uses an FTS5 trigram table (substring matches, also inside German
compound words) when this Python's SQLite has FTS5, else ``LIKE`` over a plain table.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .record import RunRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    status TEXT NOT NULL,
    idea TEXT NOT NULL,
    config_id TEXT NOT NULL,
    output_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    favourite INTEGER NOT NULL,
    thumbnail TEXT NOT NULL,
    media_kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs(created_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_by_config ON runs(config_id, created_ts);
CREATE INDEX IF NOT EXISTS runs_by_output ON runs(output_id, created_ts);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE TABLE IF NOT EXISTS run_models(
    model TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(model, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_models_by_rid ON run_models(rid);
"""
_FTS_TABLE = "CREATE VIRTUAL TABLE IF NOT EXISTS run_text USING fts5(body, tokenize='trigram')"
_PLAIN_TABLE = "CREATE TABLE IF NOT EXISTS run_text(rowid INTEGER PRIMARY KEY, body TEXT NOT NULL)"
_SUMMARY_COLUMNS = (
    "id, created_at, status, idea, config_id, output_id, prompt, favourite, thumbnail, media_kind"
)


def fts5_available() -> bool:
    """True when this Python's SQLite can build an FTS5 trigram table (SQLite >= 3.34)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram')")
        except sqlite3.OperationalError:
            return False
    return True


def is_corrupt(exc: sqlite3.Error) -> bool:
    """True when SQLite says the file is damaged or not a database at all."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


@dataclass(frozen=True)
class IndexEntry:
    """What the index keeps about one run."""

    id: str
    created_at: str
    created_ts: float
    status: str
    idea: str
    config_id: str
    output_id: str
    prompt: str
    favourite: bool
    thumbnail: str
    media_kind: str
    models: frozenset[str]
    body: str

    @classmethod
    def of(cls, record: RunRecord, *, thumbnail: str) -> IndexEntry:
        """The entry for ``record``; ``thumbnail`` is a file name in the run folder or ""."""
        texts = [record.inputs.idea, record.inputs.rules, record.prompt]
        for stage in record.stages:
            texts.append(stage.text)
            if stage.edited_text is not None:
                texts.append(stage.edited_text)
        models = {m for m in record.models.values() if m} | {s.model for s in record.stages}
        return cls(
            id=record.id,
            created_at=record.created_at,
            created_ts=record.created.timestamp(),
            status=record.status,
            idea=record.inputs.idea,
            config_id=record.inputs.config_id,
            output_id=record.inputs.output_id,
            prompt=record.prompt,
            favourite=record.favourite,
            thumbnail=thumbnail,
            media_kind=record.media[0].kind if record.media else "",
            models=frozenset(models - {""}),
            body="\n".join(t for t in texts if t).casefold(),
        )


@dataclass(frozen=True)
class RunQuery:
    """Filters of a history search; empty values do not filter.

    ``text`` is split into words; a run matches when each word occurs (case-insensitive,
    as a substring) in its idea, rules, stage texts or prompt. Times are POSIX seconds,
    ``since`` inclusive and ``until`` exclusive. ``output_id`` may name several outputs
    (a run of any of them matches), e.g. every output of one kind.
    """

    text: str = ""
    config_id: str | None = None
    output_id: str | tuple[str, ...] | None = None
    model: str | None = None
    favourites_only: bool = False
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class IndexRow:
    """One search hit, as stored in the index."""

    id: str
    created_at: str
    status: str
    idea: str
    config_id: str
    output_id: str
    prompt: str
    favourite: bool
    thumbnail: str
    media_kind: str


class RunIndex:
    """One connection to ``index.sqlite3`` (WAL). Use from one thread at a time.

    Opening never fails on a bad file: a corrupt or foreign file is renamed aside
    (``*.corrupt-<time>``) and a fresh index is created; ``fresh`` then says the caller
    must fill it from the run folders.
    """

    def __init__(self, path: Path, *, use_fts: bool | None = None) -> None:
        self.path = path
        self.use_fts = fts5_available() if use_fts is None else use_fts
        self.fresh = False
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self.move_aside(exc)
            self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self.fresh = self._prepare(db) or self.fresh
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> bool:
        """Create or recreate the schema; True when the index starts out empty."""
        kind = "fts5" if self.use_fts else "plain"
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new file
            row = None
        wanted = f"{SCHEMA_VERSION}/{kind}"
        if row is not None and row[0] == wanted:
            return False
        with _transaction(db):
            for table in ("run_text", "run_models", "runs", "meta"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            _run_script(db, _SCHEMA)
            db.execute(_FTS_TABLE if self.use_fts else _PLAIN_TABLE)
            db.execute("INSERT INTO meta(key, value) VALUES ('schema', ?)", (wanted,))
        return True

    def move_aside(self, exc: BaseException) -> Path:
        """Rename a damaged index file out of the way (and drop its WAL files)."""
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self._db.close()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{datetime.now():%Y%m%d-%H%M%S}")
        log.warning("the history index was damaged and is rebuilt (%s); old file: %s", exc, aside)
        with contextlib.suppress(FileNotFoundError):
            self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.path.with_name(self.path.name + suffix).unlink()
        self.fresh = True
        return aside

    def reopen_empty(self, exc: BaseException) -> None:
        """Replace a damaged index (found after opening) with a new, empty one."""
        self.move_aside(exc)
        self._db = self._connect()

    def close(self) -> None:
        """Close the connection (checkpoints the WAL)."""
        self._db.close()

    # -------------------------------------------------------------- writing

    def upsert(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace entries, all in one transaction."""
        db = self._db
        with _transaction(db):
            for e in entries:
                db.execute(
                    "INSERT INTO runs(id, created_at, created_ts, status, idea, config_id,"
                    " output_id, prompt, favourite, thumbnail, media_kind)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                    " created_at=excluded.created_at, created_ts=excluded.created_ts,"
                    " status=excluded.status, idea=excluded.idea, config_id=excluded.config_id,"
                    " output_id=excluded.output_id, prompt=excluded.prompt,"
                    " favourite=excluded.favourite, thumbnail=excluded.thumbnail,"
                    " media_kind=excluded.media_kind",
                    (e.id, e.created_at, e.created_ts, e.status, e.idea, e.config_id,
                     e.output_id, e.prompt, int(e.favourite), e.thumbnail, e.media_kind),
                )  # fmt: skip
                (rid,) = db.execute("SELECT rid FROM runs WHERE id = ?", (e.id,)).fetchone()
                db.execute("DELETE FROM run_text WHERE rowid = ?", (rid,))
                db.execute("INSERT INTO run_text(rowid, body) VALUES (?, ?)", (rid, e.body))
                db.execute("DELETE FROM run_models WHERE rid = ?", (rid,))
                db.executemany(
                    "INSERT INTO run_models(model, rid) VALUES (?, ?)",
                    [(m, rid) for m in sorted(e.models)],
                )

    def remove(self, run_ids: Iterable[str]) -> None:
        """Forget runs (unknown ids are ignored)."""
        db = self._db
        with _transaction(db):
            for run_id in run_ids:
                row = db.execute("SELECT rid FROM runs WHERE id = ?", (run_id,)).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM run_text WHERE rowid = ?", row)
                db.execute("DELETE FROM run_models WHERE rid = ?", row)
                db.execute("DELETE FROM runs WHERE rid = ?", row)

    def clear(self) -> None:
        """Forget every run."""
        with _transaction(self._db):
            for table in ("run_text", "run_models", "runs"):
                self._db.execute(f"DELETE FROM {table}")

    # -------------------------------------------------------------- reading

    def ids(self, *, status: str | None = None) -> set[str]:
        """Ids of all indexed runs, or of those with ``status``."""
        if status is None:
            rows = self._db.execute("SELECT id FROM runs")
        else:
            rows = self._db.execute("SELECT id FROM runs WHERE status = ?", (status,))
        return {row[0] for row in rows}

    def ids_created(
        self, since: float | None, until: float | None, *, skip_favourites: bool = False
    ) -> list[str]:
        """Ids of runs created in ``[since, until)`` (None = open end)."""
        query = RunQuery(since=since, until=until)
        where, params = _where(query, use_fts=self.use_fts)
        if skip_favourites:
            where += " AND favourite = 0"
        rows = self._db.execute(f"SELECT id FROM runs WHERE {where}", params)
        return [row[0] for row in rows]

    def search(self, query: RunQuery, *, limit: int, offset: int) -> list[IndexRow]:
        """Matching runs, newest first."""
        where, params = _where(query, use_fts=self.use_fts)
        rows = self._db.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE {where}"
            " ORDER BY created_ts DESC, id DESC LIMIT ? OFFSET ?",
            [*params, max(0, limit), max(0, offset)],
        )
        return [_row(*row) for row in rows]

    def count(self, query: RunQuery) -> int:
        """How many runs match."""
        where, params = _where(query, use_fts=self.use_fts)
        (total,) = self._db.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", params).fetchone()
        return int(total)


def _row(
    run_id: str,
    created_at: str,
    status: str,
    idea: str,
    config_id: str,
    output_id: str,
    prompt: str,
    favourite: int,
    thumbnail: str,
    media_kind: str,
) -> IndexRow:
    return IndexRow(
        run_id, created_at, status, idea, config_id, output_id, prompt, bool(favourite),
        thumbnail, media_kind,
    )  # fmt: skip


def _where(query: RunQuery, *, use_fts: bool) -> tuple[str, list[object]]:
    """The WHERE clause (never empty) and its parameters for ``query``."""
    clauses = ["1"]
    params: list[object] = []
    for column, value in (("config_id", query.config_id), ("output_id", query.output_id)):
        if isinstance(value, tuple):
            clauses.append(f"{column} IN ({', '.join('?' * len(value))})" if value else "0")
            params.extend(value)
        elif value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.model is not None:
        clauses.append("rid IN (SELECT rid FROM run_models WHERE model = ?)")
        params.append(query.model)
    if query.favourites_only:
        clauses.append("favourite = 1")
    if query.since is not None:
        clauses.append("created_ts >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("created_ts < ?")
        params.append(query.until)
    words = query.text.casefold().split()
    long_words = [w for w in words if use_fts and len(w) >= 3]
    if long_words:
        clauses.append("rid IN (SELECT rowid FROM run_text WHERE run_text MATCH ?)")
        params.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long_words))
    for word in words:
        if word not in long_words:
            clauses.append("rid IN (SELECT rowid FROM run_text WHERE body LIKE ? ESCAPE '\\')")
            params.append("%" + _escape_like(word) + "%")
    return " AND ".join(clauses), params


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
