"""The tokenizers sd-scripts needs, shipped with the app so that training works offline.

sd-scripts asks the Hugging Face hub for its tokenizers on every start, unless its
``tokenizer_cache_dir`` holds them as ``<dir>/<hub id with "/" as "_">/``; offline it then
dies with a line that tells a teacher nothing. The app ships all three SD 3.5 needs (FLUX.1
uses two of them, CLIP-L and T5-XXL) in
``resources/tokenizers`` (built by ``scripts/build_tokenizers.py``): CLIP-L's and CLIP-G's from
open-clip-torch's MIT-licensed vocabulary, and T5-XXL's ``tokenizer.json`` (Google's
Apache-2.0 vocabulary as stable-diffusion.cpp, MIT, embeds it). They are copied into a
writable cache folder, which is what the TOML names: a tokenizer sd-scripts saved there
itself is kept.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..paths import resources_dir
from .models import ModelFamily

#: sd-scripts' hub ids of the tokenizers each family loads.
NEEDED = {
    ModelFamily.sd15: ("openai/clip-vit-large-patch14",),
    ModelFamily.sdxl: ("openai/clip-vit-large-patch14", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"),
    ModelFamily.sd35: (
        "openai/clip-vit-large-patch14",
        "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
        "google/t5-v1_1-xxl",
    ),
    ModelFamily.flux: ("openai/clip-vit-large-patch14", "google/t5-v1_1-xxl"),
}


def shipped_dir() -> Path:
    """The tokenizers that come with the app."""
    return resources_dir() / "tokenizers"


def folder_name(hub_id: str) -> str:
    """sd-scripts' folder name for a hub id (``/`` becomes ``_``)."""
    return hub_id.replace("/", "_")


def prepare_cache(cache_dir: Path, shipped: Path | None = None) -> Path:
    """``cache_dir/tokenizers`` with every shipped tokenizer in it; returns that folder.

    A tokenizer already there is kept (it may be one sd-scripts saved). Each one is copied
    into a temporary folder first and renamed, so a copy cut short never looks complete.

    Raises:
        OSError: the cache folder is not writable.
    """
    source = shipped or shipped_dir()
    target = cache_dir / "tokenizers"
    target.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        dest = target / folder.name
        if dest.is_dir():
            continue
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=target))
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        staging.rename(dest)
    return target


def missing(family: ModelFamily, cache: Path) -> list[str]:
    """The hub ids ``family`` needs that are not in ``cache`` (sd-scripts would fetch them)."""
    return [hub for hub in NEEDED[family] if not (cache / folder_name(hub)).is_dir()]
