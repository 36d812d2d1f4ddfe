"""The sd-scripts training config (TOML) and command line, with settings chosen by VRAM tier.

sd-scripts silently ignores unknown keys (protocols.md 4.2), so every key written here must
be in :data:`KNOWN_KEYS`, the key list of protocols.md 4.2; :func:`build_config` checks it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..backends.launchers import INSTALL_HINTS, kohya_venv_python, sd_scripts_dir
from ..content.schema import CPU_TIER, VramPreset
from ..errors import BackendNotInstalled, ConfigError
from ..fileio import atomic_write_text
from ..settings import TrainingSettings
from .captions import CAPTION_EXTENSION
from .models import ModelFamily
from .project import TrainingProject
from .toml_writer import TomlValue, dumps

#: Keys sd-scripts reads from ``--config_file`` (protocols.md 4.2 example and tables).
KNOWN_KEYS = frozenset(
    {
        # [model_arguments]
        "pretrained_model_name_or_path", "clip_l", "clip_g", "t5xxl", "tokenizer_cache_dir",
        # [dataset_arguments]
        "train_data_dir", "resolution", "enable_bucket", "min_bucket_reso", "max_bucket_reso",
        "caption_extension", "train_batch_size",
        # [training_arguments]
        "output_dir", "output_name", "save_model_as", "save_precision", "mixed_precision",
        "max_train_epochs", "save_every_n_epochs", "learning_rate", "lr_scheduler",
        "optimizer_type", "gradient_checkpointing", "cache_latents", "cache_latents_to_disk",
        "cache_text_encoder_outputs", "cache_text_encoder_outputs_to_disk",
        "max_data_loader_n_workers", "persistent_data_loader_workers", "seed", "sdpa",
        # [network_arguments]
        "network_module", "network_dim", "network_alpha", "network_train_unet_only",
        # "More fields"
        "max_train_steps", "save_every_n_steps", "save_last_n_epochs", "save_last_n_steps",
        "save_state", "sample_prompts", "sample_every_n_epochs", "sample_every_n_steps",
        "sample_sampler", "sample_at_first", "network_weights", "network_args",
        "blocks_to_swap", "training_shift", "weighting_scheme", "t5xxl_max_token_length",
        "console_log_simple", "console_log_level", "console_log_file", "logging_dir",
        "log_with", "no_metadata",
        # FLUX.1 (flux_train_network.py; sd-scripts' library/flux_train_utils.py)
        "ae", "guidance_scale", "timestep_sampling", "model_prediction_type",
        "apply_t5_attn_mask", "discrete_flow_shift", "model_type", "fp8_base",
    }
)  # fmt: skip

#: Preset knobs that become TOML keys unchanged.
PRESET_KEYS = (
    "train_batch_size",
    "gradient_checkpointing",
    "mixed_precision",
    "cache_latents_to_disk",
    "max_data_loader_n_workers",
    "network_dim",
    "network_alpha",
    "max_train_epochs",
    "save_every_n_epochs",
    "blocks_to_swap",
    # bitsandbytes' 8-bit AdamW (the default) needs CUDA; a CPU preset chooses "AdamW".
    "optimizer_type",
)
_LEARNING_RATE = {
    ModelFamily.sd15: 1e-4,
    ModelFamily.sdxl: 1e-4,
    ModelFamily.sd35: 1e-4,
    ModelFamily.flux: 1e-4,
}
#: Preset keys with this prefix replace the plain knob for FLUX.1 (``flux_blocks_to_swap``,
#: ``flux_train_batch_size`` ...); a tier without ``flux_fp8_base`` cannot train FLUX.1.
FLUX_PREFIX = "flux_"
FLUX_READY_KEY = "flux_fp8_base"
#: FLUX.1 [dev] LoRA settings from sd-scripts' flux_train_network.md: guidance 1.0 switches
#: the distilled guidance off for training, "flux_shift" sampling, the raw prediction.
#: No T5 attention mask: ComfyUI's Flux inference applies none either.
FLUX_ARGUMENTS: dict[str, TomlValue] = {
    "guidance_scale": 1.0,
    "timestep_sampling": "flux_shift",
    "model_prediction_type": "raw",
}
#: NVML reports a "24 GB" card as a little under 24 GiB.
_TIER_TOLERANCE_GB = 1.0

Tables = dict[str, dict[str, TomlValue]]


def choose_preset(
    presets: Mapping[int, VramPreset], total_gb: float | None, *, tier_gb: int | None = None
) -> VramPreset:
    """The preset for a GPU: the largest tier that fits, or ``tier_gb`` when given.

    Without a measurable GPU (``total_gb`` None) the CPU preset (tier 0) is used where the
    content has one, else the smallest tier; a GPU smaller than every tier gets the smallest
    GPU tier, never the CPU preset.

    Raises:
        ConfigError: no presets, or ``tier_gb`` is not one of them.
    """
    if not presets:
        raise ConfigError(
            "No VRAM presets are available; the built-in content is incomplete.",
            key="training.error.no_presets",
        )
    if tier_gb is not None:
        if tier_gb not in presets:
            names = ", ".join(str(t) for t in sorted(presets))
            raise ConfigError(
                f"There is no {tier_gb} GB preset (available: {names}).",
                key="training.error.no_such_preset",
                params={"gb": tier_gb, "available": names},
            )
        return presets[tier_gb]
    tiers = sorted(presets)
    if total_gb is None:
        return presets[tiers[0]]
    gpu_tiers = [t for t in tiers if t != CPU_TIER] or tiers
    fitting = [t for t in gpu_tiers if t <= total_gb + _TIER_TOLERANCE_GB]
    return presets[fitting[-1] if fitting else gpu_tiers[0]]


def flux_ready(preset: VramPreset) -> bool:
    """True when ``preset``'s tier can hold a FLUX.1 LoRA training (it has FLUX.1 knobs)."""
    return FLUX_READY_KEY in preset.training


