"""The run store: one folder per run with an atomic ``run.json``, media and a search index.

Threading: a :class:`RunStore` is not thread-safe. Use it from one thread at a time (the
UI calls it through ``asyncio.to_thread`` behind one lock or a single-worker executor).
Several processes (the window and a headless ``run``) may share a runs folder: files are
replaced atomically and the index is SQLite in WAL mode.

Durability: every write of ``run.json`` is atomic (temp file + ``os.replace``), so a killed
process never leaves a torn file. Only writes of a final state (any status other than
``running``) and media files are also flushed to the disk (``fsync``); the saves in the
middle of a run skip it, so a power cut may take a running run back to an earlier stage,
which the next start reports as interrupted anyway.

Index updates of a running run are batched: the index learns about the run when it starts
and when its status changes; the saves in between are kept in memory and written before
any read of the index (search, count, deleting by date) and on :meth:`RunStore.close`.
Nothing is lost when the process dies first: opening a store re-reads every run the
index still lists as running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from ..errors import AppError, ConfigError
from ..fileio import atomic_write_bytes, atomic_write_json
from ..system.processes import owner_alive as owner_alive  # re-exported
from ..system.processes import owner_id as owner_id  # re-exported (runner)
from . import export, media, video
from .folders import (
    STAGING_PREFIX,
    cleanup_leftovers,
    run_folder_names,
    sweep_temp_files,
    trash_folder,
    write_error,
)
from .index import IndexEntry, RunIndex, RunQuery, is_corrupt
from .record import (
    MEDIA_KINDS,
    MediaKind,
    MediaRecord,
    RecordError,
    RunInputs,
    RunRecord,
    is_run_id,
    new_run_id,
    run_id_time,
    utc_now,
)
from .retention import date_range, local_day_bounds, retention_cutoff

log = logging.getLogger(__name__)

INDEX_NAME = "index.sqlite3"
INTERRUPTED = "This run was interrupted: the app was closed or stopped while it ran."


_T = TypeVar("_T")


@dataclass(frozen=True)
class RunSummary:
    """One line of the history list."""

    id: str
    created_at: str
    status: str
    idea: str
    config_id: str
    output_id: str
    prompt: str
    favourite: bool
    thumbnail: Path | None
    media_kind: str


@dataclass(frozen=True)
class BrokenRun:
    """A run folder whose ``run.json`` could not be read; it is left alone, not indexed."""

    run_id: str
    reason: str


class RunStore:
    """Saved runs below ``runs_dir``; see the module docstring for threading.

    Opening brings the index up to date with the folders (new, removed and unfinished
    runs); a missing, outdated or corrupt index is rebuilt.

    Raises:
        ConfigError: ``runs_dir`` cannot be created or read, or the index is locked.
    """

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self._broken: dict[str, str] = {}
        self._index_stale = False
        # Batched index updates (see the module docstring): the newest entry of each
        # running run saved since the last flush, and the runs whose index row already
        # says "running" (only those may wait).
        self._pending: dict[str, IndexEntry] = {}
        self._live: set[str] = set()
        index_path = runs_dir / INDEX_NAME
        try:
            runs_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._index = RunIndex(index_path)
        except (OSError, sqlite3.Error) as exc:
            raise _open_error(exc, index_path) from exc
        try:
            cleanup_leftovers(runs_dir)
            self._guard(self._sync_index)
        except BaseException as exc:
            self._index.close()
            if isinstance(exc, OSError):
                raise _open_error(exc, index_path) from exc
            raise

    def close(self) -> None:
        """Write batched index updates and close the index connection."""
        try:
            self._flush_index()
        finally:
            self._index.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def broken_runs(self) -> tuple[BrokenRun, ...]:
        """Run folders skipped because their ``run.json`` is unreadable, by id."""
        return tuple(BrokenRun(i, r) for i, r in sorted(self._broken.items()))

    # -------------------------------------------------------------- runs

    def folder(self, run_id: str) -> Path:
        """The folder of ``run_id`` (it may not exist).

        Raises:
            ValueError: ``run_id`` is not a run id (protects against path traversal).
        """
        if not is_run_id(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.runs_dir / run_id

    def media_path(self, record: RunRecord, item: MediaRecord) -> Path:
        """The file of ``item``; refuses paths that would leave the run folder.

        Raises:
            ValueError: ``item.path`` is not a plain file name (a tampered ``run.json``).
        """
        return self.folder(record.id) / media.check_media_name(item.path)

    def new_run(self, inputs: RunInputs) -> RunRecord:
        """Create the folder and ``run.json`` of a new run with status ``running``.

        The folder is filled under a hidden name and then renamed, so a crash never
        leaves a run folder without its ``run.json``.

        Raises:
            InsufficientResources: the disk is full.
            ConfigError: the folder cannot be written.
        """
        now = utc_now()
        record = RunRecord(self._free_id(), now, now, "running", inputs, owner=owner_id())
        staging = self.runs_dir / f"{STAGING_PREFIX}{record.id}"
        try:
            staging.mkdir(mode=0o700)
            atomic_write_json(staging / media.RECORD_NAME, record.to_json(), durable=False)
            staging.rename(self.folder(record.id))
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise write_error(exc, self.runs_dir) from exc
        self._update_index(record)
        return record

    def save(self, record: RunRecord, *, durable: bool | None = None) -> None:
        """Write ``run.json`` atomically (sets ``updated_at``) and update the index.

        ``durable`` (default: the status is not ``running``) also flushes the file to the
        disk; see the module docstring for durability and for how the index is batched.

        Raises:
            InsufficientResources: the disk is full; the previous ``run.json`` is intact.
            ConfigError: the run was deleted meanwhile, or the folder is not writable.
        """
        folder = self._existing_folder(record.id)
        previous = record.updated_at
        record.updated_at = utc_now()
        if durable is None:
            durable = record.status != "running"
        try:
            atomic_write_json(folder / media.RECORD_NAME, record.to_json(), durable=durable)
        except OSError as exc:
            record.updated_at = previous
            raise write_error(exc, folder) from exc
        self._broken.pop(record.id, None)
        self._update_index(record)

    def load(self, run_id: str) -> RunRecord:
        """Read a run.

        Raises:
            ConfigError: the run does not exist or its ``run.json`` is unreadable.
        """
        path = self.folder(run_id) / media.RECORD_NAME
        try:
            return RunRecord.from_json(json.loads(path.read_bytes()))
        except FileNotFoundError as exc:
            raise ConfigError(
                "This run no longer exists.", detail=str(path), key="error.run_gone"
            ) from exc
        except (OSError, ValueError) as exc:  # RecordError and JSONDecodeError are ValueErrors
            raise ConfigError(
                "This run could not be read; its file is damaged.",
                detail=f"{path}: {exc}",
                key="error.run_damaged",
            ) from exc

    def add_media(
        self,
        record: RunRecord,
        data: bytes,
        *,
        filename: str,
        mime: str,
        kind: MediaKind,
        metadata: Mapping[str, str] | None = None,
    ) -> MediaRecord:
        """Save a media file into the run folder, list it in ``record`` and save the record.

        PNGs get text chunks with the generation metadata and the AI-generated note
        (``metadata`` adds or overrides keys); MP4 and WebM videos get the same as container
        tags. The first image, or the first frame of the first video, becomes ``thumb.jpg``.
        A name that is taken gets a ``-2``, ``-3``... suffix. On failure nothing changes.

        Raises:
            ValueError: ``filename`` is not a plain safe file name, or ``kind`` is unknown.
            InsufficientResources: the disk is full.
            ConfigError: the run was deleted meanwhile, or the folder is not writable.
        """
        media.check_media_name(filename)
        if kind not in MEDIA_KINDS:
            raise ValueError(f"unknown media kind {kind!r}")
        folder = self._existing_folder(record.id)
        name = media.unique_name(folder, filename)
        payload = self._with_metadata(record, data, mime, metadata)
        item = MediaRecord(name, mime, kind, hashlib.sha256(payload).hexdigest())
        thumb = folder / media.THUMB_NAME
        written: list[Path] = []
        try:
            atomic_write_bytes(folder / name, payload)
            written.append(folder / name)
            if kind in ("image", "video") and not thumb.exists():
                make = media.make_thumbnail if kind == "image" else media.make_video_thumbnail
                jpeg = make(payload)
                if jpeg is not None:
                    atomic_write_bytes(thumb, jpeg)
                    written.append(thumb)
            record.media.append(item)
            self.save(record)
        except (OSError, AppError) as exc:
            if item in record.media:
                record.media.remove(item)
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            if isinstance(exc, OSError):
                raise write_error(exc, folder) from exc
            raise
        return item

    def set_favourite(self, run_id: str, value: bool) -> None:
        """Mark or unmark a run as favourite.

        Raises:
            ConfigError: the run does not exist or cannot be read or written.
            InsufficientResources: the disk is full.
        """
        record = self.load(run_id)
        if record.favourite != value:
            record.favourite = value
            self.save(record)

    # -------------------------------------------------------------- deleting

    def delete(self, run_id: str) -> None:
        """Delete a run's folder and forget it (a missing run is not an error).

        Raises:
            ConfigError: the folder could not be removed (a file is in use).
        """
        self._delete_folders([self.folder(run_id)])

    def delete_day(self, day: date) -> int:
        """Delete every run created on the local calendar day ``day``; returns the count.

        Unreadable runs count by the time in their id.
        """
        since, until = local_day_bounds(day)
        ids = self._guard(lambda: self._index.ids_created(since, until))
        return self._delete_ids(ids + self._broken_created(since, until))

    def delete_all(self) -> int:
        """Delete every run folder, readable or not; returns the count."""
        ids = run_folder_names(self.runs_dir)
        self._delete_folders([self.runs_dir / i for i in ids])
        self._broken.clear()
        self._forget_batched()
        self._index_write(lambda index: index.clear())
        return len(ids)

    def apply_retention(self, days: int, *, keep_favourites: bool = True) -> int:
        """Delete runs made before the last ``days`` calendar days (0 = keep all).

        Favourites are kept unless ``keep_favourites`` is False; unreadable runs count by
        the time in their id. Returns the count.
        """
        cutoff = retention_cutoff(days)
        if cutoff is None:
            return 0
        ids = self._guard(
            lambda: self._index.ids_created(None, cutoff, skip_favourites=keep_favourites)
        )
        deleted = self._delete_ids(ids + self._broken_created(None, cutoff))
        if deleted:
            log.info("retention: deleted %d runs older than %d days", deleted, days)
        return deleted

    # -------------------------------------------------------------- searching

    def search(
        self,
        *,
        text: str = "",
        config_id: str | None = None,
        output_id: str | tuple[str, ...] | None = None,
        model: str | None = None,
        favourites_only: bool = False,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[RunSummary]:
        """Runs matching every given filter, newest first.

        ``text`` words must all occur in the idea, rules, a stage text or the prompt;
        ``date_from``/``date_to`` are inclusive local days (or exact datetimes).
        """
        since, until = date_range(date_from, date_to)
        query = RunQuery(text, config_id, output_id, model, favourites_only, since, until)
        rows = self._guard(lambda: self._index.search(query, limit=limit, offset=offset))
        return [
            RunSummary(
                id=r.id,
                created_at=r.created_at,
                status=r.status,
                idea=r.idea,
                config_id=r.config_id,
                output_id=r.output_id,
                prompt=r.prompt,
                favourite=r.favourite,
                thumbnail=self.runs_dir / r.id / r.thumbnail if r.thumbnail else None,
                media_kind=r.media_kind,
            )
            for r in rows
        ]

    def count(
        self,
        *,
        text: str = "",
        config_id: str | None = None,
        output_id: str | tuple[str, ...] | None = None,
        model: str | None = None,
        favourites_only: bool = False,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> int:
        """How many runs :meth:`search` would find without ``limit``."""
        since, until = date_range(date_from, date_to)
        query = RunQuery(text, config_id, output_id, model, favourites_only, since, until)
        return self._guard(lambda: self._index.count(query))

    def rebuild_index(self) -> int:
        """Re-read every run folder into an emptied index; returns the number indexed."""
        self._forget_batched()
        self._index.clear()
        self._index_stale = False
        self._sync_index()
        return len(self._index.ids())

    def export_portfolio(
        self,
        run_ids: Iterable[str],
        dest_zip: Path,
        *,
        language: str = "en",
        names: Mapping[str, str] | None = None,
    ) -> Path:
        """Write a portfolio ZIP (``index.html`` + media + ``run.json`` per run).

        ``names``: the rules' and outputs' names by id for the headings.

        Raises:
            ConfigError: a run is missing or unreadable, or ``dest_zip`` is not writable.
            InsufficientResources: the disk is full.
        """
        runs = [(self.load(i), self.folder(i)) for i in dict.fromkeys(run_ids)]
        try:
            return export.write_portfolio(runs, dest_zip, language=language, names=names)
        except OSError as exc:
            raise write_error(exc, dest_zip.parent, what="The portfolio") from exc

    # -------------------------------------------------------------- internals

    def _free_id(self) -> str:
        while True:
            run_id = new_run_id()
            staging = self.runs_dir / f"{STAGING_PREFIX}{run_id}"
            if not self.folder(run_id).exists() and not staging.exists():
                return run_id

    def _existing_folder(self, run_id: str) -> Path:
        folder = self.folder(run_id)
        if not folder.is_dir():
            raise ConfigError(
                "This run was deleted, so it cannot be saved.",
                detail=str(folder),
                key="error.run_deleted",
            )
        return folder

    def _update_index(self, record: RunRecord) -> None:
        """Index a saved record now, or batch it while its row already says "running"."""
        entry = self._entry(record)
        if entry.status == "running" and record.id in self._live:
            self._pending[record.id] = entry
            return
        self._pending.pop(record.id, None)
        self._live.discard(record.id)
        if self._index_write(lambda index: index.upsert([entry])) and entry.status == "running":
            self._live.add(record.id)

    def _flush_index(self) -> None:
        """Write the batched index updates (one transaction)."""
        if self._pending:
            entries, self._pending = list(self._pending.values()), {}
            self._index_write(lambda index: index.upsert(entries))

    def _forget_batched(self) -> None:
        """Drop batched updates: the index is about to be refilled from the run folders."""
        self._pending.clear()
        self._live.clear()

    def _entry(self, record: RunRecord) -> IndexEntry:
        thumb = self.folder(record.id) / media.THUMB_NAME
        return IndexEntry.of(record, thumbnail=media.THUMB_NAME if thumb.exists() else "")

    def _with_metadata(
        self, record: RunRecord, data: bytes, mime: str, extra: Mapping[str, str] | None
    ) -> bytes:
        if mime.startswith("video/"):
            tags = media.video_metadata(record) | dict(extra or {})
            try:
                return video.video_with_tags(data, mime, {k: v for k, v in tags.items() if v})
            except ValueError as exc:
                log.warning("run %s: video saved without metadata (%s)", record.id, exc)
                return data
        if mime != "image/png":
            return data
        text = media.png_metadata(record) | dict(extra or {})
        media.check_png_keywords(text)
        try:
            return media.png_with_text(data, {k: v for k, v in text.items() if v})
        except ValueError as exc:
            log.warning("run %s: PNG saved without metadata (%s)", record.id, exc)
            return data

    def _sync_index(self) -> None:
        """Index new and unfinished run folders, forget vanished ones."""
        on_disk = set(run_folder_names(self.runs_dir))
        indexed = self._index.ids()
        todo = (on_disk - indexed) | (self._index.ids(status="running") & on_disk)
        entries = [e for e in map(self._read_for_index, sorted(todo)) if e is not None]
        self._index.upsert(entries)
        self._index.remove(indexed - on_disk)
        for run_id in set(self._broken) - on_disk:
            del self._broken[run_id]

    def _read_for_index(self, run_id: str) -> IndexEntry | None:
        """Read a run for the index (new, unfinished or all runs; also sweeps old temp files)."""
        sweep_temp_files(self.folder(run_id))
        path = self.folder(run_id) / media.RECORD_NAME
        try:
            record = RunRecord.from_json(json.loads(path.read_bytes()))
            if record.id != run_id:
                raise RecordError(f"run.json names another run ({record.id})")
        except (OSError, ValueError) as exc:
            if self._broken.get(run_id) is None:
                log.warning("skipping run %s: its run.json is unreadable (%s)", run_id, exc)
            self._broken[run_id] = str(exc)
            return None
        self._broken.pop(run_id, None)
        if record.status == "running" and not owner_alive(record.owner):
            self._mark_interrupted(record, path)
        return self._entry(record)

    def _mark_interrupted(self, record: RunRecord, path: Path) -> None:
        """A run whose process is gone (the app was killed): say so instead of "running"."""
        record.status = "failed"
        record.error = {"message": INTERRUPTED, "detail": f"owner {record.owner or '?'} gone"}
        record.owner = ""
        try:
            atomic_write_json(path, record.to_json())
        except OSError as exc:  # read-only or full disk: the index still says the truth
            log.warning("run %s: could not mark it interrupted (%s)", record.id, exc)
        else:
            log.info("Run %s was interrupted by the end of its process", record.id)

    def _broken_created(self, since: float | None, until: float) -> list[str]:
        """Unreadable runs whose id says they were created in ``[since, until)``."""
        times = {i: run_id_time(i).timestamp() for i in self._broken}
        return [i for i, t in times.items() if (since is None or since <= t) and t < until]

    def _delete_ids(self, run_ids: Sequence[str]) -> int:
        self._delete_folders([self.folder(i) for i in run_ids])
        return len(run_ids)

    def _delete_folders(self, folders: Sequence[Path]) -> None:
        """Delete run folders and forget them; on an error the ones before it are gone."""
        gone: list[str] = []
        try:
            for folder in folders:
                trash_folder(folder)
                gone.append(folder.name)
                self._broken.pop(folder.name, None)
                self._pending.pop(folder.name, None)
                self._live.discard(folder.name)
        finally:
            self._index_write(lambda index: index.remove(gone))

    def _guard(self, action: Callable[[], _T]) -> _T:
        """Run an index read; a corrupt index is replaced, rebuilt and the read retried.

        Batched updates are written first, so a read sees every saved run as it is.
        """
        self._flush_index()
        if self._index_stale:
            self._index_stale = False
            self._guard(self.rebuild_index)
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise ConfigError(
                    "The history could not be read. Close other copies of the app and retry.",
                    detail=f"{self.runs_dir / INDEX_NAME}: {exc}",
                    key="error.history_unreadable",
                ) from exc
            self._forget_batched()
            self._index.reopen_empty(exc)
            self._sync_index()
            return action()

    def _index_write(self, action: Callable[[RunIndex], None]) -> bool:
        """Update the index; on failure the run files stay the truth and it is rebuilt later.

        Returns False when the update failed.
        """
        try:
            action(self._index)
        except sqlite3.Error as exc:
            log.warning("the history index could not be updated (%s); it will be rebuilt", exc)
            self._index_stale = True
            self._forget_batched()
            return False
        return True


def _open_error(exc: OSError | sqlite3.Error, index_path: Path) -> ConfigError:
    return ConfigError(
        "The saved runs could not be opened. Check that the folder is writable and close "
        "other copies of the app.",
        detail=f"{index_path}: {exc}",
        key="error.runs_not_opened",
    )
