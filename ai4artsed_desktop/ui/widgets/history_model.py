"""HistoryListModel: the History view-model's runs as grid items with lazy thumbnails.

Rows mirror :attr:`HistoryViewModel.rows` through its delta signals; more rows are read
page by page when the view asks (``canFetchMore``/``fetchMore``). Thumbnails are decoded in
a worker thread, cached, and shown as a placeholder until they are there.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QPolygonF

from ...store.record import parse_timestamp
from ...store.runs import RunSummary
from ...tasks import TaskRegistry
from ..i18n import Translator
from ..viewmodels.history_vm import HistoryViewModel

RunIdRole = Qt.ItemDataRole.UserRole + 1
IdeaRole = Qt.ItemDataRole.UserRole + 2
ConfigNameRole = Qt.ItemDataRole.UserRole + 3
OutputNameRole = Qt.ItemDataRole.UserRole + 4
DateRole = Qt.ItemDataRole.UserRole + 5
StatusRole = Qt.ItemDataRole.UserRole + 6
FavouriteRole = Qt.ItemDataRole.UserRole + 7
SummaryRole = Qt.ItemDataRole.UserRole + 8

THUMB_SIDE = 160
CACHE_SIZE = 600
#: The label key of each run status.
STATUS_KEYS = {
    "running": "history.status_running",
    "done": "history.status_done",
    "blocked": "history.status_blocked",
    "failed": "history.status_failed",
    "cancelled": "history.status_cancelled",
    "stopped": "history.status_stopped",
}
#: What stands in for a missing thumbnail, by media kind.
_KIND_MARKS = {"audio": "♪", "music": "♫", "code": "</>", "image": "…", "video": "▶", "": "–"}
#: Runs that ended without a result show why on their tile: a sign and the status word.
_STATUS_MARKS = {"blocked": "⊘", "failed": "!", "cancelled": "■", "running": "…", "stopped": "‖"}

Index = QModelIndex | QPersistentModelIndex


def _read_thumbnail(path: Path, film: bool = False) -> QImage:
    """Decode and scale a thumbnail (worker thread; QImage is safe off the UI thread).

    A film's first frame gets a play sign, so a film is told from a picture at a glance.
    """
    image = QImage(str(path))
    if image.isNull():
        return image
    image = image.scaled(
        THUMB_SIDE,
        THUMB_SIDE,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    ).convertToFormat(QImage.Format.Format_RGB32)
    if film:
        _draw_play_sign(image)
    return image


def _draw_play_sign(image: QImage) -> None:
    """A white triangle on a dark disc in the middle of ``image``."""
    side = max(16, min(image.width(), image.height()) // 3)
    centre = image.rect().center()
    disc = QRect(0, 0, side, side)
    disc.moveCenter(centre)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawEllipse(disc)
        third = side / 3
        x, y = disc.left() + side * 0.38, disc.top() + third
        painter.setBrush(QColor("white"))
        painter.drawPolygon(
            QPolygonF(
                [QPointF(x, y), QPointF(x, y + third), QPointF(x + third * 0.9, y + third / 2)]
            )
        )
    finally:
        painter.end()


def _mark_pixmap(mark: str, caption: str = "") -> QPixmap:
    """A plain tile with a big sign and, below it, an optional caption (word-wrapped)."""
    pixmap = QPixmap(THUMB_SIDE, THUMB_SIDE)
    pixmap.fill(QColor("#e7e4dc"))
    painter = QPainter(pixmap)
    try:
        font = painter.font()
        font.setPixelSize(THUMB_SIDE // 4)
        painter.setFont(font)
        painter.setPen(QColor("#6b665c"))
        sign_box = QRect(0, 0, THUMB_SIDE, THUMB_SIDE * 2 // 3 if caption else THUMB_SIDE)
        painter.drawText(sign_box, Qt.AlignmentFlag.AlignCenter, mark)
        if caption:
            font.setPixelSize(max(11, THUMB_SIDE // 12))
            painter.setFont(font)
            margin = THUMB_SIDE // 12
            text_box = QRect(margin, sign_box.height(), THUMB_SIDE - 2 * margin, THUMB_SIDE // 3)
            flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
            painter.drawText(text_box, int(flags) | int(Qt.TextFlag.TextWordWrap), caption)
    finally:
        painter.end()
    return pixmap


def local_time(created_at: str) -> str:
    """A run's creation time in local time, ``2026-11-24 14:45``."""
    try:
        moment = parse_timestamp(created_at).astimezone()
    except ValueError:
        return created_at
    return datetime.strftime(moment, "%Y-%m-%d %H:%M")


