"""Deterministic pictures and Swarm-style output names for the SwarmUI simulator."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
MAX_EDGE = 2048


def _palette(prompt: str, seed: int) -> bytes:
    return hashlib.sha256(f"{prompt}\x00{seed}".encode()).digest()


def render_image(prompt: str, seed: int, width: int, height: int) -> Image.Image:
    """A picture that depends only on ``prompt`` and ``seed`` (and the size).

    A two-colour background with a few rectangles and ellipses whose colours and positions
    come from a hash, so equal inputs give identical pixels and different seeds differ.
    """
    width = max(8, min(MAX_EDGE, width))
    height = max(8, min(MAX_EDGE, height))
    digest = _palette(prompt, seed)
    image = Image.new("RGB", (width, height), tuple(digest[0:3]))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height // 2, width, height), fill=tuple(digest[3:6]))
    for index in range(4):
        chunk = digest[6 + index * 6 : 12 + index * 6]
        x0, y0 = chunk[0] * width // 256, chunk[1] * height // 256
        x1 = min(width, x0 + 8 + chunk[2] * width // 512)
        y1 = min(height, y0 + 8 + chunk[2] * height // 512)
        colour = (chunk[3], chunk[4], chunk[5])
        if index % 2:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def encode_png(image: Image.Image, metadata: dict[str, Any]) -> bytes:
    """PNG bytes with Swarm's ``parameters`` text chunk holding the generation metadata."""
    info = PngInfo()
    info.add_text("parameters", json.dumps({"sui_image_params": metadata}, sort_keys=True))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def preview_jpeg(prompt: str, seed: int, fraction: float) -> bytes:
    """A small, blurred-looking preview: the final picture faded in by ``fraction``."""
    final = render_image(prompt, seed, 64, 64)
    grey = Image.new("RGB", final.size, (128, 128, 128))
    blended = Image.blend(grey, final, max(0.0, min(1.0, fraction)))
    buffer = io.BytesIO()
    blended.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def data_url(mime: str, payload: bytes) -> str:
    """A ``data:`` URL with base64 payload."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _clean_segment(text: str, limit: int) -> str:
    text = _UNSAFE.sub(" ", text).strip().strip(".")
    text = re.sub(r"\s+", " ", text)
    return text[:limit].strip() or "image"


def output_relpath(when: dt.datetime, prompt: str, model: str, seed: int) -> str:
    """``raw/<date>/<HHMM>-<prompt>-<model>-<seed>.png`` below the user's output folder.

    :func:`write_output` inserts ``-1``, ``-2``... after ``<HHMM>`` when the name is taken.
    """
    stem_model = Path(model.replace("\\", "/")).name
    for ext in (".safetensors", ".ckpt", ".sft", ".gguf"):
        stem_model = stem_model.removesuffix(ext)
    stem_model = _clean_segment(stem_model, 60)
    return (
        f"raw/{when.strftime('%Y-%m-%d')}/{when.strftime('%H%M')}"
        f"-{_clean_segment(prompt, 60)}-{stem_model}-{seed}.png"
    )


def write_output(output_root: Path, relpath: str, payload: bytes) -> str:
    """Write ``payload`` below ``output_root`` without overwriting; returns the final relpath."""
    path = output_root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    inc = 0
    final = relpath
    while True:
        try:
            with path.open("xb") as handle:
                handle.write(payload)
            return final
        except FileExistsError:
            inc += 1
            head, _, tail = relpath.rpartition("/")
            final = f"{head}/{tail[:4]}-{inc}{tail[4:]}"
            path = output_root / final
