"""Training projects: name and trigger validation, the folder layout, saving and removing."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fileio import atomic_write_json
from .models import ModelFamily, detect_family

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Letters (any script), digits, spaces, '-' and '_'; it becomes part of a folder name.
_TRIGGER = re.compile(r"[^\W_](?:[\w\- ]{0,38}[^\W_])?")
_RESERVED = frozenset({"con", "prn", "aux", "nul"})  # Windows device names
PROJECT_FILE = "project.json"


def validate_project_name(name: str) -> str:
    """Return ``name`` stripped when it can name a project folder and the LoRA file.

    Raises:
        ConfigError: with a sentence saying which characters are allowed.
    """
    cleaned = name.strip()
    if not _NAME.fullmatch(cleaned) or cleaned.lower() in _RESERVED:
        raise ConfigError(
            "The project name may use letters A–Z, digits, '-' and '_' (at most 64, "
            "starting with a letter or digit), for example 'my-clay-figures'.",
            detail=f"project name: {name!r}",
            key="training.name_invalid",
        )
    return cleaned


def validate_trigger(trigger: str) -> str:
    """Return ``trigger`` stripped when it can be a trigger word (and a folder name part).

    A trigger is 1–40 letters, digits, spaces, '-' or '_', with at least one letter, and
    without commas (captions are comma-separated). Rare made-up words work best.

    Raises:
        ConfigError: explaining the rule.
    """
    cleaned = " ".join(trigger.split())
    if not _TRIGGER.fullmatch(cleaned) or not any(ch.isalpha() for ch in cleaned):
        raise ConfigError(
            "The trigger word needs 1 to 40 letters or digits (spaces, '-' and '_' are "
            "allowed inside, commas are not) and at least one letter, for example 'lmnx style'.",
            detail=f"trigger: {trigger!r}",
            key="training.trigger_invalid",
        )
    return cleaned


@dataclass(frozen=True)
class TrainingProject:
    """One LoRA project and its folder layout below ``root``.

    Attributes:
        name: the validated project name (also the LoRA's ``output_name``).
        trigger: the trigger word(s) used in the folder name and the captions.
        root: the project folder (``<training_dir>/<name>``).
        base_model: the checkpoint to train on.
        family: SD 1.5, SDXL, SD 3.5 or FLUX.1 (decides script and settings).
        text_encoders: the files besides the base model: SD3 ``clip_l``/``clip_g``/``t5xxl``,
            FLUX.1 ``clip_l``/``t5xxl``/``ae`` (the autoencoder).
        tier_gb: a VRAM preset to use instead of the one that fits the GPU.
        epochs: overrides the preset's number of epochs.
        resolution: overrides the family's training resolution (square side in pixels), e.g.
            a quick low-resolution trial.
    """

    name: str
    trigger: str
    root: Path
    base_model: Path
    family: ModelFamily
    text_encoders: Mapping[str, Path] = field(default_factory=dict)
    tier_gb: int | None = None
    epochs: int | None = None
    resolution: int | None = None

    @property
    def side(self) -> int:
        """The training resolution: the override, else the family's own."""
        return self.resolution or self.family.resolution

    @property
    def images_dir(self) -> Path:
        """``train_data_dir``: the parent of the ``<repeats>_<trigger>`` folder."""
        return self.root / "images"

    @property
    def config_file(self) -> Path:
        """The generated sd-scripts TOML."""
        return self.root / "train_config.toml"

    @property
    def output_dir(self) -> Path:
        """Where sd-scripts writes checkpoints and the final LoRA."""
        return self.root / "output"

    @property
    def log_dir(self) -> Path:
        """The project's own copy of the trainer output."""
        return self.root / "logs"

    @property
    def output_name(self) -> str:
        """sd-scripts' ``output_name``: the LoRA file is ``<output_name>.safetensors``."""
        return self.name

    @property
    def final_output(self) -> Path:
        """The final LoRA written by sd-scripts (its existence means success)."""
        return self.output_dir / f"{self.output_name}.safetensors"

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``project.json``."""
        return {
            "name": self.name,
            "trigger": self.trigger,
            "base_model": str(self.base_model),
            "family": self.family.value,
            "text_encoders": {k: str(v) for k, v in self.text_encoders.items()},
            "tier_gb": self.tier_gb,
            "epochs": self.epochs,
            "resolution": self.resolution,
        }


def new_project(
    training_dir: Path,
    name: str,
    trigger: str,
    base_model: Path,
    *,
    family: ModelFamily | None = None,
    text_encoders: Mapping[str, Path] | None = None,
    tier_gb: int | None = None,
    epochs: int | None = None,
    resolution: int | None = None,
) -> TrainingProject:
    """Validate the inputs and describe a project below ``training_dir`` (nothing is written).

    Raises:
        ConfigError: invalid name or trigger.
    """
    valid = validate_project_name(name)
    return TrainingProject(
        name=valid,
        trigger=validate_trigger(trigger),
        root=training_dir / valid,
        base_model=base_model,
        family=family or detect_family(base_model),
        text_encoders=dict(text_encoders or {}),
        tier_gb=tier_gb,
        epochs=epochs,
        resolution=resolution,
    )


def save_project(project: TrainingProject) -> None:
    """Write ``project.json`` atomically.

    Raises:
        OSError: the folder is not writable.
    """
    atomic_write_json(project.root / PROJECT_FILE, project.to_json())


def load_project(root: Path) -> TrainingProject:
    """Read a project saved with :func:`save_project`.

    Raises:
        ConfigError: the file is missing or unusable.
    """
    path = root / PROJECT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        encoders = {str(k): Path(v) for k, v in dict(data.get("text_encoders", {})).items()}
        return TrainingProject(
            name=validate_project_name(str(data["name"])),
            trigger=validate_trigger(str(data["trigger"])),
            root=root,
            base_model=Path(str(data["base_model"])),
            family=ModelFamily(data["family"]),
            text_encoders=encoders,
            tier_gb=_opt_int(data.get("tier_gb")),
            epochs=_opt_int(data.get("epochs")),
            resolution=_opt_int(data.get("resolution")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"The training project in {root} cannot be opened.",
            detail=f"{path}: {exc!r}",
            key="training.error.project_unreadable",
            params={"folder": root},
        ) from exc


def remove_project_files(project: TrainingProject) -> None:
    """Delete the project folder: images, captions, latent caches, config, checkpoints, logs.

    Raises:
        OSError: something could not be deleted.
    """
    if project.root.is_dir():
        shutil.rmtree(project.root)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"expected a whole number, got {value!r}")
