"""Model folders and ``/object_info`` rendering for the ComfyUI simulator (§2.4, §2.16)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .comfy_nodes import NODE_MAP, NODES, Inp, NodeDef

MODEL_EXTENSIONS = frozenset(
    {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
)
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
#: Logical folder -> subfolders of the models folder searched for it (ComfyUI's aliases).
FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "loras": ("loras",),
    "text_encoders": ("text_encoders", "clip"),
    "vae": ("vae",),
    "diffusion_models": ("unet", "diffusion_models"),
    "embeddings": ("embeddings",),
    "upscale_models": ("upscale_models",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "clip_vision": ("clip_vision",),
    "vae_approx": ("vae_approx",),
}
#: Files a fresh models folder is seeded with: the defaults of our templates.
SEED_FILES: tuple[tuple[str, str], ...] = (
    ("checkpoints", "sd3.5_large.safetensors"),
    ("checkpoints", "sd_xl_base_1.0.safetensors"),
    ("checkpoints", "v1-5-pruned-emaonly.safetensors"),
    ("checkpoints", "stable-audio-open-1.0.safetensors"),
    ("checkpoints", "ace_step_v1_3.5b.safetensors"),
    ("diffusion_models", "flux1-dev.safetensors"),
    ("vae", "ae.safetensors"),
    ("text_encoders", "clip_l.safetensors"),
    ("text_encoders", "clip_g.safetensors"),
    ("text_encoders", "t5xxl_fp16.safetensors"),
    ("text_encoders", "t5-base.safetensors"),
    ("diffusion_models", "wan2.2_ti2v_5B_fp16.safetensors"),
    ("text_encoders", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"),
    ("vae", "wan2.2_vae.safetensors"),
)
_PLACEHOLDER = b"AI4ArtsEd ComfyUI simulator: placeholder model file, no weights inside.\n"


@dataclass(frozen=True)
class Folders:
    """The simulator's folders: models, output, input and temp."""

    models: Path
    output: Path
    input: Path
    temp: Path

    def ensure(self) -> None:
        """Create the folders that must exist."""
        for path in (self.output, self.input, self.temp):
            path.mkdir(parents=True, exist_ok=True)
        for subs in FOLDERS.values():
            (self.models / subs[0]).mkdir(parents=True, exist_ok=True)

    def seed_models(self) -> int:
        """Write placeholder model files if the models folder holds no model file at all."""
        if any(self.model_files(name) for name in FOLDERS):
            return 0
        for folder, name in SEED_FILES:
            target = self.models / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_PLACEHOLDER)
        return len(SEED_FILES)

    def model_files(self, folder: str) -> list[str]:
        """Sorted model file names of a logical folder, relative, with the OS separator.

        The folder is re-read on every call, so a file copied in appears at once.
        """
        found: set[str] = set()
        for sub in FOLDERS.get(folder, ()):
            base = self.models / sub
            found.update(_walk(base, MODEL_EXTENSIONS))
        return sorted(found)

    def model_path(self, folder: str, name: str) -> Path | None:
        """The file behind a model name, if it exists."""
        for sub in FOLDERS.get(folder, ()):
            candidate = self.models / sub / name
            if candidate.is_file():
                return candidate
        return None

    def input_images(self) -> list[str]:
        """Image files directly in the input folder, sorted (LoadImage's list)."""
        if not self.input.is_dir():
            return []
        return sorted(
            p.name
            for p in self.input.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )

    def combo_options(self, inp: Inp) -> list[str]:
        """The current option list of a combo input."""
        if inp.folder == "@input":
            return self.input_images()
        if inp.folder:
            return self.model_files(inp.folder)
        return list(inp.choices)


def _walk(base: Path, extensions: frozenset[str]) -> list[str]:
    if not base.is_dir():
        return []
    names: list[str] = []
    for root, _dirs, files in os.walk(base, followlinks=True):
        rel_root = os.path.relpath(root, base)
        for file in files:
            if os.path.splitext(file)[1].lower() in extensions:
                names.append(file if rel_root == "." else os.path.join(rel_root, file))
    return names


def _input_entry(node: NodeDef, inp: Inp, folders: Folders) -> list[Any]:
    if inp.kind != "COMBO":
        return [inp.kind, dict(inp.opts)] if inp.opts else [inp.kind]
    options = folders.combo_options(inp)
    if node.v3:
        return ["COMBO", {**inp.opts, "options": options, "multiselect": False}]
    return [options, dict(inp.opts)] if inp.opts else [options]


def node_info(node: NodeDef, folders: Folders) -> dict[str, Any]:
    """The ``/object_info`` entry of one class, combos in the encoding the class uses."""
    required = {i.name: _input_entry(node, i, folders) for i in node.inputs if not i.optional}
    optional = {i.name: _input_entry(node, i, folders) for i in node.inputs if i.optional}
    inputs: dict[str, Any] = {"required": required}
    order: dict[str, list[str]] = {"required": list(required)}
    if optional:
        inputs["optional"] = optional
        order["optional"] = list(optional)
    if node.hidden:
        inputs["hidden"] = {name: [name.upper()] for name in node.hidden}
        order["hidden"] = list(node.hidden)
    info: dict[str, Any] = {
        "input": inputs,
        "input_order": order,
        "output": list(node.outputs),
        "output_is_list": [False] * len(node.outputs),
        "output_name": list(node.output_names or node.outputs),
        "name": node.name,
        "display_name": node.display,
        "description": node.description,
        "python_module": node.module,
        "category": node.category,
        "output_node": node.output_node,
    }
    if node.tooltips:  # our own words: only the shape must be ComfyUI's
        info["output_tooltips"] = [f"The {name.lower()}." for name in info["output_name"]]
    if node.v3:
        info.update({"deprecated": False, "experimental": False, "api_node": False})
        info["output_tooltips"] = [None] * len(node.outputs)
        info["output_matchtypes"] = None
    return info


def object_info(folders: Folders, name: str | None = None) -> dict[str, Any]:
    """The whole ``/object_info`` document, or one class (``{}`` for an unknown class)."""
    if name is not None:
        node = NODE_MAP.get(name)
        return {} if node is None else {name: node_info(node, folders)}
    return {node.name: node_info(node, folders) for node in NODES}
