"""Settings page: generated form, save round trip, invalid input, save failures, revert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from ai4artsed_desktop import settings as settings_mod
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.settings_form import SECTIONS
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel


def _page(
    qtbot: Any, store: SettingsStore, log_dir: Path
) -> tuple[SettingsPage, SettingsViewModel]:
    translator = Translator(store.current.ui.language)
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    page = SettingsPage(vm, translator, log_dir)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page, vm


def test_form_has_an_editor_of_the_right_kind_for_every_field(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    page, _vm = _page(qtbot, store, app_paths.log_dir)
    described = dict(settings_mod.describe())
    assert set(page.editors) == set(described)
    assert set(page.groups) == {s for s, _ in SECTIONS}
    assert isinstance(page.editors["safety.level"].widget, QComboBox)
    assert isinstance(page.editors["safety.local_only"].widget, QCheckBox)
    port = page.editors["ollama.port"].widget
    assert isinstance(port, QSpinBox)
    assert (port.minimum(), port.maximum()) == (0, 65535)
    assert isinstance(page.editors["comfyui.startup_timeout_s"].widget, QDoubleSpinBox)
    assert isinstance(page.editors["roles.interception"].widget, QLineEdit)
    assert page.groups["safety"].title() == "Sicherheit"
    for editor in page.editors.values():
        assert editor.widget.accessibleName()
        assert editor.widget.toolTip()
    level = page.editors["safety.level"].widget
    assert isinstance(level, QComboBox)
    assert next(level.itemText(i) for i in range(level.count())) == "Kinder (8–12)"


def test_save_round_trip_through_the_file(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    page, _vm = _page(qtbot, store, app_paths.log_dir)
    assert not page.save_button.isEnabled()
    level = page.editors["safety.level"].widget
    assert isinstance(level, QComboBox)
    level.setCurrentIndex(level.findData("kids"))
    port = page.editors["ollama.port"].widget
    assert isinstance(port, QSpinBox)
    port.setValue(11500)
    local = page.editors["safety.local_only"].widget
    assert isinstance(local, QCheckBox)
    local.setChecked(False)
    url = page.editors["swarmui.url"].widget
    assert isinstance(url, QLineEdit)
    qtbot.keyClicks(url, "http://gpu-server:7801")
    assert page.save_button.isEnabled()
    page.save_button.click()
    assert page.saved_label.text() == "Gespeichert."
    assert not page.save_button.isEnabled()
    reloaded = SettingsStore.load(store.path).current
    assert reloaded.safety.level == "kids"
    assert reloaded.ollama.port == 11500
    assert reloaded.safety.local_only is False
    assert reloaded.swarmui.url == "http://gpu-server:7801"


def test_invalid_input_shows_inline_error_and_saves_nothing(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    page, _vm = _page(qtbot, store, app_paths.log_dir)
    port = page.editors["ollama.port"].widget
    assert isinstance(port, QSpinBox)
    port.setValue(12000)
    url = page.editors["comfyui.url"].widget
    assert isinstance(url, QLineEdit)
    qtbot.keyClicks(url, "my gpu server")
    page.save_button.click()
    assert page.banner.isVisible()
    assert "Server-Adresse" in page.banner.message
    assert not store.path.exists()
    assert url.text() == "my gpu server"  # the user's input is kept for correcting
    assert port.value() == 12000
    url.clear()
    page.save_button.click()
    assert page.banner.isHidden()
    assert SettingsStore.load(store.path).current.ollama.port == 12000


@pytest.mark.usefixtures("expect_log_warnings")
def test_save_failure_keeps_the_edits(qapp: Any, qtbot: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("", encoding="utf-8")
    store = SettingsStore(blocker / "settings.json")
    page, _vm = _page(qtbot, store, tmp_path / "logs")
    level = page.editors["safety.level"].widget
    assert isinstance(level, QComboBox)
    level.setCurrentIndex(level.findData("adult"))
    page.save_button.click()
    assert page.banner.isVisible()
    assert "settings.json" in page.banner.detail
    assert level.currentData() == "adult"
    assert store.current.safety.level == "youth"


def test_revert_drops_unsaved_changes(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    page, _vm = _page(qtbot, store, app_paths.log_dir)
    line = page.editors["roles.code"].widget
    assert isinstance(line, QLineEdit)
    line.setText("ollama/other")
    assert page.revert_button.isEnabled()
    page.revert_button.click()
    assert line.text() == "ollama/qwen2.5-coder:7b"
    assert not page.revert_button.isEnabled()


def test_outside_changes_update_untouched_fields_only(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    page, vm = _page(qtbot, store, app_paths.log_dir)
    line = page.editors["roles.code"].widget
    assert isinstance(line, QLineEdit)
    qtbot.keyClicks(line, "-mine")
    vm.apply({"roles.code": "ollama/x", "safety.level": "adult", "ui.language": "en"})
    assert line.text() == "ollama/qwen2.5-coder:7b-mine"
    level = page.editors["safety.level"].widget
    assert isinstance(level, QComboBox)
    assert level.currentData() == "adult"
    assert page.groups["safety"].title() == "Safety"
