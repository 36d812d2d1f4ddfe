"""The teacher's review log: round trip, retention, CSV export, clearing."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ai4artsed_desktop.store.review_log import COLUMNS, ReviewEntry, ReviewLog, ReviewLogError


def entry(when: datetime, text: str = "a sword", **extra: str) -> ReviewEntry:
    values = {
        "time": when.isoformat(timespec="seconds"), "level": "kids", "stage": "interception",
        "text": text, "reason": "Your idea is about violence.", "profile": "Kunst 5b",
        "cause": "wordlist", "run_id": "20261203-172053-abcdef", "detail": "sword (violence)",
    }  # fmt: skip
    values.update(extra)
    return ReviewEntry(**values)


def test_round_trip_newest_first(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "log" / "review.sqlite3")
    now = datetime.now(UTC)
    first, second = entry(now - timedelta(minutes=5), "first"), entry(now, "zweite Ä ß")
    log.add(first)
    log.add(second)
    assert log.entries() == [second, first]
    assert log.entries(limit=1) == [second]
    assert log.count() == 2
    again = ReviewLog(log.path)  # a new app session reads the same file
    assert again.entries() == [second, first]
    if os.name == "posix":
        assert (log.path.stat().st_mode & 0o777) == 0o600  # only the user can read it


def test_blocks_leave_teacher_actions_out(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    now = datetime.now(UTC)
    block = entry(now - timedelta(minutes=2), "a sword")
    switch = entry(now, "media check off", stage="settings", cause="teacher", reason="")
    log.add(block)
    log.add(switch)
    assert log.blocks(10) == [block]
    assert log.blocks(0) == []
    assert log.entries(limit=1) == [switch]


def test_retention_deletes_old_entries_only(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    now = datetime.now(UTC)
    old, recent = entry(now - timedelta(days=40), "old"), entry(now - timedelta(hours=1), "new")
    log.add(old)
    log.add(recent)
    assert log.apply_retention(0) == 0  # 0 keeps everything
    assert log.apply_retention(30) == 1
    assert [e.text for e in log.entries()] == ["new"]


def test_csv_export_is_complete_and_spreadsheet_safe(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    now = datetime.now(UTC)
    log.add(entry(now, '=HYPERLINK("http://x")', detail="line1\nline2, with comma"))
    log.add(entry(now - timedelta(seconds=1), "Ein Ritter mit Schwert"))
    target = tmp_path / "export.csv"
    assert log.export_csv(target) == 2
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets open umlauts right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    assert rows[1][COLUMNS.index("text")] == '\'=HYPERLINK("http://x")'  # never a formula
    assert rows[1][COLUMNS.index("detail")] == "line1\nline2, with comma"
    assert rows[2][COLUMNS.index("text")] == "Ein Ritter mit Schwert"
    assert rows[2][COLUMNS.index("profile")] == "Kunst 5b"


def test_clear_removes_everything(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    log.add(entry(datetime.now(UTC)))
    assert log.clear() == 1
    assert log.entries() == []


def test_export_to_an_unwritable_place_says_so(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    log.add(entry(datetime.now(UTC)))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReviewLogError, match="could not be saved"):
        log.export_csv(blocker / "sub" / "export.csv")


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "review.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ReviewLogError) as info:
        ReviewLog(path).entries()
    assert "review log" in info.value.user_message
    assert str(path) in info.value.detail


def test_a_crash_mid_write_leaves_no_half_entry(tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    log.add(entry(datetime.now(UTC), "kept"))
    conn = sqlite3.connect(log.path)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO entries (time, text) VALUES ('2030-01-01', 'half')")
    conn.close()  # closed without commit, as a crash would
    assert [e.text for e in log.entries()] == ["kept"]
