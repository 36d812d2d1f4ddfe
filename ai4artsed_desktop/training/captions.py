"""Build the sd-scripts dataset folder: ``images/<repeats>_<trigger>/`` with ``.txt`` captions.

sd-scripts reads captions with ``caption_extension`` (default ``.caption``), so the TOML
written by :mod:`.config` sets ``caption_extension = ".txt"``: :data:`CAPTION_EXTENSION`
is the single source of both. An empty caption file aborts sd-scripts, so every caption
holds at least the trigger word.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from ..errors import ConfigError
from .project import validate_trigger

if TYPE_CHECKING:
    from .dataset import DatasetImage, DatasetReport

#: The caption extension written here and declared in the TOML (they must agree).
CAPTION_EXTENSION = ".txt"
#: images × repeats should land in this range (about 150 per epoch).
REPEAT_TARGET = (100, 200)
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class PreparedDataset:
    """What :func:`prepare` built, for the confirmation step before training.

    Attributes:
        images_dir: ``train_data_dir`` (the parent folder).
        subset_dir: ``<images_dir>/<repeats>_<trigger>``.
        image_count: images copied.
        repeats: how often each image is used per epoch.
        trigger: the trigger word(s).
        batch_size, epochs: the values the step estimate assumes.
    """

    images_dir: Path
    subset_dir: Path
    image_count: int
    repeats: int
    trigger: str
    batch_size: int = 1
    epochs: int = 10

    @property
    def steps_per_epoch(self) -> int:
        """ceil(images × repeats / batch size), as sd-scripts computes it."""
        return math.ceil(self.image_count * self.repeats / max(1, self.batch_size))

    @property
    def total_steps(self) -> int:
        """The estimated number of optimisation steps."""
        return self.steps_per_epoch * self.epochs

    def summary(self) -> str:
        """One sentence to confirm before training starts."""
        return (
            f"{self.image_count} images × {self.repeats} repeats = "
            f"{self.image_count * self.repeats} per epoch; {self.epochs} epochs at batch size "
            f"{self.batch_size} ≈ {self.total_steps} steps."
        )


def choose_repeats(image_count: int) -> int:
    """Repeats so that images × repeats lands near 150 (100–200 where possible).

    Raises:
        ConfigError: ``image_count`` is zero.
    """
    if image_count <= 0:
        raise ConfigError(
            "There are no usable images. Add at least one picture to train on.",
            key="training.error.no_images",
        )
    low, high = REPEAT_TARGET
    repeats = max(1, round((low + high) / 2 / image_count))
    while repeats > 1 and image_count * repeats > high:
        repeats -= 1
    while image_count * repeats < low:
        repeats += 1
    return repeats


def build_caption(trigger: str, existing: str) -> str:
    """The caption line: the trigger first, then an existing caption (never empty)."""
    text = " ".join(existing.split())
    if not text:
        return trigger
    if trigger.lower() in text.lower():
        return text
    return f"{trigger}, {text}"


def prepare(
    report: DatasetReport,
    project_dir: Path,
    *,
    trigger: str,
    repeats: int | None = None,
    batch_size: int = 1,
    epochs: int = 10,
) -> PreparedDataset:
    """Copy (or convert) the usable images into ``<project_dir>/images/<repeats>_<trigger>/``.

    An earlier ``images`` folder (with its captions and latent caches) is replaced.
    Blocking: call it in a thread.

    Raises:
        ConfigError: invalid trigger, no images, or ``repeats`` below 1.
        OSError: the project folder is not writable.
    """
    trigger = validate_trigger(trigger)
    if repeats is not None and repeats < 1:
        raise ConfigError(
            "Repeats must be at least 1.",
            detail=f"repeats={repeats}",
            key="training.error.repeats",
        )
    count = len(report.images)
    chosen = repeats if repeats is not None else choose_repeats(count)
    images_dir = project_dir / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    subset = images_dir / f"{chosen}_{trigger}"
    subset.mkdir(parents=True)
    for index, image in enumerate(report.images, start=1):
        _copy_one(image, subset, index, trigger)
    return PreparedDataset(images_dir, subset, count, chosen, trigger, batch_size, epochs)


def _copy_one(image: DatasetImage, subset: Path, index: int, trigger: str) -> None:
    stem = f"{index:04d}_{_SLUG.sub('-', image.source.stem).strip('-')[:40] or 'image'}"
    if image.convert:
        with Image.open(image.source) as src:
            src.seek(0)  # the first frame of an animation
            mode = (
                "RGBA" if src.mode in ("RGBA", "LA", "PA") or "transparency" in src.info else "RGB"
            )
            src.convert(mode).save(subset / f"{stem}.png", format="PNG")
    else:
        shutil.copyfile(image.source, subset / f"{stem}{image.source.suffix.lower()}")
    caption = build_caption(trigger, image.caption)
    assert caption, "captions must never be empty (sd-scripts aborts on empty caption files)"
    (subset / f"{stem}{CAPTION_EXTENSION}").write_text(caption + "\n", encoding="utf-8")
