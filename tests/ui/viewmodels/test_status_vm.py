"""StatusViewModel: backend states, periodic GPU/RAM refresh off the event loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.system.gpu import FakeGpuProvider, GpuSnapshot
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.viewmodels.status_vm import GpuStatus, StatusViewModel

from ..helpers import GIB, run, write_gpu_file


class BrokenGpu:
    """A provider whose driver raises (like NVML after a GPU fell off the bus)."""

    def __init__(self) -> None:
        self.calls = 0

    def snapshot(self) -> GpuSnapshot | None:
        self.calls += 1
        raise RuntimeError("driver went away")


def test_backends_start_stopped_and_follow_updates(
    qapp: Any, qtbot: Any, no_gpu: FakeGpuProvider
) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry(), ("ollama", "comfyui"))
    assert vm.backend_states == {"ollama": BackendState.stopped, "comfyui": BackendState.stopped}
    with qtbot.waitSignal(vm.backend_states_changed, timeout=1000) as changed:
        vm.update_backend(BackendStateChanged("ollama", BackendState.ready, "on port 11434"))
    assert changed.args[0]["ollama"] is BackendState.ready
    assert vm.backend_message("ollama") == "on port 11434"
    with qtbot.assertNotEmitted(vm.backend_states_changed):
        vm.update_backend(BackendStateChanged("ollama", BackendState.ready, "on port 11434"))


def test_refresh_reads_gpu_and_ram(qloop: Any, qtbot: Any, fake_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(fake_gpu, TaskRegistry())
    with qtbot.waitSignals([vm.gpu_changed, vm.ram_changed], timeout=3000):
        run(qtbot, vm.refresh())
    assert vm.gpu_status is GpuStatus.present
    assert vm.vram_total_bytes == 24 * GIB
    assert vm.vram_used_bytes == 31 * GIB // 10
    assert vm.ram is not None
    assert vm.ram.ram_total_bytes > 0


def test_no_gpu_is_absent(qloop: Any, qtbot: Any, no_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry())
    run(qtbot, vm.refresh())
    assert vm.gpu_status is GpuStatus.absent
    assert vm.vram_total_bytes == 0


def test_periodic_refresh_picks_up_changes_and_stops(
    qloop: Any, qtbot: Any, gpu_file: Path, fake_gpu: FakeGpuProvider
) -> None:
    tasks = TaskRegistry()
    vm = StatusViewModel(fake_gpu, tasks, interval_s=0.02)
    vm.start()
    qtbot.waitUntil(lambda: vm.gpu_status is GpuStatus.present, timeout=3000)
    write_gpu_file(gpu_file, ("NVIDIA RTX A6000", 100, 48))
    qtbot.waitUntil(lambda: vm.vram_total_bytes == 48 * GIB, timeout=3000)
    assert vm.running
    assert len(tasks) == 1
    run(qtbot, vm.shutdown())
    assert not vm.running
    assert len(tasks) == 0  # type: ignore[unreachable]  # mypy keeps the narrowing above


@pytest.mark.usefixtures("expect_log_warnings")
def test_failing_provider_shows_unknown_and_keeps_refreshing(
    qloop: Any, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenGpu()
    vm = StatusViewModel(broken, TaskRegistry(), interval_s=0.01)
    caplog.set_level(logging.WARNING)
    vm.start()
    qtbot.waitUntil(lambda: broken.calls >= 3, timeout=3000)
    assert vm.gpu_status is GpuStatus.unknown
    assert vm.ram is not None  # RAM is still read
    assert vm.running
    warnings = [r for r in caplog.records if "Reading the GPU failed" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not every second
    run(qtbot, vm.shutdown())
