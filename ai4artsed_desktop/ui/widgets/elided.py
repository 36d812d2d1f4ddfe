"""One line of text that never gets cut off mid-letter: elided with "…", whole in the tooltip.

:class:`ElidedLabel` and :class:`ElidedCheckBox` keep the whole text (``text()`` returns it,
screen readers read it) and only paint it shortened when their width is too small. While
shortened, the tooltip shows the whole text, unless the caller set a tooltip of its own
(which then has to say it all: a seat's block reason, a name in a help line).
Names whose end tells them apart ("Raum 214 – Platz 07", "… – Platz 08") take
``Qt.TextElideMode.ElideMiddle``, so the end stays in view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QWidget,
)


class _Elides:
    """What both elided widgets share: the whole text, the tooltip rule, the elide mode.

    Mixed in before the Qt class; the widget says how it paints (:meth:`shown_text`).
    """

    _help: str
    _mode: Qt.TextElideMode

    def _init_elide(self, mode: Qt.TextElideMode) -> None:
        self._help = ""
        self._mode = mode

    if TYPE_CHECKING:  # the Qt class's, and the widget's own

        def text(self) -> str: ...

        def shown_text(self) -> str: ...

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def setText(self, text: str) -> None:
        super().setText(text)  # type: ignore[misc]
        self._update_tooltip()

    def setToolTip(self, text: str) -> None:
        self._help = text
        self._update_tooltip()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)  # type: ignore[misc]
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        full = self.text()
        super().setToolTip(self._help or (full if self.is_elided() else ""))  # type: ignore[misc]


class ElidedLabel(_Elides, QLabel):
    """A plain-text, one-line label that elides itself to its width."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        *,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        self._init_elide(mode)
        QLabel.__init__(self, text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        # Takes what the row leaves it; never pushes the tile wider.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def shown_text(self) -> str:
        """The text as painted now (elided with "…" when the label is too narrow)."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), self._mode, width)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance("…") * 3, hint.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QStylePainter(self)
        painter.drawItemText(
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )


class ElidedCheckBox(_Elides, QCheckBox):
    """A check box whose label elides itself to the width left beside the box."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        *,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        self._init_elide(mode)
        QCheckBox.__init__(self, text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def _text_width(self) -> int:
        """The width left for the label beside the indicator."""
        option = QStyleOptionButton()
        self.initStyleOption(option)
        label = self.style().subElementRect(QStyle.SubElement.SE_CheckBoxContents, option, self)
        return max(0, label.width() - 2)

    def shown_text(self) -> str:
        """The label as painted now (elided with "…" when the box is too narrow)."""
        metrics = self.fontMetrics()
        return metrics.elidedText(self.text(), self._mode, self._text_width())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(hint.height() + self.fontMetrics().horizontalAdvance("…") * 3, hint.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = self.shown_text()
        painter = QStylePainter(self)
        painter.drawControl(QStyle.ControlElement.CE_CheckBox, option)
