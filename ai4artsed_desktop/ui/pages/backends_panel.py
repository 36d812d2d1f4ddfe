"""The Backends tab of the settings page: demo switch, image server and one card per backend."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.backends_vm import BackendsViewModel
from ..widgets.error_banner import ErrorBanner
from .backend_card import BackendCard
from .settings_form import FormSection

TAIL_REFRESH_MS = 1000

Fields = list[tuple[str, dataclasses.Field[Any]]]


class BackendsPanel(QWidget):
    """Demo switch and image server, then a card per backend (state, controls, log, fields).

    Without a view-model (tests, older callers) the cards show only the settings fields.
    """

    def __init__(
        self,
        sections: dict[str, Fields],
        translator: Translator,
        log_dir: Path,
        vm: BackendsViewModel | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._tr = translator
        self._vm = vm
        self.intro = QLabel()
        self.intro.setObjectName("pageIntro")
        self.intro.setWordWrap(True)
        self.banner = ErrorBanner(translator, log_dir, self)
        self.applying_label = QLabel()
        self.applying_label.setObjectName("hint")
        self.applying_label.hide()
        self.general = QGroupBox()
        self.general_section = FormSection(
            QFormLayout(), sections.get("backends", []), translator, self
        )
        self.demo_note = QLabel()
        self.demo_note.setObjectName("hint")
        self.demo_note.setWordWrap(True)
        self.cards: dict[str, BackendCard] = {
            name: BackendCard(name, fields, translator, log_dir, vm, self)
            for name, fields in sections.items()
            if name != "backends"
        }
        self._timer = QTimer(self)
        self._timer.setInterval(TAIL_REFRESH_MS)
        self._build_layout()
        if vm is not None:
            vm.error_raised.connect(self.banner.show_app_error)  # rewords on a switch
            vm.applying_changed.connect(self.applying_label.setVisible)
            self._timer.timeout.connect(vm.refresh_tails)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def _build_layout(self) -> None:
        general_column = QVBoxLayout(self.general)
        general_column.addLayout(self.general_section.form)
        general_column.addWidget(self.demo_note)
        host = QWidget()
        column = QVBoxLayout(host)
        column.setContentsMargins(0, 10, 12, 0)
        column.setSpacing(14)
        column.addWidget(self.intro)
        column.addWidget(self.general)
        for card in self.cards.values():
            column.addWidget(card)
        column.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setWidget(host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.applying_label)
        layout.addWidget(self.scroll_area, 1)

    def show_card(self, name: str) -> None:
        """Scroll the card of backend ``name`` into view."""
        self.scroll_area.ensureWidgetVisible(self.cards[name])

    @property
    def sections(self) -> dict[str, FormSection]:
        """Every settings section shown here, by section id."""
        found = {"backends": self.general_section}
        found.update({name: card.section for name, card in self.cards.items()})
        return found

    @property
    def groups(self) -> dict[str, QGroupBox]:
        """The group box of every section, by section id."""
        found: dict[str, QGroupBox] = {"backends": self.general}
        found.update(self.cards)
        return found

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.intro.setText(tr("backends.intro"))
        self.general.setTitle(tr("settings.section.backends"))
        self.general_section.retranslate()
        note = tr("backends.demo_explanation")
        if self._vm is not None and self._vm.demo_forced:
            note = f"{note} {tr('backends.demo_forced')}"
        self.demo_note.setText(note)
        self.applying_label.setText(tr("backends.applying"))
        for card in self.cards.values():
            card.retranslate()

    # ------------------------------------------------------------------ live log tails
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._vm is not None:
            self._vm.refresh_tails()
            self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()

    @property
    def following_tails(self) -> bool:
        """True while the log tails are refreshed (the panel is shown)."""
        return self._timer.isActive()
