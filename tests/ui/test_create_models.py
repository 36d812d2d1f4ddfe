"""Create greys an output whose model files are missing or damaged, naming file and folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.comfyui_parsing import NodeInfo, parse_object_info
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.availability import ModelState
from ai4artsed_desktop.pipeline.model_files import LocalModels
from ai4artsed_desktop.pipeline.model_status import ModelStatusBoard
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.simulators.comfy_registry import Folders, object_info
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import RunViewModel, Unavailable
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.output_picker import OutputPicker
from tests.fakes.safetensors_files import write_model

from .helpers import run

CONTENT = load_content(resources_dir() / "configs")


class Server:
    def __init__(self, folders: Folders) -> None:
        self.folders = folders

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        return parse_object_info(object_info(self.folders, node_class))


class NoBackends:
    """Nothing runs in these tests; the services only need the methods to exist."""

    async def ollama(self) -> Any:
        raise AssertionError("not used")

    async def comfy(self) -> Any:
        raise AssertionError("not used")

    async def swarm(self) -> Any:
        raise AssertionError("not used")


@pytest.fixture
def server(tmp_path: Path) -> Server:
    root = tmp_path / "ComfyUI"
    folders = Folders(root / "models", root / "output", root / "input", root / "temp")
    folders.ensure()
    return Server(folders)


def _build(
    qtbot: Any, app_paths: AppPaths, store: SettingsStore, translator: Translator, tmp_path: Path
) -> tuple[RunViewModel, OutputPicker, ModelStatusBoard]:
    translator.set_language("en")
    services = build_services(
        backends=NoBackends(),
        content=CONTENT,
        settings=lambda: store.current,
        store=RunStore(app_paths.runs_dir),
        workflows_dir=resources_dir() / "workflows",
    )
    board = ModelStatusBoard(CONTENT, lambda: LocalModels.of_comfyui(tmp_path / "ComfyUI"))
    services = dataclasses.replace(services, models=board)
    settings_vm = SettingsViewModel(store, translator)
    create_vm = CreateViewModel(CONTENT, settings_vm)
    vm = RunViewModel(create_vm, settings_vm, services)
    picker = OutputPicker(vm, translator)
    qtbot.addWidget(picker)
    return vm, picker, board


@pytest.fixture
def rig(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    translator: Translator,
    tmp_path: Path,
) -> tuple[RunViewModel, OutputPicker, ModelStatusBoard]:
    return _build(qtbot, app_paths, store, translator, tmp_path)


def test_missing_and_damaged_outputs_are_greyed_with_file_and_folder(
    rig: tuple[RunViewModel, OutputPicker, ModelStatusBoard], server: Server, qtbot: Any
) -> None:
    vm, picker, board = rig
    assert vm.select_output("sd15")
    assert vm.output_choice("sd15").models is None  # type: ignore[union-attr]
    with qtbot.waitSignal(vm.outputs_changed):
        run(qtbot, board.check(server, CONTENT.outputs["sd15"]))
    choice = vm.output_choice("sd15")
    assert choice is not None
    assert choice.unavailable is Unavailable.models_missing
    assert choice.models is not None
    assert choice.models.state is ModelState.missing
    assert vm.selected_output_id != "sd15"  # a runnable output took its place
    assert not vm.select_output("sd15")
    item = picker.tile_for("sd15")  # youth: every output, greyed with the file named
    assert item is not None
    assert not item.isEnabled()
    assert "model missing" in item.text()
    assert "model file missing: v1-5-pruned-emaonly.safetensors" in item.toolTip()
    assert "ComfyUI/models/checkpoints" in item.accessibleName()
    assert "v1-5-pruned-emaonly-fp16.safetensors" in item.toolTip()  # the variants

    path = server.folders.models / "checkpoints" / "v1-5-pruned-emaonly-fp16.safetensors"
    write_model(path)
    path.write_bytes(path.read_bytes()[:-1])
    with qtbot.waitSignal(vm.outputs_changed):
        run(qtbot, board.check(server, CONTENT.outputs["sd15"]))
    assert vm.output_choice("sd15").unavailable is Unavailable.models_damaged  # type: ignore[union-attr]
    item = picker.tile_for("sd15")
    assert item is not None
    assert not item.isEnabled()
    assert "model damaged" in item.text()
    assert "model file damaged: v1-5-pruned-emaonly-fp16.safetensors" in item.toolTip()
    assert "download it again" in item.toolTip()

    write_model(path)
    with qtbot.waitSignal(vm.outputs_changed):
        run(qtbot, board.check(server, CONTENT.outputs["sd15"]))
    assert vm.output_choice("sd15").runnable  # type: ignore[union-attr]
    item = picker.tile_for("sd15")
    assert item is not None
    assert item.isEnabled()
    assert vm.select_output("sd15")
    run(qtbot, vm.shutdown())


def test_german_reason(
    rig: tuple[RunViewModel, OutputPicker, ModelStatusBoard],
    server: Server,
    translator: Translator,
    qtbot: Any,
) -> None:
    vm, picker, board = rig
    translator.set_language("de")
    with qtbot.waitSignal(vm.outputs_changed):
        run(qtbot, board.check(server, CONTENT.outputs["sdxl"]))
    item = picker.tile_for("sdxl")
    assert item is not None
    assert "Modell fehlt" in item.text()
    assert "Modelldatei fehlt: sd_xl_base_1.0.safetensors" in item.toolTip()
    # Every file in German too (the English sentences are for the log and doctor).
    lines = item.toolTip().splitlines()
    assert (
        "Modelldatei „sd_xl_base_1.0.safetensors“ (oder sd_xl_base_1.0_0.9vae.safetensors) "
        "fehlt; sie gehört nach ComfyUI/models/checkpoints."
    ) in lines
    assert "is missing" not in item.toolTip()
    translator.set_language("en")
    item = picker.tile_for("sdxl")  # the tiles are made anew in the new language
    assert item is not None
    assert (
        "Model file “sd_xl_base_1.0.safetensors” (or sd_xl_base_1.0_0.9vae.safetensors) "
        "is missing; put it into ComfyUI/models/checkpoints."
    ) in item.toolTip().splitlines()
    run(qtbot, vm.shutdown())


def test_kids_see_no_file_names_for_a_missing_model(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    translator: Translator,
    tmp_path: Path,
    server: Server,
) -> None:
    store.set("ui.ui_mode", "kids")
    vm, picker, board = _build(qtbot, app_paths, store, translator, tmp_path)
    with qtbot.waitSignal(vm.outputs_changed):
        run(qtbot, board.check(server, CONTENT.outputs["sd15"]))
    for tile in picker.tiles:
        shown = f"{tile.text()} {tile.toolTip()} {tile.accessibleName()}"
        assert ".safetensors" not in shown
        assert "ComfyUI/models" not in shown
    run(qtbot, vm.shutdown())


class Ready:
    """The image engine as the board's watcher sees it: ready, handing out the server."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def comfy(self) -> Server:
        return self.server


def test_showing_the_picker_checks_again(
    rig: tuple[RunViewModel, OutputPicker, ModelStatusBoard], server: Server, qtbot: Any
) -> None:
    vm, picker, board = rig
    assert not vm.recheck_models()  # no engine ready: nothing is started to check
    on_state = board.watch(Ready(server), lambda: "comfyui")
    with qtbot.waitSignal(vm.outputs_changed):
        on_state(BackendStateChanged("comfyui", BackendState.ready, ""))
    assert vm.output_choice("sd15").unavailable is Unavailable.models_missing  # type: ignore[union-attr]
    write_model(server.folders.models / "checkpoints" / "v1-5-pruned-emaonly.safetensors")
    with qtbot.waitSignal(vm.outputs_changed):
        picker.show()  # the Create page comes into view
    assert vm.output_choice("sd15").runnable  # type: ignore[union-attr]
    run(qtbot, board.aclose())
    run(qtbot, vm.shutdown())
