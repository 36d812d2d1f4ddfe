"""The first-run assistant: language, safety level, UI mode, then the AI programs found here.

Shown inside the main window (not as a dialog) until "Finish" saves everything; the window
then opens the Create page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...content.presets import cpu_preset, seconds_per_picture
from ...content.schema import ContentLibrary
from ...system.gpu import GpuProvider
from ...tasks import TaskRegistry
from ..i18n import Translator
from ..viewmodels.first_run_vm import DETECTED, FIRST_RUN_LEVELS, URL_BACKENDS, FirstRunViewModel
from ..viewmodels.settings_vm import SettingsViewModel

STEPS = ("choices", "programs")
UI_MODES = ("kids", "youth", "expert")
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
#: Backends whose location is a folder ("Browse…" picks a folder; Ollama picks its program).
FOLDER_BACKENDS = ("comfyui", "swarmui", "kohya")
Asker = Callable[[str], str]


class BackendRow(QWidget):
    """One program: what was found, plain advice, "Browse…" and (for servers) a URL field."""

    def __init__(self, name: str, vm: FirstRunViewModel, translator: Translator):
        super().__init__()
        self.name = name
        self._vm = vm
        self._tr = translator
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.browse_button = QPushButton()
        self.url_edit = QLineEdit(vm.urls.get(name, "")) if name in URL_BACKENDS else None
        self.ask_location: Asker = self._ask_location
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.browse_button)
        if self.url_edit is not None:
            row.addWidget(self.url_edit, 1)
            self.url_edit.editingFinished.connect(self._on_url_edited)
        else:
            row.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.status)
        column.addLayout(row)
        self.browse_button.clicked.connect(self.browse)

    def retranslate(self) -> None:
        tr = self._tr.tr
        title = tr(f"first_run.backend.{self.name}")
        self.browse_button.setText(tr("first_run.browse"))
        self.browse_button.setAccessibleName(tr("first_run.browse_for", name=title))
        if self.url_edit is not None:
            self.url_edit.setPlaceholderText(
                tr("first_run.url_placeholder", port=self._vm.default_port(self.name))
            )
            self.url_edit.setAccessibleName(tr("first_run.url_for", name=title))
        self.refresh()

    def refresh(self) -> None:
        """Show the latest detection result with advice."""
        tr = self._tr.tr
        found = self._vm.detections.get(self.name)
        if found is None:
            text = tr("first_run.searching")
        elif found.found:
            key = "first_run.found_remote" if found.mode == "remote" else "first_run.found"
            text = tr(key, where=found.where, version=found.version or "–")
        else:
            text = (
                tr("first_run.missing", where=found.where)
                + " "
                + tr(f"first_run.advice.{self.name}")
            )
        self.status.setText(text)
        self.status.setAccessibleName(text)

    def browse(self) -> None:
        """Let the teacher point at the program or folder."""
        chosen = self.ask_location(self.name)
        if chosen:
            self._vm.set_location(self.name, chosen)

    def _ask_location(self, name: str) -> str:
        title = self._tr.tr("first_run.browse_for", name=self._tr.tr(f"first_run.backend.{name}"))
        if name in FOLDER_BACKENDS:
            return QFileDialog.getExistingDirectory(self, title)
        chosen, _filter = QFileDialog.getOpenFileName(self, title)
        return chosen

    def _on_url_edited(self) -> None:
        if self.url_edit is not None and self.url_edit.text().strip() != self._vm.urls.get(
            self.name, ""
        ):
            self._vm.set_url(self.name, self.url_edit.text())


class FirstRunPage(QWidget):
    """Two steps: the basic choices, then the programs found here (with demo backends)."""

    def __init__(
        self,
        vm: FirstRunViewModel,
        settings_vm: SettingsViewModel,
        translator: Translator,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("firstRunPage")
        self._vm = vm
        self._tr = translator
        self._settings_vm = settings_vm
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.steps = QStackedWidget()
        self.steps.addWidget(self._build_choices())
        self.steps.addWidget(self._build_programs())
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.back_button, self.next_button = QPushButton(), QPushButton()
        self.finish_button = QPushButton()
        self.finish_button.setObjectName("primaryButton")
        buttons = QHBoxLayout()
        buttons.addWidget(self.error_label, 1)
        for button in (self.back_button, self.next_button, self.finish_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addWidget(self.steps, 1)
        layout.addLayout(buttons)
        self.back_button.clicked.connect(lambda: self.show_step("choices"))
        self.next_button.clicked.connect(lambda: self.show_step("programs"))
        self.finish_button.clicked.connect(self.finish)
        vm.detected.connect(self._on_detected)
        vm.busy_changed.connect(self._on_busy)
        settings_vm.error_occurred.connect(self._on_save_error)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self.show_step("choices")

    # ------------------------------------------------------------------ building
    def _combo(self, values: tuple[str, ...], current: str) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem(value, value)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        return combo

    def _build_choices(self) -> QWidget:
        vm = self._vm
        self.language_combo = self._combo(tuple(self._tr.languages), vm.language)
        self.level_combo = self._combo(FIRST_RUN_LEVELS, vm.safety_level)
        self.mode_combo = self._combo(UI_MODES, vm.ui_mode)
        self.language_label, self.level_label, self.mode_label = QLabel(), QLabel(), QLabel()
        self.level_help, self.mode_help = QLabel(), QLabel()
        for label in (self.level_help, self.mode_help):
            label.setObjectName("hint")
            label.setWordWrap(True)
        page = QWidget()
        form = QFormLayout(page)
        form.addRow(self.language_label, self.language_combo)
        form.addRow(self.level_label, self.level_combo)
        form.addRow("", self.level_help)
        form.addRow(self.mode_label, self.mode_combo)
        form.addRow("", self.mode_help)
        self.language_label.setBuddy(self.language_combo)
        self.level_label.setBuddy(self.level_combo)
        self.mode_label.setBuddy(self.mode_combo)
        self.language_combo.currentIndexChanged.connect(self._on_language_chosen)
        self.level_combo.currentIndexChanged.connect(self._on_level_chosen)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_chosen)
        return page

    def _build_programs(self) -> QWidget:
        self.rows: dict[str, BackendRow] = {}
        self.groups: dict[str, QGroupBox] = {}
        host = QWidget()
        column = QVBoxLayout(host)
        for name in DETECTED:
            group = QGroupBox()
            inner = QVBoxLayout(group)
            row = BackendRow(name, self._vm, self._tr)
            inner.addWidget(row)
            self.rows[name], self.groups[name] = row, group
            column.addWidget(group)
        self.gpu_label = QLabel()
        self.gpu_label.setWordWrap(True)
        self.cpu_check = QCheckBox()
        self.cpu_check.setVisible(False)  # offered only when no NVIDIA card was found
        self.cpu_help = QLabel()
        self.cpu_help.setObjectName("hint")
        self.cpu_help.setWordWrap(True)
        self.cpu_help.setVisible(False)
        self.demo_check = QCheckBox()
        self.demo_help = QLabel()
        self.demo_help.setObjectName("hint")
        self.demo_help.setWordWrap(True)
        column.addWidget(self.gpu_label)
        column.addWidget(self.cpu_check)
        column.addWidget(self.cpu_help)
        column.addWidget(self.demo_check)
        column.addWidget(self.demo_help)
        column.addStretch(1)
        self.demo_check.setChecked(self._vm.demo)
        self.demo_check.toggled.connect(self._vm.set_demo)
        self.cpu_check.setChecked(self._vm.comfy_cpu)
        self.cpu_check.toggled.connect(self._vm.set_comfy_cpu)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(host)
        return scroll

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.title.setText(tr("first_run.title"))
        for index, value in enumerate(self._tr.languages):
            self.language_combo.setItemText(index, LANGUAGE_NAMES.get(value, value))
        for index, value in enumerate(FIRST_RUN_LEVELS):
            self.level_combo.setItemText(index, tr(f"first_run.level.{value}"))
        for index, value in enumerate(UI_MODES):
            self.mode_combo.setItemText(index, tr(f"first_run.mode.{value}"))
        for label, combo, key in (
            (self.language_label, self.language_combo, "first_run.language"),
            (self.level_label, self.level_combo, "first_run.safety_level"),
            (self.mode_label, self.mode_combo, "first_run.ui_mode"),
        ):
            label.setText(tr(key))
            combo.setAccessibleName(tr(key))
        self.level_help.setText(tr("first_run.safety_help"))
        self.mode_help.setText(tr("first_run.mode_help"))
        for name, group in self.groups.items():
            group.setTitle(tr(f"first_run.backend.{name}"))
            self.rows[name].retranslate()
        self.cpu_check.setText(tr("first_run.comfy_cpu"))
        self.cpu_check.setAccessibleName(tr("first_run.comfy_cpu"))
        self.demo_check.setText(tr("first_run.demo"))
        self.demo_check.setAccessibleName(tr("first_run.demo"))
        for button, key in (
            (self.back_button, "first_run.back"),
            (self.next_button, "first_run.next"),
            (self.finish_button, "first_run.finish"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
        self._show_step_texts()
        self._show_gpu_and_demo()

    # ------------------------------------------------------------------ steps
    @property
    def current_step(self) -> str:
        return STEPS[self.steps.currentIndex()]

    def show_step(self, step: str) -> None:
        """Show ``step``; the programs step starts a detection the first time."""
        self.steps.setCurrentIndex(STEPS.index(step))
        programs = step == "programs"
        self.back_button.setVisible(programs)
        self.next_button.setVisible(not programs)
        self.finish_button.setVisible(programs)
        if programs and not self._vm.detections and not self._vm.busy:
            self._vm.detect()
        self._show_step_texts()
        (self.finish_button if programs else self.next_button).setFocus()

    def _show_step_texts(self) -> None:
        key = f"first_run.intro_{self.current_step}" if self.steps.count() else ""
        if key:
            self.intro.setText(self._tr.tr(key))

    def finish(self) -> None:
        """Save everything; the window opens the Create page (``vm.finished``)."""
        self.error_label.hide()
        self._vm.finish()

    # ------------------------------------------------------------------ reactions
    def _on_language_chosen(self, index: int) -> None:
        language = str(self.language_combo.itemData(index))
        self._vm.language = language
        self._tr.set_language(language)  # preview; saved with "Finish"

    def _on_level_chosen(self, index: int) -> None:
        self._vm.safety_level = str(self.level_combo.itemData(index))

    def _on_mode_chosen(self, index: int) -> None:
        self._vm.ui_mode = str(self.mode_combo.itemData(index))

    def _on_detected(self) -> None:
        for row in self.rows.values():
            row.refresh()
        for check, value in (
            (self.demo_check, self._vm.demo),
            (self.cpu_check, self._vm.comfy_cpu),
        ):
            check.blockSignals(True)
            check.setChecked(value)
            check.blockSignals(False)
        self._show_gpu_and_demo()

    def _on_busy(self, busy: bool) -> None:
        self.finish_button.setEnabled(not busy)
        if busy:
            for row in self.rows.values():
                row.status.setText(self._tr.tr("first_run.searching"))

    def _show_gpu_and_demo(self) -> None:
        tr = self._tr.tr
        gpu = self._vm.gpu
        if not self._vm.detections:
            text = ""
        elif gpu is None or not gpu.gpus:
            text = tr("first_run.no_gpu")
        else:
            best = max(gpu.gpus, key=lambda g: g.total_gb)
            text = tr("first_run.gpu", name=best.name, gb=round(best.total_gb))
        self.gpu_label.setText(text)
        self.gpu_label.setAccessibleName(text)
        offered = self._vm.no_nvidia or self._vm.comfy_cpu
        self.cpu_check.setVisible(offered)
        preset = self._vm.cpu_preset
        if preset is not None:
            key = "first_run.cpu_preset" if self._vm.cpu_seconds else "first_run.cpu_preset_untimed"
            help_text = tr(
                key,
                preset=preset.name.get(self._tr.language),
                seconds=round(self._vm.cpu_seconds),
            )
            self.cpu_help.setText(help_text)
            self.cpu_help.setAccessibleName(help_text)
        self.cpu_help.setVisible(offered and preset is not None)
        nothing = self._vm.nothing_found
        self.demo_help.setText(tr("first_run.demo_nothing" if nothing else "first_run.demo_help"))

    def _on_save_error(self, message: str, _detail: str) -> None:
        if self.isVisible():
            self.error_label.setText(message)
            self.error_label.show()


class AssistantHost(Protocol):
    """The window that shows the assistant in place of its pages."""

    def show_assistant(self, widget: QWidget) -> None:
        """Show ``widget`` instead of the navigation and pages."""
        ...

    def end_assistant(self) -> None:
        """Remove the assistant and open the Create page."""
        ...


def start_first_run(
    window: AssistantHost,
    settings_vm: SettingsViewModel,
    translator: Translator,
    gpu: GpuProvider,
    tasks: TaskRegistry | None = None,
    content: ContentLibrary | None = None,
) -> FirstRunPage:
    """Show the assistant in ``window``; "Finish" saves and opens the Create page.

    ``content`` brings the CPU preset, offered (ticked) when no NVIDIA card is found.
    """
    cpu = cpu_preset(content.presets) if content is not None else None
    seconds = seconds_per_picture(content, cpu) if content is not None and cpu else 0.0
    vm = FirstRunViewModel(settings_vm, gpu, tasks, cpu_preset=cpu, cpu_seconds=seconds)
    page = FirstRunPage(vm, settings_vm, translator)
    vm.setParent(page)
    vm.finished.connect(window.end_assistant)
    window.show_assistant(page)
    return page
