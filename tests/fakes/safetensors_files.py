"""Write ``.safetensors`` files byte by byte, as the format's specification lays them out.

8-byte little-endian header length, the JSON header (tensors with ``dtype``, ``shape`` and
``data_offsets`` relative to the end of the header, optional ``__metadata__``), then the data.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

_DTYPE_BYTES = {"F16": 2, "F32": 4, "BF16": 2}


def safetensors_bytes(
    tensors: dict[str, tuple[str, tuple[int, ...]]], *, metadata: dict[str, str] | None = None
) -> bytes:
    """A whole file holding zero-filled tensors ``name -> (dtype, shape)``."""
    header: dict[str, object] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        size = count * _DTYPE_BYTES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the writers pad the header to 8 bytes
    return struct.pack("<Q", len(raw)) + raw + bytes(offset)


def write_model(path: Path, *, tensors: int = 3, elements: int = 64) -> bytes:
    """A small whole model file at ``path``; returns its bytes."""
    data = safetensors_bytes(
        {f"model.layer{i}.weight": ("F16", (elements,)) for i in range(tensors)},
        metadata={"format": "pt"},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
