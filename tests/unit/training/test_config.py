from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from ai4artsed_desktop.content.schema import VramPreset
from ai4artsed_desktop.errors import BackendNotInstalled, ConfigError
from ai4artsed_desktop.settings import TrainingSettings
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.captions import CAPTION_EXTENSION
from ai4artsed_desktop.training.models import ModelFamily, estimate_need_bytes
from ai4artsed_desktop.training.project import TrainingProject
from ai4artsed_desktop.training.toml_writer import dumps, quote


def project(tmp_path: Path, family: ModelFamily, **kw: object) -> TrainingProject:
    return TrainingProject(
        name="clay",
        trigger="lmnx",
        root=tmp_path / "clay",
        base_model=tmp_path / "models" / "base.safetensors",
        family=family,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("family", list(ModelFamily))
@pytest.mark.parametrize("tier", [8, 16, 24, 32, 48, 96])
def test_every_written_key_is_known_and_parses_back(
    tmp_path: Path, presets: dict[int, VramPreset], family: ModelFamily, tier: int
) -> None:
    proj = project(tmp_path, family)
    if family is ModelFamily.flux and not config.flux_ready(presets[tier]):
        with pytest.raises(ConfigError, match="at least 16 GB"):
            config.write_config(proj, presets[tier])
        return
    path = config.write_config(proj, presets[tier])
    parsed = tomllib.loads(path.read_text(encoding="utf-8"))
    keys = {key for table in parsed.values() for key in table}
    assert keys <= config.KNOWN_KEYS
    flat = {k: v for table in parsed.values() for k, v in table.items()}
    assert flat["caption_extension"] == CAPTION_EXTENSION == ".txt"
    assert flat["console_log_simple"] is True
    assert flat["save_model_as"] == "safetensors"
    assert flat["output_dir"] == str(proj.output_dir)
    assert flat["output_name"] == "clay"
    assert flat["train_data_dir"] == str(proj.images_dir)
    assert flat["network_module"] == family.network_module
    knobs = presets[tier].training
    if family is ModelFamily.flux:  # its own knobs where the preset has them
        knobs = {**knobs, **{k[5:]: v for k, v in knobs.items() if k.startswith("flux_")}}
    assert flat["train_batch_size"] == knobs["train_batch_size"]
    assert ("blocks_to_swap" in flat) == (
        family in (ModelFamily.sd35, ModelFamily.flux) and bool(knobs["blocks_to_swap"])
    )


def test_tiers_change_the_settings(tmp_path: Path, presets: dict[int, VramPreset]) -> None:
    small = config.build_config(project(tmp_path, ModelFamily.sd35), presets[24])
    large = config.build_config(project(tmp_path, ModelFamily.sd35), presets[96])
    assert small["training_arguments"]["blocks_to_swap"] == 18
    assert "blocks_to_swap" not in large["training_arguments"]
    assert small["training_arguments"]["gradient_checkpointing"] is True
    assert large["training_arguments"]["gradient_checkpointing"] is False
    assert (
        small["dataset_arguments"]["train_batch_size"]
        < large["dataset_arguments"]["train_batch_size"]
    )
    assert small["network_arguments"]["network_dim"] < large["network_arguments"]["network_dim"]
    sd15 = config.build_config(project(tmp_path, ModelFamily.sd15), presets[8])
    assert sd15["dataset_arguments"]["resolution"] == "512,512"
    assert "cache_text_encoder_outputs" not in sd15["training_arguments"]
    assert "network_train_unet_only" not in sd15["network_arguments"]


def test_epochs_override(tmp_path: Path, presets: dict[int, VramPreset]) -> None:
    tables = config.build_config(project(tmp_path, ModelFamily.sdxl, epochs=3), presets[16])
    assert tables["training_arguments"]["max_train_epochs"] == 3


def test_resolution_optimizer_and_tokenizers(
    tmp_path: Path, presets: dict[int, VramPreset]
) -> None:
    plain = config.build_config(project(tmp_path, ModelFamily.sd15), presets[8])
    assert plain["dataset_arguments"]["resolution"] == "512,512"
    assert plain["training_arguments"]["optimizer_type"] == "AdamW8bit"
    assert "tokenizer_cache_dir" not in plain["model_arguments"]
    cpu = VramPreset(8, presets[8].name, {}, (), {**presets[8].training, "optimizer_type": "AdamW"})
    tables = config.build_config(
        project(tmp_path, ModelFamily.sd15, resolution=64), cpu, tmp_path / "tok"
    )
    assert tables["dataset_arguments"]["resolution"] == "64,64"
    assert tables["dataset_arguments"]["min_bucket_reso"] == 64  # a multiple of 64
    assert tables["dataset_arguments"]["max_bucket_reso"] == 128
    assert tables["training_arguments"]["optimizer_type"] == "AdamW"
    assert tables["model_arguments"]["tokenizer_cache_dir"] == str(tmp_path / "tok")


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="learning_rat"):
        config.check_keys({"training_arguments": {"learning_rat": 1e-4}})