class HistoryListModel(QAbstractListModel):
    """One item per shown run: thumbnail, idea, names, date, status, favourite."""

    def __init__(
        self,
        vm: HistoryViewModel,
        translator: Translator,
        parent: QObject | None = None,
        *,
        tasks: TaskRegistry | None = None,
    ) -> None:
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._tasks = tasks or vm.tasks
        self._rows: list[RunSummary] = vm.rows
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._queue: dict[str, Path] = {}
        self._films: dict[str, bool] = {}  # queued runs whose thumbnail is a film's frame
        self._marks: dict[str, QPixmap] = {}
        self._worker: asyncio.Task[None] | None = None
        vm.rows_reset.connect(self._on_reset)
        vm.rows_appended.connect(self._on_appended)
        vm.rows_removed.connect(self._on_removed)
        vm.row_changed.connect(self._on_changed)
        translator.language_changed.connect(self._on_language)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._vm.can_fetch_more

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            self._vm.fetch_more()

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        run = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(run)
        if role == Qt.ItemDataRole.SizeHintRole:
            return QSize(THUMB_SIDE + 24, THUMB_SIDE + 56)
        return self._value(run, role)

    def _value(self, run: RunSummary, role: int) -> Any:
        values: dict[int, Any] = {
            RunIdRole: run.id,
            IdeaRole: run.idea,
            ConfigNameRole: self._vm.config_name(run.config_id) if run.config_id else "",
            OutputNameRole: self._vm.output_name(run.output_id) if run.output_id else "",
            DateRole: local_time(run.created_at),
            StatusRole: run.status,
            FavouriteRole: run.favourite,
            SummaryRole: run,
        }
        if role in values:
            return values[role]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._caption(run)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._description(run)
        return None

    # ------------------------------------------------------------------ texts
    def _caption(self, run: RunSummary) -> str:
        idea = " ".join(run.idea.split()) or self._tr.tr("history.no_idea")
        if len(idea) > 40:
            idea = idea[:39] + "…"
        return f"★ {idea}" if run.favourite else idea

    def _description(self, run: RunSummary) -> str:
        tr = self._tr.tr
        parts = [
            run.idea.strip() or tr("history.no_idea"),
            local_time(run.created_at),
            tr(STATUS_KEYS[run.status]) if run.status in STATUS_KEYS else run.status,
        ]
        if run.config_id:
            parts.append(self._vm.config_name(run.config_id))
        if run.output_id:
            parts.append(self._vm.output_name(run.output_id))
        if run.favourite:
            parts.append(tr("history.favourite_mark"))
        return " · ".join(parts)

    # ------------------------------------------------------------------ thumbnails
    @property
    def thumbnails_pending(self) -> int:
        """Thumbnails queued or being read now."""
        return len(self._queue) + (1 if self._worker is not None else 0)

    def cached_thumbnail(self, run_id: str) -> QPixmap | None:
        """The loaded thumbnail of ``run_id`` (None while not loaded)."""
        return self._cache.get(run_id)

    def _thumbnail(self, run: RunSummary) -> QPixmap:
        cached = self._cache.get(run.id)
        if cached is not None:
            self._cache.move_to_end(run.id)
            return cached
        if run.thumbnail is None and run.status in _STATUS_MARKS:
            caption = self._tr.tr(STATUS_KEYS[run.status])
            return self._mark(_STATUS_MARKS[run.status], caption)
        if run.thumbnail is None or run.id in self._failed:
            return self._mark(_KIND_MARKS.get(run.media_kind, "–"))
        if run.id not in self._queue:
            self._queue[run.id] = run.thumbnail
            self._films[run.id] = run.media_kind == "video"
            if self._worker is None:
                self._worker = self._tasks.spawn(self._load_queue(), name="history-thumbs")
        return self._mark(_KIND_MARKS["image"])

    def _mark(self, mark: str, caption: str = "") -> QPixmap:
        key = f"{mark}\n{caption}"
        if key not in self._marks:
            self._marks[key] = _mark_pixmap(mark, caption)
        return self._marks[key]

    async def _load_queue(self) -> None:
        try:
            while self._queue:
                run_id, path = next(iter(self._queue.items()))
                film = self._films.pop(run_id, False)
                image = await asyncio.to_thread(_read_thumbnail, path, film)
                self._queue.pop(run_id, None)
                if image.isNull():
                    self._failed.add(run_id)
                else:
                    self._cache[run_id] = QPixmap.fromImage(image)
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
                self._row_changed(run_id, [Qt.ItemDataRole.DecorationRole])
        finally:
            self._worker = None

    def shutdown(self) -> None:
        """Stop reading thumbnails."""
        self._queue.clear()
        if self._worker is not None:
            self._worker.cancel()

    # ------------------------------------------------------------------ view-model deltas
    def _on_reset(self, rows: list[RunSummary]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._queue.clear()
        self.endResetModel()

    def _on_appended(self, rows: list[RunSummary]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def _on_removed(self, run_ids: list[str]) -> None:
        gone = set(run_ids)
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].id in gone:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()

    def _on_changed(self, run: RunSummary) -> None:
        for row, old in enumerate(self._rows):
            if old.id == run.id:
                self._rows[row] = run
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def _row_changed(self, run_id: str, roles: list[int]) -> None:
        for row, run in enumerate(self._rows):
            if run.id == run_id:
                index = self.index(row)
                self.dataChanged.emit(index, index, roles)

    def _on_language(self, _language: str) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
