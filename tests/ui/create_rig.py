"""The Create page wired to real pipeline services on the demo simulators (shared rig)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage, RunPanel
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase, RunViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel

from .backend_helpers import START_TIMEOUT_MS
from .helpers import run

CONTENT = load_content(resources_dir() / "configs")
RUN_TIMEOUT_MS = 30_000


@dataclass
class Rig:
    page: CreatePage
    panel: RunPanel
    vm: RunViewModel
    create: CreateViewModel
    settings: SettingsViewModel
    store: RunStore
    translator: Translator

    def run_json(self) -> dict[str, Any]:
        assert self.vm.session is not None
        folder = self.store.folder(self.vm.session.run_id)
        data: dict[str, Any] = json.loads((folder / "run.json").read_text("utf-8"))
        return data


def create_rig(  # the fixture `rig` in conftest.py
    qtbot: Any,
    app_paths: AppPaths,
    demo_store: SettingsStore,
    demo_manager: BackendManager,
    translator: Translator,
) -> Iterator[Rig]:
    """A shown Create page (1366x768) whose runs go to the demo simulators."""
    store = RunStore(app_paths.runs_dir)
    services = build_services(
        backends=demo_manager,
        content=CONTENT,
        settings=lambda: demo_store.current,
        store=store,
        workflows_dir=resources_dir() / "workflows",
    )
    settings_vm = SettingsViewModel(demo_store, translator)
    settings_vm.language_changed.connect(translator.set_language)  # as build_shell does
    create_vm = CreateViewModel(CONTENT, settings_vm)
    run_vm = RunViewModel(create_vm, settings_vm, services)
    page = CreatePage(
        create_vm,
        translator,
        resources_dir() / "icons" / "configs",
        resources_dir() / "icons" / "app" / "rule.svg",
        run_vm=run_vm,
    )
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    qtbot.waitExposed(page)
    assert page.run_panel is not None
    try:
        yield Rig(page, page.run_panel, run_vm, create_vm, settings_vm, store, translator)
    finally:
        run(qtbot, run_vm.shutdown(), timeout=START_TIMEOUT_MS)
        run(qtbot, services.providers.aclose())
        settings_vm.shutdown()
        store.close()
        gc.collect()  # anything leaked would be finalized (and reported) here, not later


def wait_idle(qtbot: Any, vm: RunViewModel) -> RunPhase:
    """Wait until the run stops; the phase it ended in."""
    qtbot.waitUntil(lambda: not vm.busy, timeout=RUN_TIMEOUT_MS)
    return vm.phase
