"""Base-model families sd-scripts trains (SD 1.5, SDXL, SD 3.5, FLUX.1): scripts, detection."""

from __future__ import annotations

import enum
import json
import struct
from collections.abc import Mapping
from pathlib import Path

GIB = 2**30
#: The largest safetensors header we read to recognise a checkpoint.
_MAX_HEADER = 64 * 2**20


class ModelFamily(enum.Enum):
    """A base-model family with its own sd-scripts training script."""

    sd15 = "sd15"
    sdxl = "sdxl"
    sd35 = "sd35"
    flux = "flux"

    @property
    def script(self) -> str:
        """The training script in the sd-scripts folder (protocols.md 4.1)."""
        return _SCRIPTS[self]

    @property
    def network_module(self) -> str:
        """The LoRA network module (``lora_sd3`` for SD3, ``lora_flux`` for FLUX.1; 4.1)."""
        return _NETWORK_MODULES.get(self, "networks.lora")

    @property
    def companion_roles(self) -> tuple[str, ...]:
        """The files sd-scripts needs besides the base model, by argument name.

        Empty for SD 1.5 and SDXL, whose checkpoints hold everything.
        """
        return _COMPANIONS.get(self, ())

    @property
    def resolution(self) -> int:
        """The native training resolution (square side in pixels)."""
        return 512 if self is ModelFamily.sd15 else 1024


_SCRIPTS = {
    ModelFamily.sd15: "train_network.py",
    ModelFamily.sdxl: "sdxl_train_network.py",
    ModelFamily.sd35: "sd3_train_network.py",
    ModelFamily.flux: "flux_train_network.py",
}
_NETWORK_MODULES = {ModelFamily.sd35: "networks.lora_sd3", ModelFamily.flux: "networks.lora_flux"}

#: The three text encoders SD3 needs as separate files unless the checkpoint bundles them.
SD3_TEXT_ENCODERS = ("clip_l", "clip_g", "t5xxl")
#: What FLUX.1 training needs besides the diffusion model: CLIP-L, T5-XXL and the autoencoder.
FLUX_FILES = ("clip_l", "t5xxl", "ae")
_COMPANIONS = {ModelFamily.sd35: SD3_TEXT_ENCODERS, ModelFamily.flux: FLUX_FILES}
_ENCODER_FILES = {
    "clip_l": ("clip_l.safetensors",),
    "clip_g": ("clip_g.safetensors",),
    "t5xxl": (
        "t5xxl_fp16.safetensors",
        "t5xxl_fp8_e4m3fn.safetensors",
        "t5xxl_fp8_e4m3fn_scaled.safetensors",
        "t5xxl.safetensors",
    ),
    "ae": ("ae.safetensors", "ae.sft"),
}
#: sd-scripts' FLUX.1 loader takes T5-XXL in fp16 or plain fp8, not ComfyUI's "scaled" fp8
#: (its flux_train_network.md: "use without scaled").
_FLUX_REFUSED = frozenset({"t5xxl_fp8_e4m3fn_scaled.safetensors"})
_ENCODER_FOLDERS = (".", "text_encoders", "clip", "../text_encoders", "../clip")
#: ComfyUI keeps the autoencoder in models/vae, beside models/diffusion_models.
_FOLDERS = {"ae": (".", "vae", "../vae")}

#: Key prefixes that identify a family inside a checkpoint's safetensors header.
_KEY_MARKERS = (
    ("model.diffusion_model.joint_blocks.", ModelFamily.sd35),
    ("double_blocks.", ModelFamily.flux),  # Black Forest Labs' own layout
    ("model.diffusion_model.double_blocks.", ModelFamily.flux),  # ComfyUI's checkpoints
    ("conditioner.embedders.1.", ModelFamily.sdxl),
    ("cond_stage_model.transformer.", ModelFamily.sd15),
)


