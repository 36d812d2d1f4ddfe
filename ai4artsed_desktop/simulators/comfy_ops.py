"""What each simulated ComfyUI node does: typed stand-in values instead of tensors.

Loaders produce descriptions of models, samplers produce latents that remember prompt text,
seed and settings, and the decoders turn those into :class:`ImageSpec` / :class:`AudioSpec`
that the save nodes render into real files. The runtime checks the real server makes at
execution time (not at validation) are kept: an SD3 model fed a 4-channel latent, or text
encoding with the empty CLIP of a _checkpoint that bundles no text encoders.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from .comfy_media import AudioSpec, ImageSpec, write_audio, write_pngs
from .comfy_registry import Folders
from .comfy_video import VideoValue, write_video

NodeResult = tuple[tuple[Any, ...], dict[str, Any] | None]
_IMAGE_CHANNELS = {"sd3": 16, "flux": 16, "sdxl": 4, "sd15": 4}
#: Model families whose latents are not images.
_LATENT_KINDS = {"stable_audio": "audio", "ace": "ace_audio", "wan": "video"}
#: Frames per latent frame of a video VAE (Wan 2.2: 4, so 4n+1 frames).
VIDEO_FRAME_STEP = 4
#: Rough VRAM cost in MB of each model family and text encoder (rules of thumb).
MODEL_MB = {"sd3": 16000, "sdxl": 6500, "sd15": 2000, "flux": 22000, "stable_audio": 2500,
            "ace": 7000, "wan": 10000}  # fmt: skip
_CLIP_MB = {"umt5": 6700, "t5xxl": 9500, "clip_g": 1400, "clip_l": 250, "t5": 450}
NO_CLIP_MESSAGE = (
    "ERROR: clip input is invalid: None\n\nIf the clip is from a _checkpoint loader node your "
    "_checkpoint does not contain a valid clip or text encoder model."
)


class NodeContext(Protocol):
    """What the executor offers a running node."""

    folders: Folders
    metadata: dict[str, Any] | None
    max_audio_seconds: float

    async def step(self, value: int, total: int, preview: ImageSpec | None) -> None:
        """Report sampler progress; raises when the prompt was interrupted."""

    def load(self, name: str, megabytes: int) -> None:
        """Account a model load in the simulated VRAM."""


class NodeFailure(Exception):
    """A runtime error of a node, reported as ``execution_error`` (``kind`` = exception type)."""

    def __init__(self, message: str, kind: str = "RuntimeError") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Model:
    """A loaded diffusion model (family such as sd3 / sdxl / stable_audio / ace)."""

    family: str
    name: str
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clip:
    """A text-encoder stack."""

    family: str
    names: tuple[str, ...]
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cond:
    """Conditioning: the encoded text."""

    text: str
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Latent:
    """A latent batch: image (4/16 channels), video (48 channels, ``frames`` long) or audio."""

    kind: str
    channels: int
    width: int = 0
    height: int = 0
    frames: int = 0
    seconds: float = 0.0
    batch: int = 1
    text: str = ""
    seed: int = 0
    detail: str = ""
    sources: tuple[ImageSpec, ...] = field(default=(), repr=False)


def family_of(name: str) -> str:
    """Guess a checkpoint's model family from its file name."""
    lower = name.lower().replace("\\", "/").rsplit("/", 1)[-1]
    if "stable-audio" in lower or "stable_audio" in lower:
        return "stable_audio"
    if "ace" in lower and "step" in lower:
        return "ace"
    if lower.startswith("wan"):
        return "wan"
    for key, family in (("sd3", "sd3"), ("flux", "flux"), ("xl", "sdxl")):
        if key in lower:
            return family
    return "sd15"


def _bundles_clip(name: str, family: str) -> bool:
    lower = name.lower()
    if family == "sd3":
        return "fp8_scaled" in lower or "incl_clips" in lower
    return family != "stable_audio"


def _clip_mb(name: str) -> int:
    lower = name.lower()
    return next((mb for key, mb in _CLIP_MB.items() if key in lower), 500)


