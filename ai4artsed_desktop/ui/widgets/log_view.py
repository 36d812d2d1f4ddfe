"""LogView: the last output lines of a process: read-only, monospace, following the end."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 500


class LogView(QPlainTextEdit):
    """Shows lines; scrolls to the newest line unless the user scrolled up to read."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("logView")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setMaximumBlockCount(MAX_LINES)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._lines: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        return self._lines

    @property
    def at_end(self) -> bool:
        """True when the newest line is in view (the view follows new lines)."""
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def set_lines(self, lines: Sequence[str]) -> None:
        new = tuple(lines)
        if new == self._lines:
            return
        follow = self.at_end
        bar = self.verticalScrollBar()
        keep = bar.value()
        self._lines = new
        self.setPlainText("\n".join(new))
        if follow:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(min(keep, bar.maximum()))
