"""LossChart: a small line chart of the training loss over the steps, painted with QPainter."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN = 8.0


class LossChart(QWidget):
    """Draws ``(step, loss)`` points; the x axis runs to ``total_steps`` when it is known."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lossChart")
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._points: tuple[tuple[int, float], ...] = ()
        self._total = 0

    @property
    def points(self) -> tuple[tuple[int, float], ...]:
        return self._points

    def sizeHint(self) -> QSize:
        return QSize(320, 110)

    def set_points(self, points: Sequence[tuple[int, float]], total_steps: int = 0) -> None:
        self._points = tuple(points)
        self._total = total_steps
        if self._points:
            step, loss = self._points[-1]
            self.setAccessibleDescription(f"{step}: {loss:.4f}")
        else:
            self.setAccessibleDescription("")
        self.update()

    def polyline(self, rect: QRectF) -> QPolygonF:
        """The points mapped into ``rect`` (lowest loss at the bottom)."""
        if not self._points:
            return QPolygonF()
        steps = [p[0] for p in self._points]
        losses = [p[1] for p in self._points]
        x_max = max(self._total, max(steps), 1)
        low, high = min(losses), max(losses)
        span = high - low or 1.0
        return QPolygonF(
            [
                QPointF(
                    rect.left() + rect.width() * step / x_max,
                    rect.bottom() - rect.height() * (loss - low) / span,
                )
                for step, loss in self._points
            ]
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        frame = QPen(palette.color(QPalette.ColorRole.Mid))
        painter.setPen(frame)
        painter.drawRect(area)
        line = self.polyline(area)
        if line.size() == 1:
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawEllipse(line.at(0), 2.5, 2.5)
        elif line.size() > 1:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2.0)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPolyline(line)
        painter.end()
