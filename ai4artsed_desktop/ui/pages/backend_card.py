"""BackendCard: one backend's state light, controls, last log lines and settings fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...events import BackendState
from ..desktop import FolderOpener
from ..i18n import Translator, user_message
from ..viewmodels.backends_vm import BackendRow, BackendsViewModel
from ..widgets.log_view import LogView
from ..widgets.status_bar import BackendLight
from .settings_form import FormSection

CARD_LABEL_WIDTH = 150
LOG_MIN_WIDTH = 380
LOG_HEIGHT = 170
PROBLEM_COLOUR = "#9b2c1f"  # WCAG AA on the white card
#: States whose message from the backend explains a problem (and what to do about it).
EXPLAINED_STATES = (
    BackendState.not_installed,
    BackendState.failed,
    BackendState.crashed,
    BackendState.restarting,
)
#: Fields used only in one mode: the others are hidden while the mode editor says otherwise.
MODE_FIELDS = {
    "managed": ("path", "port", "startup_timeout_s", "launch_args"),
    "remote": ("url",),
}


class BackendCard(QGroupBox):
    """A group box for one backend; the controls exist only when a view-model is given."""

    def __init__(
        self,
        name: str,
        fields: list[tuple[str, dataclasses.Field[Any]]],
        translator: Translator,
        log_dir: Path,
        vm: BackendsViewModel | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.backend = name
        self._tr = translator
        self._log_dir = log_dir
        self._vm = vm
        self.setObjectName("backendCard")
        self.section = FormSection(
            QFormLayout(), fields, translator, self, label_width=CARD_LABEL_WIDTH
        )
        self.light = BackendLight(name, translator)
        self.mode_label = QLabel()
        self.mode_label.setObjectName("hint")
        self.mode_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("backendMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton()
        self.stop_button = QPushButton()
        self.restart_button = QPushButton()
        self.log_button = QPushButton()
        self.log_heading = QLabel()
        self.log_view = LogView()
        self.log_view.setMinimumWidth(LOG_MIN_WIDTH)
        self.log_view.setFixedHeight(LOG_HEIGHT)
        self.log_heading.setBuddy(self.log_view)
        self._build_layout(vm is not None)
        mode = self.section.editors.get(f"{name}.mode")
        if mode is not None:
            mode.changed.connect(self._update_mode_rows)
        self.log_button.clicked.connect(self.open_log_folder)
        if vm is not None:
            self.start_button.clicked.connect(lambda: vm.start(name))
            self.stop_button.clicked.connect(lambda: vm.stop(name))
            self.restart_button.clicked.connect(lambda: vm.restart(name))
            vm.row_changed.connect(self._on_vm_row_changed)
            vm.rows_changed.connect(self.update_row)
        self._update_mode_rows()

    def _build_layout(self, with_controls: bool) -> None:
        left = QVBoxLayout()
        left.setSpacing(6)
        if with_controls:
            buttons = QHBoxLayout()
            for button in (self.start_button, self.stop_button, self.restart_button):
                buttons.addWidget(button)
            buttons.addStretch(1)
            buttons.addWidget(self.log_button)
            light_row = QHBoxLayout()
            light_row.setContentsMargins(0, 0, 0, 0)
            light_row.addWidget(self.light)
            light_row.addStretch(1)
            left.addLayout(light_row)
            left.addWidget(self.mode_label)
            left.addWidget(self.message_label)
            left.addLayout(buttons)
            left.addSpacing(10)
        left.addLayout(self.section.form)
        left.addStretch(1)
        row = QHBoxLayout(self)
        row.setSpacing(18)
        row.addLayout(left, 3)
        if with_controls:
            right = QVBoxLayout()
            right.setSpacing(4)
            right.addWidget(self.log_heading)
            right.addWidget(self.log_view)
            right.addStretch(1)
            row.addLayout(right, 2)
        else:
            unused: list[QWidget] = [self.light, self.mode_label, self.message_label]
            unused += [self.log_heading, self.log_view, self.log_button]
            unused += [self.start_button, self.stop_button, self.restart_button]
            for extra in unused:
                extra.setParent(self)
                extra.hide()

    # ------------------------------------------------------------------ state
    @property
    def row(self) -> BackendRow | None:
        return self._vm.row(self.backend) if self._vm is not None else None

    def _on_vm_row_changed(self, name: str) -> None:
        if name == self.backend:
            self.update_row()

    def update_row(self) -> None:
        row = self.row
        if row is None:
            return
        self.light.set_state(row.state, row.message, row.message_key, dict(row.message_params))
        self.start_button.setEnabled(row.can_start)
        self.stop_button.setEnabled(row.can_stop)
        self.restart_button.setEnabled(row.can_restart)
        self.log_view.set_lines(row.tail)
        self._retranslate_row(row)

    def _update_mode_rows(self) -> None:
        editor = self.section.editors.get(f"{self.backend}.mode")
        if editor is None:
            return
        shown = str(editor.value())
        for mode, names in MODE_FIELDS.items():
            for leaf in names:
                dotted = f"{self.backend}.{leaf}"
                if dotted in self.section.editors:
                    self.section.set_row_visible(dotted, mode == shown)

    def open_log_folder(self) -> None:
        row = self.row
        folder = row.log_file.parent if row is not None and row.log_file else self._log_dir
        FolderOpener.open(folder)

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self._tr.tr
        self.setTitle(tr(f"settings.section.{self.backend}"))
        self.section.retranslate()
        self.light.retranslate()
        for button, key in (
            (self.start_button, "backends.start"),
            (self.stop_button, "backends.stop"),
            (self.restart_button, "backends.restart"),
            (self.log_button, "action.open_log_folder"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(f"{key}_accessible", name=self.title()))
            button.setToolTip(tr(f"{key}_help"))
        self.log_view.setAccessibleName(tr("backends.log_accessible", name=self.title()))
        self.message_label.setAccessibleName(tr("backends.message_accessible", name=self.title()))
        self.log_view.setPlaceholderText(tr("backends.log_empty"))
        self.update_row()

    def _retranslate_row(self, row: BackendRow) -> None:
        tr = self._tr.tr
        self.mode_label.setText(tr(f"backends.mode.{row.mode}", url=row.url))
        # The backend's own message matters where it explains a problem (with advice);
        # for the ordinary states the translated explanation says the same in the UI language.
        explains = row.state in EXPLAINED_STATES and row.message
        self.message_label.setText(
            self._message(row) if explains else tr(f"backend.state_help.{row.state.value}")
        )
        self.message_label.setStyleSheet(f"color: {PROBLEM_COLOUR};" if explains else "")
        if row.log_file is not None:
            self.log_heading.setText(tr("backends.log_heading", file=row.log_file.name))
        else:
            self.log_heading.setText(tr("backends.log_heading_remote"))
        state = tr(f"backend.state.{row.state.value}")
        self.setAccessibleDescription(f"{state}. {self._message(row)}".strip())

    def _message(self, row: BackendRow) -> str:
        """The backend's reason in the UI language (English when it has no catalogue key)."""
        return user_message(self._tr, row.message_key, dict(row.message_params), row.message)
