"""Typed, frozen content records. The loader (``content.loader``) builds and validates them."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("de", "en")


@dataclass(frozen=True)
class Text:
    """A text in German and English."""

    de: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``de`` or ``en``), falling back to the other language."""
        primary = self.de if lang == "de" else self.en
        return primary or self.en or self.de


class MediaType(enum.Enum):
    """What an output produces."""

    image = "image"
    audio = "audio"
    music = "music"
    video = "video"
    code = "code"


class Route(enum.Enum):
    """How an output is generated."""

    comfyui = "comfyui"  # API-format workflow, direct or via SwarmUI's ComfyBackendDirect
    swarmui_t2i = "swarmui_t2i"  # SwarmUI GenerateText2Image
    code = "code"  # the (adapted) text is code; runs in the sandbox
    cloud_image = "cloud_image"  # cloud image API, only when allowed
    planned = "planned"  # shown as "coming later", never runnable


class DataProtection(enum.Enum):
    """Where data goes when this provider is used."""

    local = "local"
    eu = "eu"
    non_eu = "non_eu"


#: Base-model families a LoRA can be trained for (``training.models.ModelFamily`` values);
#: "" means unknown. A LoRA goes only into outputs of its own family.
LORA_FAMILIES = ("", "sd15", "sdxl", "sd35", "flux")


def lora_fits(lora_family: str, output_family: str) -> bool:
    """True when a LoRA of ``lora_family`` may go into an output of ``output_family``.

    Unknown on either side ("", a LoRA from elsewhere, an output of no one family) fits;
    otherwise the families must be the same: an SD 1.5 LoRA does nothing to FLUX.1.
    """
    return not lora_family or not output_family or lora_family == output_family


@dataclass(frozen=True)
class LoraRef:
    """A LoRA attached to an interception config (``family``: its base model's, "" unknown)."""

    file: str
    strength: float = 0.6
    trigger: str = ""
    family: str = ""


@dataclass(frozen=True)
class LlmParams:
    """LLM sampling parameters of a config (they really reach the model)."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 500


@dataclass(frozen=True)
class Audience:
    """Who a config is meant for."""

    min_age: int = 8
    safety_levels: tuple[str, ...] = ("kids", "youth", "adult", "research")


@dataclass(frozen=True)
class InterceptionConfig:
    """A pedagogical transformation rule (the WIE)."""

    id: str
    name: Text
    description: Text
    rules: Text  # empty in both languages for "your call"
    category: str
    icon: str  # file name under resources/icons/configs/
    order: int
    llm: LlmParams
    outputs: tuple[str, ...]  # supported output ids; empty tuple = every output
    default_output: str
    loras: tuple[LoraRef, ...] = ()
    audience: Audience = field(default_factory=Audience)
    source: Path | None = None  # file it was loaded from
    builtin: bool = True

    def supports(self, output_id: str) -> bool:
        """True when this config may be used with ``output_id``."""
        return not self.outputs or output_id in self.outputs


@dataclass(frozen=True)
class InputTarget:
    """One place in a workflow graph that receives a mapped value."""

    node: str
    input: str


@dataclass(frozen=True)
class RequiredModel:
    """A model slot of an output, checked against ComfyUI's /object_info.

    ``file`` is the name the workflow template holds; ``variants`` are other downloads that
    fill the same slot (an fp16 or fp8 copy of the same weights). The first name ComfyUI lists
    is written into the graph; case and subfolders (``SD1.5/v1-5-...``) do not matter.
    """

    node_class: str  # e.g. CheckpointLoaderSimple
    input: str  # e.g. ckpt_name
    file: str  # e.g. sd3.5_large.safetensors
    folder: str  # ComfyUI models subfolder, e.g. checkpoints (for "where to put it")
    variants: tuple[str, ...] = ()  # e.g. v1-5-pruned-emaonly-fp16.safetensors

    @property
    def names(self) -> tuple[str, ...]:
        """Every acceptable file name, the template's first."""
        return (self.file, *self.variants)


@dataclass(frozen=True)
class ModelLayout:
    """Another way of having an output's models, with a template made for it.

    Example: SD 3.5 Large as one file with its text encoders inside
    (``sd3.5_large_fp8_scaled.safetensors``) instead of the model plus three encoder files;
    its template loads the encoders from the checkpoint instead of a TripleCLIPLoader.
    """

    id: str
    workflow: str  # file name in resources/workflows/
    required_models: tuple[RequiredModel, ...]


@dataclass(frozen=True)
class VideoSpec:
    """How a video output turns seconds into frames.

    Video models take a frame count of a fixed form: ``frame_step * n + 1`` (Wan 2.x: 4n+1,
    LTX-Video: 8n+1), so their temporal compression comes out whole. ``max_frames`` is the
    longest clip the model was trained for (Wan 2.2 TI2V 5B: 121 frames, 5 s at 24 fps);
    longer requests are cut to it.
    """

    frame_step: int = 4
    max_frames: int = 121


