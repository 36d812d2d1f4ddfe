"""The Backends tab of the settings page: cards, controls, live log, demo switch, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import BackendSettings, Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.viewmodels.backends_vm import BackendsViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel

from ..backend_helpers import START_TIMEOUT_MS, managed_manager, simulator_children
from ..helpers import run


class Built:
    """A settings page with a live backends view-model."""

    def __init__(self, qtbot: Any, manager: BackendManager, store: SettingsStore, log_dir: Path):
        self.translator = Translator("de")
        self.settings_vm = SettingsViewModel(store, self.translator)
        self.settings_vm.language_changed.connect(self.translator.set_language)
        self.vm = BackendsViewModel(
            manager, self.settings_vm, TaskRegistry("test"), translator=self.translator
        )
        self.page = SettingsPage(self.settings_vm, self.translator, log_dir, self.vm)
        qtbot.addWidget(self.page)
        self.page.resize(1200, 760)
        self.page.show()
        self.page.show_tab("backends")
        self.card = self.page.backends.cards["ollama"]

    def close(self, qtbot: Any) -> None:
        run(qtbot, self.vm.shutdown())
        self.settings_vm.shutdown()


@pytest.fixture
def built(
    demo_manager: BackendManager, demo_store: SettingsStore, app_paths: AppPaths, qtbot: Any
) -> Iterator[Built]:
    page = Built(qtbot, demo_manager, demo_store, app_paths.log_dir)
    yield page
    page.close(qtbot)


def test_backends_tab_has_a_card_per_backend_with_its_own_fields(built: Built) -> None:
    page = built.page
    assert page.current_tab == "backends"
    assert page.tabs.tabText(1) == "Backends"
    assert set(page.backends.cards) == {"ollama", "swarmui", "comfyui"}
    for name, card in page.backends.cards.items():
        leaves = ["mode", "path", "url", "port", "startup_timeout_s"]
        if name == "comfyui":
            leaves.append("launch_args")  # --cpu, --lowvram ... (only ComfyUI has them)
        assert set(card.section.editors) == {f"{name}.{leaf}" for leaf in leaves}
        assert page.groups[name] is card
    assert isinstance(page.editors["demo_mode"].widget, QCheckBox)
    assert page.editors["demo_mode"].widget.isVisible()
    assert page.editors["image_engine"].widget.isVisible()
    card = built.card
    assert card.title() == "Ollama (Textmodelle)"
    assert card.light.state is BackendState.stopped
    assert "Demo-Platzhalter" in card.mode_label.text()
    assert card.start_button.isEnabled()
    assert not card.stop_button.isEnabled()
    assert not card.restart_button.isEnabled()
    assert "Platzhalter" in page.backends.demo_note.text()
    assert page.backends.following_tails


def test_start_and_stop_from_the_card(built: Built, qtbot: Any) -> None:
    card = built.card
    card.start_button.click()
    qtbot.waitUntil(lambda: built.vm.row("ollama").busy, timeout=1000)
    assert not card.start_button.isEnabled()
    assert not card.stop_button.isEnabled()
    assert not card.restart_button.isEnabled()
    qtbot.waitUntil(lambda: card.light.state is BackendState.ready, timeout=START_TIMEOUT_MS)
    qtbot.waitUntil(lambda: card.stop_button.isEnabled(), timeout=START_TIMEOUT_MS)
    assert card.restart_button.isEnabled()
    assert not card.start_button.isEnabled()
    assert any("Listening on" in line for line in card.log_view.lines)
    assert "Listening on" in card.log_view.toPlainText()
    assert card.log_view.isReadOnly()
    assert card.log_view.at_end
    assert card.log_heading.text().endswith(".log)")
    card.stop_button.click()
    qtbot.waitUntil(lambda: card.light.state is BackendState.stopped, timeout=START_TIMEOUT_MS)
    qtbot.waitUntil(lambda: card.start_button.isEnabled(), timeout=START_TIMEOUT_MS)
    assert simulator_children() == []
    assert built.page.backends.banner.isHidden()


def test_mode_switch_shows_url_or_path_fields(built: Built) -> None:
    card = built.card
    mode = card.section.editors["ollama.mode"].widget
    url = card.section.editors["ollama.url"].widget
    path = card.section.editors["ollama.path"].widget
    assert isinstance(mode, QComboBox)
    assert path.isVisible()
    assert not url.isVisible()
    mode.setCurrentIndex(mode.findData("remote"))
    assert url.isVisible()
    assert not path.isVisible()
    assert built.page.save_button.isEnabled()
    built.page.revert_button.click()  # set_value() follows the mode too
    assert mode.currentData() == "managed"
    assert path.isVisible()
    assert not url.isVisible()


def test_open_log_folder_opens_the_backend_log_folder(
    built: Built, app_paths: AppPaths, opened_folders: list[Path]
) -> None:
    built.card.log_button.click()
    assert opened_folders == [app_paths.log_dir]


def test_saving_the_demo_switch_rebuilds_the_backends(built: Built, qtbot: Any) -> None:
    check = built.page.editors["demo_mode"].widget
    assert isinstance(check, QCheckBox)
    assert check.isChecked()
    check.setChecked(False)
    with qtbot.waitSignal(built.vm.demo_changed, timeout=START_TIMEOUT_MS):
        built.page.save_button.click()
    qtbot.waitUntil(lambda: not built.vm.applying, timeout=START_TIMEOUT_MS)
    assert "Läuft auf diesem Computer" in built.card.mode_label.text()
    assert built.card.light.state is BackendState.stopped
    assert built.page.backends.applying_label.isHidden()


def test_language_switch_retranslates_the_cards(built: Built) -> None:
    assert built.settings_vm.set_value("ui.language", "en")
    card = built.card
    assert card.title() == "Ollama (text models)"
    assert card.start_button.text() == "Start"
    assert card.start_button.accessibleName() == "Start Ollama (text models)"
    assert card.mode_label.text().startswith("Demo stand-in")
    assert built.page.tabs.tabText(0) == "General"


def test_every_visible_control_on_the_tab_has_an_accessible_name(built: Built) -> None:
    unnamed = []
    for widget in built.page.backends.findChildren(QWidget):
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisible():
            continue
        parent = widget.parentWidget()
        if widget.metaObject().className() == "QScrollArea" or (
            parent is not None
            and (isinstance(parent, QComboBox) or parent.inherits("QAbstractSpinBox"))
        ):
            continue  # the scroll area itself, inner line edits of combo and spin boxes
        if not widget.accessibleName():
            unnamed.append(f"{widget.metaObject().className()} {widget.objectName()}")
    assert not unnamed, unnamed


@pytest.fixture
def missing_ollama(
    qloop: Any, qtbot: Any, app_paths: AppPaths, tmp_path: Path
) -> Iterator[BackendManager]:
    settings = Settings(ollama=BackendSettings(path=str(tmp_path / "no" / "ollama")))
    yield from managed_manager(qtbot, app_paths, settings, demo=False)


def test_not_installed_shows_advice_inline(
    missing_ollama: BackendManager, store: SettingsStore, app_paths: AppPaths, qtbot: Any
) -> None:
    built = Built(qtbot, missing_ollama, store, app_paths.log_dir)
    try:
        card = built.card
        assert "Läuft auf diesem Computer" in card.mode_label.text()
        card.start_button.click()
        banner = built.page.backends.banner
        qtbot.waitUntil(banner.isVisible, timeout=START_TIMEOUT_MS)
        assert "Installiere Ollama von ollama.com" in banner.message  # the UI language
        assert "Traceback" not in banner.message
        qtbot.waitUntil(lambda: card.start_button.isEnabled(), timeout=START_TIMEOUT_MS)
        assert card.light.state is BackendState.not_installed
        assert "Installiere Ollama von ollama.com" in card.message_label.text()
        assert card.message_label.isVisible()
        assert not card.restart_button.isEnabled()
        # A language switch rewords the banner and the card (they keep the key, not text).
        assert built.settings_vm.set_value("ui.language", "en")
        assert "Install Ollama from ollama.com" in banner.message
        assert "Install Ollama from ollama.com" in card.message_label.text()
        assert "missing" in banner.detail
    finally:
        built.close(qtbot)


def test_without_a_view_model_the_cards_show_only_fields(
    qapp: Any, qtbot: Any, store: SettingsStore, app_paths: AppPaths
) -> None:
    translator = Translator("de")
    vm = SettingsViewModel(store, translator)
    page = SettingsPage(vm, translator, app_paths.log_dir)
    qtbot.addWidget(page)
    page.show()
    page.show_tab("backends")
    card = page.backends.cards["comfyui"]
    assert card.section.editors["comfyui.path"].widget.isVisible()
    assert not card.start_button.isVisible()
    assert not card.log_view.isVisible()
    assert not page.backends.following_tails
    vm.shutdown()


def test_a_first_swarmui_start_shows_installing_with_its_log(
    built: Built, demo_manager: BackendManager, qtbot: Any
) -> None:
    # A first start that installs (as launchers.swarmui_spec marks an unbuilt SwarmUI).
    supervisor = demo_manager.entry("swarmui").impl
    assert isinstance(supervisor, ProcessSupervisor)
    supervisor.spec = dataclasses.replace(
        supervisor.spec, installs=True, starting_message="SwarmUI is installing."
    )
    card = built.page.backends.cards["swarmui"]
    seen: list[tuple[BackendState, str, str]] = []
    built.vm.row_changed.connect(
        lambda name: (
            seen.append((card.light.state, card.light.label.text(), card.message_label.text()))
            if name == "swarmui"
            else None
        )
    )
    card.start_button.click()
    qtbot.waitUntil(lambda: card.light.state is BackendState.ready, timeout=START_TIMEOUT_MS)
    installing = [s for s in seen if s[0] is BackendState.installing]
    assert installing, seen
    _state, light, message = installing[0]
    assert "installiert" in light
    assert "Protokoll" in message  # the log on this card shows what it does
    assert card.log_view.accessibleName()
    assert card.log_button.isVisible()
    assert any(line for line in card.log_view.toPlainText().splitlines())
