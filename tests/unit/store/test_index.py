from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai4artsed_desktop.store.runs import INDEX_NAME, RunStore

from .helpers import inputs


def _fill(store: RunStore, n: int) -> list[str]:
    """``n`` runs one minute apart; returns their ids newest first."""
    ids = []
    for i in range(n):
        record = store.new_run(inputs(f"Idee Nummer {i}"))
        record.created_at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)).isoformat()
        record.status = "done"
        store.save(record)
        ids.append(record.id)
    return ids[::-1]


def test_rebuild_index_returns_count(store: RunStore) -> None:
    ids = _fill(store, 3)
    assert store.rebuild_index() == 3
    assert [s.id for s in store.search()] == ids


def test_deleted_index_file_is_rebuilt_on_open(store: RunStore) -> None:
    ids = _fill(store, 4)
    store.set_favourite(ids[0], True)
    store.close()
    for path in store.runs_dir.glob(f"{INDEX_NAME}*"):
        path.unlink()
    with RunStore(store.runs_dir) as reopened:
        assert [s.id for s in reopened.search()] == ids
        assert [s.id for s in reopened.search(favourites_only=True)] == [ids[0]]
        assert [s.id for s in reopened.search(text="nummer 2")] == [ids[1]]


@pytest.mark.usefixtures("expect_log_warnings")
def test_garbage_index_file_is_moved_aside_and_rebuilt(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _fill(store, 3)
    store.close()
    (store.runs_dir / INDEX_NAME).write_bytes(b"this is not a database" * 500)
    with caplog.at_level(logging.WARNING), RunStore(store.runs_dir) as reopened:
        assert [s.id for s in reopened.search()] == ids
    aside = list(store.runs_dir.glob(f"{INDEX_NAME}.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not")
    assert _damage_warnings(caplog) == 1


def _damage_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum("index was damaged" in r.getMessage() for r in caplog.records)


def _pages_of(path: Path, names: tuple[str, ...]) -> tuple[int, set[int]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        (size,) = db.execute("PRAGMA page_size").fetchone()
        marks = ",".join("?" * len(names))
        rows = db.execute(f"SELECT rootpage FROM sqlite_master WHERE name IN ({marks})", names)
        return int(size), {1} | {int(r[0]) for r in rows}


# Damaging the meta table is noticed while opening; keeping it intact lets the store open
# and find the damage at its first query.
@pytest.mark.parametrize("keep", [("meta",), ("meta", "sqlite_autoindex_meta_1")])
@pytest.mark.usefixtures("expect_log_warnings")
def test_damaged_pages_trigger_a_rebuild(
    store: RunStore, caplog: pytest.LogCaptureFixture, keep: tuple[str, ...]
) -> None:
    ids = _fill(store, 30)
    store.close()
    path = store.runs_dir / INDEX_NAME
    page_size, kept = _pages_of(path, keep)
    data = bytearray(path.read_bytes())
    pages = len(data) // page_size
    assert pages > len(kept) + 2
    for page in set(range(1, pages + 1)) - kept:
        data[(page - 1) * page_size : page * page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), RunStore(store.runs_dir) as reopened:
        assert [s.id for s in reopened.search()] == ids
        assert reopened.count(text="nummer") == 30
    assert _damage_warnings(caplog) == 1
    assert list(store.runs_dir.glob(f"{INDEX_NAME}.corrupt-*"))


def test_folders_added_or_removed_outside_are_noticed_on_open(
    store: RunStore, tmp_path: Path
) -> None:
    ids = _fill(store, 3)
    store.close()
    shutil.move(store.folder(ids[0]), tmp_path / ids[0])
    with RunStore(store.runs_dir) as reopened:
        assert [s.id for s in reopened.search()] == ids[1:]
    shutil.move(tmp_path / ids[0], store.folder(ids[0]))
    with RunStore(store.runs_dir) as reopened:
        assert [s.id for s in reopened.search()] == ids


def test_unfinished_runs_are_reread_on_open(store: RunStore) -> None:
    record = store.new_run(inputs("läuft"))
    store.close()
    data = json.loads((store.folder(record.id) / "run.json").read_text(encoding="utf-8"))
    data["status"] = "cancelled"  # a writer that died before its index update
    (store.folder(record.id) / "run.json").write_text(json.dumps(data), encoding="utf-8")
    with RunStore(store.runs_dir) as reopened:
        assert reopened.search()[0].status == "cancelled"


def test_two_stores_share_one_index(store: RunStore) -> None:
    with RunStore(store.runs_dir) as other:
        record = other.new_run(inputs("vom anderen Prozess"))
        assert [s.id for s in store.search(text="anderen")] == [record.id]
        store.set_favourite(record.id, True)
        assert other.search(favourites_only=True)[0].id == record.id
