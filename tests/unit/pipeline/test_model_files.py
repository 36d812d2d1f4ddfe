"""The quick safetensors check: whole, empty, cut off in the data or in the header, not one."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ai4artsed_desktop.pipeline.model_files import (
    FileHealth,
    LocalModels,
    check_model_file,
)
from tests.fakes.safetensors_files import safetensors_bytes, write_model


def test_whole_file_is_ok_and_its_expected_size_is_the_file_size(tmp_path: Path) -> None:
    data = write_model(tmp_path / "m.safetensors")
    check = check_model_file(tmp_path / "m.safetensors")
    assert check.health is FileHealth.ok
    assert not check.damaged
    assert check.size == check.expected == len(data)


def test_metadata_only_file_is_ok(tmp_path: Path) -> None:
    path = tmp_path / "meta.safetensors"
    path.write_bytes(safetensors_bytes({}, metadata={"note": "no tensors"}))
    assert check_model_file(path).health is FileHealth.ok


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    check = check_model_file(path)
    assert check.health is FileHealth.empty
    assert check.damaged
    assert "0 bytes" in check.detail


@pytest.mark.parametrize("missing", [1, 64, 127])
def test_cut_off_in_the_tensor_data(tmp_path: Path, missing: int) -> None:
    data = write_model(tmp_path / "whole.safetensors", tensors=2, elements=64)  # 256 data bytes
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:-missing])
    check = check_model_file(path)
    assert check.health is FileHealth.truncated
    assert check.expected == len(data)
    assert check.size == len(data) - missing
    assert f"{missing} bytes missing" in check.detail


def test_the_largest_end_offset_counts_not_the_last_entry(tmp_path: Path) -> None:
    # Header entries in any order: the biggest tensor listed first, its end is the file end.
    data = safetensors_bytes({"b.big": ("F32", (100,)), "a.small": ("F16", (2,))})
    path = tmp_path / "order.safetensors"
    path.write_bytes(data[:-10])
    assert check_model_file(path).health is FileHealth.truncated


def test_cut_off_inside_the_header(tmp_path: Path) -> None:
    data = write_model(tmp_path / "whole.safetensors")
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:20])
    check = check_model_file(path)
    assert check.health is FileHealth.truncated
    assert "header alone" in check.detail


def test_shorter_than_the_length_field(tmp_path: Path) -> None:
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(b"\x10\x00\x00")
    assert check_model_file(path).health is FileHealth.truncated


@pytest.mark.parametrize(
    "raw",
    [
        b"AI4ArtsEd placeholder, not a model\n",  # the length field reads as absurdly large
        struct.pack("<Q", 6) + b"{oops}",  # not JSON
        struct.pack("<Q", 2) + b"[]",  # JSON, but not an object
        struct.pack("<Q", 40) + b'{"w":{"dtype":"F16","data_offsets":[4]}}',  # one offset
        struct.pack("<Q", 42) + b'{"w":{"dtype":"F16","data_offsets":[8,4]}}',  # end < start
    ],
)
def test_not_a_safetensors_header(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    assert check_model_file(path).health is FileHealth.bad_header


def test_longer_than_the_header_says_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "long.safetensors"
    path.write_bytes(write_model(tmp_path / "w.safetensors") + b"\0" * 16)
    assert check_model_file(path).health is FileHealth.ok


def test_other_formats_are_only_checked_for_being_empty(tmp_path: Path) -> None:
    (tmp_path / "old.ckpt").write_bytes(b"PK\x03\x04 a zip file")
    (tmp_path / "empty.ckpt").write_bytes(b"")
    assert check_model_file(tmp_path / "old.ckpt").health is FileHealth.ok
    assert check_model_file(tmp_path / "empty.ckpt").health is FileHealth.empty


def test_unreadable_file(tmp_path: Path) -> None:
    assert check_model_file(tmp_path / "gone.safetensors").health is FileHealth.unreadable


def test_locate_follows_comfyui_folders_subfolders_and_slashes(tmp_path: Path) -> None:
    comfy = tmp_path / "ComfyUI"
    write_model(comfy / "models" / "clip" / "t5xxl_fp16.safetensors")
    write_model(comfy / "models" / "checkpoints" / "SD1.5" / "v1-5.safetensors")
    local = LocalModels.of_comfyui(comfy)
    assert local.locate("text_encoders", "t5xxl_fp16.safetensors") == (
        comfy / "models" / "clip" / "t5xxl_fp16.safetensors"
    )
    expected = comfy / "models" / "checkpoints" / "SD1.5" / "v1-5.safetensors"
    assert local.locate("checkpoints", "SD1.5\\v1-5.safetensors") == expected
    assert local.locate("checkpoints", "SD1.5/v1-5.safetensors") == expected
    assert local.locate("checkpoints", "../checkpoints/SD1.5/v1-5.safetensors") is None
    assert local.locate("checkpoints", "nothing.safetensors") is None
    assert local.locate("unknown_folder", "v1-5.safetensors") is None


def test_names_lists_model_files_as_comfyui_does(tmp_path: Path) -> None:
    comfy = tmp_path / "ComfyUI"
    write_model(comfy / "models" / "text_encoders" / "t5" / "t5xxl_fp16.safetensors")
    write_model(comfy / "models" / "clip" / "clip_l.safetensors")
    (comfy / "models" / "clip" / "readme.md").write_text("not a model", encoding="utf-8")
    (comfy / "models" / "clip" / "old.PTH").write_bytes(b"x")
    local = LocalModels.of_comfyui(comfy)
    assert local.names("text_encoders") == [
        "clip_l.safetensors",
        "old.PTH",
        "t5/t5xxl_fp16.safetensors",
    ]
    assert local.names("checkpoints") == []  # the folder does not exist
