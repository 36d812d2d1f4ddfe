"""The config picker: model correctness, filters through its own widgets, choosing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.config_model import ConfigIdRole, ConfigListModel
from ai4artsed_desktop.ui.widgets.config_picker import ConfigPicker

FALLBACK_ICON = resources_dir() / "icons" / "app" / "rule.svg"


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


@pytest.fixture
def vm(content: ContentLibrary, settings_vm: SettingsViewModel) -> CreateViewModel:
    return CreateViewModel(content, settings_vm)


@pytest.fixture
def picker(vm: CreateViewModel, translator: Translator, qtbot: Any, tmp_path: Path) -> ConfigPicker:
    widget = ConfigPicker(vm, translator, tmp_path / "no-icons", FALLBACK_ICON)
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    return widget


def _names(picker: ConfigPicker) -> list[str]:
    model = picker.model
    return [model.index(r).data() for r in range(model.rowCount())]


def test_model_passes_qtmodeltester(
    vm: CreateViewModel, qtmodeltester: Any, tmp_path: Path
) -> None:
    model = ConfigListModel(vm, tmp_path, FALLBACK_ICON)
    qtmodeltester.check(model, force_py=True)
    vm.set_category_filter("art_history")
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == 1
    index = model.index(0)
    assert index.data(ConfigIdRole) == "bauhaus"
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "Form folgt Funktion, Grundformen."
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()  # fallback icon


def test_lists_configs_with_german_names(picker: ConfigPicker) -> None:
    assert _names(picker) == ["Deine Wahl", "Bauhaus", "Märchen"]


def test_category_combo_filters_in_both_languages(
    picker: ConfigPicker, settings_vm: SettingsViewModel
) -> None:
    combo = picker.category_combo
    assert combo.itemText(0) == "Alle Kategorien"
    combo.setCurrentIndex(combo.findText("Sprachspiele"))
    assert _names(picker) == ["Märchen"]
    settings_vm.set_value("ui.language", "en")
    assert combo.currentText() == "Language games"
    assert _names(picker) == ["Fairy tale"]
    combo.setCurrentIndex(combo.findText("All categories"))
    assert len(_names(picker)) == 3


def test_search_box_filters_and_shows_a_teaching_empty_state(
    picker: ConfigPicker, settings_vm: SettingsViewModel
) -> None:
    picker.search_edit.setText("einmal")
    assert _names(picker) == ["Märchen"]
    picker.search_edit.setText("once upon")
    assert _names(picker) == []
    assert picker.stack.currentWidget() is picker.empty_label
    assert "eigenen Regeln" in picker.empty_label.text()
    settings_vm.set_value("ui.language", "en")
    assert _names(picker) == ["Fairy tale"]
    assert picker.stack.currentWidget() is picker.view


def test_enter_on_a_card_chooses_it(picker: ConfigPicker, vm: CreateViewModel, qtbot: Any) -> None:
    picker.view.setFocus()
    picker.view.setCurrentIndex(picker.model.index(1))
    with qtbot.waitSignal(vm.selected_config_id_changed, timeout=1000):
        qtbot.keyClick(picker.view, Qt.Key.Key_Return)
    assert vm.selected_config_id == "bauhaus"
    assert vm.rules.startswith("Zerlege")


def test_view_follows_the_chosen_config(picker: ConfigPicker, vm: CreateViewModel) -> None:
    vm.choose_config("fairy_tale")
    assert picker.view.currentIndex().data(ConfigIdRole) == "fairy_tale"


def test_controls_have_accessible_names(picker: ConfigPicker) -> None:
    for widget in (picker.category_combo, picker.search_edit, picker.view):
        assert widget.accessibleName()
