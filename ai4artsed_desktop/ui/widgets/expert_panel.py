"""ExpertPanel: size, steps, cfg, seconds, negative prompt, seed lock and LoRA of one output.

Bound to a :class:`ParamsViewModel`; it shows only the parameters the selected output really
takes and writes every change straight into the view-model (no logic here).
"""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.params_vm import MAX_SECONDS, ParamsViewModel, Size

#: Label key of each parameter row.
LABEL_KEYS = {
    "size": "create.expert_size",
    "steps": "create.expert_steps",
    "cfg": "create.expert_cfg",
    "seconds": "create.expert_seconds",
    "negative": "create.expert_negative",
    "seed": "create.expert_seed",
    "lora": "create.expert_lora",
}

#: How many digits of a seed the seed field shows without scrolling (seeds are 32-bit).
SEED_DIGITS_SHOWN = 10


def _shape_key(size: Size) -> str | None:
    """The shape word of a size; none for a square.

    Equal numbers say "square", and the entry must fit the steps column of a 1100 px window.
    """
    width, height = size
    if width == height:
        return None
    return "create.expert_landscape" if width > height else "create.expert_portrait"


def _size_data(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


class ExpertPanel(QFrame):
    """The expert parameters of the selected output (shown in expert mode only)."""

    def __init__(
        self, vm: ParamsViewModel, translator: Translator, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("expertPanel")
        self._vm = vm
        self._tr = translator
        self._syncing = False
        self._create_widgets()
        self._build_layout()
        self._connect()
        self.retranslate()
        self.refresh()

    def _create_widgets(self) -> None:
        self.heading = QLabel()
        self.heading.setObjectName("sectionHeading")
        self.empty_label = QLabel()
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        self.size_combo = QComboBox()
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 150)
        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(0.0, 30.0)
        self.cfg_spin.setSingleStep(0.5)
        self.cfg_spin.setDecimals(1)
        self.seconds_spin = QDoubleSpinBox()
        self.seconds_spin.setRange(1.0, MAX_SECONDS)
        self.seconds_spin.setDecimals(0)
        self.negative_edit = QLineEdit()
        self.seed_edit = QLineEdit()
        self.seed_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"\d{0,20}"), self.seed_edit)
        )
        # A whole seed stays readable beside "Seed festhalten" in a narrow column.
        digits = self.seed_edit.fontMetrics().horizontalAdvance("0" * SEED_DIGITS_SHOWN)
        self.seed_edit.setMinimumWidth(digits + 20)
        self.seed_lock = QCheckBox()
        self.seed_hint = QLabel()
        self.seed_hint.setObjectName("hint")
        self.seed_hint.setWordWrap(True)
        self.lora_combo = QComboBox()
        self.lora_strength = QDoubleSpinBox()
        self.lora_strength.setRange(-2.0, 2.0)
        self.lora_strength.setSingleStep(0.05)
        self.lora_strength.setDecimals(2)
        self.config_loras_label = QLabel()
        self.config_loras_label.setObjectName("hint")
        self.config_loras_label.setWordWrap(True)
        self.reset_button = QPushButton()
        # A size entry is short ("1024 × 1024 · Quadrat (Standard)"): shown whole, always.
        self.size_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.size_combo.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        # A LoRA's name can be long: it must not widen the column, the box takes the row.
        self.lora_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.lora_combo.setMinimumContentsLength(10)

    def _build_layout(self) -> None:
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_edit, 1)
        seed_row.addWidget(self.seed_lock)
        lora_row = QHBoxLayout()
        lora_row.addWidget(self.lora_combo, 1)
        lora_row.addWidget(self.lora_strength)
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.labels: dict[str, QLabel] = {key: QLabel() for key in LABEL_KEYS}
        fields: dict[str, QWidget | QHBoxLayout] = {
            "size": self.size_combo,
            "steps": self.steps_spin,
            "cfg": self.cfg_spin,
            "seconds": self.seconds_spin,
            "negative": self.negative_edit,
            "seed": seed_row,
            "lora": lora_row,
        }
        for key, field in fields.items():
            self.form.addRow(self.labels[key], field)
        self.labels["size"].setBuddy(self.size_combo)
        self.labels["steps"].setBuddy(self.steps_spin)
        self.labels["cfg"].setBuddy(self.cfg_spin)
        self.labels["seconds"].setBuddy(self.seconds_spin)
        self.labels["negative"].setBuddy(self.negative_edit)
        self.labels["seed"].setBuddy(self.seed_edit)
        self.labels["lora"].setBuddy(self.lora_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(6)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty_label)
        layout.addLayout(self.form)
        layout.addWidget(self.seed_hint)
        layout.addWidget(self.config_loras_label)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)

    def _connect(self) -> None:
        vm = self._vm
        self.size_combo.activated.connect(self._on_size)
        self.steps_spin.valueChanged.connect(lambda v: self._set("steps", int(v)))
        self.cfg_spin.valueChanged.connect(lambda v: self._set("cfg", float(v)))
        self.seconds_spin.valueChanged.connect(lambda v: self._set("seconds", float(v)))
        self.negative_edit.textEdited.connect(lambda text: self._set("negative", text))
        self.seed_edit.editingFinished.connect(self._on_seed_typed)
        self.seed_lock.toggled.connect(self._on_lock)
        self.lora_combo.activated.connect(self._on_lora)
        self.lora_strength.valueChanged.connect(self._on_lora)
        self.reset_button.clicked.connect(vm.reset)
        vm.output_changed.connect(self.refresh)
        vm.values_changed.connect(self.refresh)
        vm.loras_changed.connect(self.refresh)
        self._tr.language_changed.connect(self.retranslate)

    def focus_chain(self) -> list[QWidget]:
        """The panel's controls in tab order."""
        return [
            self.size_combo,
            self.steps_spin,
            self.cfg_spin,
            self.seconds_spin,
            self.negative_edit,
            self.seed_edit,
            self.seed_lock,
            self.lora_combo,
            self.lora_strength,
            self.reset_button,
        ]

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.heading.setText(tr("create.expert_heading"))
        self.empty_label.setText(tr("create.expert_none"))
        for key, label_key in LABEL_KEYS.items():
            self.labels[key].setText(tr(label_key))
        for widget, key in (
            (self.size_combo, "size"),
            (self.steps_spin, "steps"),
            (self.cfg_spin, "cfg"),
            (self.seconds_spin, "seconds"),
            (self.negative_edit, "negative"),
            (self.seed_edit, "seed"),
            (self.lora_combo, "lora"),
        ):
            widget.setAccessibleName(tr(LABEL_KEYS[key]))
            widget.setAccessibleDescription(tr(f"{LABEL_KEYS[key]}_help"))
            widget.setToolTip(tr(f"{LABEL_KEYS[key]}_help"))
        self.seed_lock.setText(tr("create.expert_seed_lock"))
        self.seed_lock.setAccessibleName(tr("create.expert_seed_lock"))
        self.seed_lock.setAccessibleDescription(tr("create.expert_seed_lock_help"))
        self.seed_lock.setToolTip(tr("create.expert_seed_lock_help"))
        self.lora_strength.setAccessibleName(tr("create.expert_lora_strength"))
        self.lora_strength.setAccessibleDescription(tr("create.expert_lora_strength_help"))
        self.lora_strength.setToolTip(tr("create.expert_lora_strength_help"))
        self.reset_button.setText(tr("create.expert_reset"))
        self.reset_button.setAccessibleName(tr("create.expert_reset"))
        self.negative_edit.setPlaceholderText(tr("create.expert_negative_placeholder"))
        self.seed_edit.setPlaceholderText(tr("create.expert_seed_placeholder"))
        self.refresh()

    # ------------------------------------------------------------------ state
    def refresh(self) -> None:
        """Show the selected output's parameters and values."""
        self._syncing = True
        try:
            params = self._vm.params
            for key in LABEL_KEYS:
                self.form.setRowVisible(self.labels[key], key in params)
            self.empty_label.setVisible(not params)
            self.reset_button.setVisible(bool(params - {"seed", "lora"}))
            self._fill_sizes()
            self._fill_numbers()
            self._fill_seed()
            self._fill_loras()
        finally:
            self._syncing = False

    def _fill_sizes(self) -> None:
        tr = self._tr.tr
        self.size_combo.clear()
        default = self._vm.default("size")
        for size in self._vm.sizes:
            text = tr("create.expert_size_entry", width=size[0], height=size[1])
            shape = _shape_key(size)
            if shape is not None:
                text = f"{text} · {tr(shape)}"
            if size == default:
                text = tr("create.expert_default", value=text)
            self.size_combo.addItem(text, _size_data(size))
        current = self._vm.value("size")
        index = self.size_combo.findData(_size_data(current)) if isinstance(current, tuple) else 0
        self.size_combo.setCurrentIndex(max(index, 0))

    def _fill_numbers(self) -> None:
        vm = self._vm
        steps = vm.value("steps")
        if isinstance(steps, int | float):
            self.steps_spin.setValue(int(steps))
        self.seconds_spin.setMaximum(vm.seconds_limit)  # a film: its longest clip
        for spin, key in ((self.cfg_spin, "cfg"), (self.seconds_spin, "seconds")):
            value = vm.value(key)
            if isinstance(value, int | float):
                spin.setValue(float(value))
        negative = vm.value("negative")
        if self.negative_edit.text() != str(negative or ""):
            self.negative_edit.setText(str(negative or ""))
            self.negative_edit.setCursorPosition(0)  # show its beginning, not its end

    def _fill_seed(self) -> None:
        seed = self._vm.seed
        self.seed_edit.setText("" if seed is None else str(seed))
        self.seed_edit.setCursorPosition(0)
        self.seed_lock.setChecked(self._vm.seed_locked)
        self.seed_hint.setVisible("seed" in self._vm.params)
        key = "create.expert_seed_locked" if self._vm.seed_locked else "create.expert_seed_free"
        self.seed_hint.setText(self._tr.tr(key))

    def _fill_loras(self) -> None:
        tr, vm = self._tr.tr, self._vm
        self.lora_combo.clear()
        self.lora_combo.addItem(tr("create.expert_lora_none"), "")
        for choice in vm.lora_choices:
            text = f"{choice.file} ({choice.family})" if choice.family else choice.file
            self.lora_combo.addItem(text, choice.file)
        self.lora_combo.setCurrentIndex(max(self.lora_combo.findData(vm.lora), 0))
        self.lora_strength.setValue(vm.lora_strength)
        self.lora_strength.setEnabled(bool(vm.lora))
        used = ", ".join(f"{spec.file} ({spec.strength_model:g})" for spec in vm.config_loras)
        self.config_loras_label.setText(tr("create.expert_config_loras", loras=used))
        self.config_loras_label.setVisible(bool(used) and "lora" in vm.params)

    # ------------------------------------------------------------------ user input
    def _set(self, key: str, value: object) -> None:
        if not self._syncing and key in self._vm.params:
            self._vm.set_value(key, value)

    def _on_size(self, index: int) -> None:
        width, _x, height = str(self.size_combo.itemData(index) or "").partition("x")
        if width.isdigit() and height.isdigit():
            self._set("size", (int(width), int(height)))

    def _on_seed_typed(self) -> None:
        text = self.seed_edit.text().strip()
        if self._syncing or not text:
            return
        try:
            self._vm.set_seed(int(text))
        except ValueError:
            self.seed_hint.setText(self._tr.tr("create.expert_seed_invalid"))
            self.seed_hint.show()

    def _on_lock(self, locked: bool) -> None:
        if not self._syncing:
            self._on_seed_typed()  # a seed typed just before locking counts
            self._vm.set_seed_locked(locked)

    def _on_lora(self, _value: object = None) -> None:
        if not self._syncing:
            file = str(self.lora_combo.currentData() or "")
            self._vm.set_lora(file, self.lora_strength.value())

    def showEvent(self, event: QShowEvent) -> None:
        """Read the trained LoRAs again whenever the panel appears."""
        super().showEvent(event)
        self._vm.reload_loras()
