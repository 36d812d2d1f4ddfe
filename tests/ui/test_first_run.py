"""The first-run assistant: choices, detection, demo when nothing is found, Finish → Create."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.pages.first_run import FirstRunPage, start_first_run
from ai4artsed_desktop.ui.shell import Shell

from .helpers import open_shell


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No programs on PATH: nothing can be found unless the test points at it."""
    folder = tmp_path / "empty-bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture
def shell(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    empty_path: Path,
) -> Iterator[Shell]:
    gpu = FakeGpuProvider(app_paths.data_dir / "no-gpu.json")
    with open_shell(
        qtbot, paths=app_paths, store=store, content=content, gpu=gpu, demo=False
    ) as built:
        yield built


def _start(shell: Shell, app_paths: AppPaths) -> FirstRunPage:
    gpu = FakeGpuProvider(app_paths.data_dir / "no-gpu.json")
    return start_first_run(shell.window, shell.settings_vm, shell.translator, gpu)


def test_fresh_start_walks_through_to_create_with_demo_when_nothing_is_found(
    shell: Shell, qtbot: Any, app_paths: AppPaths, store: SettingsStore
) -> None:
    assert not store.current.ui.first_run_done
    page = _start(shell, app_paths)
    window = shell.window
    assert page.isVisible()
    assert window.nav.isHidden()
    assert window.stack.isHidden()
    assert page.current_step == "choices"
    assert page.finish_button.isHidden()
    page.language_combo.setCurrentIndex(page.language_combo.findData("en"))
    assert page.title.text() == "Welcome to AI4ArtsEd"  # the choice previews at once
    page.level_combo.setCurrentIndex(page.level_combo.findData("kids"))
    page.mode_combo.setCurrentIndex(page.mode_combo.findData("expert"))
    page.next_button.click()
    assert page.current_step == "programs"
    qtbot.waitUntil(lambda: bool(page.rows["ollama"].status.text().startswith("Not found")))
    assert page.demo_check.isChecked()
    assert page.demo_help.text().startswith("No AI program was found")
    assert "ollama.com" in page.rows["ollama"].status.text()
    assert page.gpu_label.text().startswith("No NVIDIA graphics card")
    examples = {
        name: row.url_edit.placeholderText()
        for name, row in page.rows.items()
        if row.url_edit is not None
    }
    assert examples == {
        "ollama": "or server address, e.g. http://school-server:11434",
        "comfyui": "or server address, e.g. http://school-server:8188",
        "swarmui": "or server address, e.g. http://school-server:7801",
    }
    page.finish_button.click()
    assert window.assistant is None
    assert not window.nav.isHidden()
    assert window.current_page == "create"
    saved = json.loads(store.path.read_text("utf-8"))
    assert saved["ui"] == {"language": "en", "ui_mode": "expert", "first_run_done": True}
    assert saved["safety"]["level"] == "kids"
    assert saved["demo_mode"] is True


def test_browse_and_url_are_detected_and_saved(
    shell: Shell, qtbot: Any, app_paths: AppPaths, store: SettingsStore, tmp_path: Path
) -> None:
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    (comfy / "main.py").write_text("", "utf-8")
    (comfy / "comfyui_version.py").write_text('__version__ = "0.3.40"\n', "utf-8")
    (comfy / "venv" / "bin").mkdir(parents=True)
    (comfy / "venv" / "bin" / "python").symlink_to(sys.executable)
    page = _start(shell, app_paths)
    page.next_button.click()
    qtbot.waitUntil(lambda: bool(page._vm.detections))
    page.rows["comfyui"].ask_location = lambda _name: str(comfy)
    page.rows["comfyui"].browse_button.click()
    url_edit = page.rows["ollama"].url_edit
    assert url_edit is not None
    url_edit.setText("http://school-server:11434")
    url_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: page._vm.detections["ollama"].found and not page._vm.busy, timeout=5000)
    assert "Server: http://school-server:11434" in page.rows["ollama"].status.text()
    assert "(Version 0.3.40)" in page.rows["comfyui"].status.text()
    assert not page.demo_check.isChecked()  # something was found: no demo by default
    page.finish_button.click()
    qtbot.waitUntil(lambda: shell.window.assistant is None)
    current = store.current
    assert current.ollama.mode == "remote"
    assert current.ollama.url == "http://school-server:11434"
    assert current.comfyui.path == str(comfy)
    assert current.demo_mode is False
    assert current.ui.first_run_done
    assert current.image_engine == "comfyui"  # no SwarmUI: ComfyUI runs the workflows


