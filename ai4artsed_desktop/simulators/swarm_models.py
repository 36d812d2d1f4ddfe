"""The SwarmUI simulator's model folders: seeding, scanning, descriptions, loose matching."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".sft", ".gguf")

#: Subtype -> folder below ``<data_dir>/Models`` (Swarm's default layout).
SUBTYPE_FOLDERS = {"Stable-Diffusion": "Stable-diffusion", "LoRA": "Lora", "VAE": "VAE"}

#: Files created in a fresh models folder, so a new simulator has something to list.
SEED_FILES = {
    "Stable-Diffusion": (
        "OfficialStableDiffusion/sd3.5_large.safetensors",
        "OfficialStableDiffusion/sd3.5_large_turbo.safetensors",
        "OfficialStableDiffusion/sd3.5_medium.safetensors",
        "Flux/flux1-schnell.safetensors",
    ),
    "LoRA": ("sd35_demo_paper_cut.safetensors", "styles/sd35_demo_watercolour.safetensors"),
    "VAE": (),
}

_ARCHITECTURES = (
    ("sd3.5_large", "stable-diffusion-v3.5-large", "Stable Diffusion 3.5 Large", 1024),
    ("sd3.5_medium", "stable-diffusion-v3.5-medium", "Stable Diffusion 3.5 Medium", 1024),
    ("flux", "flux-1-schnell", "Flux.1 Schnell", 1024),
)


def clean_name(name: str) -> str:
    """Swarm's loose form of a model name: lower case, no spaces, ``/`` separators, no extension."""
    text = name.replace("\\", "/").strip().lower().replace(" ", "")
    for ext in MODEL_EXTENSIONS:
        if text.endswith(ext):
            return text[: -len(ext)]
    return text


def match_model(given: str, names: list[str]) -> str | None:
    """Resolve ``given`` against ``names``: exact loose match first, else the shortest containing.

    Args:
        given: what the client sent.
        names: the listed model names.

    Returns:
        The listed name, or None when nothing matches.
    """
    wanted = clean_name(given)
    if not wanted:
        return None
    for name in names:
        if clean_name(name) == wanted:
            return name
    containing = [name for name in names if wanted in clean_name(name)]
    if not containing:
        return None
    return min(containing, key=lambda name: (len(name), name))


@dataclass(frozen=True)
class ModelInfo:
    """One model file as the simulator lists it."""

    name: str
    subtype: str
    time_created: int
    time_modified: int

    def describe(self, *, loaded: bool) -> dict[str, Any]:
        """The ListModels file entry for this model."""
        arch, title, size = "unknown", Path(self.name).stem, 1024
        if self.subtype == "LoRA":
            arch, title = "stable-diffusion-v3.5-large/lora", f"LoRA {Path(self.name).stem}"
        else:
            for key, architecture, pretty, std in _ARCHITECTURES:
                if key in self.name.lower():
                    arch, title, size = architecture, pretty, std
                    if "turbo" in self.name.lower():
                        title += " Turbo"
                    break
        return {
            "name": self.name,
            "title": title,
            "author": "",
            "description": "",
            "architecture": arch,
            "class": arch,
            "compat_class": arch.split("/")[0],
            "standard_width": size,
            "standard_height": size,
            "loaded": loaded,
            "local": True,
            "trigger_phrase": None,
            "preview_image": f"/ViewSpecial/{self.subtype}/{self.name}",
            "is_supported_model_format": True,
            "is_negative_embedding": False,
            "time_created": self.time_created,
            "time_modified": self.time_modified,
            "hash": "",
            "special_format": "",
        }


class ModelCatalog:
    """Model lists per subtype, scanned from disk at start and on :meth:`refresh`.

    Like the real server, files copied in later are unknown until a refresh.
    """

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._models: dict[str, list[ModelInfo]] = {}

    def seed(self) -> None:
        """Create the default folders and a few placeholder model files if they are missing."""
        for subtype, folder in SUBTYPE_FOLDERS.items():
            base = self.models_dir / folder
            fresh = not base.exists()
            base.mkdir(parents=True, exist_ok=True)
            if not fresh:
                continue
            for name in SEED_FILES[subtype]:
                path = base / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"simulated model weights\n")

    def refresh(self) -> None:
        """Rescan every subtype folder."""
        self._models = {sub: self._scan(sub, folder) for sub, folder in SUBTYPE_FOLDERS.items()}

    def _scan(self, subtype: str, folder: str) -> list[ModelInfo]:
        base = self.models_dir / folder
        found: list[ModelInfo] = []
        if not base.is_dir():
            return found
        for root, _dirs, files in os.walk(base):
            for file in files:
                if not file.lower().endswith(MODEL_EXTENSIONS):
                    continue
                path = Path(root) / file
                stat = path.stat()
                name = path.relative_to(base).as_posix()
                found.append(ModelInfo(name, subtype, int(stat.st_ctime), int(stat.st_mtime)))
        found.sort(key=lambda info: info.name.lower())
        return found

    def subtypes(self) -> list[str]:
        """The known subtypes."""
        return list(SUBTYPE_FOLDERS)

    def models(self, subtype: str) -> list[ModelInfo]:
        """The models of one subtype (empty for an unknown subtype)."""
        return list(self._models.get(subtype, []))

    def names(self, subtype: str) -> list[str]:
        """The model names of one subtype."""
        return [info.name for info in self.models(subtype)]

    def find(self, subtype: str, name: str) -> ModelInfo | None:
        """The model that ``name`` resolves to under Swarm's loose matching, if any."""
        resolved = match_model(name, self.names(subtype))
        if resolved is None:
            return None
        return next(info for info in self.models(subtype) if info.name == resolved)

    def listing(self, subtype: str, path: str, depth: int, loaded: str | None) -> dict[str, Any]:
        """The ListModels answer for a folder ``path`` (relative) and a folder ``depth``."""
        prefix = path.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        folders: set[str] = set()
        files: list[dict[str, Any]] = []
        for info in self.models(subtype):
            if not info.name.startswith(prefix):
                continue
            rest = info.name[len(prefix) :].split("/")
            for level in range(1, min(len(rest) - 1, depth) + 1):
                folders.add(prefix + "/".join(rest[:level]))
            if len(rest) - 1 <= depth:
                files.append(info.describe(loaded=info.name == loaded))
        return {"folders": sorted(folders), "files": files}
