"""Fixtures for UI tests: hand-built content, an isolated settings store, a fake GPU."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.desktop import FolderOpener
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox

from .backend_helpers import managed_manager
from .create_rig import create_rig
from .helpers import close_sandbox, make_content, open_shell, write_gpu_file
from .training_env import TrainingEnv


@pytest.fixture
def content() -> ContentLibrary:
    return make_content()


@pytest.fixture
def store(app_paths: AppPaths) -> SettingsStore:
    return SettingsStore.load(app_paths.settings_file)


@pytest.fixture
def translator(qapp: Any) -> Translator:
    return Translator("de")


@pytest.fixture
def gpu_file(tmp_path: Path) -> Path:
    path = tmp_path / "gpu.json"
    write_gpu_file(path, ("NVIDIA GeForce RTX 4090", 31, 24))
    return path


@pytest.fixture
def fake_gpu(gpu_file: Path) -> FakeGpuProvider:
    return FakeGpuProvider(gpu_file)


@pytest.fixture
def no_gpu(tmp_path: Path) -> FakeGpuProvider:
    return FakeGpuProvider(tmp_path / "missing-gpu.json")


@pytest.fixture
def opened_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record folder openings instead of starting the desktop's file manager."""
    opened: list[Path] = []

    def record(cls: type[FolderOpener], path: Path, on_failure: Any = None) -> bool:
        opened.append(path)
        return True

    monkeypatch.setattr(FolderOpener, "open", classmethod(record))
    return opened


@pytest.fixture
def demo_store(store: SettingsStore) -> SettingsStore:
    """The isolated settings store with ``demo_mode`` switched on."""
    store.set("demo_mode", True)
    return store


@pytest.fixture
def demo_manager(
    qloop: Any, qtbot: Any, app_paths: AppPaths, demo_store: SettingsStore
) -> Iterator[BackendManager]:
    """Demo backends (simulators), built from the demo store's settings."""
    yield from managed_manager(qtbot, app_paths, demo_store.current, demo=True)


# ------------------------------------------------------------------ training tests


@pytest.fixture(autouse=True)
def garbage_collected_on_the_main_thread() -> Iterator[None]:
    """No cyclic collection during a test; what it left is collected here, afterwards.

    Python's cyclic GC runs in whichever thread allocates; a QObject destroyed in a worker
    thread ("Timers cannot be stopped from another thread") can crash Qt. The window has
    ui/main_thread_gc.py for this; tests that build pieces of it get the same guarantee.
    """
    enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if enabled:
        gc.enable()


@pytest.fixture
def env(tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> TrainingEnv:
    """The training rig: a fake sd-scripts install, fast simulator steps, no armed fault."""
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    return TrainingEnv(tmp_path, app_paths)


# ------------------------------------------------------------------ Create page runs


#: The Create page on real pipeline services and the demo simulators.
rig = pytest.fixture(create_rig)


# ------------------------------------------------------------------ code sandbox


@pytest.fixture(scope="module")
def sandbox(qapp: Any) -> Iterator[CodeSandbox]:
    """One shown code sandbox per test module (a web engine start is expensive)."""
    widget = CodeSandbox(Translator("en"))
    widget.resize(420, 520)
    widget.show()
    yield widget
    close_sandbox(widget)


@pytest.fixture
def shell(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    fake_gpu: FakeGpuProvider,
) -> Iterator[Shell]:
    """The whole demo window at 1366x768 (files that need another window define their own)."""
    with open_shell(
        qtbot, paths=app_paths, store=store, content=content, gpu=fake_gpu, demo=True
    ) as built:
        yield built
