"""What reaches the disk when: fsync only for final states and media, batched index updates."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.fileio import atomic_write_bytes
from ai4artsed_desktop.store import index as index_mod
from ai4artsed_desktop.store.index import RunIndex, RunQuery
from ai4artsed_desktop.store.record import StageRecord, utc_now
from ai4artsed_desktop.store.runs import INDEX_NAME, RunStore

from .helpers import inputs, png_bytes


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``os.fsync`` calls (they still run)."""
    calls: list[int] = []
    real = os.fsync

    def counting(fd: Any) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


@pytest.fixture
def upserts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The run ids of every index upsert (they still run)."""
    calls: list[list[str]] = []
    real = RunIndex.upsert

    def counting(self: RunIndex, entries: Any) -> None:
        entries = list(entries)
        calls.append([e.id for e in entries])
        real(self, entries)

    monkeypatch.setattr(RunIndex, "upsert", counting)
    return calls


def _with_text(store: RunStore, text: str) -> Any:
    record = store.new_run(inputs())
    record.stages = [StageRecord(Stage.interception, utc_now(), text=text)]
    return record


# ------------------------------------------------------------------ fileio


def test_durable_write_flushes_file_and_folder(tmp_path: Path, fsyncs: list[int]) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert len(fsyncs) == (2 if os.name == "posix" else 1)
    assert (tmp_path / "a.bin").read_bytes() == b"x"


def test_quick_write_is_atomic_without_fsync(tmp_path: Path, fsyncs: list[int]) -> None:
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    fsyncs.clear()
    atomic_write_bytes(target, b"new" * 100_000, durable=False)
    assert fsyncs == []
    assert target.read_bytes() == b"new" * 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_short_writes_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    atomic_write_bytes(tmp_path / "a.bin", bytes(range(256)) * 3, durable=False)
    assert (tmp_path / "a.bin").read_bytes() == bytes(range(256)) * 3


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")

    def full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new", durable=False)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


# ------------------------------------------------------------------ run store: fsync


def test_only_final_saves_and_media_are_flushed(store: RunStore, fsyncs: list[int]) -> None:
    record = store.new_run(inputs())
    record.prompt = "Zwischenstand"
    store.save(record)
    assert fsyncs == []  # creating and saving a running run: atomic, not flushed
    store.add_media(record, png_bytes(), filename="a.png", mime="image/png", kind="image")
    media_syncs = len(fsyncs)
    assert media_syncs >= 2  # the image and its thumbnail; not the running run.json
    record.status = "done"
    store.save(record)
    assert len(fsyncs) > media_syncs
    more = len(fsyncs)
    store.save(record, durable=False)
    assert len(fsyncs) == more


@pytest.mark.parametrize("status", ["blocked", "failed", "cancelled"])
def test_every_final_status_is_flushed(store: RunStore, fsyncs: list[int], status: Any) -> None:
    record = store.new_run(inputs())
    record.status = status
    store.save(record)
    assert fsyncs


# ------------------------------------------------------------------ run store: index


def test_saves_of_a_running_run_wait_for_a_read(
    store: RunStore, upserts: list[list[str]], search_mode: str
) -> None:
    record = _with_text(store, "erster Zwischentext")
    store.save(record)
    record.stages = [StageRecord(Stage.interception, utc_now(), text="zweiter Zwischentext")]
    store.save(record)
    assert upserts == [[record.id]]  # only new_run wrote the index (the store was open)
    assert [s.id for s in store.search(text="zweiter")] == [record.id]
    assert store.search(text="erster") == []
    assert upserts == [[record.id], [record.id]]  # one batched write before the read
    record.status = "done"
    store.save(record)
    assert upserts[-1] == [record.id]
    assert store.search(text="zweiter")[0].status == "done"


def test_close_writes_batched_updates(app_paths: Any) -> None:
    with RunStore(app_paths.runs_dir) as store:
        record = _with_text(store, "Laternenfuchs")
        store.save(record)
    index = RunIndex(app_paths.runs_dir / INDEX_NAME)
    try:
        assert [r.id for r in index.search(RunQuery("laternenfuchs"), limit=5, offset=0)] == [
            record.id
        ]
    finally:
        index.close()


def test_a_store_that_dies_before_flushing_loses_nothing(app_paths: Any) -> None:
    first = RunStore(app_paths.runs_dir)
    record = _with_text(first, "Schneelaterne")
    first.save(record)  # batched, and the store is never closed (the process "dies")
    with RunStore(app_paths.runs_dir) as second:  # opening re-reads running runs
        assert [s.id for s in second.search(text="schneelaterne")] == [record.id]
    first.close()


def test_a_status_change_is_indexed_at_once(app_paths: Any, upserts: list[list[str]]) -> None:
    first = RunStore(app_paths.runs_dir)
    record = first.new_run(inputs())
    record.status = "done"
    first.save(record)
    record.status = "running"  # continued from the history
    record.prompt = "weitergemacht"
    first.save(record)
    assert [u for u in upserts if u] == [[record.id]] * 3  # created, done, running again
    with RunStore(app_paths.runs_dir) as second:  # it still finds the run as running
        found = second.search(text="weitergemacht")
        assert [(s.id, s.status) for s in found] == [(record.id, "running")]
    first.close()


def test_deleting_drops_batched_updates(store: RunStore) -> None:
    record = _with_text(store, "gleich weg")
    store.save(record)
    store.delete(record.id)
    assert store.count() == 0
    other = _with_text(store, "auch weg")
    store.save(other)
    assert store.delete_all() == 1
    assert store.count() == 0


@pytest.mark.usefixtures("expect_log_warnings")
def test_a_failed_index_write_falls_back_to_a_rebuild(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _with_text(store, "Indexfehler")
    store.save(record)

    def broken(self: RunIndex, entries: Any) -> None:
        raise index_mod.sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(RunIndex, "upsert", broken)
        record.status = "done"
        store.save(record)  # logs a warning; the run files stay the truth
    assert [(s.id, s.status) for s in store.search(text="indexfehler")] == [(record.id, "done")]
