"""Editors for settings fields, generated from ``settings.describe()`` metadata."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ... import settings as settings_mod
from ..i18n import Translator

INT_LIMIT = 2_147_483_647
LABEL_WIDTH = 250
FIELD_MAX_WIDTH = 560

# (section id, prefix of its dotted names; "" collects the remaining top-level fields)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("ui", "ui."),
    ("safety", "safety."),
    ("roles", "roles."),
    ("backends", ""),
    ("ollama", "ollama."),
    ("swarmui", "swarmui."),
    ("comfyui", "comfyui."),
    ("training", "training."),
    ("lab", "lab."),
    ("general", ""),
)
#: Top-level fields shown with the backends rather than under "general".
BACKEND_GENERAL_FIELDS = ("demo_mode", "image_engine")
#: Sections shown on the Backends tab of the settings page (in this order).
BACKEND_SECTIONS = ("backends", "ollama", "swarmui", "comfyui")


def section_of(dotted: str) -> str:
    """The section id a dotted setting belongs to."""
    if dotted in BACKEND_GENERAL_FIELDS:
        return "backends"
    for section, prefix in SECTIONS:
        if prefix and dotted.startswith(prefix):
            return section
    return "general"


def fields_by_section() -> dict[str, list[tuple[str, dataclasses.Field[Any]]]]:
    """Every settings leaf field, grouped in :data:`SECTIONS` order."""
    groups: dict[str, list[tuple[str, dataclasses.Field[Any]]]] = {s: [] for s, _ in SECTIONS}
    for dotted, fld in settings_mod.describe():
        groups[section_of(dotted)].append((dotted, fld))
    return groups


def translation_keys() -> list[str]:
    """Every i18n key the settings form needs (labels, help, choices, sections)."""
    keys = [f"settings.section.{section}" for section, _ in SECTIONS]
    for dotted, fld in settings_mod.describe():
        keys += [f"setting.{dotted}.label", f"setting.{dotted}.help"]
        keys += [f"setting.{dotted}.choice.{c}" for c in fld.metadata.get("choices", ())]
    return keys


class SettingEditor(QObject):
    """One field's widget with a uniform ``value()`` / ``set_value()`` interface.

    Signals:
        edited(): the user changed the value.
        changed(): the shown value changed (by the user or by :meth:`set_value`).
    """

    edited = Signal()
    changed = Signal()

    def __init__(self, dotted: str, fld: dataclasses.Field[Any], translator: Translator):
        super().__init__()
        self.dotted = dotted
        self.kind: type = type(fld.default)
        self._tr = translator
        self._choices: tuple[str, ...] = tuple(fld.metadata.get("choices", ()))
        self.widget: QWidget = self._make_widget(fld)
        self.edited.connect(self.changed)

    def _make_widget(self, fld: dataclasses.Field[Any]) -> QWidget:
        low, high = fld.metadata.get("minimum"), fld.metadata.get("maximum")
        if self._choices:
            combo = QComboBox()
            for choice in self._choices:
                combo.addItem(choice, choice)
            combo.currentIndexChanged.connect(self.edited)
            return combo
        if self.kind is bool:
            check = QCheckBox()
            check.toggled.connect(self.edited)
            return check
        if self.kind is int:
            spin = QSpinBox()
            spin.setRange(int(low if low is not None else -INT_LIMIT), int(high or INT_LIMIT))
            spin.valueChanged.connect(self.edited)
            return spin
        if self.kind is float:
            dspin = QDoubleSpinBox()
            dspin.setDecimals(1)
            dspin.setRange(float(low if low is not None else -1e9), float(high or 1e9))
            dspin.valueChanged.connect(self.edited)
            return dspin
        line = QLineEdit()
        line.setClearButtonEnabled(True)
        line.textChanged.connect(self.edited)
        return line

    def value(self) -> Any:
        w = self.widget
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QSpinBox | QDoubleSpinBox):
            return w.value()
        assert isinstance(w, QLineEdit)
        return w.text()

    def set_value(self, value: Any) -> None:
        w = self.widget
        before = self.value()
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                w.setCurrentIndex(max(w.findData(value), 0))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QSpinBox):
                w.setValue(int(value))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
            else:
                assert isinstance(w, QLineEdit)
                w.setText(str(value))
        finally:
            w.blockSignals(False)
        if self.value() != before:
            self.changed.emit()

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.widget.setAccessibleName(tr(f"setting.{self.dotted}.label"))
        self.widget.setAccessibleDescription(tr(f"setting.{self.dotted}.help"))
        self.widget.setToolTip(tr(f"setting.{self.dotted}.help"))
        if isinstance(self.widget, QComboBox):
            for i, choice in enumerate(self._choices):
                self.widget.setItemText(i, tr(f"setting.{self.dotted}.choice.{choice}"))
        if isinstance(self.widget, QDoubleSpinBox | QSpinBox) and self.dotted.endswith("_s"):
            self.widget.setSuffix(" s")


class FormSection:
    """Label, editor and hint rows for some settings fields inside one ``QFormLayout``.

    The editors are parented to ``owner`` (they are QObjects, not widgets).
    """

    def __init__(
        self,
        form: QFormLayout,
        fields: list[tuple[str, dataclasses.Field[Any]]],
        translator: Translator,
        owner: QObject,
        *,
        label_width: int = LABEL_WIDTH,
    ) -> None:
        self.form = form
        self._tr = translator
        self.editors: dict[str, SettingEditor] = {}
        self._labels: dict[str, tuple[QLabel, QLabel]] = {}
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        for dotted, fld in fields:
            editor = SettingEditor(dotted, fld, translator)
            editor.setParent(owner)
            label, hint = QLabel(), QLabel()
            label.setMinimumWidth(label_width)
            label.setWordWrap(True)
            editor.widget.setMaximumWidth(FIELD_MAX_WIDTH)
            hint.setObjectName("hint")
            hint.setWordWrap(True)
            label.setBuddy(editor.widget)
            form.addRow(label, editor.widget)
            form.addRow("", hint)
            self.editors[dotted] = editor
            self._labels[dotted] = (label, hint)

    def set_row_visible(self, dotted: str, visible: bool) -> None:
        """Show or hide one field (its label, editor and hint)."""
        _label, hint = self._labels[dotted]
        self.form.setRowVisible(self.editors[dotted].widget, visible)
        self.form.setRowVisible(hint, visible)

    def retranslate(self) -> None:
        tr = self._tr.tr
        for dotted, (label, hint) in self._labels.items():
            label.setText(tr(f"setting.{dotted}.label"))
            hint.setText(tr(f"setting.{dotted}.help"))
            self.editors[dotted].retranslate()
