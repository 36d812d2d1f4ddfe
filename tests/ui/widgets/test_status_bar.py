"""Status bar: backend lights, VRAM and RAM text, accessible names."""

from __future__ import annotations

from typing import Any

from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.status_vm import StatusViewModel
from ai4artsed_desktop.ui.widgets.status_bar import STATE_COLOURS, StatusBar

from ..helpers import run


def _bar(qtbot: Any, vm: StatusViewModel, language: str = "en") -> StatusBar:
    bar = StatusBar(vm, Translator(language))
    qtbot.addWidget(bar)
    return bar


def test_lights_show_backend_states(qapp: Any, qtbot: Any, no_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry())
    bar = _bar(qtbot, vm)
    assert list(bar.lights) == ["ollama", "swarmui", "comfyui"]
    assert bar.lights["ollama"].label.text() == "Ollama: stopped"
    vm.update_backend(BackendStateChanged("ollama", BackendState.ready))
    vm.update_backend(BackendStateChanged("comfyui", BackendState.crashed, "exit code 1"))
    vm.update_backend(BackendStateChanged("swarmui", BackendState.starting))
    assert bar.lights["ollama"].label.text() == "Ollama: ready"
    assert bar.lights["ollama"].colour == STATE_COLOURS[BackendState.ready]
    assert STATE_COLOURS[BackendState.ready] in bar.lights["ollama"].dot.styleSheet()
    assert bar.lights["comfyui"].colour == STATE_COLOURS[BackendState.failed]
    assert "exit code 1" in bar.lights["comfyui"].toolTip()
    assert bar.lights["swarmui"].colour == STATE_COLOURS[BackendState.restarting]
    assert bar.lights["ollama"].accessibleName() == "Ollama status"


def test_unknown_backend_gets_its_own_light(qapp: Any, qtbot: Any, no_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry(), ("ollama",))
    bar = _bar(qtbot, vm)
    vm.update_backend(BackendStateChanged("kohya", BackendState.not_installed))
    assert bar.lights["kohya"].label.text() == "kohya: not installed"


def test_gpu_text_from_fake_provider(qloop: Any, qtbot: Any, fake_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(fake_gpu, TaskRegistry())
    bar = _bar(qtbot, vm)
    assert bar.gpu_label.text() == "GPU: unknown"
    run(qtbot, vm.refresh())
    assert bar.gpu_label.text() == "VRAM 3.1 / 24 GB"
    assert "RTX 4090" in bar.gpu_label.toolTip()
    assert bar.ram_label.text().startswith("RAM ")
    assert bar.gpu_label.accessibleName() == "Graphics memory"


def test_no_gpu_text_in_both_languages(qloop: Any, qtbot: Any, no_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry())
    english, german = _bar(qtbot, vm, "en"), _bar(qtbot, vm, "de")
    run(qtbot, vm.refresh())
    assert english.gpu_label.text() == "No NVIDIA GPU"
    assert german.gpu_label.text() == "Keine NVIDIA-GPU"
