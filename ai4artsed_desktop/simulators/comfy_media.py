"""Deterministic media for the ComfyUI simulator: PNG patterns, previews, audio, file naming.

Everything is derived from the graph's prompt text, seed and size, so the same request gives
byte-identical files. Images are capped at 2048 px per edge; audio at ``max_seconds``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import math
import os
import random
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageOps
from PIL.PngImagePlugin import PngInfo

from .comfy_flac import encode_flac

MAX_EDGE = 2048
SAMPLE_RATE = 44100
_SCALE = (0, 2, 4, 7, 9, 12, 14, 16)  # a major pentatonic over two octaves


def digest_rng(*parts: object) -> random.Random:
    """A ``random.Random`` seeded from a stable hash of ``parts``."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return random.Random(int.from_bytes(hashlib.sha256(text).digest()[:8], "big"))


def _colour(rng: random.Random) -> tuple[int, int, int]:
    hue = rng.random()
    sat, val = 0.45 + rng.random() * 0.5, 0.35 + rng.random() * 0.6
    i = int(hue * 6) % 6
    f = hue * 6 - int(hue * 6)
    p, q, t = val * (1 - sat), val * (1 - f * sat), val * (1 - (1 - f) * sat)
    rgb = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)][i]
    return (int(rgb[0] * 255), int(rgb[1] * 255), int(rgb[2] * 255))


@dataclass(frozen=True)
class ImageSpec:
    """What an IMAGE value looks like: a generated pattern, a solid colour or a loaded file."""

    width: int
    height: int
    text: str = ""
    seed: int = 0
    detail: str = ""
    colour: int | None = None
    source: str = ""
    frame: int = 0  # a video frame: its index among ``frames``
    frames: int = 1

    def render(self) -> Image.Image:
        """Draw the image (RGB); video frames pan slowly across a larger pattern."""
        width, height = min(self.width, MAX_EDGE), min(self.height, MAX_EDGE)
        if self.frames > 1 and not self.source and self.colour is None:
            return pan_frame(
                width, height, self.text, self.seed, self.detail, self.frame, self.frames
            )
        if self.source:
            with Image.open(self.source) as loaded:
                return ImageOps.exif_transpose(loaded).convert("RGB")
        if self.colour is not None:
            rgb = ((self.colour >> 16) & 0xFF, (self.colour >> 8) & 0xFF, self.colour & 0xFF)
            return Image.new("RGB", (width, height), rgb)
        return pattern(width, height, self.text, self.seed, self.detail)


