"""Settings → Review log: every block of the class, for the teacher only (behind the PIN).

A table of the newest entries (time, level, stage, what was blocked, the reason the student
saw, the lesson profile), "Export CSV …" and "Clear …" (asks first). The whole Settings
page is hidden while the teacher lock is locked, so students never see this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...store.review_log import ReviewEntry
from ..i18n import Translator
from ..viewmodels.review_log_vm import ReviewLogViewModel

COLUMNS = ("time", "level", "stage", "text", "reason", "profile")
#: Teacher actions as the log stores them -> their translation keys.
_TEACHER_TEXTS = {
    "picture check switched off": "review.media_off",
    "picture check switched on": "review.media_on",
}
PathAsker = Callable[[], Path | None]
Confirm = Callable[[], bool]


def local_time(iso: str) -> str:
    """``2026-12-03T17:20:53+00:00`` as local ``03.12.2026 18:20``; unparsable stays."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return iso


class ReviewLogPanel(QWidget):
    """The review log table with export and clear."""

    def __init__(
        self,
        vm: ReviewLogViewModel,
        translator: Translator,
        parent: QWidget | None = None,
        *,
        ask_path: PathAsker | None = None,
        confirm_clear: Confirm | None = None,
    ) -> None:
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._ask_path = ask_path or self._ask_csv_path
        self._confirm_clear = confirm_clear or self._ask_clear
        self._entries: list[ReviewEntry] = []
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setObjectName("hint")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("reviewLogTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            mode = QHeaderView.ResizeMode.ResizeToContents
            if COLUMNS[column] in ("text", "reason"):
                mode = QHeaderView.ResizeMode.Stretch
            header.setSectionResizeMode(column, mode)
        self.refresh_button = QPushButton()
        self.export_button = QPushButton()
        self.clear_button = QPushButton()
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.refresh_button.clicked.connect(vm.refresh)
        self.export_button.clicked.connect(self.export)
        self.clear_button.clicked.connect(self.clear)
        vm.entries_changed.connect(self._show)
        vm.exported.connect(self._on_exported)
        vm.cleared.connect(lambda n: self._say("review.cleared", count=str(n)))
        vm.failed.connect(self._on_failed)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def _on_failed(self, message: str, _detail: str) -> None:
        """``message`` is a catalogue key (an error's) or, for an error without one, text."""
        self.status.setText(self._tr.tr(message) if self._tr.has(message) else message)

    def showEvent(self, event: QShowEvent) -> None:
        """Read the log each time the teacher opens it (it grows during a lesson)."""
        super().showEvent(event)
        self._vm.refresh()

    def export(self) -> None:
        target = self._ask_path()
        if target is not None:
            if target.suffix.lower() != ".csv":
                target = target.with_name(target.name + ".csv")
            self._vm.export(target)

    def clear(self) -> None:
        if self._confirm_clear():
            self._vm.clear()

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.intro.setText(tr("review.intro"))
        self.table.setHorizontalHeaderLabels([tr(f"review.column.{c}") for c in COLUMNS])
        self.table.setAccessibleName(tr("review.table"))
        for button, key in (
            (self.refresh_button, "review.refresh"),
            (self.export_button, "review.export"),
            (self.clear_button, "review.clear"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
            button.setToolTip(tr(f"{key}_help"))
        self._show(self._entries)

    # ------------------------------------------------------------------ internals
    def _show(self, entries: list[ReviewEntry]) -> None:
        self._entries = list(entries)
        tr = self._tr.tr
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            values = {
                "time": local_time(entry.time),
                "level": tr(f"setting.safety.level.choice.{entry.level}")
                if entry.level in ("kids", "youth", "adult", "research")
                else entry.level,
                "stage": tr(f"review.stage.{entry.stage}"),
                "text": entry.text,
                "reason": entry.reason or "–",
                "profile": entry.profile or "–",
            }
            if entry.stage == "settings" and entry.text in _TEACHER_TEXTS:
                values["text"] = tr(_TEACHER_TEXTS[entry.text])
            for column, name in enumerate(COLUMNS):
                item = QTableWidgetItem(values[name])
                item.setToolTip(
                    values[name] if name != "reason" else f"{values[name]}\n{entry.detail}"
                )
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        self.clear_button.setEnabled(bool(entries))
        self.export_button.setEnabled(bool(entries))
        if not entries:
            self._say("review.empty")
        else:
            self._say("review.count", count=str(len(entries)))

    def _on_exported(self, path: str, rows: int) -> None:
        self._say("review.exported", path=path, count=str(rows))

    def _say(self, key: str, **fmt: str) -> None:
        self.status.setText(self._tr.tr(key, **fmt))

    def _ask_csv_path(self) -> Path | None:
        chosen, _filter = QFileDialog.getSaveFileName(
            self, self._tr.tr("review.export"), str(Path.home() / "review_log.csv"), "CSV (*.csv)"
        )
        return Path(chosen) if chosen else None

    def _ask_clear(self) -> bool:
        answer = QMessageBox.question(self, "", self._tr.tr("review.clear_confirm"))
        return answer == QMessageBox.StandardButton.Yes
