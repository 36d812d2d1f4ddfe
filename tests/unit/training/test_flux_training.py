"""FLUX.1 LoRA training: family detection, companion files, tier knobs, TOML and command line.

The settings follow sd-scripts' own flux_train_network.md (guidance 1.0, "flux_shift",
"raw" prediction, networks.lora_flux); the contract tier checks them against sd-scripts'
parser and its verify functions.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from ai4artsed_desktop.content.schema import VramPreset
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.settings import TrainingSettings
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.models import (
    GIB,
    ModelFamily,
    bundles_flux_extras,
    detect_family,
    estimate_need_bytes,
    find_text_encoders,
)
from ai4artsed_desktop.training.project import TrainingProject
from ai4artsed_desktop.training.tokenizers import NEEDED
from tests.fakes.safetensors_files import safetensors_bytes

FLUX_TIERS = (16, 24, 32, 48, 96)


def write(path: Path, keys: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(safetensors_bytes({key: ("BF16", (2,)) for key in keys}))
    return path


def flux_keys(prefix: str = "") -> list[str]:
    return [
        f"{prefix}double_blocks.0.img_attn.proj.bias",
        f"{prefix}single_blocks.0.modulation.lin.bias",
        f"{prefix}guidance_in.in_layer.bias",  # dev, not schnell
    ]


def project(tmp_path: Path, **kw: object) -> TrainingProject:
    return TrainingProject(
        name="clay",
        trigger="lmnx",
        root=tmp_path / "clay",
        base_model=tmp_path / "models" / "flux1-dev.safetensors",
        family=ModelFamily.flux,
        **kw,  # type: ignore[arg-type]
    )


def flat(tables: config.Tables) -> dict[str, object]:
    return {k: v for table in tables.values() for k, v in table.items()}


def test_the_family_names_its_script_module_files_and_tokenizers() -> None:
    assert ModelFamily.flux.script == "flux_train_network.py"
    assert ModelFamily.flux.network_module == "networks.lora_flux"
    assert ModelFamily.flux.companion_roles == ("clip_l", "t5xxl", "ae")
    assert ModelFamily.flux.resolution == 1024
    assert NEEDED[ModelFamily.flux] == ("openai/clip-vit-large-patch14", "google/t5-v1_1-xxl")
    assert ModelFamily.sdxl.companion_roles == ()


def test_flux_is_recognised_by_its_tensors_then_by_its_name(tmp_path: Path) -> None:
    assert detect_family(write(tmp_path / "a" / "model.safetensors", flux_keys())) is (
        ModelFamily.flux
    )
    comfy = write(tmp_path / "b" / "model.safetensors", flux_keys("model.diffusion_model."))
    assert detect_family(comfy) is ModelFamily.flux
    sd3 = write(
        tmp_path / "c" / "flux-named.safetensors",
        ["model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight"],
    )
    assert detect_family(sd3) is ModelFamily.sd35  # the tensors win over the name
    unreadable = tmp_path / "d" / "flux1-dev.safetensors"
    unreadable.parent.mkdir()
    unreadable.write_bytes(b"not a header")
    assert detect_family(unreadable) is ModelFamily.flux


def test_an_all_in_one_checkpoint_is_told_apart(tmp_path: Path) -> None:
    bare = write(tmp_path / "flux1-dev.safetensors", flux_keys())
    aio = write(
        tmp_path / "flux1-dev-fp8.safetensors",
        [*flux_keys("model.diffusion_model."), "text_encoders.clip_l.x", "vae.decoder.x"],
    )
    assert not bundles_flux_extras(bare)
    assert bundles_flux_extras(aio)


def test_companions_are_found_in_comfyui_s_models_layout(tmp_path: Path) -> None:
    models = tmp_path / "ComfyUI" / "models"
    base = write(models / "diffusion_models" / "flux1-dev.safetensors", flux_keys())
    clip_l = write(models / "text_encoders" / "clip_l.safetensors", ["x"])
    scaled = write(models / "text_encoders" / "t5xxl_fp8_e4m3fn_scaled.safetensors", ["x"])
    ae = write(models / "vae" / "ae.safetensors", ["x"])
    found = find_text_encoders(base, ModelFamily.flux)
    # sd-scripts cannot load ComfyUI's "scaled" fp8 T5: it does not count.
    assert found == {"clip_l": clip_l.resolve(), "ae": ae.resolve()}
    assert find_text_encoders(base, ModelFamily.sd35)["t5xxl"] == scaled.resolve()
    plain = write(models / "clip" / "t5xxl_fp8_e4m3fn.safetensors", ["x"])
    assert find_text_encoders(base, ModelFamily.flux)["t5xxl"] == plain.resolve()
    fp16 = write(models / "text_encoders" / "t5xxl_fp16.safetensors", ["x"])
    assert find_text_encoders(base, ModelFamily.flux)["t5xxl"] == fp16.resolve()


def test_tiers_from_16_gb_train_flux_and_8_gb_refuses(
    tmp_path: Path, presets: dict[int, VramPreset]
) -> None:
    assert [t for t in sorted(presets) if config.flux_ready(presets[t])] == list(FLUX_TIERS)
    with pytest.raises(ConfigError, match="at least 16 GB") as refused:
        config.build_config(project(tmp_path), presets[8])
    assert "8 GB" in refused.value.user_message


@pytest.mark.parametrize("tier", FLUX_TIERS)
def test_flux_settings_of_every_tier(
    tmp_path: Path, presets: dict[int, VramPreset], tier: int
) -> None:
    values = flat(config.build_config(project(tmp_path), presets[tier], tmp_path / "tok"))
    assert set(values) <= config.KNOWN_KEYS
    assert values["network_module"] == "networks.lora_flux"
    assert values["guidance_scale"] == 1.0
    assert values["timestep_sampling"] == "flux_shift"
    assert values["model_prediction_type"] == "raw"
    assert values["network_train_unet_only"] is True
    assert values["cache_text_encoder_outputs"] is True
    assert values["resolution"] == "1024,1024"
    assert values["mixed_precision"] == "bf16"
    assert values["tokenizer_cache_dir"] == str(tmp_path / "tok")
    assert "apply_t5_attn_mask" not in values  # ComfyUI's Flux applies no T5 mask either
    assert "clip_l" not in values  # the paths go on the command line
    assert (values.get("fp8_base") is True) == (tier <= 32)


def test_small_tiers_swap_blocks_and_large_ones_batch_in_bf16(
    tmp_path: Path, presets: dict[int, VramPreset]
) -> None:
    def of(tier: int) -> dict[str, object]:
        return flat(config.build_config(project(tmp_path), presets[tier]))

    assert of(16)["blocks_to_swap"] == 16
    assert "blocks_to_swap" not in of(24)  # SD 3.5's 18 blocks of this tier do not carry over
    assert of(48)["train_batch_size"] == 2  # the preset's 4 is for SD models
    assert of(48)["gradient_checkpointing"] is True
    assert of(96)["train_batch_size"] == 4


@pytest.mark.parametrize("tier", FLUX_TIERS)
def test_the_estimated_need_fits_the_tier(presets: dict[int, VramPreset], tier: int) -> None:
    knobs = config.knobs_for(presets[tier], ModelFamily.flux)
    need = estimate_need_bytes(ModelFamily.flux, knobs)
    assert need <= (tier - 1.5) * GIB  # NVML shows a little less; the desktop holds some


def test_fp8_and_swapping_lower_the_need() -> None:
    bf16 = estimate_need_bytes(ModelFamily.flux, {"train_batch_size": 1})
    fp8 = estimate_need_bytes(ModelFamily.flux, {"train_batch_size": 1, "fp8_base": True})
    swapped = estimate_need_bytes(
        ModelFamily.flux, {"train_batch_size": 1, "fp8_base": True, "blocks_to_swap": 16}
    )
    assert swapped < fp8 < bf16
    assert estimate_need_bytes(ModelFamily.sd35, {}) < bf16


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_the_command_passes_clip_l_t5xxl_and_ae(tmp_path: Path) -> None:
    kohya = tmp_path / "sd-scripts"
    (kohya / "venv" / "bin").mkdir(parents=True)
    (kohya / "venv" / "bin" / "python").write_text("", encoding="utf-8")
    files = {"ae": Path("/m/ae"), "clip_l": Path("/m/l"), "t5xxl": Path("/m/t")}
    proj = project(tmp_path, text_encoders=files)
    argv = config.command(TrainingSettings(kohya_dir=str(kohya)), proj)
    assert argv[2:] == (
        str(kohya / "flux_train_network.py"), "--config_file", str(proj.config_file),
        "--clip_l", "/m/l", "--t5xxl", "/m/t", "--ae", "/m/ae",
    )  # fmt: skip


def test_the_written_toml_parses_back(tmp_path: Path, presets: dict[int, VramPreset]) -> None:
    path = config.write_config(project(tmp_path), presets[24])
    parsed = tomllib.loads(path.read_text(encoding="utf-8"))
    assert parsed["training_arguments"]["fp8_base"] is True
    assert parsed["network_arguments"]["network_module"] == "networks.lora_flux"
