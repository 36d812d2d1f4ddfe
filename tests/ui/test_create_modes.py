"""UI modes kids / youth / expert on the Create page, and the expert parameters in requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.training.loras import install_lora
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage, RunPanel
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.params_vm import applicable, size_presets
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase, RunViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel

from .create_rig import Rig, wait_idle
from .helpers import run

CONTENT = load_content(resources_dir() / "configs")


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


@pytest.fixture
def run_vm(settings_vm: SettingsViewModel, tmp_path: Path) -> RunViewModel:
    create_vm = CreateViewModel(CONTENT, settings_vm)
    return RunViewModel(create_vm, settings_vm, None, default_lora_dir=tmp_path / "loras")


@pytest.fixture
def page(run_vm: RunViewModel, translator: Translator, qtbot: Any) -> CreatePage:
    widget = CreatePage(
        run_vm._create,
        translator,
        resources_dir() / "icons" / "configs",
        resources_dir() / "icons" / "app" / "rule.svg",
        run_vm=run_vm,
    )
    qtbot.addWidget(widget)
    widget.resize(1366, 768)
    widget.show()
    return widget


@pytest.fixture
def panel(page: CreatePage) -> RunPanel:
    assert page.run_panel is not None
    return page.run_panel


def test_kids_mode_hides_the_expert_panel_and_model_names(
    panel: RunPanel, run_vm: RunViewModel, settings_vm: SettingsViewModel
) -> None:
    assert settings_vm.set_value("ui.ui_mode", "kids")
    run_vm.stage_started.emit(Stage.interception, "ollama/qwen3:8b")
    assert not panel.expert_panel.isVisible()
    assert "qwen3" not in panel.stages.state_text(Stage.interception)
    assert panel.stages.state_text(Stage.interception) == "läuft …"
    assert panel.interception_heading.text() == "Deine Idee, von der KI verwandelt"
    assert panel.interception_edit.isVisible()  # the stage texts stay: the pedagogical core
    assert not panel.interception_edit.isReadOnly()

    assert settings_vm.set_value("ui.ui_mode", "youth")  # live switch: model names come back
    assert "qwen3:8b" in panel.stages.state_text(Stage.interception)
    assert not panel.expert_panel.isVisible()
    assert panel.interception_heading.text() == "Verwandelter Text"


def test_expert_mode_shows_the_panel_and_its_values_reach_the_request(
    panel: RunPanel, run_vm: RunViewModel, settings_vm: SettingsViewModel
) -> None:
    run_vm._create.set_idea("Ein Fuchs")
    assert run_vm.select_output("sdxl")
    expert = panel.expert_panel
    expert.steps_spin.setValue(40)  # set in expert mode only: nothing hidden changes a run
    assert run_vm.build_request().values == {}
    assert settings_vm.set_value("ui.ui_mode", "expert")
    assert expert.isVisible()
    assert expert.size_combo.isVisible()
    assert expert.seconds_spin.isHidden()

    expert.steps_spin.setValue(40)
    index = expert.size_combo.findData("1344x768")
    assert index > 0, [expert.size_combo.itemText(i) for i in range(expert.size_combo.count())]
    expert.size_combo.setCurrentIndex(index)
    expert.size_combo.activated.emit(index)
    expert.seed_edit.setText("4242")
    expert.seed_lock.setChecked(True)
    request = run_vm.build_request()
    assert request.values == {"steps": 40, "width": 1344, "height": 768}
    assert request.seed == 4242
    assert request.output_id == "sdxl"

    expert.seed_lock.setChecked(False)  # unlocked: the seed policy chooses
    assert run_vm.build_request().seed is None
    assert run_vm.select_output("stable_audio")  # another output: its own parameters
    assert expert.seconds_spin.isVisible()
    assert expert.size_combo.isHidden()
    assert run_vm.build_request().values == {}
    assert expert.seconds_spin.maximum() == 600
    assert run_vm.select_output("wan22_video")  # a film: seconds, up to its longest clip
    assert expert.seconds_spin.isVisible()
    assert expert.size_combo.isVisible()
    assert expert.seconds_spin.maximum() == 5  # 121 frames at 24 fps
    assert expert.seconds_spin.value() == 3
    expert.seconds_spin.setValue(4)
    assert run_vm.build_request().values == {"seconds": 4.0}
    assert settings_vm.set_value("ui.ui_mode", "youth")
    assert not expert.isVisible()


def test_a_trained_lora_is_listed_and_added_to_the_request(
    run_vm: RunViewModel, settings_vm: SettingsViewModel, qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    source = tmp_path / "fox_style.safetensors"
    source.write_bytes(b"weights")
    install_lora(
        source, tmp_path / "loras", trigger="fxstl", base_model="x", project="fox", family="sdxl"
    )
    params = run_vm.params
    assert settings_vm.set_value("ui.ui_mode", "expert")
    assert run_vm.select_output("sdxl")
    run(qtbot, params.refresh_loras())
    assert [c.file for c in params.lora_choices] == ["fox_style.safetensors"]
    params.set_lora("fox_style.safetensors", 0.5)
    request = run_vm.build_request()
    assert request.loras == (LoraSpec("fox_style.safetensors", 0.5, 0.5, "fxstl"),)
    assert run_vm.select_output("stable_audio")  # sound takes no LoRA
    assert run_vm.build_request().loras == ()
    with pytest.raises(ValueError, match="cannot be added"):
        params.set_lora("fox_style.safetensors")


def test_trained_loras_are_offered_only_for_outputs_of_their_base_model(
    run_vm: RunViewModel, settings_vm: SettingsViewModel, qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    for name, family in (("flux_clay", "flux"), ("xl_fox", "sdxl"), ("foreign", "")):
        source = tmp_path / f"{name}.safetensors"
        source.write_bytes(b"weights")
        install_lora(
            source, tmp_path / "loras", trigger="t", base_model="x", project=name, family=family
        )
    params = run_vm.params
    assert settings_vm.set_value("ui.ui_mode", "expert")
    run(qtbot, params.refresh_loras())
    offered = {}
    for output_id in ("flux1_dev", "sdxl", "sd15"):
        assert run_vm.select_output(output_id)
        offered[output_id] = sorted(c.file for c in params.lora_choices)
    assert offered == {
        "flux1_dev": ["flux_clay.safetensors", "foreign.safetensors"],
        "sdxl": ["foreign.safetensors", "xl_fox.safetensors"],
        "sd15": ["foreign.safetensors"],
    }
    assert run_vm.select_output("flux1_dev")
    params.set_lora("flux_clay.safetensors", 0.7)
    assert [lora.file for lora in run_vm.build_request().loras] == ["flux_clay.safetensors"]
    assert run_vm.select_output("sdxl")  # the Flux LoRA does not follow to SDXL
    assert params.lora == ""
    assert run_vm.build_request().loras == ()
    with pytest.raises(ValueError, match="cannot be added"):
        params.set_lora("flux_clay.safetensors")


def test_size_presets_come_from_the_output_defaults() -> None:
    sd15 = size_presets(CONTENT.outputs["sd15"])
    assert sd15[0] == (512, 512)
    assert (768, 768) in sd15
    assert (1024, 1024) not in sd15
    assert all(w % 64 == 0 and h % 64 == 0 for w, h in sd15)
    sdxl = size_presets(CONTENT.outputs["sdxl"])
    assert sdxl[0] == (1024, 1024)
    assert (1344, 768) in sdxl
    assert (768, 1344) in sdxl
    assert size_presets(CONTENT.outputs["p5js"]) == []
    assert applicable(CONTENT.outputs["p5js"]) == frozenset()
    assert applicable(CONTENT.outputs["stable_audio"]) == {
        "steps",
        "cfg",
        "seconds",
        "negative",
        "seed",
    }


def test_safety_level_is_shown_and_follows_the_setting(
    page: CreatePage, settings_vm: SettingsViewModel
) -> None:
    assert page.safety_label.text() == "Sicherheit: Jugendliche (13–17)"
    assert settings_vm.set_value("safety.level", "kids")
    assert page.safety_label.text() == "Sicherheit: Kinder (8–12)"
    assert settings_vm.set_value("ui.language", "en")
    assert page.safety_label.text() == "Safety: Kids (8–12)"


def test_a_locked_seed_is_kept_across_two_generations(
    rig: Rig,
    qtbot: Any,
) -> None:
    vm, panel = rig.vm, rig.panel
    assert rig.settings.set_value("ui.ui_mode", "expert")
    assert vm.select_output("sd15")
    rig.create.set_idea("Ein Leuchtturm im Nebel")
    panel.expert_panel.seed_edit.setText("777")
    panel.expert_panel.seed_lock.setChecked(True)
    seeds = []
    for _ in range(2):
        assert vm.generate()
        assert wait_idle(qtbot, vm) is RunPhase.done, panel.message
        seeds.append(rig.run_json()["seed"])
    assert seeds == [777, 777]
    assert vm.params.seed == 777
