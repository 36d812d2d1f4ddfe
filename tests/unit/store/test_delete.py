from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ai4artsed_desktop.store.folders import (
    STAGING_PREFIX,
    STALE_TEMP_S,
    TRASH_PREFIX,
    cleanup_leftovers,
    sweep_temp_files,
)
from ai4artsed_desktop.store.record import RunRecord
from ai4artsed_desktop.store.runs import RunStore

from .helpers import inputs, local_noon_utc, png_bytes


def _run_at(store: RunStore, created_at: str, idea: str = "x") -> RunRecord:
    record = store.new_run(inputs(idea))
    record.created_at = created_at
    store.save(record)
    return record


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_delete_removes_folder_and_index_entry(store: RunStore) -> None:
    keep = store.new_run(inputs("bleibt"))
    gone = store.new_run(inputs("weg"))
    store.add_media(gone, png_bytes(), filename="a.png", mime="image/png", kind="image")
    store.delete(gone.id)
    assert not store.folder(gone.id).exists()
    assert [s.id for s in store.search()] == [keep.id]
    assert not list(store.runs_dir.glob(f"{TRASH_PREFIX}*"))
    store.delete(gone.id)  # deleting again is fine


def test_delete_rejects_bad_ids(store: RunStore) -> None:
    with pytest.raises(ValueError, match="not a run id"):
        store.delete("..")
    assert store.runs_dir.exists()


def test_delete_day_uses_local_calendar_days(store: RunStore) -> None:
    before = _run_at(store, local_noon_utc(2026, 5, 1))
    day = [_run_at(store, local_noon_utc(2026, 5, 2)) for _ in range(2)]
    start = datetime(2026, 5, 2, 0, 0, 1).astimezone().astimezone(UTC).isoformat()
    day.append(_run_at(store, start))
    after = _run_at(store, local_noon_utc(2026, 5, 3))
    assert store.delete_day(date(2026, 5, 2)) == 3
    assert sorted(s.id for s in store.search()) == sorted([before.id, after.id])
    assert not any(store.folder(r.id).exists() for r in day)


def test_delete_all_removes_every_run_even_broken_ones(store: RunStore) -> None:
    for n in range(3):
        store.new_run(inputs(str(n)))
    broken = store.runs_dir / "20200101-000000-aaaaaa"
    broken.mkdir()
    (broken / "run.json").write_text("{", encoding="utf-8")
    (store.runs_dir / "notes.txt").write_text("teacher's file", encoding="utf-8")
    assert store.delete_all() == 4
    assert store.search() == []
    assert store.broken_runs == ()
    assert sorted(p.name for p in store.runs_dir.iterdir() if not p.name.startswith("index")) == [
        "notes.txt"
    ]


def test_retention_deletes_old_runs_and_keeps_favourites(store: RunStore) -> None:
    old = _run_at(store, _days_ago(40), "alt")
    old_fav = _run_at(store, _days_ago(45), "alt, Favorit")
    store.set_favourite(old_fav.id, True)
    recent = _run_at(store, _days_ago(2), "neu")
    assert store.apply_retention(0) == 0
    assert store.apply_retention(30) == 1
    assert not store.folder(old.id).exists()
    assert sorted(s.id for s in store.search()) == sorted([old_fav.id, recent.id])
    assert store.apply_retention(30, keep_favourites=False) == 1
    assert [s.id for s in store.search()] == [recent.id]


def test_retention_keeps_whole_calendar_days(store: RunStore) -> None:
    today = datetime.now().astimezone()
    edge_day = (today - timedelta(days=7)).date()
    edge = _run_at(store, local_noon_utc(edge_day.year, edge_day.month, edge_day.day))
    older_day = edge_day - timedelta(days=1)
    older = _run_at(store, local_noon_utc(older_day.year, older_day.month, older_day.day))
    assert store.apply_retention(7) == 1
    assert [s.id for s in store.search()] == [edge.id]
    assert not store.folder(older.id).exists()


@pytest.mark.parametrize("days", [True, 1.5, "30"])
def test_retention_rejects_non_int_days(store: RunStore, days: object) -> None:
    with pytest.raises(ValueError, match="int"):
        store.apply_retention(days)  # type: ignore[arg-type]


def test_interrupted_deletion_is_finished_at_open(store: RunStore) -> None:
    record = store.new_run(inputs())
    store.close()
    leftover = store.runs_dir / f"{TRASH_PREFIX}{record.id}-0000"
    store.folder(record.id).rename(leftover)
    with RunStore(store.runs_dir) as reopened:
        assert not leftover.exists()
        assert reopened.search() == []


def test_stale_staging_folders_and_temp_files_are_removed_fresh_ones_kept(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    staging = runs / f"{STAGING_PREFIX}20260101-000000-aaaaaa"
    staging.mkdir(parents=True)
    run = runs / "20260101-000000-bbbbbb"
    run.mkdir()
    temp = run / ".run.json.x1y2.tmp"
    temp.write_text("{", encoding="utf-8")
    later = time.time() + STALE_TEMP_S + 60
    cleanup_leftovers(runs, now=time.time())  # may belong to a writer that is busy right now
    sweep_temp_files(run, now=time.time())
    assert staging.exists()
    assert temp.exists()
    cleanup_leftovers(runs, now=later)
    assert not staging.exists()
    assert temp.exists()
    sweep_temp_files(run, now=later)
    assert not temp.exists()
    assert run.exists()


def _broken_run(store: RunStore, moment: datetime) -> str:
    run_id = f"{moment.astimezone(UTC):%Y%m%d-%H%M%S}-abcdef"
    store.folder(run_id).mkdir()
    (store.folder(run_id) / "run.json").write_text("{ broken", encoding="utf-8")
    return run_id


@pytest.mark.usefixtures("expect_log_warnings")
def test_unreadable_runs_are_deleted_by_day_and_retention_using_their_id(store: RunStore) -> None:
    on_day = _broken_run(store, datetime(2026, 5, 2, 12, 0).astimezone())
    other_day = _broken_run(store, datetime(2026, 5, 3, 12, 0).astimezone())
    old = _broken_run(store, datetime.now(UTC) - timedelta(days=100))
    recent = _broken_run(store, datetime.now(UTC) - timedelta(days=1))
    store.rebuild_index()
    assert len(store.broken_runs) == 4
    assert store.delete_day(date(2026, 5, 2)) == 1
    assert not store.folder(on_day).exists()
    store.folder(other_day).rename(store.runs_dir / "kept-aside")
    store.rebuild_index()
    assert store.apply_retention(30) == 1
    assert not store.folder(old).exists()
    assert [b.run_id for b in store.broken_runs] == [recent]
