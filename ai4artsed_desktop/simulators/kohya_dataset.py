"""Settings and dataset handling of the kohya simulator: config flattening, CLI flags, folders."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
_SUBSET = re.compile(r"^(\d+)_(.*)$")


class UsageError(Exception):
    """A command-line error (argparse exits with status 2)."""


def parse_cli(args: list[str]) -> dict[str, Any]:
    """``--key value``, ``--key=value`` and bare ``--flag`` (true) pairs."""
    values: dict[str, Any] = {}
    index = 0
    while index < len(args):
        token = args[index]
        if not token.startswith("--") or len(token) == 2:
            raise UsageError(f"unrecognized arguments: {' '.join(args[index:])}")
        key, sep, inline = token[2:].partition("=")
        if sep:
            values[key] = inline
            index += 1
        elif index + 1 < len(args) and not args[index + 1].startswith("--"):
            values[key] = args[index + 1]
            index += 2
        else:
            values[key] = True
            index += 1
    return values


def config_path(raw: str) -> Path:
    """``--config_file`` with ``.toml`` added when missing (as sd-scripts does)."""
    return Path(raw if raw.endswith(".toml") else raw + ".toml")


def flatten(document: dict[str, Any]) -> dict[str, Any]:
    """Every table's keys in one namespace; a key in two tables is last-wins."""
    flat: dict[str, Any] = {}
    for key, item in document.items():
        if isinstance(item, dict):
            flat.update(item)
        else:
            flat[key] = item
    return flat


def as_int(values: dict[str, Any], key: str, default: int | None) -> int | None:
    """An integer setting from TOML (typed) or CLI (text)."""
    raw = values.get(key)
    if raw is None or isinstance(raw, bool):
        return default
    return int(float(raw))


def as_bool(values: dict[str, Any], key: str) -> bool:
    """A ``store_true`` flag: true in TOML, or given on the command line."""
    raw = values.get(key, False)
    return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")


@dataclass
class Subset:
    """One ``<repeats>_<tokens>`` folder (or a dataset_config subset)."""

    image_dir: Path
    repeats: int
    tokens: str
    caption_extension: str
    images: list[Path] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Images × repeats."""
        return len(self.images) * self.repeats


@dataclass
class Dataset:
    """What the simulator trains on."""

    subsets: list[Subset]
    batch_size: int
    resolution: str
    ignored: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Training images including repeats."""
        return sum(s.count for s in self.subsets)

    def steps_per_epoch(self) -> int:
        """ceil(images × repeats / batch size)."""
        return math.ceil(self.total / max(1, self.batch_size))


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def from_folders(values: dict[str, Any]) -> Dataset:
    """The ``train_data_dir`` convention: subfolders named ``<repeats>_<tokens>``."""
    root = Path(str(values.get("train_data_dir") or "."))
    caption_ext = str(values.get("caption_extension") or ".caption")
    dataset = Dataset(
        [], as_int(values, "train_batch_size", 1) or 1, str(values.get("resolution", "512"))
    )
    if not root.is_dir():
        return dataset
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        match = _SUBSET.match(folder.name)
        if match is None:
            dataset.ignored.append(folder.name)
            continue
        subset = Subset(folder, int(match[1]), match[2], caption_ext, _images_in(folder))
        dataset.subsets.append(subset)
    return dataset


def from_dataset_config(path: Path, values: dict[str, Any]) -> Dataset:
    """A ``--dataset_config`` file: ``[general]``, ``[[datasets]]``, ``[[datasets.subsets]]``.

    Folder names carry no meaning here; repeats and tokens come from the file.
    """
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    general = dict(document.get("general", {}))
    datasets = list(document.get("datasets", []))
    first = dict(datasets[0]) if datasets else {}
    batch = int(
        first.get("batch_size", general.get("batch_size", values.get("train_batch_size", 1)))
    )
    dataset = Dataset([], batch, str(first.get("resolution", general.get("resolution", 512))))
    for entry in datasets:
        for raw in entry.get("subsets", []):
            folder = Path(str(raw["image_dir"]))
            ext = str(raw.get("caption_extension", general.get("caption_extension", ".caption")))
            images = _images_in(folder) if folder.is_dir() else []
            subset = Subset(
                folder,
                int(raw.get("num_repeats", 1)),
                str(raw.get("class_tokens", "")),
                ext,
                images,
            )
            dataset.subsets.append(subset)
    return dataset
