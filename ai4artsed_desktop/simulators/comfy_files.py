"""``GET /view`` and ``POST /upload/image`` of the ComfyUI simulator (§2.9, §2.10)."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path

from aiohttp import BodyPartReader, web

from .comfy_registry import Folders

_FORCED_BINARY = frozenset(
    {"text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript", "text/css"}
)
_ANNOTATIONS = {" [output]": "output", " [input]": "input", " [temp]": "temp"}


def _directory(folders: Folders, kind: str | None) -> str | None:
    paths = {"output": folders.output, "input": folders.input, "temp": folders.temp}
    path = paths.get(kind or "")
    return str(path.resolve()) if path is not None else None


def _content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.lower().endswith(".flac"):
        guessed = "audio/flac"
    return "application/octet-stream" if guessed in _FORCED_BINARY else guessed


def view_file(folders: Folders, query: Mapping[str, str]) -> web.StreamResponse:
    """Serve a file of the output/input/temp folder with ComfyUI's checks.

    404 when missing, 400 for ``/``-leading or ``..`` names and unknown types, 403 for a
    subfolder escaping its base folder.
    """
    if "filename" not in query:
        return web.Response(status=404)
    filename = query["filename"]
    kind: str | None = None
    for suffix, annotated in _ANNOTATIONS.items():
        if filename.endswith(suffix):
            filename, kind = filename[: -len(suffix)], annotated
            break
    if not filename or filename.startswith("/") or ".." in filename:
        return web.Response(status=400)
    base = _directory(folders, kind or query.get("type", "output"))
    if base is None:
        return web.Response(status=400)
    if "subfolder" in query:
        full = os.path.join(base, query["subfolder"])
        if os.path.commonpath((os.path.abspath(full), base)) != base:
            return web.Response(status=403)
        base = full
    name = os.path.basename(filename)
    path = os.path.join(base, name)
    if not os.path.isfile(path):
        return web.Response(status=404)
    headers = {"Content-Disposition": f'filename="{name}"', "Content-Type": _content_type(name)}
    return web.FileResponse(path, headers=headers)


async def _read_form(request: web.Request) -> tuple[dict[str, str], str | None, bytes | None]:
    fields: dict[str, str] = {}
    filename: str | None = None
    data: bytes | None = None
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "image" and part.filename is not None:
            filename, data = part.filename, await part.read(decode=False)
        elif part.name:
            fields[part.name] = await part.text()
    return fields, filename, data


async def upload_image(folders: Folders, request: web.Request) -> web.Response:
    """Store an uploaded image; rename on a clash with different content, reuse identical."""
    try:
        fields, filename, data = await _read_form(request)
    except (ValueError, AssertionError):
        return web.Response(status=400)
    kind = fields.get("type") or "input"
    base = _directory(folders, kind)
    if base is None:
        base, kind = _directory(folders, "input"), "input"
    assert base is not None
    if data is None or not filename:
        return web.Response(status=400)
    subfolder = fields.get("subfolder", "")
    overwrite = fields.get("overwrite") in ("true", "1")
    stored = await asyncio.to_thread(_store, base, subfolder, filename, data, overwrite)
    if stored is None:
        return web.Response(status=400)
    return web.json_response({"name": stored, "subfolder": subfolder, "type": kind})


def _store(base: str, subfolder: str, filename: str, data: bytes, overwrite: bool) -> str | None:
    """Write the upload; returns the stored name, or None for a path escaping ``base``."""
    folder = os.path.join(base, os.path.normpath(subfolder))
    target = os.path.abspath(os.path.join(folder, filename))
    if os.path.commonpath((base, target)) != base:
        return None
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(filename)
    counter = 1
    while not overwrite and os.path.exists(target):
        if _same_content(Path(target), data):
            return filename
        filename = f"{stem} ({counter}){ext}"
        target = os.path.join(folder, filename)
        counter += 1
    Path(target).write_bytes(data)
    return filename


def _same_content(path: Path, data: bytes) -> bool:
    existing = hashlib.sha256(path.read_bytes()).digest()
    return existing == hashlib.sha256(data).digest()
