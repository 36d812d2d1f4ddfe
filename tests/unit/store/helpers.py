"""Builders shared by the store tests (unit and integration)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from fractions import Fraction

import av
import numpy as np
from PIL import Image, PngImagePlugin

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.store.record import (
    LoraApplied,
    MediaRecord,
    RunError,
    RunInputs,
    RunRecord,
    SafetyDecision,
    StageRecord,
)


def png_bytes(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    color: tuple[int, ...] = (200, 30, 40, 128) if mode == "RGBA" else (200, 30, 40)
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def video_bytes(
    colours: tuple[tuple[int, int, int], ...] = ((200, 30, 40), (30, 200, 40), (30, 40, 200)),
    size: tuple[int, int] = (64, 48),
    *,
    fmt: str = "mp4",
) -> bytes:
    """A short video, one solid colour per frame: H.264 in MP4 or VP9 in WebM, 24 fps."""
    buffer = io.BytesIO()
    codec = "h264" if fmt == "mp4" else "libvpx-vp9"
    with av.open(buffer, mode="w", format=fmt) as out:
        out.metadata["prompt"] = '{"graph": "as ComfyUI writes it"}'
        stream = out.add_stream(codec, rate=Fraction(24))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for colour in colours:
            pixels = np.full((size[1], size[0], 3), colour, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def video_frames(data: bytes) -> list[bytes]:
    """The decoded frames of a video (raw YUV planes), to compare pictures exactly."""
    with av.open(io.BytesIO(data)) as container:
        return [bytes(frame.planes[0]) for frame in container.decode(video=0)]


def png_text(data: bytes) -> dict[str, str]:
    """The text chunks of a PNG, as Pillow reads them."""
    with Image.open(io.BytesIO(data)) as image:
        assert isinstance(image, PngImagePlugin.PngImageFile)
        return dict(image.text)


def inputs(idea: str = "Eine Katze im Bauhaus-Stil", **kw: str) -> RunInputs:
    values = {
        "rules": "Nur geometrische Formen",
        "config_id": "bauhaus",
        "output_id": "sd35_image",
        "level": "youth",
        "language": "de",
        "ui_mode": "guided",
    }
    values.update(kw)
    return RunInputs(idea=idea, **values)


def local_noon_utc(year: int, month: int, day: int) -> str:
    """Local noon of a day, written as UTC ISO 8601 (as the store writes times)."""
    return datetime(year, month, day, 12, 0).astimezone().astimezone(UTC).isoformat()


def full_record() -> RunRecord:
    """A record with every field set to a non-default value."""
    return RunRecord(
        id="20261124-134512-ab12cd",
        created_at="2026-11-24T13:45:12.000+00:00",
        updated_at="2026-11-24T13:46:00.500+00:00",
        status="done",
        inputs=inputs(),
        stages=[
            StageRecord(
                stage=Stage.interception,
                started_at="2026-11-24T13:45:12.100+00:00",
                finished_at="2026-11-24T13:45:20.000+00:00",
                model="llama3.2:3b",
                text="A cat made of squares",
                edited_text="A cat made of squares and circles",
                params={"temperature": 0.7, "nested": {"a": [1, 2]}},
                duration_ms=7900.0,
            ),
            StageRecord(stage=Stage.generation, started_at="2026-11-24T13:45:21.000+00:00"),
        ],
        prompt="a cat made of squares and circles, bauhaus",
        negative_prompt="blurry",
        models={"interception": "llama3.2:3b", "generation": "sd3.5_medium"},
        parameters={"steps": 25, "cfg": 5.5, "width": 1024, "height": 1024},
        seed=1234567890123,
        loras_applied=[
            LoraApplied(file="bauhaus.safetensors", strength=0.8, trigger="bhs", node_id="12")
        ],
        safety=[
            SafetyDecision(Stage.input_safety, "wordlist", "pass"),
            SafetyDecision(Stage.output_safety, "llm", "unavailable", "timeout", "30 s"),
        ],
        timings={"interception": 7900.0, "generation": 12000.5},
        media=[MediaRecord("image.png", "image/png", "image", "ab" * 32)],
        code="",
        favourite=True,
        error=RunError(message="Something", detail="trace"),
        app_version="0.1.0",
    )