def test_without_nvidia_the_cpu_option_is_offered_ticked_and_saved(
    shell: Shell, qtbot: Any, app_paths: AppPaths, store: SettingsStore
) -> None:
    store.set("comfyui.launch_args", '--output-directory "D:/comfy out"')
    page = _start(shell, app_paths)
    page.language_combo.setCurrentIndex(page.language_combo.findData("en"))
    page.next_button.click()
    qtbot.waitUntil(lambda: bool(page.gpu_label.text()))
    assert page.gpu_label.text().startswith("No NVIDIA graphics card")
    assert page.cpu_check.isVisible()
    assert page.cpu_check.isChecked()
    assert page.cpu_check.text().startswith("Start ComfyUI on the processor (--cpu)")
    page.finish_button.click()
    saved = json.loads(store.path.read_text("utf-8"))
    assert saved["comfyui"]["launch_args"] == '--cpu --output-directory "D:/comfy out"'


def test_without_nvidia_the_cpu_preset_is_chosen_with_its_time_per_picture(
    shell: Shell, qtbot: Any, app_paths: AppPaths, store: SettingsStore
) -> None:
    content = load_content(resources_dir() / "configs")  # the shipped presets and outputs
    gpu = FakeGpuProvider(app_paths.data_dir / "no-gpu.json")
    page = start_first_run(shell.window, shell.settings_vm, shell.translator, gpu, content=content)
    page.language_combo.setCurrentIndex(page.language_combo.findData("en"))
    page.next_button.click()
    qtbot.waitUntil(lambda: bool(page.gpu_label.text()))
    preset = content.presets[0]
    seconds = round(content.outputs["sd_turbo"].estimated_seconds)
    assert page.cpu_help.isVisible()
    assert f"“{preset.name.en}”" in page.cpu_help.text()
    assert f"about {seconds} s" in page.cpu_help.text()
    page.cpu_check.click()  # unticked: ComfyUI on the GPU, the models stay as they were
    assert "roles.interception" not in page._vm.changes()
    page.cpu_check.click()
    page.finish_button.click()
    saved = store.current
    assert saved.comfyui.launch_args == "--cpu"
    assert dataclasses.asdict(saved.roles) == preset.roles


def test_with_an_nvidia_card_no_cpu_option_and_unticking_removes_it(
    shell: Shell, qtbot: Any, app_paths: AppPaths, store: SettingsStore
) -> None:
    gpu_file = app_paths.data_dir / "gpu.json"
    card = {"index": 0, "name": "RTX 4060", "uuid": "GPU-1", "total_bytes": 8 << 30,
            "used_bytes": 0, "free_bytes": 8 << 30}  # fmt: skip
    gpu_file.write_text(json.dumps({"driver": "1", "gpus": [card]}), "utf-8")
    page = start_first_run(
        shell.window, shell.settings_vm, shell.translator, FakeGpuProvider(gpu_file)
    )
    page.next_button.click()
    qtbot.waitUntil(lambda: "RTX 4060" in page.gpu_label.text())
    assert page.cpu_check.isHidden()
    assert page._vm.changes()["comfyui.launch_args"] == ""
    page._vm.set_comfy_cpu(True)
    assert page._vm.changes()["comfyui.launch_args"] == "--cpu"
    page._vm.set_comfy_cpu(False)
    assert page._vm.changes()["comfyui.launch_args"] == ""
