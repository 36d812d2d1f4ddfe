"""Model files on this computer: where a local ComfyUI keeps them and whether they are whole.

A ``.safetensors`` file starts with an 8-byte little-endian header length, then a JSON header
that gives every tensor's ``data_offsets`` relative to the end of the header. A download that
stopped early is shorter than the end offset of its last tensor; ComfyUI then fails deep in
the generation ("header too small", "incomplete metadata"). :func:`check_model_file` reads
only the header (a few hundred kilobytes at most), never the weights.
"""

from __future__ import annotations

import enum
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: safetensors refuses headers above 100 MB; a larger length means the file is not one.
MAX_HEADER_BYTES = 100_000_000
#: The file types ComfyUI lists as models (``supported_pt_extensions`` of ComfyUI 0.8).
MODEL_EXTENSIONS = frozenset(
    {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}
)
#: ComfyUI's logical model folders and the subfolders of ``models/`` it searches for each
#: (``folder_paths.py`` of ComfyUI 0.8: ``text_encoders`` also reads the older ``clip``).
COMFY_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints",),
    "loras": ("loras",),
    "vae": ("vae",),
    "text_encoders": ("text_encoders", "clip"),
    "diffusion_models": ("unet", "diffusion_models"),
    "clip_vision": ("clip_vision",),
    "embeddings": ("embeddings",),
    "controlnet": ("controlnet", "t2i_adapter"),
    "upscale_models": ("upscale_models",),
    "audio_encoders": ("audio_encoders",),
}


class FileHealth(enum.Enum):
    """What the quick check found."""

    ok = "ok"
    empty = "empty"  # zero bytes
    truncated = "truncated"  # shorter than its header says
    bad_header = "bad_header"  # not a readable safetensors header
    unreadable = "unreadable"  # the file could not be opened
    wrong_size = "wrong_size"  # longer than the published file: another file or a mix-up


@dataclass(frozen=True)
class FileCheck:
    """The result of :func:`check_model_file`.

    Attributes:
        health: The verdict.
        size: The file's size in bytes (0 when unreadable).
        expected: The size the header promises (None when unknown: not safetensors, or no
            readable header).
        detail: A technical sentence for logs and ``doctor --json``.
    """

    health: FileHealth
    size: int
    expected: int | None = None
    detail: str = ""

    @property
    def damaged(self) -> bool:
        """True when ComfyUI cannot load this file."""
        return self.health is not FileHealth.ok


def _header_end(header: object) -> int | None:
    """The largest tensor end offset of a parsed header (None when the header is malformed)."""
    if not isinstance(header, dict):
        return None
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            return None
        end = max(end, offsets[1])
    return end


def check_model_file(
    path: Path, expected_size: int | None = None, *, suffix: str | None = None
) -> FileCheck:
    """Is the model file at ``path`` whole? Reads its size and, for safetensors, its header.

    Files that are not ``.safetensors`` (``.ckpt``, ``.pt``) are only checked for being empty.
    A file longer than its header says is accepted (no false alarm on formats we do not know)
    unless ``expected_size`` (the published size, from the model catalogue) says otherwise:
    then any other size is damage. Cost: one ``stat`` and at most one header read.
    ``suffix`` checks the file as that type (a ``.part`` download as its final name's).
    """
    check = _check_model_file(path, (suffix or path.suffix).lower())
    if expected_size is None or check.damaged or check.size == expected_size:
        return check
    if check.size < expected_size:
        return FileCheck(
            FileHealth.truncated,
            check.size,
            expected_size,
            f"{check.size} bytes, but the published file has {expected_size} "
            f"({expected_size - check.size} bytes missing)",
        )
    return FileCheck(
        FileHealth.wrong_size,
        check.size,
        expected_size,
        f"{check.size} bytes, but the published file has {expected_size}",
    )


def _check_model_file(path: Path, suffix: str) -> FileCheck:
    try:
        size = path.stat().st_size
        if size == 0:
            return FileCheck(FileHealth.empty, 0, detail=f"{path} is empty (0 bytes)")
        if suffix not in (".safetensors", ".sft"):
            return FileCheck(FileHealth.ok, size)
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return FileCheck(
                    FileHealth.truncated, size, None, f"{size} bytes: shorter than the 8-byte start"
                )
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                return FileCheck(
                    FileHealth.bad_header, size, None, f"header length {length} is not plausible"
                )
            if 8 + length > size:
                return FileCheck(
                    FileHealth.truncated,
                    size,
                    8 + length,
                    f"{size} bytes, but the header alone needs {8 + length}",
                )
            raw = handle.read(length)
    except OSError as exc:
        return FileCheck(FileHealth.unreadable, 0, detail=f"{path}: {exc.strerror or exc}")
    try:
        end = _header_end(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        end = None
    if end is None:
        return FileCheck(FileHealth.bad_header, size, None, "the JSON header cannot be read")
    expected = 8 + length + end
    if size < expected:
        return FileCheck(
            FileHealth.truncated,
            size,
            expected,
            f"{size} bytes, but its tensors end at byte {expected} "
            f"({expected - size} bytes missing)",
        )
    return FileCheck(FileHealth.ok, size, expected)


@dataclass(frozen=True)
class LocalModels:
    """The models folders of a ComfyUI whose files this computer can read.

    Attributes:
        roots: Logical folder (``checkpoints``) -> the folders that hold it, in search order.
        sizes: Published sizes by lower-case file name (from the model catalogue): a file of
            another size counts as damaged (:meth:`check`).
    """

    roots: Mapping[str, tuple[Path, ...]]
    sizes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of_comfyui(cls, comfy_dir: Path, sizes: Mapping[str, int] | None = None) -> LocalModels:
        """The standard ``models/`` layout of a ComfyUI installation."""
        models = comfy_dir / "models"
        return cls(
            {name: tuple(models / sub for sub in subs) for name, subs in COMFY_FOLDERS.items()},
            dict(sizes or {}),
        )

    def check(self, path: Path) -> FileCheck:
        """The quick check of ``path``, against its published size where one is known."""
        return check_model_file(path, self.sizes.get(path.name.casefold()))

    def names(self, folder: str) -> list[str]:
        """Every model file of ``folder`` as ComfyUI would list it, read from disk.

        Relative names with ``/`` between subfolders, sorted; links are followed as ComfyUI
        follows them.
        """
        found: set[str] = set()
        for root in self.roots.get(folder, ()):
            for here, _dirs, files in os.walk(root, followlinks=True):
                base = Path(here).relative_to(root)
                for name in files:
                    if Path(name).suffix.lower() in MODEL_EXTENSIONS:
                        found.add((base / name).as_posix())
        return sorted(found)

    def locate(self, folder: str, name: str) -> Path | None:
        """The file ComfyUI lists as ``name`` (with any slash between subfolders) in ``folder``."""
        parts = [p for p in name.replace("\\", "/").split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            return None
        for root in self.roots.get(folder, ()):
            candidate = root.joinpath(*parts)
            if candidate.is_file():
                return candidate
        return None
