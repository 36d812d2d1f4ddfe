"""The picker and the Create page with the real built-in content from resources/."""

from __future__ import annotations

from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.create_vm import DEFAULT_CONFIG_ID, CreateViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.config_model import ConfigListModel
from ai4artsed_desktop.ui.widgets.config_picker import ConfigPicker

ICONS = resources_dir() / "icons" / "configs"
FALLBACK = resources_dir() / "icons" / "app" / "rule.svg"


@pytest.fixture(scope="module")
def real_content() -> ContentLibrary:
    return load_content(resources_dir() / "configs", None)


@pytest.fixture
def settings_vm(qapp: Any, app_paths: AppPaths, translator: Translator) -> SettingsViewModel:
    store = SettingsStore.load(app_paths.settings_file)
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


def test_built_in_content_loads_cleanly_with_icons(real_content: ContentLibrary) -> None:
    assert not real_content.problems, [str(p) for p in real_content.problems]
    assert DEFAULT_CONFIG_ID in real_content.interceptions
    missing = [
        c.icon for c in real_content.interceptions.values() if not (ICONS / c.icon).is_file()
    ]
    assert not missing


def test_model_with_real_content_passes_qtmodeltester(
    real_content: ContentLibrary, settings_vm: SettingsViewModel, qtmodeltester: Any
) -> None:
    vm = CreateViewModel(real_content, settings_vm)
    model = ConfigListModel(vm, ICONS, FALLBACK)
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == len(vm.visible_configs) > 1
    for category in vm.categories:
        vm.set_category_filter(category.id)
        assert model.rowCount() >= 1
        assert {c.category for c in vm.visible_configs} == {category.id}


def test_every_real_config_can_be_found_by_name_in_both_languages(
    real_content: ContentLibrary,
    settings_vm: SettingsViewModel,
    translator: Translator,
    qtbot: Any,
) -> None:
    vm = CreateViewModel(real_content, settings_vm)
    picker = ConfigPicker(vm, translator, ICONS, FALLBACK)
    qtbot.addWidget(picker)
    offered = vm.visible_configs
    for language in ("de", "en"):
        settings_vm.set_value("ui.language", language)
        for config in offered:
            picker.search_edit.setText(config.name.get(language).upper())
            assert config.id in [c.id for c in vm.visible_configs], (language, config.id)
    picker.search_edit.clear()
    chosen = next(c for c in offered if c.rules.en)
    vm.choose_config(chosen.id)
    assert vm.rules == chosen.rules.en
    settings_vm.set_value("ui.language", "de")
    assert vm.rules == chosen.rules.de