def knobs_for(
    preset: VramPreset, family: ModelFamily, epochs: int | None = None
) -> dict[str, TomlValue]:
    """The preset's training knobs for ``family`` (``blocks_to_swap`` only where it exists).

    For FLUX.1 the preset's ``flux_*`` keys replace the plain ones and ``fp8_base`` is added
    when true; SD 3.5's ``blocks_to_swap`` does not carry over.

    Raises:
        ConfigError: FLUX.1 on a tier too small for it.
    """
    knobs: dict[str, TomlValue] = {
        k: preset.training[k] for k in PRESET_KEYS if k in preset.training
    }
    if family is ModelFamily.flux:
        if not flux_ready(preset):
            raise ConfigError(
                "FLUX.1 LoRAs need a graphics card with at least 16 GB of memory; the "
                f"settings for '{preset.name.en}' cannot train them. Choose a larger VRAM "
                "preset if this computer has one, or train on an SD 1.5 or SDXL model.",
                detail=f"preset {preset.tier_gb} GB has no {FLUX_READY_KEY}",
                key="training.error.flux_tier",
            )
        knobs.pop("blocks_to_swap", None)
        for key in (*PRESET_KEYS, "fp8_base"):
            if FLUX_PREFIX + key in preset.training:
                knobs[key] = preset.training[FLUX_PREFIX + key]
        if knobs.get("fp8_base") is not True:
            knobs.pop("fp8_base", None)
    if family not in (ModelFamily.sd35, ModelFamily.flux) or not knobs.get("blocks_to_swap"):
        knobs.pop("blocks_to_swap", None)
    if epochs is not None:
        knobs["max_train_epochs"] = epochs
    return knobs