def read_safetensors_header(path: Path) -> dict[str, object] | None:
    """The JSON header of a ``.safetensors`` file, or None when it is not one."""
    try:
        with path.open("rb") as handle:
            raw_len = handle.read(8)
            if len(raw_len) != 8:
                return None
            (length,) = struct.unpack("<Q", raw_len)
            if length <= 1 or length > _MAX_HEADER:
                return None
            header = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def detect_family(path: Path) -> ModelFamily:
    """Guess the family of a checkpoint: tensor names first, then the file name.

    An unreadable file or unknown name counts as SD 1.5 only as the last resort; callers
    should let the user override the guess.
    """
    header = read_safetensors_header(path)
    if header is not None:
        for prefix, family in _KEY_MARKERS:
            if any(key.startswith(prefix) for key in header):
                return family
    name = path.name.lower().replace("-", "").replace("_", "")
    if "sd3" in name:
        return ModelFamily.sd35
    if "flux" in name:
        return ModelFamily.flux
    if "xl" in name:
        return ModelFamily.sdxl
    return ModelFamily.sd15


def bundles_text_encoders(path: Path) -> bool:
    """True when an SD3 checkpoint contains its own text encoders."""
    header = read_safetensors_header(path)
    return header is not None and any(key.startswith("text_encoders.clip_g.") for key in header)


def bundles_flux_extras(path: Path) -> bool:
    """True when a FLUX.1 file is a ComfyUI all-in-one checkpoint.

    Such a file holds the text encoders or the autoencoder too; sd-scripts reads only bare
    diffusion models such as ``flux1-dev.safetensors``.
    """
    header = read_safetensors_header(path)
    return header is not None and any(
        key.startswith(("text_encoders.", "vae.", "first_stage_model.")) for key in header
    )


def find_text_encoders(base_model: Path, family: ModelFamily = ModelFamily.sd35) -> dict[str, Path]:
    """The files ``family`` needs besides ``base_model``, found near it.

    :attr:`ModelFamily.companion_roles` are looked for in its folder, in ``text_encoders/``
    and ``clip/`` beside or above it, and for the FLUX.1 autoencoder in ``vae/`` (ComfyUI's
    models layout).

    Returns only the files that were found; the caller reports the missing ones.
    """
    found: dict[str, Path] = {}
    for role in family.companion_roles:
        names = [
            n
            for n in _ENCODER_FILES[role]
            if not (family is ModelFamily.flux and n in _FLUX_REFUSED)
        ]
        for folder in _FOLDERS.get(role, _ENCODER_FOLDERS):
            hit = next(
                (
                    base_model.parent / folder / n
                    for n in names
                    if (base_model.parent / folder / n).is_file()
                ),
                None,
            )
            if hit is not None:
                found[role] = hit.resolve()
                break
    return found


def estimate_need_bytes(family: ModelFamily, knobs: Mapping[str, object]) -> int:
    """GPU memory a run needs, as a rule of thumb (protocols.md 4.9), from the training knobs.

    Batch size 1 with gradient checkpointing: SD 1.5 about 6 GB, SDXL about 12 GB, SD 3.5
    Large about 22 GB, FLUX.1 about 30 GB in bf16 and 18 GB with ``fp8_base`` (its 12 B
    parameters in one byte each); each further image in a batch adds 1/2/3/2.5 GB; no
    gradient checkpointing adds half again; each block swapped to the CPU saves about
    0.45 GB for SD3 and 0.6 GB (0.3 GB in fp8) for FLUX.1, whose swap count moves half as
    many double blocks and twice as many single blocks.
    """
    base, per_image = {
        ModelFamily.sd15: (6.0, 1.0),
        ModelFamily.sdxl: (12.0, 2.0),
        ModelFamily.sd35: (22.0, 3.0),
        ModelFamily.flux: (30.0, 2.5),
    }[family]
    fp8 = family is ModelFamily.flux and knobs.get("fp8_base") is True
    if fp8:
        base -= 12.0
    batch = _as_int(knobs.get("train_batch_size"), 1)
    need = base + per_image * max(0, batch - 1)
    if not knobs.get("gradient_checkpointing", True):
        need *= 1.5
    swapped = _as_int(knobs.get("blocks_to_swap"), 0)
    if family is ModelFamily.sd35:
        need -= 0.45 * swapped
    elif family is ModelFamily.flux:
        need -= (0.3 if fp8 else 0.6) * swapped
    return int(max(need, base / 2) * GIB)


def _as_int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