@dataclass(frozen=True)
class OutputConfig:
    """How a (transformed) text becomes media."""

    id: str
    name: Text
    description: Text
    media: MediaType
    route: Route
    order: int
    workflow: str = ""  # file name in resources/workflows/ (route comfyui)
    mapping: dict[str, tuple[InputTarget, ...]] = field(default_factory=dict)
    defaults: dict[str, float | int | str] = field(default_factory=dict)
    adaptation: Text | None = None  # instruction for the adaptation/code stage
    adaptation_role: str = "adaptation"  # model role used for the adaptation stage
    required_models: tuple[RequiredModel, ...] = ()
    #: Alternatives to ``workflow`` + ``required_models``, used when those are not installed.
    layouts: tuple[ModelLayout, ...] = ()
    estimated_seconds: float = 30.0
    vram_gb: float = 0.0
    data_protection: DataProtection = DataProtection.local
    enabled: bool = True  # off by default for the cloud route
    needs_english: bool = False  # the model understands English prompts best
    framework: str = ""  # "p5" or "tone" for code outputs
    engine_options: dict[str, str] = field(default_factory=dict)  # route-specific (model, ...)
    video: VideoSpec | None = None  # video outputs: the frame-count rule (mapping key "frames")
    #: The base-model family of the LoRAs this output takes (see :data:`LORA_FAMILIES`).
    lora_family: str = ""
    source: Path | None = None
    builtin: bool = True


@dataclass(frozen=True)
class Provider:
    """A model provider prefix (``ollama``, ``mistral``, ...) and its data protection.

    ``local`` is what the file claims; whether requests really stay in the school is decided
    from the host of ``base_url`` (:mod:`ai4artsed_desktop.pipeline.locality`), so a file
    can make a provider stricter but never make a public host local.

    Attributes:
        base_url: An OpenAI-compatible API root (``http://192.168.1.20:8080/v1`` for a
            lab's llama.cpp, LM Studio or vLLM server); empty for the built-in providers.
        api_key_env: The environment variable holding its key; empty for servers that
            need none.
    """

    id: str
    name: Text
    data_protection: DataProtection
    local: bool = True
    base_url: str = ""
    api_key_env: str = ""


@dataclass(frozen=True)
class ModelRoleInfo:
    """A model role (interception, translation, ...) and whether it must stay local."""

    id: str
    name: Text
    description: Text
    local_only: bool


#: The ``tier_gb`` of the preset for PCs without an NVIDIA graphics card.
CPU_TIER = 0


@dataclass(frozen=True)
class VramPreset:
    """Model choices and limits for one VRAM tier (GB).

    Tier 0 (:data:`CPU_TIER`) is the preset for PCs without an NVIDIA graphics card: it is
    chosen when no GPU is found, never for a small GPU.
    """

    tier_gb: int
    name: Text
    roles: dict[str, str]  # role id -> provider/model
    outputs: tuple[str, ...]  # outputs that fit this tier
    training: dict[str, float | int | str | bool]  # training knobs for this tier

    @property
    def cpu_only(self) -> bool:
        """The preset for PCs without an NVIDIA graphics card."""
        return self.tier_gb == CPU_TIER


@dataclass(frozen=True)
class Category:
    """A category of interception configs for the picker's filter."""

    id: str
    name: Text
    order: int


@dataclass(frozen=True)
class ContentProblem:
    """A file that was skipped (or partly used) and why.

    ``problem`` is the English sentence (the log, the CLI). ``key`` (optional) names the
    same sentence in the UI's catalogues and ``params`` fill its ``{placeholders}`` (a
    ``<name>_de`` / ``<name>_en`` pair fills ``{name}`` in the UI language), as for an
    ``AppError``: the window shows the problem in its language and falls back to
    ``problem`` when there is no key.

    ``used``: the entry loaded all the same and only this key was ignored (an unknown key,
    often a typo such as ``base_ulr``).
    """

    file: str
    field: str
    problem: str
    used: bool = False
    key: str = ""
    params: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = f" (field '{self.field}')" if self.field else ""
        return f"{self.file}{where}: {self.problem}"


@dataclass(frozen=True)
class ContentLibrary:
    """Everything the loader found, plus what it had to skip."""

    interceptions: dict[str, InterceptionConfig]
    outputs: dict[str, OutputConfig]
    categories: dict[str, Category]
    providers: dict[str, Provider]
    roles: dict[str, ModelRoleInfo]
    presets: dict[int, VramPreset]
    problems: tuple[ContentProblem, ...] = ()

    def sorted_interceptions(self) -> list[InterceptionConfig]:
        """Configs in display order."""
        return sorted(self.interceptions.values(), key=lambda c: (c.order, c.id))

    def sorted_outputs(self) -> list[OutputConfig]:
        """Outputs in display order."""
        return sorted(self.outputs.values(), key=lambda o: (o.order, o.id))
