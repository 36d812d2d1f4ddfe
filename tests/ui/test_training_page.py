"""Training page: drop zone and dataset report, inputs, training run, gauges, log view."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from ai4artsed_desktop.backends.vram import GIB
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import LoraRef
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.system.resources import SystemSnapshot, system_snapshot
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.training.events import TrainingLog, TrainingProgress
from ai4artsed_desktop.ui.i18n import Translator, load_catalogue
from ai4artsed_desktop.ui.pages.training_page import TrainingPage, duration
from ai4artsed_desktop.ui.viewmodels.status_vm import StatusViewModel
from ai4artsed_desktop.ui.viewmodels.training_vm import TrainingState, TrainingViewModel
from ai4artsed_desktop.ui.widgets.drop_zone import DropZone
from ai4artsed_desktop.ui.widgets.loss_chart import LossChart

from .helpers import run
from .training_env import TrainingEnv, dataset, write_gpu

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")
# The training rig (fixture ``env`` in conftest.py) scans datasets in worker threads.


def make_page(
    qtbot: Any, env: TrainingEnv, status: StatusViewModel | None = None
) -> tuple[TrainingPage, TrainingViewModel]:
    vm = env.view_model()
    status = status or StatusViewModel(env.gpu, TaskRegistry())
    page = TrainingPage(status, Translator("en"), vm, log_dir=env.paths.log_dir)
    qtbot.addWidget(page)
    page.resize(900, 700)
    return page, vm


def drop(zone: DropZone, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    zone.dropEvent(event)
    assert event.isAccepted()


def test_dropped_folder_shows_report_and_thumbnails(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    page, _vm = make_page(qtbot, env)
    page.show()
    drop(page.drop_zone, dataset(env.tmp / "drop"))
    qtbot.waitUntil(lambda: page.drop_zone.strip.count() == 3, timeout=10000)
    assert page.dataset_summary.text() == (
        "3 usable images. With captions: 0, skipped: 1, warnings: 1."
    )
    problems = page.problems_label.text()
    assert "broken0.png: damaged or not an image" in problems
    assert "small0.png: smaller than 512 pixels" in problems
    assert page.problems_label.isVisible()
    assert page.drop_zone.strip.item(0).toolTip() == "good0.png"
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)


def test_choose_folder_button_and_dropped_files(
    qloop: Any, qtbot: Any, env: TrainingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    page, vm = make_page(qtbot, env)
    folder = dataset(env.tmp / "drop", small=0, broken=0)
    monkeypatch.setattr(DropZone, "ask_folder", classmethod(lambda cls, parent: folder))
    page.drop_zone.choose_button.click()
    assert vm.sources == (folder,)
    qtbot.waitUntil(lambda: vm.report is not None, timeout=10000)
    drop(page.drop_zone, folder / "good0.png")
    qtbot.waitUntil(lambda: vm.report is not None and vm.report.count == 1, timeout=10000)
    assert page.dataset_summary.text().startswith("1 usable image.")  # not "1 usable images"
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)


def test_inline_validation_messages_and_start_button(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    page, vm = make_page(qtbot, env)
    page.show()
    assert not page.start_button.isEnabled()
    qtbot.keyClicks(page.name_edit, "my clay!")
    assert page.name_error.isVisible()
    assert page.name_error.text().startswith("Use letters A–Z")
    page.name_edit.setText("clay")
    assert page.name_error.isHidden()
    page.trigger_edit.setText("a,b")
    assert "commas are not" in page.trigger_error.text()
    page.trigger_edit.setText("lmnx")
    assert page.trigger_error.isHidden()
    assert not page.start_button.isEnabled()  # no images yet
    vm.set_sources([dataset(env.tmp / "drop", small=0, broken=0)])
    qtbot.waitUntil(page.start_button.isEnabled, timeout=10000)
    assert page.setup_row.isHidden()
    assert page.start_button.accessibleName() == "Start training"
    assert page.preset_combo.itemText(0) == "Automatic (24 GB preset)"
    assert page.preset_combo.count() == 1 + len(env.presets)
    page.preset_combo.setCurrentIndex(1)
    assert vm.tier == min(env.presets)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)


def test_unconfigured_training_shows_the_settings_hint_and_disables_start(
    qloop: Any, qtbot: Any, tmp_path: Path, app_paths: AppPaths
) -> None:
    env = TrainingEnv(tmp_path, app_paths, configured=False)
    page, vm = make_page(qtbot, env)
    page.show()
    vm.set_sources([dataset(env.tmp / "drop", small=0, broken=0)])
    page.name_edit.setText("clay")
    page.trigger_edit.setText("lmnx")
    qtbot.waitUntil(lambda: vm.report is not None, timeout=10000)
    assert page.setup_row.isVisible()
    assert "Settings → Training" in page.setup_text.text()
    assert not page.start_button.isEnabled()
    with qtbot.waitSignal(page.settings_requested, timeout=1000):
        page.settings_button.click()
    env.configure()
    vm.settings_updated()
    assert page.setup_row.isHidden()
    assert page.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)


@posix_only
def test_training_run_shows_progress_chart_result_and_lora(
    qloop: Any, qtbot: Any, env: TrainingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    page, vm = make_page(qtbot, env)
    page.show()
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)  # the first LoRA listing
    vm.set_sources([dataset(env.tmp / "drop", small=0, broken=0)])
    page.name_edit.setText("clay")
    page.trigger_edit.setText("lmnx")
    page.epochs_spin.setValue(2)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=10000)
    page.start_button.click()
    assert not page.start_button.isEnabled()
    qtbot.waitUntil(lambda: vm.state is TrainingState.finished, timeout=30000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=10000)
    assert page.progress_bar.value() == 100
    total = vm.steps_estimate
    assert page.progress_bar.format() == f"Step {total} of {total}"
    assert "Epoch 2 of 2" in page.progress_text.text()
    assert "Loss " in page.progress_text.text()
    assert page.loss_chart.points == tuple(vm.loss_history)
    assert page.state_label.text() == "Finished"
    lora = env.paths.loras_dir / "clay.safetensors"
    assert page.result_label.text() == (
        f'The LoRA is ready: {lora}. Use the trigger word "lmnx" in your prompt.'
    )
    assert page.lora_list.count() == 1
    assert page.lora_list.item(0).text() == "clay.safetensors — trigger: lmnx"
    qtbot.waitUntil(lambda: any("model saved." in line for line in page.log_view.lines))
    # Delete the project and, on request, its LoRA.
    asked: list[str] = []

    def confirm(cls: type[TrainingPage], parent: Any, text: str) -> bool:
        asked.append(text)
        return True

    monkeypatch.setattr(TrainingPage, "confirm_delete", classmethod(confirm))
    page.delete_lora_check.setChecked(True)
    page.delete_button.click()
    qtbot.waitUntil(lambda: page.lora_list.count() == 0, timeout=10000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    assert "and the trained LoRA" in asked[0]
    assert not lora.exists()
    assert not (env.paths.training_dir / "clay").exists()
    assert page.message_label.text() == "The project was deleted."


@posix_only
def test_failure_shows_the_likely_cause_and_the_log_tail(
    qloop: Any, qtbot: Any, env: TrainingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_FAULT", "oom")
    page, vm = make_page(qtbot, env)
    vm.set_sources([dataset(env.tmp / "drop", small=0, broken=0)])
    vm.set_name("clay")
    vm.set_trigger("lmnx")
    qtbot.waitUntil(lambda: vm.can_start, timeout=10000)
    assert vm.start()
    qtbot.waitUntil(lambda: vm.state is TrainingState.failed, timeout=30000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=10000)
    banner = page.failure_banner
    assert not banner.isHidden()
    assert banner.message.startswith("The graphics card ran out of memory.")
    assert "out of memory" in banner.detail.lower()
    assert page.start_button.isEnabled()


def test_gauges_show_ram_cpu_and_vram_per_process(qloop: Any, qtbot: Any, env: TrainingEnv) -> None:
    write_gpu(
        env.gpu_path,
        free_gb=14.0,
        utilization_percent=87,
        temperature_c=66,
        processes=[
            {"pid": 4242, "name": "python", "used_bytes": 5 * GIB},
            {"pid": 77, "name": "ollama", "used_bytes": None},
        ],
    )
    snap = SystemSnapshot(ram_total_bytes=16 * GIB, ram_used_bytes=8 * GIB, cpu_percent=37.4)
    status = StatusViewModel(FakeGpuProvider(env.gpu_path), TaskRegistry(), system=lambda: snap)
    page, _vm = make_page(qtbot, env, status)
    run(qtbot, status.refresh())
    gauge = page.gauges[0]
    assert gauge.detail_label.text() == "Load 87 % · 66 °C"
    assert gauge.process_label.text() == (
        "python (process 4242): 5.0 GB\nollama (process 77): amount not reported"
    )
    assert page.system.ram_label.text() == "RAM 8.0 / 16 GB"
    assert page.system.cpu_label.text() == "CPU 37 %"
    assert page.system.cpu_label.accessibleName() == "CPU 37 %"


def test_gauges_read_the_real_machine_through_psutil(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    status = StatusViewModel(env.gpu, TaskRegistry(), system=system_snapshot)
    page, _vm = make_page(qtbot, env, status)
    run(qtbot, status.refresh())
    assert page.system.ram_label.text().startswith("RAM ")
    assert page.system.ram_label.text().endswith(" GB")
    assert page.system.cpu_label.text().startswith("CPU ")


def test_log_view_follows_new_lines_unless_scrolled_up(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    page, vm = make_page(qtbot, env)
    page.show()
    for i in range(200):
        vm.apply_event(TrainingLog(f"line {i}"))
    view = page.log_view
    qtbot.waitUntil(lambda: len(view.lines) == 200)
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    assert view.at_end
    bar.setValue(10)  # the user scrolls up to read
    vm.apply_event(TrainingLog("line 200"))
    qtbot.waitUntil(lambda: len(view.lines) == 201)
    assert bar.value() == 10
    assert not view.at_end
    bar.setValue(bar.maximum())
    vm.apply_event(TrainingLog("line 201"))
    qtbot.waitUntil(lambda: len(view.lines) == 202)
    assert view.at_end


def test_progress_text_has_eta_and_speed(qapp: Any, qtbot: Any, env: TrainingEnv) -> None:
    page, vm = make_page(qtbot, env)
    vm.apply_event(TrainingProgress(30, 120, 1, 4, 0.1234, 2.5, 95.0, 12.0))
    assert page.progress_bar.value() == 25
    assert page.progress_text.text() == (
        "Epoch 1 of 4 · Loss 0.1234 · 2.50 steps/s · about 1:35 left"
    )
    assert page.loss_chart.points == ((30, 0.1234),)
    assert duration(3725) == "1:02:05"


def test_loss_chart_maps_points_into_its_area(qapp: Any, qtbot: Any) -> None:
    chart = LossChart()
    qtbot.addWidget(chart)
    chart.set_points([(0, 1.0), (50, 0.5), (100, 0.0)], total_steps=200)
    line = chart.polyline(QRectF(0, 0, 200, 100))
    assert [(p.x(), p.y()) for p in (line.at(i) for i in range(line.size()))] == [
        (0.0, 0.0),
        (50.0, 50.0),
        (100.0, 100.0),
    ]
    chart.show()
    chart.repaint()  # paints without error
    assert chart.accessibleDescription() == "100: 0.0000"


def test_every_focusable_studio_control_has_an_accessible_name_and_german_text(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget

    vm = env.view_model()
    translator = Translator("de")
    page = TrainingPage(
        StatusViewModel(env.gpu, TaskRegistry()), translator, vm, log_dir=env.paths.log_dir
    )
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    unnamed = []
    for widget in page.findChildren(QWidget):
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisibleTo(page):
            continue
        if isinstance(widget.parentWidget(), QAbstractSpinBox | QComboBox):
            continue
        if widget.metaObject().className() in ("QScrollArea", "QStackedWidget"):
            continue
        if not widget.accessibleName():
            unnamed.append(f"{widget.metaObject().className()} {widget.objectName()}")
    assert not unnamed, unnamed
    assert page.start_button.text() == "Training starten"
    assert page.drop_zone.choose_button.text() == "Ordner wählen…"
    translator.set_language("en")
    assert page.start_button.text() == "Start training"


def make_attach_page(
    qtbot: Any, env: TrainingEnv, user_dir: Path, translator: Translator | None = None
) -> tuple[TrainingPage, TrainingViewModel]:
    vm = env.view_model(
        content=load_content(resources_dir() / "configs"), user_content_dir=user_dir
    )
    page = TrainingPage(
        StatusViewModel(env.gpu, TaskRegistry()),
        translator or Translator("en"),
        vm,
        log_dir=env.paths.log_dir,
    )
    qtbot.addWidget(page)
    page.resize(900, 900)
    page.show()
    qtbot.waitUntil(lambda: page.lora_list.count() == 1, timeout=5000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    return page, vm


def test_attach_a_lora_to_a_rule_writes_the_user_config(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    env.install_lora("clay", "lmnx")
    user_dir = env.paths.user_content_dir
    translator = Translator("en")
    page, vm = make_attach_page(qtbot, env, user_dir, translator)
    assert page.attach_row.isHidden()  # nothing selected yet
    page.lora_list.setCurrentRow(0)
    assert page.attach_row.isVisible()
    assert page.attach_message.isHidden()
    combo, spin = page.attach_config_combo, page.attach_strength_spin
    assert combo.count() == len(vm.attach_configs)
    assert (spin.minimum(), spin.maximum(), spin.singleStep(), spin.value()) == (
        0.0,
        1.5,
        0.05,
        0.6,
    )
    assert page.attach_button.accessibleName() == "Attach the selected LoRA to the rule"
    combo.setCurrentIndex(combo.findData("street_art"))
    assert combo.currentText() == "Street art"
    spin.stepUp()
    page.attach_button.click()
    assert not page.attach_button.isEnabled()  # one write at a time
    qtbot.waitUntil(page.attach_message.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    assert page.attach_message.text() == (
        "Attached clay.safetensors to “Street art” with strength 0.65. The Create page uses it "
        "after the app is restarted (it reads the rules at start)."
    )
    assert page.attach_button.isEnabled()
    config = load_content(resources_dir() / "configs", user_dir).interceptions["street_art"]
    assert config.loras == (LoraRef("clay.safetensors", 0.65, "lmnx", family="sd15"),)
    # Rule names follow the UI language; the choice is kept.
    translator.set_language("de")
    assert combo.currentData() == "street_art"
    assert combo.currentText() == "Street-Art"
    assert page.attach_message.text().startswith("clay.safetensors an „Street-Art“ angehängt")


def test_attach_failure_is_shown_inline(qloop: Any, qtbot: Any, env: TrainingEnv) -> None:
    env.install_lora("clay", "lmnx")
    blocker = env.tmp / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    page, vm = make_attach_page(qtbot, env, blocker / "content")
    page.lora_list.setCurrentRow(0)
    page.attach_config_combo.setCurrentIndex(page.attach_config_combo.findData("bauhaus"))
    page.attach_button.click()
    qtbot.waitUntil(page.attach_message.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    text = page.attach_message.text()
    assert text.startswith("The LoRA could not be attached to “Bauhaus”: ")
    assert vm.attach_result is not None
    assert "Not a directory" in vm.attach_result.error  # the OS's words: log and result
    assert text.endswith(load_catalogue("en")["training.attach_files_failed"])  # the UI's
    assert page.attach_message.accessibleName() == text
    assert not (blocker / "content").exists()
    # The message belongs to its LoRA: it is hidden while no LoRA is selected.
    page.lora_list.clearSelection()
    assert page.attach_row.isHidden()
    assert page.attach_message.isHidden()


def test_every_damaged_image_is_named_in_a_scrolling_list(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    """Seventeen damaged files: all seventeen names are listed, none hidden behind "more"."""
    page, _vm = make_page(qtbot, env)
    page.resize(1366, 768)
    page.show()
    drop(page.drop_zone, dataset(env.tmp / "drop", good=3, small=0, broken=17))
    qtbot.waitUntil(lambda: "skipped: 17" in page.dataset_summary.text(), timeout=10000)
    lines = page.problems_label.text().splitlines()
    expected = [f"• broken{i}.png: damaged or not an image — skipped." for i in range(17)]
    assert sorted(lines) == sorted(expected)
    assert page.problems_box.isVisible()
    assert page.problems_box.height() <= 160  # the page does not grow with the list
    bar = page.problems_box.verticalScrollBar()
    assert bar.maximum() > 0  # ... it scrolls to the last name
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    qtbot.waitUntil(lambda: not _vm.scanning, timeout=5000)


def _reasons(page: TrainingPage) -> str:
    assert page.start_button.isEnabled() or page.start_reason.isVisible(), "grey without reason"
    return page.start_reason.text() if page.start_reason.isVisible() else ""


@posix_only
def test_demo_mode_rehearses_a_training_end_to_end_and_start_always_says_why_not(
    qloop: Any, qtbot: Any, tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No sd-scripts, no base model: demo mode trains with the simulator, labelled DEMO."""
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    env = TrainingEnv(tmp_path, app_paths, configured=False)
    page, vm = make_page(qtbot, env)
    page.show()
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=5000)
    assert not page.start_button.isEnabled()
    assert "sd-scripts folder and a base model" in _reasons(page)
    assert "demo mode" in _reasons(page)
    assert page.demo_label.isHidden()

    env.service.set_demo(True)  # what the demo setting (or --demo) does
    vm.settings_updated()
    assert vm.configured
    assert page.demo_label.isVisible()
    assert "placeholder base model" in page.demo_label.text()
    assert _reasons(page) == "Start needs images: drop a folder with pictures here."
    vm.set_sources([dataset(env.tmp / "drop", small=0, broken=0)])
    qtbot.waitUntil(lambda: vm.report is not None, timeout=10000)
    assert _reasons(page) == "Start needs a name and a trigger word."
    page.name_edit.setText("clay")
    assert _reasons(page) == "Start needs a name and a trigger word."
    page.trigger_edit.setText("lmnx")
    page.epochs_spin.setValue(1)
    assert _reasons(page) == ""
    assert page.start_button.isEnabled()
    page.start_button.click()
    assert not page.start_button.isEnabled()
    assert _reasons(page) == "A training is running; “Stop” ends it."
    qtbot.waitUntil(lambda: vm.state is TrainingState.finished, timeout=30000)
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=10000)
    assert page.progress_bar.value() == 100
    demo_loras = app_paths.demo_dir / "training" / "DEMO-loras"
    lora = demo_loras / "clay.safetensors"
    assert lora.is_file()  # a real (weightless) safetensors file from the simulator
    assert str(lora) in page.result_label.text()
    assert not (app_paths.loras_dir / "clay.safetensors").exists()  # real LoRAs untouched
    assert vm.project is not None
    assert vm.project.base_model.name.startswith("DEMO-base-model")
    qtbot.waitUntil(lambda: any("model saved." in line for line in page.log_view.lines))


def test_a_core_error_shows_in_the_ui_language_and_follows_a_switch(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    vm = env.view_model()
    translator = Translator("de")
    page = TrainingPage(StatusViewModel(env.gpu, TaskRegistry()), translator, vm,
                        log_dir=env.paths.log_dir)  # fmt: skip
    qtbot.addWidget(page)
    vm._set_error(  # what an empty dataset raises (training/captions.py)
        ConfigError("There are no usable images.", key="training.error.no_images")
    )
    assert page.message_label.text() == load_catalogue("de")["training.error.no_images"]
    translator.set_language("en")
    assert page.message_label.text() == load_catalogue("en")["training.error.no_images"]
    vm._set_error(ConfigError("Something without a key."))  # no key: the English text
    assert page.message_label.text() == "Something without a key."
