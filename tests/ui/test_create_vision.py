"""Create greys the picture tiles at kids when no vision model can check the pictures."""

from __future__ import annotations

from typing import Any

import pytest

from ai4artsed_desktop.backends.ollama_parse import ModelInfo
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import MediaType
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.model_status import ModelStatusBoard
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import RunViewModel, Unavailable
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.output_picker import OutputPicker

from .helpers import run

CONTENT = load_content(resources_dir() / "configs")
IMAGES = [o.id for o in CONTENT.sorted_outputs() if o.media is MediaType.image]
LOCAL_IMAGE = next(
    o.id for o in CONTENT.sorted_outputs() if o.media is MediaType.image and o.enabled
)


class Ollama:
    def __init__(self, *names: str) -> None:
        self.names = list(names)

    async def tags(self) -> list[ModelInfo]:
        return [ModelInfo(name) for name in self.names]


class Backends:
    def __init__(self, ollama: Ollama) -> None:
        self._ollama = ollama

    async def ollama(self) -> Any:
        return self._ollama

    async def comfy(self) -> Any:
        raise AssertionError("not used")

    async def swarm(self) -> Any:
        raise AssertionError("not used")


@pytest.fixture
def rig(
    qloop: Any, qtbot: Any, app_paths: AppPaths, store: SettingsStore, translator: Translator
) -> tuple[RunViewModel, OutputPicker, ModelStatusBoard, Ollama]:
    translator.set_language("en")
    store.set("ui.ui_mode", "kids")
    store.set("safety.level", "kids")
    store.set("roles.vision", "ollama/qwen2.5vl:7b")
    ollama = Ollama("llama3.2:3b")  # the vision model is not installed
    services = build_services(
        backends=Backends(ollama),
        content=CONTENT,
        settings=lambda: store.current,
        store=RunStore(app_paths.runs_dir),
        workflows_dir=resources_dir() / "workflows",
    )
    assert services.models is not None
    settings_vm = SettingsViewModel(store, translator)
    vm = RunViewModel(CreateViewModel(CONTENT, settings_vm), settings_vm, services)
    picker = OutputPicker(vm, translator)
    qtbot.addWidget(picker)
    return vm, picker, services.models, ollama


def _image_tile_greyed(vm: RunViewModel, picker: OutputPicker) -> bool:
    image_tiles = [t for t in picker.tiles if t.tile.kind == "image"]
    assert len(image_tiles) == 1  # kids: one tile per kind
    greyed = not image_tiles[0].isEnabled()
    if greyed:  # a greyed picture is never the chosen output
        assert vm.selected_output_id not in IMAGES
    return greyed


def test_kids_without_vision_model_see_greyed_pictures_until_the_check_is_off(
    rig: tuple[RunViewModel, OutputPicker, ModelStatusBoard, Ollama],
    qtbot: Any,
    store: SettingsStore,
    translator: Translator,
) -> None:
    vm, picker, board, _ollama = rig
    assert not _image_tile_greyed(vm, picker)  # not known yet: nothing greyed
    with qtbot.waitSignal(vm.outputs_changed):
        board.watch_vision()(BackendStateChanged("ollama", BackendState.ready))
    for output_id in IMAGES:
        assert vm.output_choice(output_id).unavailable is not None  # type: ignore[union-attr]
    choice = vm.output_choice(LOCAL_IMAGE)
    assert choice is not None
    assert choice.unavailable is Unavailable.no_vision
    assert _image_tile_greyed(vm, picker)
    tile = next(t for t in picker.tiles if t.tile.kind == "image")
    assert "picture check missing" in tile.text()
    assert "ollama pull qwen2.5vl:7b" in tile.toolTip()  # for the teacher at the child's PC
    translator.set_language("de")
    tile = next(t for t in picker.tiles if t.tile.kind == "image")
    assert "Bildprüfung fehlt" in tile.text()
    assert "ollama pull qwen2.5vl:7b" in tile.toolTip()
    assert vm.output_choice("ace_step").runnable  # type: ignore[union-attr]  # sound stays

    with qtbot.waitSignal(vm.outputs_changed):
        store.set("safety.media_check", False)  # a teacher switched it off (PIN)
    assert vm.output_choice(LOCAL_IMAGE).runnable  # type: ignore[union-attr]
    assert not _image_tile_greyed(vm, picker)
    with qtbot.waitSignal(vm.outputs_changed):
        store.set("safety.media_check", True)
    assert _image_tile_greyed(vm, picker)
    with qtbot.waitSignal(vm.outputs_changed):
        store.set("safety.level", "youth")  # youth: shown with a "not checked" note
    assert not _image_tile_greyed(vm, picker)
    run(qtbot, board.aclose())
    run(qtbot, vm.shutdown())


def test_installing_the_vision_model_brings_the_pictures_back(
    rig: tuple[RunViewModel, OutputPicker, ModelStatusBoard, Ollama], qtbot: Any
) -> None:
    vm, picker, board, ollama = rig
    with qtbot.waitSignal(vm.outputs_changed):
        board.watch_vision()(BackendStateChanged("ollama", BackendState.ready))
    assert _image_tile_greyed(vm, picker)
    ollama.names.append("qwen2.5vl:7b")  # the teacher ran the ollama pull
    with qtbot.waitSignal(vm.outputs_changed):
        picker.show()  # the Create page comes into view: looked up again
    assert vm.output_choice(LOCAL_IMAGE).runnable  # type: ignore[union-attr]
    assert not _image_tile_greyed(vm, picker)
    run(qtbot, board.aclose())
    run(qtbot, vm.shutdown())
