"""TrainingViewModel: validation, dataset report, a full training with the kohya simulator, stop."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import LoraRef
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.ui.viewmodels.training_vm import TrainingState, TrainingViewModel

from .helpers import run
from .training_env import TrainingEnv, dataset

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")
# The training rig (fixture ``env`` in conftest.py) scans datasets in worker threads.


def wait_idle(qtbot: Any, env: TrainingEnv, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: len(env.tasks) == 0, timeout=timeout)


def fill(qtbot: Any, vm: TrainingViewModel, folder: Path, name: str = "clay") -> None:
    vm.set_sources([folder])
    qtbot.waitUntil(lambda: vm.report is not None, timeout=10000)
    vm.set_name(name)
    vm.set_trigger("lmnx")


def test_name_and_trigger_are_validated_inline(qapp: Any, env: TrainingEnv) -> None:
    vm = env.view_model()
    changes: list[None] = []
    vm.inputs_changed.connect(lambda: changes.append(None))
    vm.set_name("")
    assert vm.name_error_key == ""
    vm.set_name("my clay!")
    assert vm.name_error_key == "training.name_invalid"
    vm.set_name("  my-clay_2 ")
    assert (vm.name, vm.name_error_key) == ("my-clay_2", "")
    vm.set_trigger("lmnx, style")
    assert vm.trigger_error_key == "training.trigger_invalid"
    vm.set_trigger("1234")
    assert vm.trigger_error_key == "training.trigger_invalid"
    vm.set_trigger("lmnx   style")
    assert (vm.trigger, vm.trigger_error_key) == ("lmnx style", "")
    assert len(changes) == 6
    assert not vm.can_start  # no dataset yet


def test_start_is_refused_without_inputs_and_names_the_reason(qapp: Any, env: TrainingEnv) -> None:
    vm = env.view_model()
    assert vm.start() is False
    assert vm.message == "training.cannot_start"
    assert vm.state is TrainingState.idle


def test_presets_offer_automatic_and_every_tier(qapp: Any, env: TrainingEnv) -> None:
    vm = env.view_model()
    assert vm.tiers == sorted(env.presets)
    assert vm.auto_tier == 24  # the fake GPU has 24 GB
    vm.set_tier(8)
    assert vm.tier == 8
    vm.set_tier(None)
    assert vm.tier is None
    with pytest.raises(ValueError, match="unknown preset tier"):
        vm.set_tier(3)


def test_dataset_scan_reports_usable_images_and_problems(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    vm = env.view_model()
    thumbs: list[list[Any]] = []
    vm.thumbnails_changed.connect(thumbs.append)
    vm.set_sources([dataset(env.tmp / "drop")])
    assert vm.scanning
    qtbot.waitUntil(lambda: vm.report is not None and bool(thumbs), timeout=10000)
    report = vm.report
    assert report is not None
    assert report.count == 3
    assert sorted(p.kind for p in report.problems) == ["too_small", "unreadable"]
    assert not vm.scanning
    assert [t.path.name for t in thumbs[-1]] == ["good0.png", "good1.png", "small0.png"]
    assert all(t.width <= 96 and t.height <= 96 for t in thumbs[-1])
    assert all(len(t.rgba) == t.width * t.height * 4 for t in thumbs[-1])
    wait_idle(qtbot, env)


def test_a_new_drop_replaces_the_running_scan(qloop: Any, qtbot: Any, env: TrainingEnv) -> None:
    vm = env.view_model()
    first, second = dataset(env.tmp / "first"), dataset(env.tmp / "second")
    vm.set_sources([first])
    vm.set_sources([second])  # the first scan is cancelled (keyed action "scan", replace)
    assert vm.scanning
    qtbot.waitUntil(lambda: vm.report is not None, timeout=10000)
    wait_idle(qtbot, env)
    report = vm.report
    assert report is not None
    assert {image.source.parent for image in report.images} == {second}
    assert vm.sources == (second,)
    vm.set_sources([])  # cleared: nothing scans, nothing is left running
    assert not vm.scanning
    assert vm.report is None
    wait_idle(qtbot, env)


@posix_only
def test_full_training_updates_progress_and_lists_the_lora(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    vm = env.view_model()
    states: list[TrainingState] = []
    vm.state_changed.connect(states.append)
    fill(qtbot, vm, dataset(env.tmp / "drop", small=0, broken=0))
    vm.set_epochs(2)
    assert vm.can_start
    assert vm.start() is True
    qtbot.waitUntil(lambda: vm.state is TrainingState.finished, timeout=30000)
    wait_idle(qtbot, env)
    assert states[:2] == [TrainingState.preparing, TrainingState.running]
    progress = vm.progress
    assert progress is not None
    assert progress.step == progress.total == vm.steps_estimate > 0
    assert progress.epochs == 2
    assert len(vm.loss_history) > 1
    assert [step for step, _loss in vm.loss_history] == sorted({s for s, _ in vm.loss_history})
    assert any("model saved." in line for line in vm.log_lines)
    result = vm.result
    assert result is not None
    assert result.file == env.paths.loras_dir / "clay.safetensors"
    assert result.trigger == "lmnx"
    assert [lora.file for lora in vm.loras] == [result.file]
    assert vm.can_start  # ready for the next one


@posix_only
def test_stop_mid_run_ends_stopped_and_leaves_no_trainer(
    qloop: Any, qtbot: Any, env: TrainingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "20")
    vm = env.view_model()
    fill(qtbot, vm, dataset(env.tmp / "drop", small=0, broken=0))
    vm.set_epochs(200)
    assert vm.start()
    qtbot.waitUntil(lambda: vm.progress is not None and vm.progress.step >= 1, timeout=30000)
    trainers = env.trainer_processes()
    assert trainers, "the fake trainer runs as a child process"
    # A second start, from this or another view-model, is refused while the GPU is busy.
    assert vm.start() is False
    assert vm.message == "training.already_running"
    other = env.view_model()
    fill(qtbot, other, dataset(env.tmp / "drop2", small=0, broken=0), name="other")
    assert other.start() is False
    assert other.message == "training.already_running"
    vm.request_stop()
    qtbot.waitUntil(lambda: vm.state is TrainingState.stopped, timeout=15000)
    wait_idle(qtbot, env)
    assert vm.stopped_info is not None
    assert vm.result is None
    _gone, alive = psutil.wait_procs(trainers, timeout=5)
    assert alive == []
    assert env.trainer_processes() == []
    assert not env.service.busy


@posix_only
def test_failure_names_the_likely_cause(
    qloop: Any, qtbot: Any, env: TrainingEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KOHYA_FAULT", "oom")
    vm = env.view_model()
    fill(qtbot, vm, dataset(env.tmp / "drop", small=0, broken=0))
    vm.set_epochs(1)
    assert vm.start()
    qtbot.waitUntil(lambda: vm.state is TrainingState.failed, timeout=30000)
    wait_idle(qtbot, env)
    failure = vm.failure
    assert failure is not None
    assert failure.cause == "oom"
    assert failure.log_tail


@posix_only
def test_delete_project_removes_files_and_optionally_the_lora(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    vm = env.view_model()
    fill(qtbot, vm, dataset(env.tmp / "drop", small=0, broken=0))
    vm.set_epochs(1)
    assert vm.start()
    qtbot.waitUntil(lambda: vm.state is TrainingState.finished, timeout=30000)
    wait_idle(qtbot, env)
    root = env.paths.training_dir / "clay"
    lora = env.paths.loras_dir / "clay.safetensors"
    assert root.is_dir()
    assert lora.is_file()
    assert run(qtbot, vm.delete_project(delete_lora=False)) is True
    assert not root.exists()
    assert lora.is_file()
    assert vm.message == "training.deleted"
    assert run(qtbot, vm.delete_project(delete_lora=True)) is False
    assert vm.message == "training.delete_missing"


def test_attach_writes_a_user_config_the_loader_reads_back(
    qloop: Any, qtbot: Any, env: TrainingEnv
) -> None:
    builtin = resources_dir() / "configs"
    user_dir = env.paths.user_content_dir
    lora = env.install_lora("clay", "lmnx")
    vm = env.view_model(content=load_content(builtin), user_content_dir=user_dir)
    assert vm.can_attach
    assert [c.id for c in vm.attach_configs] == [
        c.id for c in load_content(builtin).sorted_interceptions()
    ]
    assert run(qtbot, vm.attach(lora, "bauhaus", 0.75)) is True
    result = vm.attach_result
    assert result is not None
    assert (result.ok, result.config_id, result.strength) == (True, "bauhaus", 0.75)
    assert result.target == user_dir / "interception" / "bauhaus.json"
    attached = load_content(builtin, user_dir).interceptions["bauhaus"]
    assert not attached.builtin
    assert attached.loras == (LoraRef("clay.safetensors", 0.75, "lmnx", family="sd15"),)
    # Attaching again replaces the entry for the same file (rounded to the spin box step).
    assert run(qtbot, vm.attach(lora, "bauhaus", 1.1000000001)) is True
    again = load_content(builtin, user_dir).interceptions["bauhaus"]
    assert again.loras == (LoraRef("clay.safetensors", 1.1, "lmnx", family="sd15"),)
    assert not vm.attaching


def test_attach_errors_are_reported_not_raised(qloop: Any, qtbot: Any, env: TrainingEnv) -> None:
    builtin = resources_dir() / "configs"
    lora = env.install_lora()
    blocker = env.tmp / "blocker"
    blocker.write_text("a file where the content folder's parent should be", encoding="utf-8")
    vm = env.view_model(content=load_content(builtin), user_content_dir=blocker / "content")
    assert run(qtbot, vm.attach(lora, "bauhaus", 0.6)) is False
    result = vm.attach_result
    assert result is not None
    assert not result.ok
    assert result.error
    assert result.target is None
    assert not (blocker / "content").exists()
    good = env.view_model(
        content=load_content(builtin), user_content_dir=env.paths.user_content_dir
    )
    assert run(qtbot, good.attach(lora, "no_such_config", 0.6)) is False
    assert good.attach_result is not None
    assert "no_such_config" in good.attach_result.error
    assert not (env.paths.user_content_dir / "interception" / "no_such_config.json").exists()


def test_attach_is_not_offered_without_content(qapp: Any, env: TrainingEnv) -> None:
    vm = env.view_model()
    assert not vm.can_attach
    assert vm.attach_configs == []
