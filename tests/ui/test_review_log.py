"""The teacher's review log in Settings: shown behind the PIN, exported, cleared, and a
switched-off picture check is written to it."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ai4artsed_desktop.settings import SafetySettings, Settings
from ai4artsed_desktop.store.review_log import ReviewEntry, ReviewLog
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.review_log_vm import ReviewLogViewModel
from ai4artsed_desktop.ui.widgets.review_log_panel import COLUMNS, ReviewLogPanel

from .helpers import run


def _entry(minutes_ago: int, text: str, level: str = "kids") -> ReviewEntry:
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return ReviewEntry(
        time=when.isoformat(timespec="seconds"), level=level, stage="interception", text=text,
        reason="Der verwandelte Text handelt von Gewalt.", profile="Kunst 5b", cause="llm",
        run_id="r1", detail="qwen3:8b answered 'UNSAFE: violence'",
    )  # fmt: skip


def _panel(
    qtbot: Any, log: ReviewLog, tmp_path: Path, **kw: Any
) -> tuple[ReviewLogPanel, ReviewLogViewModel]:
    vm = ReviewLogViewModel(log, TaskRegistry("review-test"))
    panel = ReviewLogPanel(vm, Translator("de"), ask_path=lambda: tmp_path / "out", **kw)
    qtbot.addWidget(panel)
    return panel, vm


def test_the_panel_lists_blocks_newest_first_and_exports_csv(
    qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    log.add(_entry(10, "ein Löwe wird gehäutet"))
    log.add(_entry(1, "überall ist Blut", level="youth"))
    panel, vm = _panel(qtbot, log, tmp_path)
    with qtbot.waitSignal(vm.entries_changed, timeout=5000):
        panel.show()  # every opening reads the log again
    table = panel.table
    assert table.rowCount() == 2
    text = COLUMNS.index("text")
    assert table.item(0, text).text() == "überall ist Blut"
    assert table.item(0, COLUMNS.index("level")).text() == "Jugendliche (13–17)"
    assert table.item(1, COLUMNS.index("stage")).text() == "Verwandlung"
    assert "UNSAFE" in table.item(0, COLUMNS.index("reason")).toolTip()
    with qtbot.waitSignal(vm.exported, timeout=5000):
        panel.export_button.click()
    rows = list(csv.reader((tmp_path / "out.csv").read_text("utf-8-sig").splitlines()))
    assert len(rows) == 3
    assert "2 Einträge" in panel.status.text()
    run(qtbot, vm.shutdown())


def test_clear_asks_first(qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    log.add(_entry(1, "x"))
    answers = [False, True]
    panel, vm = _panel(qtbot, log, tmp_path, confirm_clear=lambda: answers.pop(0))
    with qtbot.waitSignal(vm.entries_changed, timeout=5000):
        panel.show()
    panel.clear_button.click()  # "no"
    assert log.count() == 1
    with qtbot.waitSignal(vm.cleared, timeout=5000):
        panel.clear_button.click()
    assert log.count() == 0
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0, timeout=5000)
    assert panel.status.text() == "Bisher wurde nichts blockiert."
    run(qtbot, vm.shutdown())


def test_switching_the_picture_check_off_is_logged(qloop: Any, qtbot: Any, tmp_path: Path) -> None:
    log = ReviewLog(tmp_path / "review.sqlite3")
    vm = ReviewLogViewModel(log, TaskRegistry("review-test"))
    on = Settings(safety=SafetySettings(level="kids", media_check=True))
    vm.watch_settings(on)  # the start: nothing to log
    vm.watch_settings(dataclasses.replace(on, retention_days=3))  # unrelated change
    off = dataclasses.replace(on, safety=dataclasses.replace(on.safety, media_check=False))
    vm.watch_settings(off)
    run(qtbot, vm.shutdown())
    (entry,) = log.entries()
    assert (entry.stage, entry.cause, entry.level) == ("settings", "teacher", "kids")
    assert entry.text == "picture check switched off"