def pattern(width: int, height: int, text: str, seed: int, detail: str = "") -> Image.Image:
    """A generative pattern: a two-colour gradient with soft shapes, all from text + seed."""
    rng = digest_rng(text, seed, detail)
    start, end = _colour(rng), _colour(rng)
    gradient = Image.linear_gradient("L").rotate(rng.uniform(0, 360), expand=False)
    base = ImageOps.colorize(gradient.resize((width, height)), start, end).convert("RGB")
    layer = Image.new("RGB", (width, height), (0, 0, 0))
    mask = Image.new("L", (width, height), 0)
    draw_rgb, draw_mask = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    edge = max(width, height)
    for _ in range(6 + len(text) % 7):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.3) * edge
        box = (x - r, y - r, x + r, y + r)
        shape = draw_rgb.ellipse if rng.random() < 0.6 else draw_rgb.rectangle
        shape(box, fill=_colour(rng))
        (draw_mask.ellipse if shape == draw_rgb.ellipse else draw_mask.rectangle)(
            box, fill=int(90 + rng.random() * 120)
        )
    blur = max(1, edge // 64)
    base.paste(layer.filter(ImageFilter.GaussianBlur(blur)), (0, 0), mask)
    return base


@functools.lru_cache(maxsize=2)
def _scene(width: int, height: int, text: str, seed: int, detail: str) -> Image.Image:
    """The pattern a clip's camera pans across (a third larger than a frame)."""
    return pattern(width * 4 // 3, height * 4 // 3, text, seed, detail)


def pan_frame(
    width: int, height: int, text: str, seed: int, detail: str, frame: int, frames: int
) -> Image.Image:
    """Frame ``frame`` of ``frames``: a window gliding across one pattern (a slow camera pan)."""
    scene = _scene(width, height, text, seed, detail)
    t = frame / max(1, frames - 1)
    ease = (1 - math.cos(math.pi * t)) / 2
    left = round(t * (scene.width - width))
    top = round(ease * (scene.height - height))
    return scene.crop((left, top, left + width, top + height))


def preview_jpeg(spec: ImageSpec, step: int, total: int, max_edge: int) -> bytes:
    """A small JPEG that sharpens from noise-like blur towards the final pattern."""
    scale = max(spec.width, spec.height, 1) / max(1, min(max_edge, 512))
    width = max(8, int(min(spec.width, MAX_EDGE) / max(scale, 8.0)))
    height = max(8, int(min(spec.height, MAX_EDGE) / max(scale, 8.0)))
    image = pattern(width, height, spec.text, spec.seed, spec.detail)
    radius = (1.0 - step / max(total, 1)) * max(width, height) / 6
    if radius > 0.5:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class AudioSpec:
    """What an AUDIO value sounds like: a tone sketch from text + seed."""

    seconds: float
    text: str = ""
    seed: int = 0
    detail: str = ""


def synthesize(spec: AudioSpec, max_seconds: float) -> tuple[array[int], array[int]]:
    """A deterministic stereo sketch: pentatonic notes with envelopes and a little noise."""
    rng = digest_rng(spec.text, spec.seed, spec.detail)
    total = max(1, int(min(spec.seconds, max_seconds) * SAMPLE_RATE))
    left, right = array("h", bytes(2 * total)), array("h", bytes(2 * total))
    root = 110.0 * 2 ** (rng.randrange(12) / 12)
    note_len = int(SAMPLE_RATE * rng.choice((0.125, 0.25, 0.375)))
    table_size = 2048
    table = [math.sin(2 * math.pi * i / table_size) for i in range(table_size)]
    for start in range(0, total, note_len):
        freq = root * 2 ** (rng.choice(_SCALE) / 12)
        pan, amp = rng.random(), 6000 + rng.random() * 6000
        step = freq * table_size / SAMPLE_RATE
        count = min(note_len, total - start)
        for i in range(count):
            env = min(1.0, i / 400) * (1.0 - i / note_len)
            value = amp * env * table[int(i * step) % table_size] + rng.uniform(-200, 200)
            left[start + i] = int(value * (1 - pan * 0.6))
            right[start + i] = int(value * (0.4 + pan * 0.6))
    return left, right


# ---------------------------------------------------------------- naming and writing


def _expand(prefix: str, width: int, height: int) -> str:
    now = dt.datetime.now()
    for key, value in {
        "%width%": str(width),
        "%height%": str(height),
        "%year%": f"{now.year}",
        "%month%": f"{now.month:02d}",
        "%day%": f"{now.day:02d}",
    }.items():
        prefix = prefix.replace(key, value)
    return prefix


def save_path(
    prefix: str, base: Path, width: int = 0, height: int = 0
) -> tuple[Path, str, int, str]:
    """ComfyUI's ``get_save_image_path``: folder, file stem, next counter, subfolder.

    Raises:
        ValueError: when the prefix leads outside ``base``.
    """
    prefix = _expand(prefix, width, height)
    normal = os.path.normpath(prefix)
    subfolder, stem = os.path.dirname(normal), os.path.basename(normal)
    folder = (base / subfolder).resolve()
    root = base.resolve()
    if os.path.commonpath((str(root), str(folder))) != str(root):
        raise ValueError("**** ERROR: Saving image outside the output folder is not allowed.")
    counter = 1
    if folder.is_dir():
        for name in os.listdir(folder):
            tail = name[len(stem) + 1 :]
            if (
                os.path.normcase(name[: len(stem)]) == os.path.normcase(stem)
                and name[len(stem) : len(stem) + 1] == "_"
            ):
                digits = tail.split("_")[0]
                if digits.isdecimal():
                    counter = max(counter, int(digits) + 1)
    folder.mkdir(parents=True, exist_ok=True)
    return folder, stem, counter, subfolder


def write_pngs(
    specs: list[ImageSpec], prefix: str, base: Path, kind: str, metadata: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """Save images like SaveImage/PreviewImage; returns the UI file entries."""
    first = specs[0]
    folder, stem, counter, subfolder = save_path(prefix, base, first.width, first.height)
    entries = []
    for spec in specs:
        info = None
        if metadata is not None:
            info = PngInfo()
            for key, value in metadata.items():
                info.add_text(key, json.dumps(value))
        name = f"{stem}_{counter:05}_.png"
        spec.render().save(folder / name, pnginfo=info, compress_level=4 if kind == "output" else 1)
        entries.append({"filename": name, "subfolder": subfolder, "type": kind})
        counter += 1
    return entries


def write_audio(
    specs: list[AudioSpec],
    prefix: str,
    base: Path,
    kind: str,
    metadata: Mapping[str, Any] | None,
    max_seconds: float,
) -> list[dict[str, str]]:
    """Save audio like SaveAudio: one FLAC per batch item; returns the UI file entries."""
    folder, stem, counter, subfolder = save_path(prefix, base)
    tags = {key: json.dumps(value) for key, value in (metadata or {}).items()}
    entries = []
    for spec in specs:
        name = f"{stem}_{counter:05}_.flac"
        left, right = synthesize(spec, max_seconds)
        (folder / name).write_bytes(encode_flac((left, right), SAMPLE_RATE, tags))
        entries.append({"filename": name, "subfolder": subfolder, "type": kind})
        counter += 1
    return entries
