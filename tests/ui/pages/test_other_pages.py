"""History and Training pages: honest empty states and live GPU gauges."""

from __future__ import annotations

from typing import Any

from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.training_page import TrainingPage
from ai4artsed_desktop.ui.viewmodels.status_vm import StatusViewModel

from ..helpers import run


def test_training_page_shows_gauges_from_the_status(
    qloop: Any, qtbot: Any, fake_gpu: FakeGpuProvider
) -> None:
    vm = StatusViewModel(fake_gpu, TaskRegistry())
    page = TrainingPage(vm, Translator("en"))
    qtbot.addWidget(page)
    page.show()
    run(qtbot, vm.refresh())
    assert len(page.gauges) == 1
    gauge = page.gauges[0]
    assert gauge.name_label.text() == "GPU 0: NVIDIA GeForce RTX 4090"
    assert gauge.bar.value() == 13  # 3.1 of 24 GB
    assert gauge.bar.format() == "3.1 / 24 GB graphics memory in use"
    assert gauge.bar.accessibleName()
    assert page.gpu_message.isHidden()
    assert "Settings → Training" in page.setup_text.text()
    with qtbot.waitSignal(page.settings_requested, timeout=1000):
        page.settings_button.click()


def test_training_page_without_gpu_says_so(qloop: Any, qtbot: Any, no_gpu: FakeGpuProvider) -> None:
    vm = StatusViewModel(no_gpu, TaskRegistry())
    page = TrainingPage(vm, Translator("en"))
    qtbot.addWidget(page)
    page.show()
    run(qtbot, vm.refresh())
    assert page.gauges == []
    assert page.gpu_message.text() == "No NVIDIA GPU found — LoRA training needs one."
    assert page.gpu_message.isVisible()
