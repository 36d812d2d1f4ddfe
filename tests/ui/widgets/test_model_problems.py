"""The model problems a greyed output tile names, in German and English."""

from __future__ import annotations

from typing import Any

import pytest

from ai4artsed_desktop.pipeline.availability import (
    Availability,
    DamagedModel,
    MissingModel,
    ModelState,
)
from ai4artsed_desktop.pipeline.model_files import FileCheck, FileHealth
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.widgets.model_problems import HEALTH_WORDS, model_problems

MISSING = Availability(
    "x",
    ModelState.missing,
    missing=(
        MissingModel(
            "style.safetensors",
            "loras",
            "LoraLoader",
            "lora_name",
            elsewhere=("a/style.safetensors",),
        ),
        MissingModel("big.gguf", "unet", "UnetLoaderGGUF", "unet_name", node_missing=True),
    ),
)


def test_missing_files_name_the_folder_the_node_and_where_comfyui_has_them(qapp: Any) -> None:
    german = model_problems(MISSING, Translator("de").tr)
    assert german == [
        "LoRA-Datei „style.safetensors“ fehlt; sie gehört nach ComfyUI/models/loras. "
        "ComfyUI führt sie als a/style.safetensors, in einem anderen Ordner.",
        "Modelldatei „big.gguf“ kann nicht geladen werden: ComfyUI kennt den Knoten "
        "„UnetLoaderGGUF“ nicht. ComfyUI aktualisieren.",
    ]
    english = model_problems(MISSING, Translator("en").tr)
    assert english[0].startswith("LoRA file “style.safetensors” is missing")
    assert english[1].endswith("has no “UnetLoaderGGUF” node. Update ComfyUI.")


@pytest.mark.parametrize("health", [h for h in FileHealth if h is not FileHealth.ok])
def test_each_damage_has_its_words_in_both_languages(qapp: Any, health: FileHealth) -> None:
    assert health.value in HEALTH_WORDS
    damaged = Availability(
        "x",
        ModelState.damaged,
        damaged=(DamagedModel("m.safetensors", "checkpoints", "/p", FileCheck(health, 1)),),
    )
    texts = {lang: model_problems(damaged, Translator(lang).tr)[0] for lang in ("de", "en")}
    assert texts["de"].startswith("Modelldatei „m.safetensors“ in ComfyUI/models/checkpoints ")
    assert texts["de"].endswith("; neu herunterladen.")
    assert texts["en"].endswith("; download it again.")
    assert "beschädigt" not in texts["de"]  # its own words, not the fallback


def test_an_output_that_can_run_has_no_problems(qapp: Any) -> None:
    assert model_problems(Availability("x", ModelState.available), Translator("de").tr) == []
