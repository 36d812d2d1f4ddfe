"""SettingsViewModel: validated saves, change signals, errors without data loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.settings import Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel


@pytest.fixture
def vm(qapp: Any, store: SettingsStore) -> SettingsViewModel:
    return SettingsViewModel(store, Translator("en"))


def _saved(store: SettingsStore) -> dict[str, Any]:
    return json.loads(store.path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_set_value_saves_and_emits(vm: SettingsViewModel, store: SettingsStore, qtbot: Any) -> None:
    with qtbot.waitSignal(vm.settings_changed, timeout=1000) as changed:
        assert vm.set_value("ollama.port", 11500)
    assert changed.args[0].ollama.port == 11500
    assert vm.value("ollama.port") == 11500
    assert _saved(store)["ollama"]["port"] == 11500


def test_language_change_emits_language_changed(vm: SettingsViewModel, qtbot: Any) -> None:
    with qtbot.waitSignal(vm.language_changed, timeout=1000) as changed:
        vm.set_value("ui.language", "en")
    assert changed.args == ["en"]
    assert vm.language == "en"


def test_other_changes_do_not_emit_language_changed(vm: SettingsViewModel, qtbot: Any) -> None:
    with qtbot.assertNotEmitted(vm.language_changed):
        vm.set_value("safety.level", "kids")


def test_invalid_value_reports_error_and_saves_nothing(
    vm: SettingsViewModel, store: SettingsStore, qtbot: Any
) -> None:
    with qtbot.waitSignal(vm.error_occurred, timeout=1000) as error:
        assert not vm.set_value("ollama.port", 70000)
    message, detail = error.args
    assert "Port" in message
    assert "out of range" in message
    assert "70000" in detail
    assert not store.path.exists()
    assert store.current == Settings()


def test_apply_is_all_or_nothing(vm: SettingsViewModel, store: SettingsStore, qtbot: Any) -> None:
    with qtbot.waitSignal(vm.error_occurred, timeout=1000):
        ok = vm.apply({"safety.level": "kids", "ui.language": "klingon"})
    assert not ok
    assert store.current.safety.level == "youth"
    assert not store.path.exists()


def test_url_must_be_http(vm: SettingsViewModel, qtbot: Any) -> None:
    with qtbot.waitSignal(vm.error_occurred, timeout=1000) as error:
        assert not vm.set_value("comfyui.url", "gpu server 8188")
    assert "http://" in error.args[0]
    assert vm.set_value("comfyui.url", "http://gpu-server:8188")
    assert vm.set_value("comfyui.url", "")


@pytest.mark.usefixtures("expect_log_warnings")
def test_save_failure_reports_config_error_and_keeps_old_value(
    qapp: Any, tmp_path: Path, qtbot: Any
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    store = SettingsStore(blocker / "settings.json")
    vm = SettingsViewModel(store, Translator("de"))
    with qtbot.waitSignal(vm.error_occurred, timeout=1000) as error:
        assert not vm.set_value("ui.language", "en")
    message, detail = error.args
    assert "nicht gespeichert" in message
    assert "settings.json" in detail
    assert store.current.ui.language == "de"


def test_external_store_changes_are_announced(
    vm: SettingsViewModel, store: SettingsStore, qtbot: Any
) -> None:
    with qtbot.waitSignal(vm.settings_changed, timeout=1000):
        store.set("safety.level", "adult")
    vm.shutdown()
    with qtbot.assertNotEmitted(vm.settings_changed):
        store.set("safety.level", "kids")
