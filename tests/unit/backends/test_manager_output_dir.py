"""Where the ComfyUI that runs workflows keeps its output, when it is on this computer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import BackendSettings, Settings


@pytest.mark.asyncio
async def test_comfy_output_dir_per_mode(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "app")
    comfy = tmp_path / "ComfyUI"
    managed = dataclasses.replace(
        Settings(), image_engine="comfyui", comfyui=BackendSettings(path=str(comfy / "main.py"))
    )
    cases = [
        (managed, False, comfy / "output"),
        (managed, True, paths.demo_dir / "comfyui" / "output"),
        (dataclasses.replace(managed, comfyui=BackendSettings()), False, None),
        (
            dataclasses.replace(
                managed, comfyui=BackendSettings(mode="remote", url="http://gpu:8188")
            ),
            False,
            None,
        ),
        (dataclasses.replace(managed, image_engine="swarmui"), False, None),
    ]
    for settings, demo, expected in cases:
        manager = BackendManager(settings, paths, demo=demo)
        try:
            assert manager.comfy_output_dir() == expected, (settings.comfyui, demo)
        finally:
            await manager.shutdown()
