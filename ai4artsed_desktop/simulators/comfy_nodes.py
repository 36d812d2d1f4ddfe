"""The ComfyUI simulator's node table: input schemas, outputs and flags (protocols.md §2.14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INT_MAX = 0xFFFFFFFFFFFFFFFF
SAMPLERS = (
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm",
    "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "gradient_estimation",
    "er_sde", "seeds_2", "seeds_3", "sa_solver", "ddim", "uni_pc", "uni_pc_bh2",
)  # fmt: skip
SCHEDULERS = (
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
    "linear_quadratic", "kl_optimal",
)  # fmt: skip
CLIP_TYPES = (
    "stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart",
    "cosmos", "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image",
    "hunyuan_image",
)  # fmt: skip
DUAL_CLIP_TYPES = ("sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image")
WEIGHT_DTYPES = ("default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2")


@dataclass(frozen=True)
class Inp:
    """One input of a node class.

    ``kind`` is a primitive (INT, FLOAT, STRING, BOOLEAN), ``COMBO`` or a link type (MODEL,
    CLIP, ...). A combo's options are ``choices`` or, with ``folder`` set, the files of that
    model folder (``"@input"`` means the input folder's images).
    """

    name: str
    kind: str
    opts: dict[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    folder: str = ""
    optional: bool = False


@dataclass(frozen=True)
class NodeDef:
    """A node class: its inputs in declaration order, outputs and object_info metadata."""

    name: str
    display: str
    category: str
    module: str
    inputs: tuple[Inp, ...]
    outputs: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    output_node: bool = False
    v3: bool = False
    hidden: tuple[str, ...] = ()
    description: str = ""
    #: Whether ``/object_info`` lists ``output_tooltips`` (as ComfyUI does for the classic
    #: nodes that declare them, and for every v3 node).
    tooltips: bool = False

    def input(self, name: str) -> Inp | None:
        """The declared input called ``name``, if any."""
        return next((i for i in self.inputs if i.name == name), None)


def _int(name: str, default: int, lo: int, hi: int, step: int = 1, **extra: Any) -> Inp:
    return Inp(name, "INT", {"default": default, "min": lo, "max": hi, "step": step, **extra})


def _float(name: str, default: float, lo: float, hi: float, step: float = 0.01) -> Inp:
    return Inp(name, "FLOAT", {"default": default, "min": lo, "max": hi, "step": step})


def _text(name: str, multiline: bool = True, default: str | None = None) -> Inp:
    opts: dict[str, Any] = {"multiline": multiline, "dynamicPrompts": multiline}
    if default is not None:
        opts = {"default": default}
    return Inp(name, "STRING", opts)


def _files(name: str, folder: str) -> Inp:
    return Inp(name, "COMBO", {}, folder=folder)


def _combo(name: str, choices: tuple[str, ...], default: str | None = None) -> Inp:
    opts = {"default": default} if default is not None else {}
    return Inp(name, "COMBO", opts, choices=choices)


def _link(name: str, kind: str) -> Inp:
    return Inp(name, kind)


_SIZE = {"default": 512, "min": 16, "max": 16384, "step": 8}
_BATCH = _int("batch_size", 1, 1, 4096)
_SAVE_HIDDEN = ("prompt", "extra_pnginfo")
_DEVICE = Inp("device", "COMBO", {"advanced": True}, choices=("default", "cpu"), optional=True)
_STRENGTH = _float("strength_model", 1.0, -100.0, 100.0)

NODES: tuple[NodeDef, ...] = (
    NodeDef("CheckpointLoaderSimple", "Load Checkpoint", "loaders", "nodes",
            (_files("ckpt_name", "checkpoints"),), ("MODEL", "CLIP", "VAE"), tooltips=True),
    NodeDef("UNETLoader", "Load Diffusion Model", "advanced/loaders", "nodes",
            (_files("unet_name", "diffusion_models"), _combo("weight_dtype", WEIGHT_DTYPES)),
            ("MODEL",)),
    NodeDef("LoraLoader", "Load LoRA", "loaders", "nodes",
            (_link("model", "MODEL"), _link("clip", "CLIP"), _files("lora_name", "loras"),
             _STRENGTH, _float("strength_clip", 1.0, -100.0, 100.0)), ("MODEL", "CLIP"),
            tooltips=True),
    NodeDef("LoraLoaderModelOnly", "LoraLoaderModelOnly", "loaders", "nodes",
            (_link("model", "MODEL"), _files("lora_name", "loras"), _STRENGTH), ("MODEL",),
            tooltips=True),
    NodeDef("CLIPLoader", "Load CLIP", "advanced/loaders", "nodes",
            (_files("clip_name", "text_encoders"), _combo("type", CLIP_TYPES), _DEVICE),
            ("CLIP",)),
    NodeDef("DualCLIPLoader", "DualCLIPLoader", "advanced/loaders", "nodes",
            (_files("clip_name1", "text_encoders"), _files("clip_name2", "text_encoders"),
             _combo("type", DUAL_CLIP_TYPES), _DEVICE), ("CLIP",)),
    NodeDef("TripleCLIPLoader", "TripleCLIPLoader", "advanced/loaders",
            "comfy_extras.nodes_sd3",
            tuple(_files(f"clip_name{i}", "text_encoders") for i in (1, 2, 3)), ("CLIP",),
            v3=True),
    NodeDef("VAELoader", "Load VAE", "loaders", "nodes", (_files("vae_name", "vae"),),
            ("VAE",)),
    NodeDef("CLIPTextEncode", "CLIP Text Encode (Prompt)", "conditioning", "nodes",
            (_text("text"), _link("clip", "CLIP")), ("CONDITIONING",), tooltips=True),
    NodeDef("CLIPTextEncodeSD3", "CLIPTextEncodeSD3", "advanced/conditioning",
            "comfy_extras.nodes_sd3",
            (_link("clip", "CLIP"), _text("clip_l"), _text("clip_g"), _text("t5xxl"),
             _combo("empty_padding", ("none", "empty_prompt"))), ("CONDITIONING",), v3=True),
    NodeDef("ConditioningZeroOut", "ConditioningZeroOut", "advanced/conditioning", "nodes",
            (_link("conditioning", "CONDITIONING"),), ("CONDITIONING",)),
    NodeDef("ModelSamplingSD3", "ModelSamplingSD3", "advanced/model",
            "comfy_extras.nodes_model_advanced",
            (_link("model", "MODEL"), _float("shift", 3.0, 0.0, 100.0)), ("MODEL",)),
    NodeDef("ModelSamplingFlux", "ModelSamplingFlux", "advanced/model",
            "comfy_extras.nodes_model_advanced",
            (_link("model", "MODEL"), _float("max_shift", 1.15, 0.0, 100.0),
             _float("base_shift", 0.5, 0.0, 100.0), _int("width", 1024, 16, 16384, 8),
             _int("height", 1024, 16, 16384, 8)), ("MODEL",)),
    NodeDef("FluxGuidance", "FluxGuidance", "advanced/conditioning/flux",
            "comfy_extras.nodes_flux",
            (_link("conditioning", "CONDITIONING"), _float("guidance", 3.5, 0.0, 100.0, 0.1)),
            ("CONDITIONING",), v3=True),
    NodeDef("EmptyLatentImage", "Empty Latent Image", "latent", "nodes",
            (Inp("width", "INT", dict(_SIZE)), Inp("height", "INT", dict(_SIZE)), _BATCH),
            ("LATENT",), tooltips=True),
    NodeDef("EmptySD3LatentImage", "EmptySD3LatentImage", "latent/sd3",
            "comfy_extras.nodes_sd3",
            (_int("width", 1024, 16, 16384, 16), _int("height", 1024, 16, 16384, 16), _BATCH),
            ("LATENT",), v3=True),
    NodeDef("EmptyImage", "EmptyImage", "image", "nodes",
            (_int("width", 512, 1, 16384), _int("height", 512, 1, 16384), _BATCH,
             _int("color", 0, 0, 0xFFFFFF, display="color")), ("IMAGE",)),
    NodeDef("LoadImage", "Load Image", "image", "nodes",
            (Inp("image", "COMBO", {"image_upload": True}, folder="@input"),),
            ("IMAGE", "MASK")),
    NodeDef("VAEEncode", "VAE Encode", "latent", "nodes",
            (_link("pixels", "IMAGE"), _link("vae", "VAE")), ("LATENT",)),
    NodeDef("KSampler", "KSampler", "sampling", "nodes",
            (_link("model", "MODEL"),
             _int("seed", 0, 0, INT_MAX, control_after_generate=True),
             _int("steps", 20, 1, 10000), Inp("cfg", "FLOAT", {"default": 8.0, "min": 0.0,
                                                               "max": 100.0, "step": 0.1,
                                                               "round": 0.01}),
             _combo("sampler_name", SAMPLERS), _combo("scheduler", SCHEDULERS),
             _link("positive", "CONDITIONING"), _link("negative", "CONDITIONING"),
             _link("latent_image", "LATENT"), _float("denoise", 1.0, 0.0, 1.0)), ("LATENT",),
            tooltips=True),
    NodeDef("VAEDecode", "VAE Decode", "latent", "nodes",
            (_link("samples", "LATENT"), _link("vae", "VAE")), ("IMAGE",), tooltips=True),
    NodeDef("SaveImage", "Save Image", "image", "nodes",
            (_link("images", "IMAGE"), _text("filename_prefix", False, "ComfyUI")),
            output_node=True, hidden=_SAVE_HIDDEN),
    NodeDef("PreviewImage", "Preview Image", "image", "nodes", (_link("images", "IMAGE"),),
            output_node=True, hidden=_SAVE_HIDDEN),
    NodeDef("EmptyLatentAudio", "Empty Latent Audio", "latent/audio",
            "comfy_extras.nodes_audio", (_float("seconds", 47.6, 1.0, 1000.0, 0.1), _BATCH),
            ("LATENT",), v3=True),
    NodeDef("ConditioningStableAudio", "ConditioningStableAudio", "conditioning",
            "comfy_extras.nodes_audio",
            (_link("positive", "CONDITIONING"), _link("negative", "CONDITIONING"),
             _float("seconds_start", 0.0, 0.0, 1000.0, 0.1),
             _float("seconds_total", 47.0, 0.0, 1000.0, 0.1)),
            ("CONDITIONING", "CONDITIONING"), ("positive", "negative"), v3=True),
    NodeDef("VAEDecodeAudio", "VAE Decode Audio", "latent/audio", "comfy_extras.nodes_audio",
            (_link("samples", "LATENT"), _link("vae", "VAE")), ("AUDIO",), v3=True),
    NodeDef("SaveAudio", "Save Audio (FLAC)", "audio", "comfy_extras.nodes_audio",
            (_link("audio", "AUDIO"), _text("filename_prefix", False, "audio/ComfyUI")),
            output_node=True, hidden=_SAVE_HIDDEN, v3=True),
    NodeDef("SaveAudioMP3", "Save Audio (MP3)", "audio", "comfy_extras.nodes_audio",
            (_link("audio", "AUDIO"), _text("filename_prefix", False, "audio/ComfyUI"),
             _combo("quality", ("V0", "128k", "320k"), "V0")),
            output_node=True, hidden=_SAVE_HIDDEN, v3=True),
    NodeDef("SaveAudioOpus", "Save Audio (Opus)", "audio", "comfy_extras.nodes_audio",
            (_link("audio", "AUDIO"), _text("filename_prefix", False, "audio/ComfyUI"),
             _combo("quality", ("64k", "96k", "128k", "192k", "320k"), "128k")),
            output_node=True, hidden=_SAVE_HIDDEN, v3=True),
    NodeDef("PreviewAudio", "Preview Audio", "audio", "comfy_extras.nodes_audio",
            (_link("audio", "AUDIO"),), output_node=True, hidden=_SAVE_HIDDEN, v3=True),
    NodeDef("TextEncodeAceStepAudio", "TextEncodeAceStepAudio", "conditioning",
            "comfy_extras.nodes_ace",
            (_link("clip", "CLIP"), _text("tags"), _text("lyrics"),
             _float("lyrics_strength", 1.0, 0.0, 10.0)), ("CONDITIONING",), v3=True),
    NodeDef("EmptyAceStepLatentAudio", "EmptyAceStepLatentAudio", "latent/audio",
            "comfy_extras.nodes_ace", (_float("seconds", 120.0, 1.0, 1000.0, 0.1), _BATCH),
            ("LATENT",), v3=True),
    NodeDef("LatentOperationTonemapReinhard", "LatentOperationTonemapReinhard",
            "latent/advanced/operations", "comfy_extras.nodes_latent",
            (_float("multiplier", 1.0, 0.0, 100.0),), ("LATENT_OPERATION",)),
    NodeDef("LatentApplyOperationCFG", "LatentApplyOperationCFG", "latent/advanced/operations",
            "comfy_extras.nodes_latent",
            (_link("model", "MODEL"), _link("operation", "LATENT_OPERATION")), ("MODEL",)),
    NodeDef("Wan22ImageToVideoLatent", "Wan22ImageToVideoLatent", "conditioning/inpaint",
            "comfy_extras.nodes_wan",
            (_link("vae", "VAE"), _int("width", 1280, 32, 16384, 32),
             _int("height", 704, 32, 16384, 32), _int("length", 49, 1, 16384, 4), _BATCH,
             Inp("start_image", "IMAGE", optional=True)), ("LATENT",), v3=True),
    NodeDef("CreateVideo", "Create Video", "image/video", "comfy_extras.nodes_video",
            (_link("images", "IMAGE"), _float("fps", 30.0, 1.0, 120.0, 1.0),
             Inp("audio", "AUDIO", optional=True)), ("VIDEO",), v3=True,
            description="Create a video from images."),
    NodeDef("SaveVideo", "Save Video", "image/video", "comfy_extras.nodes_video",
            (_link("video", "VIDEO"), _text("filename_prefix", False, "video/ComfyUI"),
             _combo("format", ("auto", "mp4"), "auto"), _combo("codec", ("auto", "h264"), "auto")),
            output_node=True, hidden=_SAVE_HIDDEN, v3=True,
            description="Saves the input images to your ComfyUI output directory."),
)  # fmt: skip

NODE_MAP: dict[str, NodeDef] = {node.name: node for node in NODES}
