"""Media files of a run: safe file names, PNG and video generation metadata, JPEG thumbnails."""

from __future__ import annotations

import io
import logging
import re
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .. import APP_NAME
from . import video
from .record import RunRecord

log = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AI_NOTE = "Generated with AI (AI4ArtsEd Desktop)"
AI_NOTE_KEY = "AI-generated"
RECORD_NAME = "run.json"
THUMB_NAME = "thumb.jpg"
THUMB_SIZE = 256
MAX_NAME_LENGTH = 120

_RESERVED = {RECORD_NAME, THUMB_NAME}
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in "123456789"
}
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_TEXT_CHUNKS = {b"tEXt", b"zTXt", b"iTXt"}


def check_media_name(filename: str) -> str:
    """Return ``filename`` when it is a plain, portable file name for a run folder.

    Rejects separators and ``..`` (path traversal), hidden names, control and
    Windows-reserved characters and device names, and the store's own file names.

    Raises:
        ValueError: the name is not safe.
    """
    stem = filename.split(".", 1)[0].lower()
    problem = ""
    if not filename or len(filename) > MAX_NAME_LENGTH:
        problem = "empty or too long"
    elif _BAD_CHARS.search(filename):
        problem = "contains a path separator or a reserved character"
    elif filename.startswith(".") or filename.endswith((".", " ")) or filename != filename.strip():
        problem = "hidden, or starts or ends with a dot or space"
    elif stem in _WINDOWS_DEVICES or filename.lower() in _RESERVED:
        problem = "reserved name"
    if problem:
        raise ValueError(f"unsafe media file name {filename!r}: {problem}")
    return filename


def unique_name(folder: Path, filename: str) -> str:
    """``filename``, or ``stem-2.ext``, ``stem-3.ext``... when the folder already has it."""
    if not (folder / filename).exists():
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    number = 2
    while True:
        candidate = f"{stem}-{number}{dot}{ext}"
        if not (folder / candidate).exists():
            return candidate
        number += 1


def png_with_text(data: bytes, text: Mapping[str, str]) -> bytes:
    """Insert UTF-8 ``iTXt`` chunks after ``IHDR``, without re-encoding the pixels.

    Existing text chunks with the same keywords (ComfyUI writes ``prompt``) are dropped so
    every keyword appears once. Pillow reads the result into ``Image.text``.

    Raises:
        ValueError: ``data`` is not a well-formed PNG or a keyword is not valid Latin-1
            of 1 to 79 characters.
    """
    new_chunks = b"".join(_chunk(b"iTXt", _itxt_payload(k, v)) for k, v in text.items())
    keywords = {k.encode("latin-1") for k in text}
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    parts = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    seen_end = False
    while pos < len(data) and not seen_end:
        if pos + 12 > len(data):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        body = data[pos + 8 : pos + 8 + length]
        if not (kind in _TEXT_CHUNKS and body.split(b"\0", 1)[0] in keywords):
            parts.append(data[pos:end])
        if kind == b"IHDR":
            parts.append(new_chunks)
        seen_end = kind == b"IEND"
        pos = end
    if len(parts) < 3 or not parts[1][4:8] == b"IHDR" or not seen_end:
        raise ValueError("PNG without IHDR or IEND")
    return b"".join(parts)


def check_png_keywords(keywords: Iterable[str]) -> None:
    """Check PNG text keywords: 1 to 79 Latin-1 characters, no NUL, no outer spaces.

    Raises:
        ValueError: a keyword is not valid.
    """
    for keyword in keywords:
        try:
            key = keyword.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"PNG keyword {keyword!r} is not Latin-1") from None
        if not 1 <= len(key) <= 79 or b"\0" in key or key != key.strip():
            raise ValueError(f"bad PNG keyword {keyword!r}")


def _itxt_payload(keyword: str, value: str) -> bytes:
    check_png_keywords([keyword])
    key = keyword.encode("latin-1")
    # keyword \0, compression flag 0, method 0, empty language tag \0, empty translation \0
    return key + b"\0\0\0\0\0" + value.encode("utf-8")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def make_thumbnail(data: bytes) -> bytes | None:
    """A JPEG of at most ``THUMB_SIZE`` px per side, or None when Pillow cannot decode it."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
            return thumbnail_jpeg(ImageOps.exif_transpose(opened))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("no thumbnail: the image could not be decoded (%s)", exc)
        return None


def make_video_thumbnail(data: bytes) -> bytes | None:
    """A JPEG of the video's first frame (as :func:`make_thumbnail`), or None."""
    frame = video.first_frame(data)
    return None if frame is None else thumbnail_jpeg(frame)


def thumbnail_jpeg(image: Image.Image) -> bytes:
    """``image`` shrunk to at most ``THUMB_SIZE`` px per side, transparency on white, as JPEG.

    Raises:
        OSError, ValueError: a lazily loaded image turned out to be undecodable.
    """
    image = image.copy()
    image.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def video_metadata(record: RunRecord) -> dict[str, str]:
    """The container tags for a video of ``record``.

    The same keys as a PNG's text chunks, and the AI note also as the ``comment`` tag every
    player shows.
    """
    return png_metadata(record) | {"comment": AI_NOTE}


def png_metadata(record: RunRecord) -> dict[str, str]:
    """The PNG text chunks for an image of ``record`` (callers drop empty values)."""
    loras = "; ".join(f"{x['file']} ({x['strength']:g})" for x in record.loras_applied)
    return {
        "prompt": record.prompt,
        "negative_prompt": record.negative_prompt,
        "idea": record.inputs.idea,
        "config": record.inputs.config_id,
        "model": ", ".join(f"{role}: {name}" for role, name in sorted(record.models.items())),
        "seed": "" if record.seed is None else str(record.seed),
        "loras": loras,
        "Software": f"{APP_NAME} {record.app_version}".strip(),
        AI_NOTE_KEY: AI_NOTE,
    }
