"""CreateViewModel: choosing rules, editing them, filtering, language switches."""

from __future__ import annotations

from typing import Any

import pytest

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore) -> SettingsViewModel:
    return SettingsViewModel(store, Translator("de"))


@pytest.fixture
def vm(content: ContentLibrary, settings_vm: SettingsViewModel) -> CreateViewModel:
    return CreateViewModel(content, settings_vm)


def _ids(vm: CreateViewModel) -> list[str]:
    return [c.id for c in vm.visible_configs]


def test_starts_with_your_call_and_empty_rules(vm: CreateViewModel) -> None:
    assert vm.selected_config_id == "your_call"
    assert vm.rules == ""
    assert vm.idea == ""
    # "opposite" is for adults only; the default safety level is youth.
    assert _ids(vm) == ["your_call", "bauhaus", "fairy_tale"]


def test_choose_config_fills_rules_in_current_language(vm: CreateViewModel, qtbot: Any) -> None:
    with qtbot.waitSignals([vm.selected_config_id_changed, vm.rules_changed], timeout=1000):
        vm.choose_config("bauhaus")
    assert vm.rules == "Zerlege alles in Kreis, Quadrat und Dreieck."
    assert not vm.rules_edited
    vm.choose_config("your_call")
    assert vm.rules == ""


def test_unknown_config_raises(vm: CreateViewModel) -> None:
    with pytest.raises(KeyError):
        vm.choose_config("nope")


def test_language_switch_refills_unedited_rules_and_keeps_the_idea(
    vm: CreateViewModel, settings_vm: SettingsViewModel, qtbot: Any
) -> None:
    vm.set_idea("Ein Leuchtturm")
    vm.choose_config("fairy_tale")
    with qtbot.waitSignal(vm.language_changed, timeout=1000):
        settings_vm.set_value("ui.language", "en")
    assert vm.rules == "Tell the idea as a fairy tale."
    assert vm.idea == "Ein Leuchtturm"


def test_language_switch_keeps_edited_rules(
    vm: CreateViewModel, settings_vm: SettingsViewModel
) -> None:
    vm.choose_config("fairy_tale")
    vm.set_rules("Erzähle die Idee als Märchen, aber rückwärts.")
    assert vm.rules_edited
    settings_vm.set_value("ui.language", "en")
    assert vm.rules == "Erzähle die Idee als Märchen, aber rückwärts."
    settings_vm.set_value("ui.language", "de")
    assert vm.rules == "Erzähle die Idee als Märchen, aber rückwärts."


def test_rules_written_for_your_call_survive_a_switch(
    vm: CreateViewModel, settings_vm: SettingsViewModel
) -> None:
    vm.set_rules("Alles in Blau")
    settings_vm.set_value("ui.language", "en")
    assert vm.rules == "Alles in Blau"


def test_category_filter(vm: CreateViewModel, qtbot: Any) -> None:
    with qtbot.waitSignal(vm.visible_configs_changed, timeout=1000):
        vm.set_category_filter("art_history")
    assert _ids(vm) == ["bauhaus"]
    vm.set_category_filter("")
    assert len(_ids(vm)) == 3
    with pytest.raises(KeyError):
        vm.set_category_filter("no_such_category")


def test_search_matches_name_and_description_case_insensitively_in_both_languages(
    vm: CreateViewModel, settings_vm: SettingsViewModel
) -> None:
    vm.set_search_text("MÄRCHEN")
    assert _ids(vm) == ["fairy_tale"]
    vm.set_search_text("grundformen")  # description only
    assert _ids(vm) == ["bauhaus"]
    vm.set_search_text("fairy")  # English name does not match in German
    assert _ids(vm) == []
    settings_vm.set_value("ui.language", "en")
    assert _ids(vm) == ["fairy_tale"]
    vm.set_search_text("basic shapes")
    assert _ids(vm) == ["bauhaus"]


def test_safety_level_controls_which_configs_are_offered(
    vm: CreateViewModel, settings_vm: SettingsViewModel
) -> None:
    settings_vm.set_value("safety.level", "adult")
    assert "opposite" in _ids(vm)
    settings_vm.set_value("safety.level", "kids")
    assert "opposite" not in _ids(vm)


def test_categories_in_display_order_with_configs(vm: CreateViewModel) -> None:
    assert [c.id for c in vm.categories] == ["free", "art_history", "play_language", "perspective"]
