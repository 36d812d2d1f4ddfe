"""History page: an honest, teaching empty state until the run store exists."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..i18n import Translator


class HistoryPage(QWidget):
    """Explains what will appear here; shows no made-up runs."""

    def __init__(self, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = translator
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.empty_heading = QLabel()
        self.empty_heading.setObjectName("emptyHeading")
        self.empty_heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("emptyState")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setMaximumWidth(600)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(self.empty_text, 3)
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addStretch(1)
        layout.addWidget(self.empty_heading)
        layout.addLayout(centred)  # an aligned item would lose the wrapped label's height
        layout.addStretch(2)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("history.title"))
        self.empty_heading.setText(tr("history.empty_heading"))
        self.empty_text.setText(tr("history.empty_text"))
        self.setAccessibleName(tr("history.title"))
        self.empty_text.setAccessibleName(tr("history.empty_heading"))
