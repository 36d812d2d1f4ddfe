"""Video for the ComfyUI simulator: CreateVideo's value and SaveVideo's MP4 file.

SaveVideo in ComfyUI 0.8 writes H.264 in yuv420p into an MP4 with ``movflags
use_metadata_tags``, each metadata value JSON-encoded (``prompt``, the workflow), through
PyAV; it names the file ``<prefix>_<counter:05>_.mp4`` and reports it under ``images`` with
``animated: [true]`` (``ui.PreviewVideo``). The simulator writes the same kind of file the
same way, so the app meets a real video.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .comfy_media import ImageSpec, save_path


@dataclass(frozen=True)
class VideoValue:
    """A VIDEO value: frames and their rate (CreateVideo's output)."""

    images: tuple[ImageSpec, ...]
    fps: float


def write_video(
    video: VideoValue, prefix: str, base: Path, metadata: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """Save like SaveVideo (format and codec "auto": MP4, H.264); returns the UI entries.

    Raises:
        ValueError: the prefix leads outside ``base``, there are no frames, or the encoder
            refuses them (H.264 in yuv420p needs an even width and height).
    """
    if not video.images:
        raise ValueError("Cannot save a video without frames.")
    first = video.images[0]
    folder, stem, counter, subfolder = save_path(prefix, base, first.width, first.height)
    name = f"{stem}_{counter:05}_.mp4"
    try:
        with av.open(
            str(folder / name), mode="w", options={"movflags": "use_metadata_tags"}
        ) as out:
            for key, value in (metadata or {}).items():
                out.metadata[key] = json.dumps(value)
            stream = out.add_stream("h264", rate=Fraction(round(video.fps * 1000), 1000))
            size = first.render().size
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            for spec in video.images:
                pixels = np.asarray(spec.render(), dtype=np.uint8)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(
                    format="yuv420p"
                )
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    except av.FFmpegError as exc:
        (folder / name).unlink(missing_ok=True)
        raise ValueError(str(exc)) from exc
    return [{"filename": name, "subfolder": subfolder, "type": "output"}]
