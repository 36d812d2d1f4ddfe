"""``models list|get|verify`` against a catalogue whose files a loopback host serves."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.cli import parse_args
from ai4artsed_desktop.models.catalogue import catalogue_file
from ai4artsed_desktop.models_cmd import EXIT_DAMAGED, EXIT_ERROR, EXIT_LICENCE, EXIT_OK, run_models
from tests.fakes.file_server import FileHost, file_host
from tests.fakes.safetensors_files import safetensors_bytes

SD15 = "v1-5-pruned-emaonly.safetensors"
DATA = safetensors_bytes({f"w{i}": ("F16", (50_000,)) for i in range(4)})


@pytest.fixture
def host() -> Iterator[FileHost]:
    with file_host({SD15: DATA}) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)


def _catalogue(tmp_path: Path, host: FileHost) -> Path:
    """The built-in catalogue with the SD 1.5 file served by ``host`` (its size and hash)."""
    data: dict[str, Any] = json.loads(catalogue_file().read_text(encoding="utf-8"))
    data["files"][SD15].update(
        size=len(DATA),
        approx_size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        urls=[host.url(SD15)],
    )
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(tmp_path: Path, catalogue: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    args = parse_args(
        [
            "--data-dir",
            str(tmp_path / "data"),
            "models",
            *argv,
            "--comfyui",
            str(tmp_path / "ComfyUI"),
            "--catalogue",
            str(catalogue),
        ]
    )
    return run_models(args, out), out.getvalue()


def _checkpoint(tmp_path: Path) -> Path:
    return tmp_path / "ComfyUI" / "models" / "checkpoints" / SD15


def test_list_shows_each_output_with_state_licence_and_verified_flag(
    tmp_path: Path, host: FileHost
) -> None:
    catalogue = _catalogue(tmp_path, host)
    _checkpoint(tmp_path).parent.mkdir(parents=True)
    _checkpoint(tmp_path).write_bytes(DATA)
    code, text = _run(tmp_path, catalogue, "list", "--json")
    assert code == EXIT_OK
    listing = json.loads(text)
    outputs = {o["output"]: o for o in listing["outputs"]}
    assert outputs["sd15"]["state"] == "ok"
    assert outputs["sdxl"]["state"] == "missing"
    assert outputs["swarmui_t2i"]["state"] == "no_folder"
    sdxl_file = outputs["sdxl"]["files"][0]
    assert sdxl_file["verified"] is True
    assert sdxl_file["licence"]["id"] == "openrail++"
    assert outputs["sd35_large"]["files"][0]["licence"]["accept"] is True
    assert "qwen3:8b" in {m["pull"] for m in listing["ollama_presets"]["16"]}

    code, text = _run(tmp_path, catalogue, "list")
    assert code == EXIT_OK
    assert "unverified" in text
    assert "sd15 [ok]" in text


def test_verify_names_missing_and_damaged_files_and_full_hashes(
    tmp_path: Path, host: FileHost
) -> None:
    catalogue = _catalogue(tmp_path, host)
    assert _run(tmp_path, catalogue, "verify", "sd15")[0] == EXIT_DAMAGED  # missing
    path = _checkpoint(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    code, text = _run(tmp_path, catalogue, "verify", "sd15")
    assert code == EXIT_DAMAGED
    assert "damaged" in text
    assert "empty" in text
    path.write_bytes(DATA)
    code, text = _run(tmp_path, catalogue, "verify", "sd15")
    assert code == EXIT_OK
    assert text.startswith("ok")
    spoiled = bytearray(DATA)
    spoiled[-1] ^= 1
    path.write_bytes(bytes(spoiled))
    assert _run(tmp_path, catalogue, "verify", "sd15")[0] == EXIT_OK  # size and header fine
    code, text = _run(tmp_path, catalogue, "verify", "sd15", "--full", "--json")
    assert code == EXIT_DAMAGED
    (report,) = json.loads(text)
    assert report["state"] == "hash_mismatch"
    assert report["sha256_found"] == hashlib.sha256(spoiled).hexdigest()


def test_verify_refuses_an_unknown_name(tmp_path: Path, host: FileHost) -> None:
    code, _text = _run(tmp_path, _catalogue(tmp_path, host), "verify", "nonsense.bin")
    assert code == EXIT_ERROR


def test_get_asks_for_the_licence_then_downloads_and_checks(tmp_path: Path, host: FileHost) -> None:
    catalogue = _catalogue(tmp_path, host)
    code, text = _run(tmp_path, catalogue, "get", "sd15")
    assert code == EXIT_LICENCE
    assert "CreativeML OpenRAIL-M" in text
    assert not _checkpoint(tmp_path).exists()
    assert host.seen == []

    code, text = _run(tmp_path, catalogue, "get", "sd15", "--accept-licence", "--json")
    assert code == EXIT_OK, text
    events = [json.loads(line) for line in text.splitlines()]
    assert events[-1] == {
        "event": "done",
        "name": SD15,
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "verified": True,
    }
    assert _checkpoint(tmp_path).read_bytes() == DATA

    code, text = _run(tmp_path, catalogue, "get", "sd15", "--accept-licence")
    assert (code, "already here" in text) == (EXIT_OK, True)
