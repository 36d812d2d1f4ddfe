"""Dataset checks for LoRA training: which dropped images are usable, and what is wrong.

Problems (unreadable files, small images, duplicates, odd formats, other files) are
*reported*, never fatal: the user decides. :func:`prepare` (in :mod:`.captions`) then
builds the folder layout sd-scripts reads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError

from .captions import PreparedDataset, choose_repeats, prepare

__all__ = [
    "DatasetImage",
    "DatasetProblem",
    "DatasetReport",
    "PreparedDataset",
    "choose_repeats",
    "prepare",
    "scan",
]

log = logging.getLogger(__name__)

#: What sd-scripts reads as images (protocols.md 4.3), compared in lower case.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
#: Formats sd-scripts does not read; converted to PNG when Pillow can open them.
CONVERT_EXTENSIONS = frozenset({".gif", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jxl"})
CAPTION_EXTENSIONS = (".txt", ".caption")
DEFAULT_MIN_SIDE = 512
#: Two images whose difference hashes differ in at most this many of 64 bits look alike.
NEAR_DUPLICATE_BITS = 4

ProblemKind = Literal[
    "unreadable", "too_small", "duplicate", "near_duplicate", "convert", "unsupported", "ignored"
]
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    UnidentifiedImageError,
    Image.DecompressionBombError,
)


@dataclass(frozen=True)
class DatasetProblem:
    """Something the user should know about one file.

    Attributes:
        path: the file.
        kind: ``unreadable``, ``too_small``, ``duplicate``, ``near_duplicate``, ``convert``
            (an odd format that will be converted to PNG), ``unsupported`` (an odd format
            Pillow cannot open: convert it yourself) or ``ignored`` (not an image).
        message: a plain sentence.
        used: True when the file is still used for training despite the problem.
    """

    path: Path
    kind: ProblemKind
    message: str
    used: bool = False


@dataclass(frozen=True)
class DatasetImage:
    """One usable image.

    Attributes:
        source: the original file.
        width, height: pixel size.
        sha256: hash of the file's bytes (exact duplicates).
        caption: the first line of an existing caption file next to it ('' when none).
        caption_file: that caption file, if any.
        convert: True when the file must be converted to PNG for sd-scripts.
    """

    source: Path
    width: int
    height: int
    sha256: str
    caption: str = ""
    caption_file: Path | None = None
    convert: bool = False

    @property
    def short_side(self) -> int:
        """The shorter side in pixels."""
        return min(self.width, self.height)


@dataclass(frozen=True)
class DatasetReport:
    """The result of :func:`scan`: usable images and reported problems."""

    images: tuple[DatasetImage, ...]
    problems: tuple[DatasetProblem, ...]
    min_side: int = DEFAULT_MIN_SIDE

    @property
    def count(self) -> int:
        """Number of usable images."""
        return len(self.images)

    @property
    def captions_found(self) -> int:
        """Images that came with a non-empty caption file."""
        return sum(1 for image in self.images if image.caption)

    def problems_of(self, kind: ProblemKind) -> tuple[DatasetProblem, ...]:
        """The problems of one kind."""
        return tuple(p for p in self.problems if p.kind == kind)

    def summary(self) -> str:
        """One sentence for the dataset check screen."""
        text = f"{self.count} usable images, {self.captions_found} with captions"
        skipped = sum(1 for p in self.problems if not p.used)
        if skipped:
            text += f"; {skipped} files skipped"
        warned = sum(1 for p in self.problems if p.used)
        if warned:
            text += f"; {warned} warnings"
        return text + "."


def scan(
    sources: Sequence[Path], *, min_side: int = DEFAULT_MIN_SIDE, skip_small: bool = False
) -> DatasetReport:
    """Check dropped folders (searched recursively) and files; blocking, use a thread.

    Args:
        sources: folders and files, in the order they were dropped.
        min_side: images whose shorter side is below this are reported as too small.
        skip_small: leave too-small images out instead of only warning about them.
    """
    images: list[DatasetImage] = []
    problems: list[DatasetProblem] = []
    by_hash: dict[str, Path] = {}
    hashes: list[tuple[int, Path]] = []
    for path in _files(sources):
        found = _check_file(path, problems)
        if found is None:
            continue
        image, dhash = found
        first = by_hash.get(image.sha256)
        if first is not None:
            problems.append(
                DatasetProblem(path, "duplicate", f"The same image as {first.name}; skipped.")
            )
            continue
        if image.short_side < min_side:
            problems.append(_too_small(image, min_side, skip_small))
            if skip_small:
                continue
        _check_near_duplicate(path, dhash, hashes, problems)
        by_hash[image.sha256] = path
        hashes.append((dhash, path))
        images.append(image)
    return DatasetReport(tuple(images), tuple(problems), min_side)


def _files(sources: Sequence[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for source in sources:
        candidates = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in candidates:
            if path.name.startswith(".") or not path.is_file():
                continue
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path


def _check_file(path: Path, problems: list[DatasetProblem]) -> tuple[DatasetImage, int] | None:
    ext = path.suffix.lower()
    if ext in CAPTION_EXTENSIONS:
        return None  # read together with its image
    if ext not in IMAGE_EXTENSIONS and ext not in CONVERT_EXTENSIONS:
        problems.append(DatasetProblem(path, "ignored", "Not an image; ignored."))
        return None
    try:
        width, height, dhash = _decode(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except _DECODE_ERRORS as exc:
        if ext in CONVERT_EXTENSIONS:
            kind = ext[1:].upper()
            message = f"{kind} files cannot be used. Convert it to PNG or JPG and add it again."
            problems.append(DatasetProblem(path, "unsupported", message))
        else:
            problems.append(
                DatasetProblem(path, "unreadable", f"The file is damaged or not an image ({exc}).")
            )
        return None
    convert = ext in CONVERT_EXTENSIONS
    if convert:
        message = f"{ext[1:].upper()} is not read by the trainer; it will be converted to PNG."
        problems.append(DatasetProblem(path, "convert", message, used=True))
    caption, caption_file = _caption_for(path)
    image = DatasetImage(path, width, height, digest, caption, caption_file, convert)
    return image, dhash


def _decode(path: Path) -> tuple[int, int, int]:
    """Size and a 64-bit difference hash; raises when the file is damaged."""
    with Image.open(path) as probe:
        probe.verify()  # structure and checksums; the object is unusable afterwards
    with Image.open(path) as image:
        width, height = image.size
        image.draft("L", (64, 64))  # JPEG: decode at reduced size, fast
        image.load()  # a truncated file fails here
        small = image.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()  # mode L: one byte per pixel
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (1 if left > right else 0)
    return width, height, bits


def _caption_for(image: Path) -> tuple[str, Path | None]:
    for ext in CAPTION_EXTENSIONS:
        candidate = image.with_suffix(ext)
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.info("cannot read caption %s: %s", candidate, exc)
                continue
            first = text.strip().splitlines()[0].strip() if text.strip() else ""
            return first, candidate
    return "", None


def _too_small(image: DatasetImage, min_side: int, skipped: bool) -> DatasetProblem:
    what = "skipped" if skipped else "it will be enlarged and may look blurry"
    message = f"Only {image.width}×{image.height} pixels (at least {min_side} recommended); {what}."
    return DatasetProblem(image.source, "too_small", message, used=not skipped)


def _check_near_duplicate(
    path: Path, dhash: int, hashes: list[tuple[int, Path]], problems: list[DatasetProblem]
) -> None:
    for other_hash, other in hashes:
        if (dhash ^ other_hash).bit_count() <= NEAR_DUPLICATE_BITS:
            message = f"Looks almost like {other.name}; similar images make the LoRA copy them."
            problems.append(DatasetProblem(path, "near_duplicate", message, used=True))
            return
