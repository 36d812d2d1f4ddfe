"""build_shell with a real BackendManager: live lights, demo badge, ordered shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.errors import BackendNotInstalled
from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.i18n import load_catalogue
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.widgets.status_bar import STATE_COLOURS, StatusBar

from .backend_helpers import START_TIMEOUT_MS, simulator_children
from .helpers import open_shell, run


@pytest.fixture
def shell(
    qtbot: Any,
    app_paths: AppPaths,
    demo_store: SettingsStore,
    content: ContentLibrary,
    no_gpu: FakeGpuProvider,
    demo_manager: BackendManager,
) -> Iterator[Shell]:
    with open_shell(
        qtbot,
        paths=app_paths,
        store=demo_store,
        content=content,
        gpu=no_gpu,
        manager=demo_manager,
    ) as built:
        yield built


def _settings_page(shell: Shell) -> SettingsPage:
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    return page


def test_lights_follow_the_real_backend_states(
    shell: Shell, demo_manager: BackendManager, qtbot: Any
) -> None:
    assert shell.backends_vm is not None
    assert shell.window.demo_badge.isVisible()
    bar = shell.window.statusBar()
    assert isinstance(bar, StatusBar)
    assert bar.lights["ollama"].colour == STATE_COLOURS[BackendState.stopped]
    # A start by anyone (here: a service asking for a client) turns the light green.
    run(qtbot, demo_manager.ensure_ready("ollama"), timeout=START_TIMEOUT_MS)
    assert bar.lights["ollama"].colour == STATE_COLOURS[BackendState.ready]
    assert shell.status.backend_states["ollama"] is BackendState.ready
    card = _settings_page(shell).backends.cards["ollama"]
    assert card.light.state is BackendState.ready


def test_switching_demo_off_hides_the_badge(shell: Shell, qtbot: Any) -> None:
    vm = shell.backends_vm
    assert vm is not None
    assert shell.settings_vm.set_value("demo_mode", False)
    qtbot.waitUntil(lambda: not shell.window.demo_badge.isVisible(), timeout=START_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not vm.applying, timeout=START_TIMEOUT_MS)
    assert not vm.demo


def test_backend_errors_reach_the_window_banner_elsewhere(shell: Shell) -> None:
    assert shell.backends_vm is not None
    error = BackendNotInstalled(
        "Ollama was not found.",
        detail="detail",
        key="error.backend_not_found.ollama",
        params={"missing": "ollama"},
    )
    german = load_catalogue("de")["error.backend_not_found.ollama"].format(missing="ollama")
    english = load_catalogue("en")["error.backend_not_found.ollama"].format(missing="ollama")
    assert shell.settings_vm.set_value("ui.language", "de")
    shell.backends_vm.error_raised.emit(error)
    assert shell.window.banner.isVisible()
    assert shell.window.banner.message == german
    assert shell.settings_vm.set_value("ui.language", "en")  # the banner rewords it
    assert shell.window.banner.message == english
    shell.window.banner.dismiss()
    shell.window.show_page("settings")
    shell.backends_vm.error_raised.emit(error)
    assert shell.window.banner.isHidden()  # the Backends tab shows it instead
    assert _settings_page(shell).backends.banner.message == english


def test_backends_tab_has_no_english_text_in_german_mode(shell: Shell) -> None:
    page = _settings_page(shell)
    shell.window.show_page("settings")
    page.show_tab("backends")
    en, de = load_catalogue("en"), load_catalogue("de")
    english_only = {en[k] for k in en if en[k] != de[k]}
    texts = []
    for widget in page.backends.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton) and widget.isVisible():
            texts.append(widget.text())
        elif isinstance(widget, QGroupBox):
            texts.append(widget.title())
    assert not sorted(set(texts) & english_only)
    assert de["backends.start"] in texts


def test_shutdown_then_manager_shutdown_leaves_no_children(
    shell: Shell, demo_manager: BackendManager, qtbot: Any
) -> None:
    assert shell.backends_vm is not None
    card = _settings_page(shell).backends.cards["ollama"]
    card.start_button.click()
    qtbot.waitUntil(lambda: card.light.state is BackendState.ready, timeout=START_TIMEOUT_MS)
    assert len(simulator_children()) == 1
    run(qtbot, shell.shutdown())
    run(qtbot, demo_manager.shutdown())
    assert simulator_children() == []
