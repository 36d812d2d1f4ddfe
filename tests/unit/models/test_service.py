"""The shared model service: folders from the settings, licence pages, download requests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ai4artsed_desktop import settings as s
from ai4artsed_desktop.models.catalogue import load_catalogue
from ai4artsed_desktop.models.service import download_request, model_page, roots_from_settings


def test_the_folders_come_from_the_settings_and_remote_servers_have_none(tmp_path: Path) -> None:
    local = dataclasses.replace(
        s.Settings(),
        comfyui=s.ComfySettings(path=str(tmp_path / "ComfyUI" / "main.py")),
        swarmui=s.BackendSettings(path=str(tmp_path / "SwarmUI")),
    )
    roots = roots_from_settings(local)
    assert roots.comfyui == tmp_path / "ComfyUI"
    assert roots.swarmui == tmp_path / "SwarmUI"
    remote = dataclasses.replace(
        local,
        comfyui=s.ComfySettings(mode="remote", url="http://gpu:8188", path=str(tmp_path)),
        swarmui=s.BackendSettings(),
    )
    assert roots_from_settings(remote).comfyui is None
    assert roots_from_settings(remote).swarmui is None


def test_the_licence_page_is_the_publishers_model_page() -> None:
    assert (
        model_page("https://huggingface.co/stabilityai/stable-audio-open-1.0/resolve/main/m.st")
        == "https://huggingface.co/stabilityai/stable-audio-open-1.0"
    )
    assert model_page("http://mirror.school.lan/models/x.st") == (
        "http://mirror.school.lan/models/x.st"
    )


def test_a_download_request_carries_the_published_size_and_hash(tmp_path: Path) -> None:
    file = load_catalogue().files["sd3.5_large_fp8_scaled.safetensors"]
    request = download_request(file, tmp_path / file.name)
    assert (request.size, request.sha256) == (file.size, file.sha256)
    assert request.part == tmp_path / (file.name + ".part")
    assert request.licence_page == "https://huggingface.co/Comfy-Org/stable-diffusion-3.5-fp8"