def build_config(
    project: TrainingProject, preset: VramPreset, tokenizers: Path | None = None
) -> Tables:
    """The TOML tables for ``project`` with the knobs of ``preset``.

    ``tokenizers`` is the folder of tokenizers laid out as sd-scripts' ``tokenizer_cache_dir``
    (:mod:`.tokenizers`); with it sd-scripts asks no hub for them (offline labs).

    Raises:
        ValueError: a key outside :data:`KNOWN_KEYS` (a programming error).
    """
    family = project.family
    knobs = knobs_for(preset, family, project.epochs)
    side = project.side
    to_disk = bool(knobs.get("cache_latents_to_disk", False))
    precision = str(knobs.get("mixed_precision", "bf16"))
    workers = knobs.get("max_data_loader_n_workers", 0)
    tables: Tables = {
        "model_arguments": {"pretrained_model_name_or_path": str(project.base_model)},
        "dataset_arguments": {
            "train_data_dir": str(project.images_dir),
            "resolution": f"{side},{side}",
            "enable_bucket": True,
            "min_bucket_reso": max(64, side // 2),  # sd-scripts: a multiple of 64
            "max_bucket_reso": side * 2,
            "caption_extension": CAPTION_EXTENSION,
            "train_batch_size": knobs.get("train_batch_size", 1),
        },
        "training_arguments": _training_table(project, knobs, precision, to_disk, workers),
        "network_arguments": {
            "network_module": family.network_module,
            "network_dim": knobs.get("network_dim", 16),
            "network_alpha": knobs.get("network_alpha", 8),
        },
    }
    if tokenizers is not None:
        tables["model_arguments"]["tokenizer_cache_dir"] = str(tokenizers)
    if family is not ModelFamily.sd15:
        # Required by cache_text_encoder_outputs (SDXL, SD3, FLUX.1); SD3 and FLUX.1 LoRAs
        # train the diffusion transformer only.
        tables["network_arguments"]["network_train_unet_only"] = True
    check_keys(tables)
    return tables


def _training_table(
    project: TrainingProject,
    knobs: Mapping[str, TomlValue],
    precision: str,
    to_disk: bool,
    workers: TomlValue,
) -> dict[str, TomlValue]:
    family = project.family
    table: dict[str, TomlValue] = {
        "output_dir": str(project.output_dir),
        "output_name": project.output_name,
        "save_model_as": "safetensors",
        "save_precision": precision,
        "mixed_precision": precision,
        "max_train_epochs": knobs.get("max_train_epochs", 10),
        "save_every_n_epochs": knobs.get("save_every_n_epochs", 2),
        "learning_rate": _LEARNING_RATE[family],
        "lr_scheduler": "cosine",
        "optimizer_type": knobs.get("optimizer_type", "AdamW8bit"),
        "gradient_checkpointing": knobs.get("gradient_checkpointing", True),
        "cache_latents": True,
        "cache_latents_to_disk": to_disk,
        "max_data_loader_n_workers": workers,
        "persistent_data_loader_workers": isinstance(workers, int) and workers > 0,
        "seed": 42,
        "sdpa": True,
        "console_log_simple": True,
    }
    if family is not ModelFamily.sd15:
        table["cache_text_encoder_outputs"] = True
        table["cache_text_encoder_outputs_to_disk"] = to_disk
    if "blocks_to_swap" in knobs:
        table["blocks_to_swap"] = knobs["blocks_to_swap"]
    if family is ModelFamily.flux:
        table.update(FLUX_ARGUMENTS)
        if knobs.get("fp8_base") is True:
            table["fp8_base"] = True
    return table


def check_keys(tables: Mapping[str, Mapping[str, TomlValue]]) -> None:
    """Make sure every key is one sd-scripts reads.

    Raises:
        ValueError: naming the unknown keys.
    """
    unknown = sorted({key for table in tables.values() for key in table} - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"keys sd-scripts would silently ignore: {', '.join(unknown)}")


def write_config(
    project: TrainingProject, preset: VramPreset, tokenizers: Path | None = None
) -> Path:
    """Write the TOML to ``project.config_file`` (atomically) and return its path.

    Raises:
        OSError: the project folder is not writable.
    """
    atomic_write_text(project.config_file, dumps(build_config(project, preset, tokenizers)))
    return project.config_file


def kohya_dir(settings: TrainingSettings) -> Path:
    """The sd-scripts folder: the setting, or its ``sd-scripts`` subfolder (kohya_ss GUI).

    Raises:
        BackendNotInstalled: not set.
    """
    if not settings.kohya_dir.strip():
        raise BackendNotInstalled(
            f"kohya sd-scripts is not set up. {INSTALL_HINTS['kohya']}",
            key="training.error.no_kohya",
        )
    return sd_scripts_dir(Path(settings.kohya_dir).expanduser())


def trainer_python(settings: TrainingSettings) -> Path:
    """The sd-scripts venv's Python: the setting, else a venv in or beside ``kohya_dir``.

    Looked for: ``<kohya_dir>/venv``, ``<kohya_dir>/.venv``, then ``kohya_ss/venv`` beside
    ``kohya_ss/sd-scripts`` (the kohya_ss GUI layout).

    Raises:
        BackendNotInstalled: no Python was found.
    """
    if settings.python.strip():
        return Path(settings.python).expanduser()
    folder = kohya_dir(settings)
    found = kohya_venv_python(folder)
    if found is None:
        raise BackendNotInstalled(
            "sd-scripts was found, but not its Python environment (venv). Set "
            "Settings → Training → Python to the Python of the sd-scripts venv.",
            detail=f"looked in {folder / 'venv'}, {folder / '.venv'} and {folder.parent / 'venv'}",
            key="training.error.no_kohya_venv",
        )
    return found


def accelerate_for(python: Path) -> Path | None:
    """The ``accelerate`` launcher next to the venv's Python, if installed."""
    name = "accelerate.exe" if sys.platform == "win32" else "accelerate"
    candidate = python.parent / name
    return candidate if candidate.is_file() else None


def model_args(project: TrainingProject) -> tuple[str, ...]:
    """The companion files on the command line (only those that are known).

    ``--clip_l X --clip_g Y --t5xxl Z`` for SD3, ``--clip_l X --t5xxl Y --ae Z`` for FLUX.1.
    """
    args: list[str] = []
    for role in project.family.companion_roles:
        path = project.text_encoders.get(role)
        if path is not None:
            args += [f"--{role}", str(path)]
    return tuple(args)


def command(settings: TrainingSettings, project: TrainingProject) -> tuple[str, ...]:
    """The trainer's command line: ``accelerate launch`` when the venv has it, else ``python -u``.

    Raises:
        BackendNotInstalled: sd-scripts or its Python is not set up.
    """
    python = trainer_python(settings)
    script = kohya_dir(settings) / project.family.script
    tail: Sequence[str] = (
        str(script),
        "--config_file",
        str(project.config_file),
        *model_args(project),
    )
    accelerate = accelerate_for(python)
    if accelerate is not None:
        return (str(accelerate), "launch", "--num_cpu_threads_per_process", "1", *tail)
    return (str(python), "-u", *tail)


def trainer_env() -> dict[str, str]:
    """Extra environment of the trainer: unbuffered, UTF-8 output (protocols.md 4.9).

    sd-scripts prints Japanese (``指定エポックまでのステップ数``) on every run; on Windows the
    pipe's default encoding is the ANSI code page (cp1252), and that line then raises
    UnicodeEncodeError. UTF-8 mode and a UTF-8 ``PYTHONIOENCODING`` make every print work,
    and the parser decodes UTF-8.
    """
    return {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1"}
