"""Settings → Lesson: lesson profiles, the teacher PIN, "Prepare lesson" and the research check.

Everything here is for teachers: the whole Settings page is hidden while the lock is locked.
Errors are shown inline next to the control that caused them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...content.schema import ContentProblem
from ..i18n import Translator, problem_text
from ..viewmodels.lesson_vm import LessonViewModel
from ..viewmodels.lock_vm import LockViewModel
from ..viewmodels.warmup_vm import WarmupViewModel

ID_ROLE = Qt.ItemDataRole.UserRole
PathAsker = Callable[[], Path | None]


def _checklist(items: Sequence[tuple[str, str]], checked: Sequence[str]) -> QListWidget:
    """A list of checkable entries ``(id, text)``; an empty ``checked`` checks all."""
    box = QListWidget()
    box.setMinimumHeight(120)
    for item_id, text in items:
        item = QListWidgetItem(text)
        item.setData(ID_ROLE, item_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        on = not checked or item_id in checked
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        box.addItem(item)
    return box


def rename_entries(box: QListWidget, names: Mapping[str, str]) -> None:
    """Give the entries of a :func:`_checklist` their names in the current language.

    A new name is not a new tick: the list's ``itemChanged`` stays silent (it would apply
    the lists again and clear the messages under them).
    """
    blocked = box.blockSignals(True)
    try:
        for row in range(box.count()):
            item = box.item(row)
            name = names.get(str(item.data(ID_ROLE)))
            if name is not None:
                item.setText(name)
    finally:
        box.blockSignals(blocked)


def checked_ids(box: QListWidget) -> list[str]:
    """The ids of the checked entries of a :func:`_checklist`."""
    return [
        str(box.item(row).data(ID_ROLE))
        for row in range(box.count())
        if box.item(row).checkState() == Qt.CheckState.Checked
    ]


def _inline(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _show(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setAccessibleName(text)
    label.setVisible(bool(text))


class ResearchBar(QFrame):
    """Shown above the settings when the research level is chosen but not yet confirmed."""

    def __init__(
        self, lock_vm: LockViewModel, translator: Translator, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._vm = lock_vm
        self._tr = translator
        self.on_confirmed: Callable[[], object] = lambda: None
        self.setObjectName("researchBar")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.confirm_button = QPushButton()
        self.confirm_button.clicked.connect(self.confirm)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        row.addWidget(self.confirm_button)
        self.hide()
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.confirm_button.setText(tr("lesson.research_confirm"))
        self.confirm_button.setAccessibleName(tr("lesson.research_confirm"))
        if not self.isHidden():
            self.ask()

    def ask(self) -> None:
        """Explain what the research level means and ask for the confirmation."""
        tr = self._tr.tr
        allowed = self._vm.can_confirm_research
        self.text.setText(tr("lesson.research_question" if allowed else "lesson.research_no_pin"))
        self.text.setAccessibleName(self.text.text())
        self.confirm_button.setVisible(allowed)
        self.show()

    def confirm(self) -> None:
        """Record the confirmation for this session and let the settings save."""
        if self._vm.confirm_research():
            self.hide()
            self.on_confirmed()
        else:
            self.ask()

    def check(self, changes: Mapping[str, Any]) -> bool:
        """True when ``changes`` may be saved; asks for the confirmation otherwise."""
        if changes.get("safety.level") != "research" or self._vm.research_confirmed:
            self.hide()
            return True
        self.ask()
        return False


class LessonPanel(QScrollArea):
    """The Lesson tab of the settings page."""

    def __init__(
        self,
        lesson_vm: LessonViewModel,
        lock_vm: LockViewModel,
        warmup_vm: WarmupViewModel,
        translator: Translator,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._lesson = lesson_vm
        self._lock = lock_vm
        self._warmup = warmup_vm
        self._tr = translator
        #: The refused profile shown now (file name, problems): worded again on a switch.
        self._refused: tuple[str, list[ContentProblem]] | None = None
        self.ask_export_path: PathAsker = self._ask_export_path
        self.ask_import_path: PathAsker = self._ask_import_path
        self.research_bar = ResearchBar(lock_vm, translator)
        host = QWidget()
        column = QVBoxLayout(host)
        column.setContentsMargins(0, 6, 12, 0)
        column.setSpacing(14)
        column.addWidget(self._build_profiles())
        column.addWidget(self._build_pin())
        column.addWidget(self._build_warmup())
        column.addStretch(1)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(host)
        self._connect()
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._update_pin_fields()

    # ------------------------------------------------------------------ building
    def _build_profiles(self) -> QGroupBox:
        vm = self._lesson
        lang = self._tr.language
        self.profile_group = QGroupBox()
        self.active_label = QLabel()
        self.name_edit = QLineEdit(vm.profile_name)
        self.name_label = QLabel()
        self.name_label.setBuddy(self.name_edit)
        configs = [(c.id, c.name.get(lang)) for c in vm.configs]
        outputs = [(o.id, o.name.get(lang)) for o in vm.outputs]
        self.configs_list = _checklist(configs, vm.allowed_configs)
        self.outputs_list = _checklist(outputs, vm.allowed_outputs)
        self.configs_label, self.outputs_label = QLabel(), QLabel()
        self.configs_label.setBuddy(self.configs_list)
        self.outputs_label.setBuddy(self.outputs_list)
        self.export_button, self.import_button = QPushButton(), QPushButton()
        self.switch_off_button = QPushButton()
        self.switch_off_button.setObjectName("switchOffProfile")
        self.profile_message = _inline("hint")
        self.profile_problems = _inline("inlineError")
        lists = QHBoxLayout()
        for label, box in ((self.configs_label, self.configs_list),
                           (self.outputs_label, self.outputs_list)):  # fmt: skip
            part = QVBoxLayout()
            part.addWidget(label)
            part.addWidget(box)
            lists.addLayout(part)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        active_row = QHBoxLayout()
        active_row.addWidget(self.active_label, 1)
        active_row.addWidget(self.switch_off_button)
        layout = QVBoxLayout(self.profile_group)
        layout.addLayout(active_row)
        form = QFormLayout()
        form.addRow(self.name_label, self.name_edit)
        layout.addLayout(form)
        layout.addLayout(lists)
        layout.addLayout(buttons)
        layout.addWidget(self.profile_message)
        layout.addWidget(self.profile_problems)
        return self.profile_group

    def _build_pin(self) -> QGroupBox:
        self.pin_group = QGroupBox()
        self.pin_state = QLabel()
        self.pin_state.setWordWrap(True)
        self.current_pin, self.new_pin, self.repeat_pin = QLineEdit(), QLineEdit(), QLineEdit()
        self.current_label, self.new_label, self.repeat_label = QLabel(), QLabel(), QLabel()
        for label, edit in ((self.current_label, self.current_pin),
                            (self.new_label, self.new_pin),
                            (self.repeat_label, self.repeat_pin)):  # fmt: skip
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            label.setBuddy(edit)
        self.set_pin_button, self.clear_pin_button = QPushButton(), QPushButton()
        self.pin_message = _inline("inlineError")
        form = QFormLayout(self.pin_group)
        form.addRow(self.pin_state)
        form.addRow(self.current_label, self.current_pin)
        form.addRow(self.new_label, self.new_pin)
        form.addRow(self.repeat_label, self.repeat_pin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.set_pin_button)
        buttons.addWidget(self.clear_pin_button)
        buttons.addStretch(1)
        form.addRow(buttons)
        form.addRow(self.pin_message)
        return self.pin_group

    def _build_warmup(self) -> QGroupBox:
        vm = self._warmup
        lang = self._tr.language
        self.warmup_group = QGroupBox()
        self.warmup_hint = QLabel()
        self.warmup_hint.setWordWrap(True)
        self.warmup_list = _checklist([(o.id, o.name.get(lang)) for o in vm.outputs], ["-"])
        self.start_button, self.release_button = QPushButton(), QPushButton()
        self.warmup_progress = _inline("hint")
        self.warm_label = QLabel()
        self.warm_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.release_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self.warmup_group)
        layout.addWidget(self.warmup_hint)
        layout.addWidget(self.warmup_list)
        layout.addLayout(buttons)
        layout.addWidget(self.warmup_progress)
        layout.addWidget(self.warm_label)
        self.start_button.setEnabled(vm.available)
        self.release_button.setEnabled(vm.available)
        return self.warmup_group

    def _connect(self) -> None:
        self.export_button.clicked.connect(self.export_profile)
        # Edits apply at once: what the lists show is what students get.
        self.configs_list.itemChanged.connect(lambda _item: self.apply_lists())
        self.outputs_list.itemChanged.connect(lambda _item: self.apply_lists())
        self.name_edit.editingFinished.connect(self.apply_lists)
        self.switch_off_button.clicked.connect(self.switch_off)
        self._lesson.allowed_changed.connect(self._sync_lists)
        self.import_button.clicked.connect(self.import_profile)
        self._lesson.exported.connect(lambda text: self._profile_result(text, []))
        self._lesson.imported.connect(lambda text: self._profile_result(text, []))
        self._lesson.failed.connect(self._profile_failed)
        self._lesson.refused.connect(self._profile_refused)
        self._lesson.profile_name_changed.connect(lambda _name: self._show_active())
        self.set_pin_button.clicked.connect(self.set_pin)
        self.clear_pin_button.clicked.connect(self.clear_pin)
        self._lock.pin_changed.connect(self._on_pin_changed)
        self._lock.pin_failed.connect(lambda text: _show(self.pin_message, text))
        self._lock.pin_set_changed.connect(lambda _set: self._update_pin_fields())
        self.start_button.clicked.connect(self.start_warmup)
        self.release_button.clicked.connect(self._warmup.release)
        self._warmup.progress.connect(lambda text: _show(self.warmup_progress, text))
        self._warmup.warm_changed.connect(lambda _warm: self._show_warm())
        self._warmup.busy_changed.connect(self._on_warmup_busy)

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.profile_group.setTitle(tr("lesson.profile_section"))
        self.name_label.setText(tr("lesson.profile_name"))
        self.name_edit.setAccessibleName(tr("lesson.profile_name"))
        self.configs_label.setText(tr("lesson.allowed_configs"))
        self.configs_list.setAccessibleName(tr("lesson.allowed_configs"))
        self.outputs_label.setText(tr("lesson.allowed_outputs"))
        self.outputs_list.setAccessibleName(tr("lesson.allowed_outputs"))
        self.pin_group.setTitle(tr("lock.section"))
        self.current_label.setText(tr("lock.current_pin"))
        self.new_label.setText(tr("lock.new_pin"))
        self.repeat_label.setText(tr("lock.repeat_pin"))
        self.warmup_group.setTitle(tr("warmup.section"))
        hint = "warmup.hint" if self._warmup.available else "warmup.unavailable"
        self.warmup_hint.setText(tr(hint))
        self.warmup_list.setAccessibleName(tr("warmup.outputs"))
        lang = self._tr.language  # the lists name rules and outputs in the UI language
        rename_entries(self.configs_list, {c.id: c.name.get(lang) for c in self._lesson.configs})
        outputs = {o.id: o.name.get(lang) for o in self._lesson.outputs}
        rename_entries(self.outputs_list, outputs)
        rename_entries(self.warmup_list, {o.id: o.name.get(lang) for o in self._warmup.outputs})
        for button, key in (
            (self.export_button, "lesson.export"),
            (self.import_button, "lesson.import"),
            (self.switch_off_button, "house.lesson_switch_off"),
            (self.clear_pin_button, "lock.clear_pin"),
            (self.start_button, "warmup.start"),
            (self.release_button, "warmup.release"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
            button.setToolTip(tr(f"{key}_help"))
        for edit, key in ((self.current_pin, "lock.current_pin"),
                          (self.new_pin, "lock.new_pin"),
                          (self.repeat_pin, "lock.repeat_pin")):  # fmt: skip
            edit.setAccessibleName(tr(key))
        self._show_active()
        self._update_pin_fields()
        self._show_warm()
        if self._refused is not None:
            self._show_refused()

    # ------------------------------------------------------------------ profiles
    def _show_active(self) -> None:
        name = self._lesson.profile_name
        tr = self._tr.tr
        if name:
            text = tr("lesson.active", name=name)
        elif self._lesson.active:
            text = tr("house.lesson_active_unnamed")
        else:
            text = tr("lesson.none")
        self.active_label.setText(text)
        self.active_label.setAccessibleName(text)
        self.switch_off_button.setVisible(self._lesson.active)

    def apply_lists(self) -> None:
        """Apply the checked rules and outputs (and the name) on this seat now."""
        configs, outputs = checked_ids(self.configs_list), checked_ids(self.outputs_list)
        if not configs or not outputs:  # an empty list would mean "everything"
            self._profile_failed(self._tr.tr("lesson.choose_some"), [])
            self._sync_lists()  # the last tick comes back: it is still allowed
            return
        all_configs = len(configs) == self.configs_list.count()
        all_outputs = len(outputs) == self.outputs_list.count()
        name = self.name_edit.text().strip()
        if not name and not (all_configs and all_outputs):
            name = self._tr.tr("house.lesson_default_name")
        if self._lesson.apply_here(
            name, [] if all_configs else configs, [] if all_outputs else outputs
        ):
            self._show_problems("")
        self._show_active()

    def switch_off(self) -> None:
        """End the active profile: everything is allowed again."""
        if self._lesson.switch_off():
            self._show_problems("")
            _show(self.profile_message, self._tr.tr("house.lesson_switched_off"))
        self._show_active()

    def _sync_lists(self) -> None:
        """Show the seat's lesson settings (after an import, a switch-off, another page)."""
        for box, allowed in ((self.configs_list, self._lesson.allowed_configs),
                             (self.outputs_list, self._lesson.allowed_outputs)):  # fmt: skip
            box.blockSignals(True)
            for row in range(box.count()):
                item = box.item(row)
                on = not allowed or item.data(ID_ROLE) in allowed
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            box.blockSignals(False)
        if self.name_edit.text() != self._lesson.profile_name and not self.name_edit.hasFocus():
            self.name_edit.setText(self._lesson.profile_name)
        self._show_active()

    def export_profile(self) -> None:
        """Ask for a file and export the checked configs and outputs."""
        configs, outputs = checked_ids(self.configs_list), checked_ids(self.outputs_list)
        if not configs or not outputs:
            self._profile_failed(self._tr.tr("lesson.choose_some"), [])
            return
        path = self.ask_export_path()
        if path is None:
            return
        all_configs = len(configs) == self.configs_list.count()
        all_outputs = len(outputs) == self.outputs_list.count()
        self._lesson.export(
            path, self.name_edit.text(), [] if all_configs else configs,
            [] if all_outputs else outputs,
        )  # fmt: skip

    def import_profile(self) -> None:
        """Ask for a profile file and apply it (nothing is applied when it has problems)."""
        path = self.ask_import_path()
        if path is not None:
            self._lesson.import_profile(path)

    def _profile_result(self, text: str, problems: list[str]) -> None:
        _show(self.profile_message, text)
        self._show_problems("\n".join(problems))

    def _profile_failed(self, text: str, problems: list[str]) -> None:
        _show(self.profile_message, "")
        self._show_problems("\n".join([text, *problems]))

    def _profile_refused(self, file: str, problems: list[ContentProblem]) -> None:
        self._refused = (file, list(problems))
        _show(self.profile_message, "")
        self._show_refused()

    def _show_refused(self) -> None:
        """The refused profile and each of its problems, in the UI language."""
        if self._refused is None:
            return
        file, problems = self._refused
        lines = [self._tr.tr("lesson.import_failed", path=file)]
        lines += [problem_text(self._tr, p) for p in problems]
        _show(self.profile_problems, "\n".join(lines))

    def _show_problems(self, text: str) -> None:
        """Another message (or none) replaces a refused profile's problems."""
        self._refused = None
        _show(self.profile_problems, text)

    def _ask_export_path(self) -> Path | None:
        name = (self.name_edit.text().strip() or "lesson").replace("/", "_")
        chosen, _filter = QFileDialog.getSaveFileName(
            self, self._tr.tr("lesson.export"), f"{name}.json", "JSON (*.json)"
        )
        return Path(chosen) if chosen else None

    def _ask_import_path(self) -> Path | None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, self._tr.tr("lesson.import"), "", "JSON (*.json)"
        )
        return Path(chosen) if chosen else None

    # ------------------------------------------------------------------ PIN
    def set_pin(self) -> None:
        """Set or change the PIN from the fields."""
        _show(self.pin_message, "")
        self._lock.set_pin(self.new_pin.text(), self.repeat_pin.text(), self.current_pin.text())

    def clear_pin(self) -> None:
        """Remove the PIN (the current PIN is needed)."""
        _show(self.pin_message, "")
        self._lock.clear(self.current_pin.text())

    def _on_pin_changed(self, text: str) -> None:
        for edit in (self.current_pin, self.new_pin, self.repeat_pin):
            edit.clear()
        _show(self.pin_message, text)
        self._update_pin_fields()

    def _update_pin_fields(self) -> None:
        tr = self._tr.tr
        is_set = self._lock.is_set
        self.pin_state.setText(tr("lock.state_set" if is_set else "lock.state_none"))
        self.current_label.setVisible(is_set)
        self.current_pin.setVisible(is_set)
        self.clear_pin_button.setVisible(is_set)
        key = "lock.change_pin" if is_set else "lock.set_pin"
        self.set_pin_button.setText(tr(key))
        self.set_pin_button.setAccessibleName(tr(key))

    # ------------------------------------------------------------------ warm-up
    def start_warmup(self) -> None:
        """Warm the interception model and the checked outputs."""
        self._warmup.start(checked_ids(self.warmup_list))

    def _on_warmup_busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy and self._warmup.available)
        self.release_button.setEnabled(not busy and self._warmup.available)

    def _show_warm(self) -> None:
        warm = self._warmup.warm
        tr = self._tr.tr
        text = tr("warmup.warm_list", names=", ".join(warm)) if warm else tr("warmup.nothing_warm")
        self.warm_label.setText(text)
        self.warm_label.setAccessibleName(text)
