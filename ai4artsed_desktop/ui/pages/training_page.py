"""Training page: drop a dataset, name the LoRA, train it and watch GPU, RAM, CPU and loss live."""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...training.dataset import DatasetReport
from ...training.events import TrainingProgress
from ...training.loras import TrainedLora
from ..i18n import Translator, localized_params, user_message
from ..viewmodels.status_vm import StatusViewModel
from ..viewmodels.training_vm import AttachResult, TrainingState, TrainingViewModel
from ..widgets.drop_zone import DropZone
from ..widgets.error_banner import ErrorBanner
from ..widgets.log_view import LogView
from ..widgets.loss_chart import LossChart
from ..widgets.system_gauges import GpuGauge, SystemGauges

__all__ = ["GpuGauge", "TrainingPage", "duration"]

#: Coalesce log updates: the view is refreshed at most this often (ms).
LOG_REFRESH_MS = 100
#: Problems listed by file (the rest are counted).
#: The dataset problems scroll inside a box this high (about eight lines).
PROBLEMS_BOX_HEIGHT = 160
#: Strength of a LoRA attached to a config: range, step and the default offered.
STRENGTH_MIN, STRENGTH_MAX, STRENGTH_STEP, STRENGTH_DEFAULT = 0.0, 1.5, 0.05, 0.6


def duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingPage(QWidget):
    """The LoRA training studio (without a training view-model: gauges and the setup hint).

    Signals:
        settings_requested(): the user wants to open the training settings.
    """

    settings_requested = Signal()

    def __init__(
        self,
        status: StatusViewModel,
        translator: Translator,
        training: TrainingViewModel | None = None,
        *,
        log_dir: Path | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._status = status
        self._tr = translator
        self._vm = training
        self._loras_requested = False
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.intro = QLabel()
        self.intro.setObjectName("pageIntro")
        self.intro.setWordWrap(True)
        self.setup_text = QLabel()
        self.setup_text.setWordWrap(True)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.settings_requested)
        self.setup_row = QWidget()
        row = QHBoxLayout(self.setup_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.setup_text, 1)
        row.addWidget(self.settings_button)
        self.system = SystemGauges(status, translator)
        content = QWidget()
        self._layout = QVBoxLayout(content)
        self._layout.setContentsMargins(24, 20, 24, 16)
        self._layout.setSpacing(12)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.intro)
        self._layout.addWidget(self.setup_row)
        if training is not None:
            self._build_studio(training, log_dir or Path.home())
        self.gauges_heading = QLabel()
        self.gauges_heading.setObjectName("sectionHeading")
        self._layout.addWidget(self.gauges_heading)
        self._layout.addWidget(self.system)
        self._layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        status.gpu_changed.connect(self._on_gpu)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ gauges (compat)
    @property
    def gauges(self) -> list[GpuGauge]:
        return self.system.gauges

    @property
    def gpu_message(self) -> QLabel:
        return self.system.gpu_message

    # ------------------------------------------------------------------ building
    def _build_studio(self, vm: TrainingViewModel, log_dir: Path) -> None:
        self.drop_zone = DropZone(self._tr)
        self.drop_zone.paths_chosen.connect(vm.set_sources)
        self.dataset_summary = QLabel()
        self.dataset_summary.setWordWrap(True)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("hint")
        self.problems_label.setWordWrap(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Every skipped or doubtful file is named (a teacher has to find them); a long list
        # scrolls in its own box instead of ending in "… and 5 more" that leads nowhere.
        self.problems_box = QScrollArea()
        self.problems_box.setObjectName("problemsBox")
        self.problems_box.setWidgetResizable(True)
        self.problems_box.setFrameShape(QScrollArea.Shape.NoFrame)
        self.problems_box.setMaximumHeight(PROBLEMS_BOX_HEIGHT)
        self.problems_box.setWidget(self.problems_label)
        self.problems_box.hide()
        self.name_edit = QLineEdit()
        self.name_edit.textChanged.connect(vm.set_name)
        self.name_error = self._error_label()
        self.trigger_edit = QLineEdit()
        self.trigger_edit.textChanged.connect(vm.set_trigger)
        self.trigger_error = self._error_label()
        self.preset_combo = QComboBox()
        self.preset_combo.currentIndexChanged.connect(self._on_preset)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 200)
        self.epochs_spin.valueChanged.connect(vm.set_epochs)
        self.form = QFormLayout()
        self.name_caption, self.trigger_caption = QLabel(), QLabel()
        self.preset_caption, self.epochs_caption = QLabel(), QLabel()
        self.form.addRow(self.name_caption, self._with_error(self.name_edit, self.name_error))
        self.form.addRow(
            self.trigger_caption, self._with_error(self.trigger_edit, self.trigger_error)
        )
        self.form.addRow(self.preset_caption, self.preset_combo)
        self.form.addRow(self.epochs_caption, self.epochs_spin)
        self.start_button = QPushButton()
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(vm.start)
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(vm.request_stop)
        self.delete_button = QPushButton()
        self.delete_button.clicked.connect(self._delete)
        self.delete_lora_check = QCheckBox()
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_lora_check)
        buttons.addWidget(self.delete_button)
        self.start_reason = QLabel()
        self.start_reason.setObjectName("hint")
        self.start_reason.setWordWrap(True)
        self.demo_label = QLabel()
        self.demo_label.setObjectName("demoBadge")
        self.demo_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setObjectName("inlineMessage")
        self.state_label = QLabel()
        self.state_label.setObjectName("sectionHeading")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_text = QLabel()
        self.loss_chart = LossChart()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure_banner = ErrorBanner(self._tr, log_dir)
        self.failure_banner.hide()
        self.log_view = LogView()
        self.log_view.setMinimumHeight(140)
        self._log_timer = QTimer(self)
        self._log_timer.setSingleShot(True)
        self._log_timer.setInterval(LOG_REFRESH_MS)
        self._log_timer.timeout.connect(self._show_log)
        self.loras_heading = QLabel()
        self.loras_heading.setObjectName("sectionHeading")
        self.lora_list = QListWidget()
        self.lora_list.setMaximumHeight(120)
        self.lora_list.itemSelectionChanged.connect(self._show_attach)
        self._build_attach_row(vm)
        top: list[QWidget] = [self.drop_zone, self.dataset_summary, self.problems_box]
        for widget in top:
            self._layout.addWidget(widget)
        self._layout.addWidget(self.demo_label)
        self._layout.addLayout(self.form)
        self._layout.addLayout(buttons)
        self._layout.addWidget(self.start_reason)
        below: list[QWidget] = [
            self.message_label,
            self.state_label,
            self.progress_bar,
            self.progress_text,
            self.loss_chart,
            self.result_label,
            self.failure_banner,
            self.log_view,
            self.loras_heading,
            self.lora_list,
            self.attach_row,
            self.attach_message,
        ]
        for widget in below:
            self._layout.addWidget(widget)
        self._connect(vm)
        self._set_tab_order()

    def _connect(self, vm: TrainingViewModel) -> None:
        vm.dataset_changed.connect(self._show_dataset)
        vm.thumbnails_changed.connect(self.drop_zone.set_thumbnails)
        vm.inputs_changed.connect(self._show_inputs)
        vm.can_start_changed.connect(self._update_controls)
        vm.state_changed.connect(self._show_state)
        vm.progress_changed.connect(self._show_progress)
        vm.loss_changed.connect(lambda points: self.loss_chart.set_points(points, self._total()))
        vm.log_changed.connect(self._log_timer.start)
        vm.message_changed.connect(self._show_message)
        vm.loras_changed.connect(self._show_loras)
        vm.attach_changed.connect(self._show_attach)

    def _set_tab_order(self) -> None:
        chain = [
            self.drop_zone.choose_button,
            self.name_edit,
            self.trigger_edit,
            self.preset_combo,
            self.epochs_spin,
            self.start_button,
            self.stop_button,
            self.delete_lora_check,
            self.delete_button,
            self.log_view,
            self.lora_list,
            self.attach_config_combo,
            self.attach_strength_spin,
            self.attach_button,
            self.settings_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _build_attach_row(self, vm: TrainingViewModel) -> None:
        """Config chooser, strength and Attach button for the selected LoRA."""
        self.attach_caption = QLabel()
        self.attach_config_combo = QComboBox()
        self.attach_strength_caption = QLabel()
        self.attach_strength_spin = QDoubleSpinBox()
        self.attach_strength_spin.setRange(STRENGTH_MIN, STRENGTH_MAX)
        self.attach_strength_spin.setSingleStep(STRENGTH_STEP)
        self.attach_strength_spin.setDecimals(2)
        self.attach_strength_spin.setValue(STRENGTH_DEFAULT)
        self.attach_button = QPushButton()
        self.attach_button.clicked.connect(self._attach)
        self.attach_row = QWidget()
        row = QHBoxLayout(self.attach_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.attach_caption)
        row.addWidget(self.attach_config_combo, 1)
        row.addWidget(self.attach_strength_caption)
        row.addWidget(self.attach_strength_spin)
        row.addWidget(self.attach_button)
        self.attach_row.hide()
        self.attach_message = QLabel()
        self.attach_message.setWordWrap(True)
        self.attach_message.setObjectName("inlineMessage")
        self.attach_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.attach_message.hide()

    def _error_label(self) -> QLabel:
        label = QLabel()
        label.setObjectName("fieldError")
        label.setWordWrap(True)
        label.hide()
        return label

    @staticmethod
    def _with_error(edit: QWidget, error: QLabel) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(edit)
        layout.addWidget(error)
        return box

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("training.title"))
        self.intro.setText(tr("training.studio_intro"))
        self.setup_text.setText(tr("training.setup_in_settings"))
        self.settings_button.setText(tr("training.open_settings"))
        self.settings_button.setAccessibleName(tr("training.open_settings"))
        self.gauges_heading.setText(tr("training.gauges_heading"))
        vm = self._vm
        if vm is not None:
            self._retranslate_studio(vm)

    def _retranslate_studio(self, vm: TrainingViewModel) -> None:
        tr = self._tr.tr
        for caption, edit, key in (
            (self.name_caption, self.name_edit, "training.name"),
            (self.trigger_caption, self.trigger_edit, "training.trigger"),
            (self.preset_caption, self.preset_combo, "training.preset"),
            (self.epochs_caption, self.epochs_spin, "training.epochs"),
        ):
            caption.setText(tr(key))
            edit.setAccessibleName(tr(key))
        self.name_edit.setPlaceholderText(tr("training.name_placeholder"))
        self.trigger_edit.setPlaceholderText(tr("training.trigger_placeholder"))
        self.epochs_spin.setSpecialValueText(tr("training.epochs_preset"))
        for button, key in (
            (self.start_button, "training.start"),
            (self.stop_button, "training.stop"),
            (self.delete_button, "training.delete"),
            (self.delete_lora_check, "training.delete_lora_too"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
        self.progress_bar.setAccessibleName(tr("training.progress_accessible"))
        self.loss_chart.setAccessibleName(tr("training.loss_accessible"))
        self.log_view.setAccessibleName(tr("training.log_accessible"))
        self.loras_heading.setText(tr("training.loras_heading"))
        self.lora_list.setAccessibleName(tr("training.loras_heading"))
        self.attach_caption.setText(tr("training.attach_to"))
        self.attach_config_combo.setAccessibleName(tr("training.attach_config"))
        self.attach_strength_caption.setText(tr("training.attach_strength"))
        self.attach_strength_spin.setAccessibleName(tr("training.attach_strength"))
        self.attach_button.setText(tr("training.attach"))
        self.attach_button.setAccessibleName(tr("training.attach_accessible"))
        self._fill_attach_configs(vm)
        self._fill_presets(vm)
        self._show_dataset()
        self._show_inputs()
        self._show_state(vm.state)
        self._show_progress(vm.progress)
        self._show_message(vm.message)
        self._show_loras(vm.loras)

    def _fill_presets(self, vm: TrainingViewModel) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        auto = vm.auto_tier
        key = "training.preset_auto" if auto is None else "training.preset_auto_tier"
        self.preset_combo.addItem(self._tr.tr(key, tier=auto), None)
        for tier in vm.tiers:
            self.preset_combo.addItem(vm.preset_name(tier, self._tr.language), tier)
        index = self.preset_combo.findData(vm.tier) if vm.tier is not None else 0
        self.preset_combo.setCurrentIndex(max(0, index))
        self.preset_combo.blockSignals(False)

    def _fill_attach_configs(self, vm: TrainingViewModel) -> None:
        current = self.attach_config_combo.currentData()
        self.attach_config_combo.clear()
        for config in vm.attach_configs:
            self.attach_config_combo.addItem(config.name.get(self._tr.language), config.id)
        index = self.attach_config_combo.findData(current) if current is not None else 0
        self.attach_config_combo.setCurrentIndex(max(0, index))

    def _on_gpu(self, _value: object = None) -> None:
        if self._vm is not None and self._vm.tier is None:
            auto = self._vm.auto_tier
            key = "training.preset_auto" if auto is None else "training.preset_auto_tier"
            self.preset_combo.setItemText(0, self._tr.tr(key, tier=auto))

    def _on_preset(self, index: int) -> None:
        if self._vm is not None:
            data = self.preset_combo.itemData(index)
            self._vm.set_tier(int(data) if data is not None else None)

    # ------------------------------------------------------------------ state → widgets
    def _show_dataset(self) -> None:
        vm = self._vm
        if vm is None:
            return
        report = vm.report
        if vm.scanning:
            self.dataset_summary.setText(self._tr.tr("training.scanning"))
        elif report is None:
            self.dataset_summary.setText(self._tr.tr("training.no_dataset"))
        else:
            self.dataset_summary.setText(self._summary(report))
        problems = self._problem_lines(report) if report is not None and not vm.scanning else []
        self.problems_label.setText("\n".join(problems))
        self.problems_label.setAccessibleName(self._tr.tr("training.problems_accessible"))
        self.problems_box.setVisible(bool(problems))
        if not vm.sources:
            self.drop_zone.set_thumbnails([])

    def _summary(self, report: DatasetReport) -> str:
        skipped = sum(1 for p in report.problems if not p.used)
        warned = sum(1 for p in report.problems if p.used)
        return self._tr.plural(
            "training.dataset_summary",
            report.count,
            captions=report.captions_found,
            skipped=skipped,
            warnings=warned,
        )

    def _problem_lines(self, report: DatasetReport) -> list[str]:
        return [
            "• " + self._tr.tr(f"training.problem.{p.kind}", file=p.path.name, min=report.min_side)
            for p in report.problems
        ]

    def _show_inputs(self) -> None:
        vm = self._vm
        if vm is None:
            return
        for label, key in (
            (self.name_error, vm.name_error_key),
            (self.trigger_error, vm.trigger_error_key),
        ):
            label.setText(self._tr.tr(key) if key else "")
            label.setVisible(bool(key))
            label.setAccessibleName(label.text())
        self._update_controls()

    def _update_controls(self, _value: object = None) -> None:
        vm = self._vm
        if vm is None:
            return
        self.setup_row.setVisible(not vm.configured)
        self.start_button.setEnabled(vm.can_start)
        # Start is never grey without a reason next to it.
        blocker = vm.start_blocker
        reason = self._tr.tr(blocker) if blocker else ""
        self.start_reason.setText(reason)
        self.start_reason.setAccessibleName(reason)
        self.start_reason.setVisible(bool(reason))
        self.start_button.setToolTip(reason)
        self.demo_label.setText(self._tr.tr("house.training_demo") if vm.demo else "")
        self.demo_label.setAccessibleName(self.demo_label.text())
        self.demo_label.setVisible(vm.demo)
        self.stop_button.setEnabled(vm.active and vm.state is not TrainingState.stopping)
        self.delete_button.setEnabled(not vm.active and bool(vm.name))
        for widget in (self.name_edit, self.trigger_edit, self.preset_combo, self.epochs_spin):
            widget.setEnabled(not vm.active)
        self.drop_zone.setEnabled(not vm.active)

    def _show_state(self, state: TrainingState) -> None:
        vm = self._vm
        if vm is None:
            return
        self.state_label.setText(self._tr.tr(f"training.state.{state.value}"))
        self.state_label.setVisible(state is not TrainingState.idle)
        result = vm.result
        if state is TrainingState.finished and result is not None:
            self.result_label.setText(
                self._tr.tr("training.result", file=str(result.file), trigger=result.trigger)
            )
        elif state is TrainingState.stopped:
            self.result_label.setText(self._tr.tr("training.stopped_text"))
        else:
            self.result_label.setText("")
        self.result_label.setVisible(bool(self.result_label.text()))
        failure = vm.failure
        if state is TrainingState.failed and failure is not None:
            message = (
                self._tr.tr(f"training.cause.{failure.cause}")
                + " "
                + self._tr.tr(f"training.advice.{failure.cause}")
            )
            detail = "\n".join([failure.message, failure.advice, "", *failure.log_tail])
            self.failure_banner.show_error(message, detail)
        else:
            self.failure_banner.hide()
        self._update_controls()
        self._show_log()

    def _total(self) -> int:
        vm = self._vm
        if vm is None:
            return 0
        progress = vm.progress
        return progress.total if progress is not None and progress.total else vm.steps_estimate

    def _show_progress(self, progress: TrainingProgress | None) -> None:
        if progress is None:
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("")
            self.progress_text.setText("")
            return
        self.progress_bar.setValue(round(progress.fraction * 100))
        total = self._total()
        self.progress_bar.setFormat(self._tr.tr("training.steps", step=progress.step, total=total))
        parts = []
        if progress.epochs:
            parts.append(
                self._tr.tr("training.epoch", epoch=progress.epoch, epochs=progress.epochs)
            )
        if progress.loss is not None:
            parts.append(self._tr.tr("training.loss", loss=f"{progress.loss:.4f}"))
        if progress.rate is not None:
            parts.append(self._tr.tr("training.rate", rate=f"{progress.rate:.2f}"))
        if progress.eta_s is not None:
            parts.append(self._tr.tr("training.eta", eta=duration(progress.eta_s)))
        self.progress_text.setText(" · ".join(parts))
        self.progress_bar.setAccessibleDescription(self.progress_text.text())

    def _show_log(self) -> None:
        if self._vm is not None:
            self.log_view.set_lines(self._vm.log_lines)

    def _show_message(self, text: str) -> None:
        params = self._vm.message_params if self._vm is not None else {}
        params = localized_params(params, self._tr.language)
        shown = self._tr.tr(text, **params) if text and self._tr.has(text) else text
        self.message_label.setText(shown)
        self.message_label.setVisible(bool(shown))
        self.message_label.setAccessibleName(shown)

    def _show_loras(self, loras: list[TrainedLora]) -> None:
        selected = self.selected_lora()
        self.lora_list.blockSignals(True)
        self.lora_list.clear()
        for lora in loras:
            text = self._tr.tr("training.lora_line", name=lora.file.name, trigger=lora.trigger)
            self.lora_list.addItem(text)
        files = [lora.file for lora in loras]
        if selected is not None and selected.file in files:
            self.lora_list.setCurrentRow(files.index(selected.file))
        self.lora_list.blockSignals(False)
        self.loras_heading.setVisible(bool(loras))
        self.lora_list.setVisible(bool(loras))
        self._show_attach()

    def selected_lora(self) -> TrainedLora | None:
        """The LoRA selected in the list (None when none is)."""
        row = self.lora_list.currentRow()
        loras = self._vm.loras if self._vm is not None else []
        item = self.lora_list.currentItem()
        if item is None or not item.isSelected() or not 0 <= row < len(loras):
            return None
        return loras[row]

    def _show_attach(self, _value: object = None) -> None:
        vm = self._vm
        if vm is None:
            return
        lora = self.selected_lora()
        self.attach_row.setVisible(lora is not None and vm.can_attach)
        self.attach_button.setEnabled(not vm.attaching and self.attach_config_combo.count() > 0)
        result = vm.attach_result
        text = ""
        if lora is not None and result is not None and result.lora_file == lora.file.name:
            text = self._attach_text(vm, result)
        self.attach_message.setText(text)
        self.attach_message.setVisible(bool(text) and not vm.attaching)
        self.attach_message.setAccessibleName(text)

    def _attach_text(self, vm: TrainingViewModel, result: AttachResult) -> str:
        names = {c.id: c.name.get(self._tr.language) for c in vm.attach_configs}
        config = names.get(result.config_id, result.config_id)
        if result.ok:
            return self._tr.tr(
                "training.attached",
                config=config,
                lora=result.lora_file,
                strength=f"{result.strength:.2f}",
            )
        error = user_message(self._tr, result.error_key, dict(result.error_params), result.error)
        return self._tr.tr("training.attach_failed", config=config, error=error)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._vm is not None and not self._loras_requested:
            self._loras_requested = True
            self._vm.request_refresh_loras()

    # ------------------------------------------------------------------ actions
    @classmethod
    def confirm_delete(cls, parent: QWidget, text: str) -> bool:
        """Ask before deleting (replaced in tests)."""
        answer = QMessageBox.question(parent, "", text)
        return answer == QMessageBox.StandardButton.Yes

    def _attach(self) -> None:
        vm, lora = self._vm, self.selected_lora()
        config_id = self.attach_config_combo.currentData()
        if vm is None or lora is None or config_id is None:
            return
        if vm.request_attach(lora, str(config_id), self.attach_strength_spin.value()):
            self._show_attach()

    def _delete(self) -> None:
        vm = self._vm
        if vm is None:
            return
        with_lora = self.delete_lora_check.isChecked()
        key = "training.confirm_delete_lora" if with_lora else "training.confirm_delete"
        if type(self).confirm_delete(self, self._tr.tr(key, name=vm.name)):
            vm.request_delete(delete_lora=with_lora)
