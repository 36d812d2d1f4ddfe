"""Video files of a run: metadata tags without re-encoding, and the first frame for thumbnails.

ComfyUI's SaveVideo writes MP4 (H.264) and SaveWEBM writes WebM (VP9/AV1). The app adds its
generation metadata and the AI-generated note as container tags by remuxing: the packets are
copied as they are, so the pictures stay bit for bit the same. MP4 keeps free-form keys only
with ``movflags=use_metadata_tags`` (as ComfyUI writes them); the note also goes into the
standard ``comment`` tag that every player shows.

PyAV is imported on first use: it takes a fifth of a second, which the app's start does not
have to pay.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)

#: Tags the muxer writes itself (copying them would store them twice as free-form keys).
_MUXER_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})
#: Container format and muxer options by media type.
_FORMATS = {
    "video/mp4": ("mp4", {"movflags": "use_metadata_tags"}),
    "video/webm": ("webm", {}),
}


def video_with_tags(data: bytes, mime: str, tags: Mapping[str, str]) -> bytes:
    """``data`` remuxed with ``tags`` added to the container's metadata.

    Existing tags stay; tags with the same keys are replaced.

    Raises:
        ValueError: ``mime`` is not MP4 or WebM, or ``data`` cannot be read or written as it.
    """
    import av

    if mime not in _FORMATS:
        raise ValueError(f"no tags for {mime} files")
    fmt, options = _FORMATS[mime]
    out_buffer = io.BytesIO()
    try:
        with (
            av.open(io.BytesIO(data), mode="r") as source,
            av.open(out_buffer, mode="w", format=fmt, options=options) as target,
        ):
            # Matroska stores tag names in capitals: compare them without case.
            replaced = {key.lower() for key in tags} | _MUXER_TAGS
            kept = {k: v for k, v in source.metadata.items() if k.lower() not in replaced}
            target.metadata.update(kept)
            target.metadata.update(tags)
            streams = {}
            for stream in source.streams:
                if stream.type in ("video", "audio"):
                    streams[stream.index] = target.add_stream_from_template(stream)
            for packet in source.demux(*[source.streams[i] for i in streams]):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise ValueError(f"the {fmt} file cannot be remuxed: {exc}") from exc
    return out_buffer.getvalue()


def frames_to_check(data: bytes, count: int = 4) -> list[bytes]:
    """``count`` frames spread over the whole film (first and last included), as JPEGs.

    The media check judges these as pictures. The packets are counted first and only the
    chosen frames are kept, so a long film never sits decoded in memory. An empty list
    means the film could not be decoded; the check must then fail closed.
    """
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as source:
            if not source.streams.video:
                return []
            total = sum(1 for packet in source.demux(video=0) if packet.size)
        last = max(0, total - 1)
        picks = {round(i * last / max(1, count - 1)) for i in range(count)}
        chosen: list[Image.Image] = []
        latest: av.VideoFrame | None = None
        index = -1
        with av.open(io.BytesIO(data), mode="r") as source:
            for index, frame in enumerate(source.decode(video=0)):
                latest = frame
                if index in picks:
                    chosen.append(_rgb(frame))
            if latest is not None and index < last:  # fewer frames than packets: the end
                chosen.append(_rgb(latest))
    except (av.FFmpegError, ValueError) as exc:
        log.info("no frames to check: the video could not be decoded (%s)", exc)
        return []
    out = []
    for image in chosen:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _rgb(frame: av.VideoFrame) -> Image.Image:
    return Image.fromarray(frame.to_ndarray(format="rgb24"), "RGB")


def read_tags(data: bytes) -> dict[str, str]:
    """The container metadata of a video file (empty when it cannot be read).

    Keys come as the container stores them: WebM (Matroska) gives them in capitals.
    """
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as source:
            return dict(source.metadata)
    except av.FFmpegError:
        return {}


def first_frame(data: bytes | Path) -> Image.Image | None:
    """The first picture of a video (its bytes or its file; RGB), or None when none decodes."""
    import av

    try:
        opened = io.BytesIO(data) if isinstance(data, bytes) else str(data)
        with av.open(opened, mode="r") as source:
            if not source.streams.video:
                return None
            for frame in source.decode(video=0):
                return Image.fromarray(frame.to_ndarray(format="rgb24"), "RGB")
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.warning("no first frame: the video could not be decoded (%s)", exc)
    return None