async def _checkpoint(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    name = a["ckpt_name"]
    family = family_of(name)
    ctx.load(name, MODEL_MB[family] // (3 if "medium" in name.lower() else 1))
    clip = Clip(family, (name,)) if _bundles_clip(name, family) else None
    return (Model(family, name), clip, family), None


async def _unet(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    ctx.load(a["unet_name"], MODEL_MB[family_of(a["unet_name"])])
    return (Model(family_of(a["unet_name"]), a["unet_name"], (a["weight_dtype"],)),), None


async def _clip_loader(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    names = tuple(a[k] for k in ("clip_name", "clip_name1", "clip_name2", "clip_name3") if k in a)
    for name in names:
        ctx.load(name, _clip_mb(name))
    return (Clip(str(a.get("type", "sd3")), names),), None


async def _lora(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    tag = f"_lora:{a['lora_name']}:{a['strength_model']}"
    model = replace(a["model"], extras=(*a["model"].extras, tag))
    if "clip" not in a:
        return (model,), None
    clip = a["clip"]
    if clip is not None:
        clip = replace(clip, extras=(*clip.extras, f"{tag}:{a['strength_clip']}"))
    return (model, clip), None


async def _model_patch(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    if "shift" in a:
        extra = f"shift:{a['shift']}"
    elif "max_shift" in a:
        extra = f"flux-shift:{a['max_shift']}/{a['base_shift']}@{a['width']}x{a['height']}"
    else:
        extra = "cfg-operation"
    return (replace(a["model"], extras=(*a["model"].extras, extra)),), None


async def _text_encode(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    clip = a["clip"]
    if clip is None:
        raise NodeFailure(NO_CLIP_MESSAGE)
    parts = [str(a[k]) for k in ("text", "clip_l", "clip_g", "t5xxl", "tags", "lyrics") if k in a]
    return (Cond(" ".join(p for p in parts if p), clip.extras),), None


async def _guidance(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    cond: Cond = a["conditioning"]
    return (replace(cond, extras=(*cond.extras, f"guidance:{a['guidance']}")),), None


async def _zero_out(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    return (Cond("", ("zero",)),), None


async def _stable_audio_cond(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    timing = f"t:{a['seconds_start']}-{a['seconds_total']}"
    pos, neg = a["positive"], a["negative"]
    return (
        replace(pos, extras=(*pos.extras, timing)),
        replace(neg, extras=(*neg.extras, timing)),
    ), None


async def _empty_latent(ctx: NodeContext, a: dict[str, Any], channels: int) -> NodeResult:
    return (Latent("image", channels, a["width"], a["height"], batch=a["batch_size"]),), None


async def _empty_audio(ctx: NodeContext, a: dict[str, Any], kind: str) -> NodeResult:
    return (
        Latent(kind, 64 if kind == "audio" else 8, seconds=a["seconds"], batch=a["batch_size"]),
    ), None


async def _empty_image(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    spec = ImageSpec(a["width"], a["height"], colour=a["color"])
    return ([spec] * a["batch_size"],), None


async def _load_image(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    path = ctx.folders.input / a["image"]
    if not path.is_file():
        raise NodeFailure(f"[Errno 2] No such file or directory: '{path}'", "FileNotFoundError")
    with Image.open(path) as img:
        width, height = img.size
    return ([ImageSpec(width, height, source=str(path))], None), None


async def _vae_encode(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    images: list[ImageSpec] = a["pixels"]
    channels = _IMAGE_CHANNELS.get(a["vae"], 4)
    first = images[0]
    latent = Latent("image", channels, first.width, first.height, batch=len(images))
    return (replace(latent, sources=tuple(images)),), None


def _check_latent(model: Model, latent: Latent) -> None:
    wanted_kind = _LATENT_KINDS.get(model.family, "image")
    wanted = _IMAGE_CHANNELS.get(model.family, latent.channels)
    if latent.kind == wanted_kind and (wanted_kind != "image" or latent.channels == wanted):
        return
    if wanted_kind == "video":
        shape = f"[1, {latent.channels}, {max(latent.height, 8) // 8}, {max(latent.width, 8) // 8}]"
        raise NodeFailure(
            "Expected 5D (batched) or 4D (unbatched) input to conv3d, but got input of size: "
            + shape
        )
    if wanted_kind == "image":
        shape = f"[1, {latent.channels}, {max(latent.height, 8) // 8}, {max(latent.width, 8) // 8}]"
        raise NodeFailure(
            f"Given groups=1, weight of size [1536, {wanted}, 2, 2], expected input{shape} "
            f"to have {wanted} channels, but got {latent.channels} channels instead"
        )
    raise NodeFailure(
        f"The size of tensor a ({latent.channels}) must match the size of tensor b "
        f"({64 if wanted_kind == 'audio' else 8}) at non-singleton dimension 1"
    )


async def _ksampler(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    model: Model = a["model"]
    latent: Latent = a["latent_image"]
    _check_latent(model, latent)
    positive: Cond = a["positive"]
    detail = "|".join(
        str(x)
        for x in (model.family, model.name, *model.extras, *positive.extras, a["steps"],
                  a["cfg"], a["sampler_name"], a["scheduler"], a["denoise"], a["negative"].text)
    )  # fmt: skip
    out = replace(latent, text=positive.text, seed=a["seed"], detail=detail)
    preview = None
    if latent.kind in ("image", "video"):
        preview = ImageSpec(latent.width, latent.height, positive.text, a["seed"], detail)
    steps = a["steps"]
    for value in range(1, steps + 1):
        await ctx.step(value, steps, preview)
    return (out,), None


async def _vae_decode(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    lat: Latent = a["samples"]
    if lat.kind == "video":
        return (_video_frames(lat),), None
    specs = [
        ImageSpec(max(lat.width, 8), max(lat.height, 8), lat.text, lat.seed + i, lat.detail)
        for i in range(lat.batch)
    ]
    return (specs,), None


def _video_frames(lat: Latent) -> list[ImageSpec]:
    """The decoded frames: 4 per latent frame after the first, for each clip of the batch."""
    count = (lat.frames - 1) // VIDEO_FRAME_STEP * VIDEO_FRAME_STEP + 1
    # Wan's VAE works on 16-pixel cells: the frames come out at a multiple of 16.
    width, height = max(lat.width // 16 * 16, 16), max(lat.height // 16 * 16, 16)
    return [
        ImageSpec(width, height, lat.text, lat.seed + clip, lat.detail, frame=i, frames=count)
        for clip in range(lat.batch)
        for i in range(count)
    ]


async def _wan22_latent(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    sources = tuple(a["start_image"][: a["length"]]) if a.get("start_image") else ()
    latent = Latent("video", 48, a["width"], a["height"], frames=a["length"], batch=a["batch_size"])
    return (replace(latent, sources=sources),), None


async def _create_video(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    return (VideoValue(tuple(a["images"]), float(a["fps"])),), None


async def _save_video(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    prefix = a.get("filename_prefix", "video/ComfyUI")
    entries = await _write(write_video, a["video"], prefix, ctx.folders.output, ctx.metadata)
    return (), {"images": entries, "animated": [True]}


async def _vae_decode_audio(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    lat: Latent = a["samples"]
    seconds = lat.seconds or 1.0
    specs = [AudioSpec(seconds, lat.text, lat.seed + i, lat.detail) for i in range(lat.batch)]
    return (specs,), None


def _temp_prefix() -> str:
    return "ComfyUI_temp_" + "".join(random.choices(string.ascii_lowercase, k=5))


async def _save_images(ctx: NodeContext, a: dict[str, Any], kind: str) -> NodeResult:
    base: Path = ctx.folders.output if kind == "output" else ctx.folders.temp
    prefix = a.get("filename_prefix", "ComfyUI") if kind == "output" else _temp_prefix()
    entries = await _write(write_pngs, a["images"], prefix, base, kind, ctx.metadata)
    return (), {"images": entries}


async def _save_audio(ctx: NodeContext, a: dict[str, Any], kind: str) -> NodeResult:
    base: Path = ctx.folders.output if kind == "output" else ctx.folders.temp
    prefix = a.get("filename_prefix", "audio/ComfyUI") if kind == "output" else _temp_prefix()
    entries = await _write(
        write_audio, a["audio"], prefix, base, kind, ctx.metadata, ctx.max_audio_seconds
    )
    return (), {"audio": entries}


async def _write(fn: Callable[..., list[dict[str, str]]], *args: Any) -> list[dict[str, str]]:
    try:
        return await asyncio.to_thread(fn, *args)
    except ValueError as exc:
        raise NodeFailure(str(exc), "Exception") from exc


async def _vae_loader(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    # The VAE family follows the file name, like a checkpoint's.
    return (family_of(a["vae_name"]),), None


async def _tonemap(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
    return (f"tonemap:{a['multiplier']}",), None


def _bind(
    fn: Callable[..., Awaitable[NodeResult]], arg: Any
) -> Callable[..., Awaitable[NodeResult]]:
    async def bound(ctx: NodeContext, a: dict[str, Any]) -> NodeResult:
        return await fn(ctx, a, arg)

    return bound


OPS: dict[str, Callable[[NodeContext, dict[str, Any]], Awaitable[NodeResult]]] = {
    "CheckpointLoaderSimple": _checkpoint,
    "UNETLoader": _unet,
    "LoraLoader": _lora,
    "LoraLoaderModelOnly": _lora,
    "CLIPLoader": _clip_loader,
    "DualCLIPLoader": _clip_loader,
    "TripleCLIPLoader": _clip_loader,
    "VAELoader": _vae_loader,
    "CLIPTextEncode": _text_encode,
    "CLIPTextEncodeSD3": _text_encode,
    "TextEncodeAceStepAudio": _text_encode,
    "ConditioningZeroOut": _zero_out,
    "ConditioningStableAudio": _stable_audio_cond,
    "ModelSamplingSD3": _model_patch,
    "ModelSamplingFlux": _model_patch,
    "FluxGuidance": _guidance,
    "LatentApplyOperationCFG": _model_patch,
    "LatentOperationTonemapReinhard": _tonemap,
    "EmptyLatentImage": _bind(_empty_latent, 4),
    "EmptySD3LatentImage": _bind(_empty_latent, 16),
    "EmptyLatentAudio": _bind(_empty_audio, "audio"),
    "EmptyAceStepLatentAudio": _bind(_empty_audio, "ace_audio"),
    "EmptyImage": _empty_image,
    "LoadImage": _load_image,
    "VAEEncode": _vae_encode,
    "KSampler": _ksampler,
    "VAEDecode": _vae_decode,
    "VAEDecodeAudio": _vae_decode_audio,
    "SaveImage": _bind(_save_images, "output"),
    "PreviewImage": _bind(_save_images, "temp"),
    "SaveAudio": _bind(_save_audio, "output"),
    "SaveAudioMP3": _bind(_save_audio, "output"),
    "SaveAudioOpus": _bind(_save_audio, "output"),
    "PreviewAudio": _bind(_save_audio, "temp"),
    "Wan22ImageToVideoLatent": _wan22_latent,
    "CreateVideo": _create_video,
    "SaveVideo": _save_video,
}
