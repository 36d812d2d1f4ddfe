from __future__ import annotations

import io
import logging
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ai4artsed_desktop.store.media import (
    AI_NOTE,
    THUMB_SIZE,
    check_media_name,
    make_thumbnail,
    png_with_text,
    unique_name,
)

from .helpers import png_bytes, png_text


@pytest.mark.parametrize(
    "name",
    [
        "../evil.png",
        "..",
        "sub/image.png",
        "sub\\image.png",
        "/etc/passwd",
        "C:image.png",
        ".hidden.png",
        "image.png.",
        " image.png",
        "nul\x00.png",
        "CON.png",
        "lpt1",
        "run.json",
        "THUMB.JPG",
        "",
        "a" * 200 + ".png",
    ],
)
def test_unsafe_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="unsafe media file name"):
        check_media_name(name)


@pytest.mark.parametrize("name", ["image.png", "image_0001.png", "Klang über.flac", "sketch.js"])
def test_plain_names_pass(name: str) -> None:
    assert check_media_name(name) == name


def test_unique_name_adds_a_counter(tmp_path: Path) -> None:
    assert unique_name(tmp_path, "a.png") == "a.png"
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "a-2.png").write_bytes(b"")
    assert unique_name(tmp_path, "a.png") == "a-3.png"
    (tmp_path / "README").write_bytes(b"")
    assert unique_name(tmp_path, "README") == "README-2"


def test_png_text_is_readable_by_pillow_and_pixels_are_untouched() -> None:
    original = png_bytes()
    tagged = png_with_text(
        original, {"prompt": "eine Katze – über Dächer", "AI-generated": AI_NOTE}
    )
    assert png_text(tagged) == {"prompt": "eine Katze – über Dächer", "AI-generated": AI_NOTE}
    with Image.open(io.BytesIO(tagged)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.tobytes() == before.tobytes()
    idat = original.index(b"IDAT") - 4
    assert original[idat:] in tagged  # image data copied byte for byte


def test_existing_text_chunk_with_same_keyword_is_replaced() -> None:
    buf = io.BytesIO()
    info = PngInfo()
    info.add_text("prompt", '{"3": {"class_type": "KSampler"}}')
    info.add_text("workflow", "{}")
    Image.new("RGB", (4, 4)).save(buf, "PNG", pnginfo=info)
    tagged = png_with_text(buf.getvalue(), {"prompt": "a cat"})
    assert png_text(tagged) == {"prompt": "a cat", "workflow": "{}"}


@pytest.mark.parametrize(
    "data",
    [b"GIF89a....", png_bytes()[:40], png_bytes()[:8] + png_bytes()[33:]],
)
def test_malformed_png_raises(data: bytes) -> None:
    with pytest.raises(ValueError, match="PNG"):
        png_with_text(data, {"prompt": "x"})


@pytest.mark.parametrize("keyword", ["", "k" * 80, "Schlüssel€", " pad"])
def test_bad_keywords_raise(keyword: str) -> None:
    with pytest.raises(ValueError, match="keyword"):
        png_with_text(png_bytes(), {keyword: "x"})


def test_itxt_chunk_has_a_valid_crc() -> None:
    tagged = png_with_text(png_bytes(), {"seed": "7"})
    start = tagged.index(b"iTXt")
    length = int.from_bytes(tagged[start - 4 : start], "big")
    body = tagged[start : start + 4 + length]
    crc = int.from_bytes(tagged[start + 4 + length : start + 8 + length], "big")
    assert crc == zlib.crc32(body)


@pytest.mark.parametrize(("size", "mode"), [((1024, 512), "RGB"), ((300, 900), "RGBA")])
def test_thumbnail_is_a_small_jpeg(size: tuple[int, int], mode: str) -> None:
    jpeg = make_thumbnail(png_bytes(size, mode))
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) == THUMB_SIZE
        assert thumb.size[0] / thumb.size[1] == pytest.approx(size[0] / size[1], rel=0.02)


@pytest.mark.usefixtures("expect_log_warnings")
def test_thumbnail_of_garbage_is_none_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert make_thumbnail(b"not an image") is None
    assert "no thumbnail" in caplog.text
