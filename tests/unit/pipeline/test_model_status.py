"""The model status board: filled when the image engine is ready, read by Create and doctor."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from ai4artsed_desktop import settings as s
from ai4artsed_desktop.app import _engine_changed
from ai4artsed_desktop.backends.comfyui_parsing import NodeInfo, parse_object_info
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.errors import BackendUnavailable
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.availability import ModelState
from ai4artsed_desktop.pipeline.model_files import LocalModels
from ai4artsed_desktop.pipeline.model_status import ModelStatusBoard, local_models
from ai4artsed_desktop.simulators.comfy_registry import Folders, object_info
from tests.fakes.safetensors_files import write_model

CONTENT = load_content(resources_dir() / "configs")
CHECKED = {
    "sd35_large", "flux1_dev", "sdxl", "sd15", "sd_turbo", "stable_audio", "ace_step", "wan22_video"
}  # fmt: skip


class Server:
    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self.fail = False

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        if self.fail:
            raise BackendUnavailable("ComfyUI is not running.")
        return parse_object_info(object_info(self.folders, node_class))


class Backends:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.asked = asyncio.Event()

    async def comfy(self) -> Server:
        self.asked.set()
        return self.server


@pytest.fixture
def server(tmp_path: Path) -> Server:
    folders = Folders(
        tmp_path / "ComfyUI" / "models", tmp_path / "o", tmp_path / "i", tmp_path / "t"
    )
    folders.ensure()
    return Server(folders)


@pytest.mark.asyncio
async def test_refresh_checks_every_comfyui_output_and_tells_listeners_once(
    server: Server, tmp_path: Path
) -> None:
    board = ModelStatusBoard(CONTENT, lambda: LocalModels.of_comfyui(tmp_path / "ComfyUI"))
    calls: list[None] = []
    remove = board.add_listener(lambda: calls.append(None))
    write_model(server.folders.models / "checkpoints" / "v1-5-pruned-emaonly-fp16.safetensors")
    await board.refresh(server)
    assert set(board.results()) == CHECKED
    sd15 = board.get("sd15")
    assert sd15 is not None
    assert sd15.state is ModelState.available
    assert sd15.files_checked
    assert board.get("sdxl") is not None
    assert board.get("sdxl").state is ModelState.missing
    assert board.get("p5js") is None  # code outputs need no model files
    assert len(calls) == 1
    await board.refresh(server)  # nothing changed: nobody is told
    assert len(calls) == 1
    (server.folders.models / "checkpoints" / "v1-5-pruned-emaonly-fp16.safetensors").write_bytes(
        b""
    )
    await board.refresh(server)
    assert board.get("sd15").state is ModelState.damaged  # type: ignore[union-attr]
    assert len(calls) == 2
    remove()
    server.fail = True
    await board.refresh(server)
    assert board.get("sd15").state is ModelState.unchecked  # type: ignore[union-attr]
    assert "could not be asked" in board.get("sd15").reason  # type: ignore[union-attr]
    assert len(calls) == 2  # removed


@pytest.mark.asyncio
async def test_watch_refreshes_when_the_image_engine_becomes_ready(server: Server) -> None:
    board = ModelStatusBoard(CONTENT)
    backends = Backends(server)
    engine = "comfyui"
    on_state = board.watch(backends, lambda: engine)
    on_state(BackendStateChanged("ollama", BackendState.ready, ""))
    on_state(BackendStateChanged("comfyui", BackendState.starting, ""))
    await asyncio.sleep(0)
    assert not backends.asked.is_set()
    assert board.results() == {}
    changed = asyncio.Event()
    board.add_listener(changed.set)
    on_state(BackendStateChanged("comfyui", BackendState.ready, ""))
    await asyncio.wait_for(changed.wait(), 5)
    assert set(board.results()) == CHECKED
    assert all(r.state is ModelState.missing for r in board.results().values())
    await board.aclose()


@pytest.mark.asyncio
async def test_check_of_one_output_is_recorded(server: Server) -> None:
    board = ModelStatusBoard()
    result = await board.check(server, CONTENT.outputs["sd15"])
    assert result.state is ModelState.missing
    assert board.get("sd15") == result
    code = await board.check(server, CONTENT.outputs["p5js"])
    assert code.state is ModelState.available
    assert board.get("p5js") is None


def test_local_models_only_for_a_comfyui_the_app_starts(tmp_path: Path) -> None:
    managed = dataclasses.replace(
        s.Settings(), image_engine="comfyui", comfyui=s.BackendSettings(path=str(tmp_path))
    )
    local = local_models(managed)
    assert local is not None
    assert local.roots["text_encoders"] == (
        tmp_path / "models" / "text_encoders",
        tmp_path / "models" / "clip",
    )
    main_py = dataclasses.replace(
        managed, comfyui=s.BackendSettings(path=str(tmp_path / "main.py"))
    )
    assert local_models(main_py) == local
    remote = dataclasses.replace(
        managed, comfyui=s.BackendSettings(mode="remote", url="http://gpu:8188")
    )
    assert local_models(remote) is None
    assert local_models(managed, demo=True) is None
    assert local_models(dataclasses.replace(managed, image_engine="swarmui")) is None
    assert local_models(dataclasses.replace(managed, comfyui=s.BackendSettings())) is None


@pytest.mark.asyncio
async def test_recheck_only_while_the_engine_is_ready_and_forget_clears(server: Server) -> None:
    board = ModelStatusBoard(CONTENT)
    backends = Backends(server)
    on_state = board.watch(backends, lambda: "comfyui")
    assert board.recheck() is False  # never ready: nothing is started
    changed = asyncio.Event()
    board.add_listener(changed.set)
    on_state(BackendStateChanged("comfyui", BackendState.ready, ""))
    await asyncio.wait_for(changed.wait(), 5)
    assert board.get("sd15").state is ModelState.missing  # type: ignore[union-attr]
    # A teacher copies the file in while ComfyUI runs; the picker coming into view rechecks.
    write_model(server.folders.models / "checkpoints" / "v1-5-pruned-emaonly.safetensors")
    changed.clear()
    assert board.recheck() is True
    await asyncio.wait_for(changed.wait(), 5)
    assert board.get("sd15").state is ModelState.available  # type: ignore[union-attr]
    on_state(BackendStateChanged("comfyui", BackendState.stopped, ""))
    assert board.recheck() is False
    changed.clear()
    board.forget()  # another engine or server: nothing greyed until it is checked
    assert changed.is_set()
    assert board.results() == {}
    await board.aclose()


def test_engine_changes_that_restart_the_check() -> None:
    base = s.Settings()
    assert not _engine_changed(base, dataclasses.replace(base, retention_days=3))
    assert _engine_changed(base, dataclasses.replace(base, image_engine="comfyui"))
    remote = dataclasses.replace(base, comfyui=s.BackendSettings(mode="remote", url="http://x"))
    assert _engine_changed(base, remote)


@pytest.mark.asyncio
async def test_the_quick_check_at_start_greys_damaged_outputs_only(tmp_path: Path) -> None:
    comfy = tmp_path / "ComfyUI"
    checkpoints = comfy / "models" / "checkpoints"
    write_model(checkpoints / "sd_xl_base_1.0.safetensors")  # far shorter than published
    (checkpoints / "ace_step_v1_3.5b.safetensors").write_bytes(b"")  # empty: damaged
    board = ModelStatusBoard(
        CONTENT, lambda: LocalModels.of_comfyui(comfy, {"sd_xl_base_1.0.safetensors": 10**9})
    )
    changed: list[None] = []
    board.add_listener(lambda: changed.append(None))
    assert board.check_disk()
    await board.settle()
    sdxl = board.get("sdxl")
    assert sdxl is not None
    assert sdxl.state is ModelState.damaged
    assert "cut off" in sdxl.reason
    ace = board.get("ace_step")
    assert ace is not None
    assert "is empty" in ace.reason
    assert board.get("sd15") is None  # missing waits for the engine (extra model paths)
    assert changed == [None]
    assert not ModelStatusBoard(CONTENT).check_disk()  # no local folder: nothing to read