def test_choose_preset(presets: dict[int, VramPreset]) -> None:
    assert config.choose_preset(presets, 23.99).tier_gb == 24
    assert config.choose_preset(presets, 79.2).tier_gb == 48
    assert config.choose_preset(presets, 4.0).tier_gb == 8  # a small GPU: still a GPU tier
    assert config.choose_preset(presets, 0.5).tier_gb == 8
    assert config.choose_preset(presets, None).tier_gb == 0  # no GPU: the CPU preset
    without_cpu = {tier: p for tier, p in presets.items() if tier != 0}
    assert config.choose_preset(without_cpu, None).tier_gb == 8
    assert config.choose_preset(presets, 80, tier_gb=16).tier_gb == 16
    with pytest.raises(ConfigError):
        config.choose_preset(presets, 80, tier_gb=12)


def test_vram_need_follows_the_knobs() -> None:
    base = estimate_need_bytes(ModelFamily.sd35, {"train_batch_size": 1})
    swapped = estimate_need_bytes(ModelFamily.sd35, {"train_batch_size": 1, "blocks_to_swap": 18})
    bigger = estimate_need_bytes(ModelFamily.sd35, {"train_batch_size": 4})
    assert swapped < base < bigger
    assert estimate_need_bytes(ModelFamily.sd15, {}) < estimate_need_bytes(ModelFamily.sdxl, {})


def test_toml_strings_are_escaped() -> None:
    text = dumps({"t": {"path": 'C:\\data\\"x"', "flag": False, "rate": 1e-05, "n": 3, "f": 2.0}})
    parsed = tomllib.loads(text)["t"]
    assert parsed == {"path": 'C:\\data\\"x"', "flag": False, "rate": 1e-05, "n": 3, "f": 2.0}
    assert quote("a\nb\x01") == '"a\\nb\\u0001"'
    with pytest.raises(ValueError, match="bad TOML key"):
        dumps({"t": {"bad key": 1}})


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_command_uses_accelerate_when_the_venv_has_it(tmp_path: Path) -> None:
    kohya = tmp_path / "sd-scripts"
    bin_dir = kohya / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("", encoding="utf-8")
    proj = project(
        tmp_path,
        ModelFamily.sd35,
        text_encoders={"clip_l": Path("/m/l"), "clip_g": Path("/m/g"), "t5xxl": Path("/m/t")},
    )
    settings = TrainingSettings(kohya_dir=str(kohya))
    argv = config.command(settings, proj)
    assert argv == (
        str(bin_dir / "python"), "-u", str(kohya / "sd3_train_network.py"),
        "--config_file", str(proj.config_file),
        "--clip_l", "/m/l", "--clip_g", "/m/g", "--t5xxl", "/m/t",
    )  # fmt: skip
    (bin_dir / "accelerate").write_text("", encoding="utf-8")
    argv = config.command(settings, project(tmp_path, ModelFamily.sdxl))
    assert argv[:5] == (
        str(bin_dir / "accelerate"),
        "launch",
        "--num_cpu_threads_per_process",
        "1",
        str(kohya / "sdxl_train_network.py"),
    )
    assert config.trainer_env() == {
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUTF8": "1",
    }


def test_command_without_setup_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BackendNotInstalled, match="not set up"):
        config.command(TrainingSettings(), project(tmp_path, ModelFamily.sd15))
    with pytest.raises(BackendNotInstalled, match="venv"):
        config.command(
            TrainingSettings(kohya_dir=str(tmp_path)), project(tmp_path, ModelFamily.sd15)
        )
