"""The offline lab bundle: signed export, verified import, nothing half-written, no tricks."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ai4artsed_desktop.errors import UserCancelled
from ai4artsed_desktop.models import bundle
from ai4artsed_desktop.models.bundle import (
    MANIFEST,
    SIGNATURE,
    BundleError,
    BundleProgress,
    BundleUntrusted,
    Outcome,
    TrustStore,
    export_bundle,
    fingerprint,
    import_bundle,
    load_or_create_key,
    normalize_fingerprint,
    part_path,
)
from ai4artsed_desktop.models.catalogue import (
    Catalogue,
    catalogue_file,
    parse_catalogue,
    planned_files,
)

KIB = 1024
BIG = os.urandom(300 * KIB)  # several copy chunks once the chunk is made small
TEXT = os.urandom(40 * KIB)
PUBLISHED = os.urandom(10 * KIB)


def _file(data: bytes | None, folder: str, *, published: bool) -> dict[str, Any]:
    return {
        "folder": folder,
        "role": "checkpoint" if folder == "checkpoints" else "text_encoder",
        "size": len(data) if published and data is not None else None,
        "approx_size": 1000,
        "sha256": hashlib.sha256(data).hexdigest() if published and data is not None else None,
        "verified": published,
        "source": "test",
        "licence": "apache-2.0",
        "urls": ["https://example.org/file"],
    }


def make_catalogue(version: str = "test.1") -> Catalogue:
    """The real catalogue's targets and licences with three small test files."""
    raw: dict[str, Any] = json.loads(catalogue_file().read_text(encoding="utf-8"))
    raw["version"] = version
    raw["files"] = {
        "big.safetensors": _file(BIG, "checkpoints", published=False),
        "text.safetensors": _file(TEXT, "text_encoders", published=False),
        "published.safetensors": _file(PUBLISHED, "checkpoints", published=True),
    }
    raw["outputs"] = {
        "one": {"backend": "comfyui", "get": ["big.safetensors", "text.safetensors"]},
        "two": {"backend": "comfyui", "get": ["published.safetensors"]},
        "swarm": {"backend": "swarmui", "get": ["big.safetensors"], "subfolder": "Official"},
    }
    raw["ollama"] = {}
    return parse_catalogue(raw)


CATALOGUE = make_catalogue()


class Seat:
    """One PC: its ComfyUI and SwarmUI folders and the planned places of the test files."""

    def __init__(self, base: Path) -> None:
        self.roots = {"comfyui": base / "ComfyUI", "swarmui": base / "SwarmUI"}
        self.planned = planned_files(CATALOGUE, self.roots)

    def place(self, backend: str, name: str) -> Path:
        return next(p.path for p in self.planned if (p.backend, p.file.name) == (backend, name))

    def put(self, backend: str, name: str, data: bytes) -> Path:
        path = self.place(backend, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def teacher(tmp_path: Path) -> Seat:
    seat = Seat(tmp_path / "teacher")
    seat.put("comfyui", "big.safetensors", BIG)
    seat.put("comfyui", "text.safetensors", TEXT)
    seat.put("comfyui", "published.safetensors", PUBLISHED)
    seat.put("swarmui", "big.safetensors", BIG)
    return seat


@pytest.fixture
def stick(tmp_path: Path, teacher: Seat, key: Ed25519PrivateKey) -> Path:
    folder = tmp_path / "stick"
    report = export_bundle(teacher.planned, teacher.roots, folder, key, catalogue=CATALOGUE)
    assert report.ok, report.problems
    return folder


def trust(key: Ed25519PrivateKey) -> Any:
    return lambda fpr: fpr == fingerprint(key.public_key())


def test_round_trip_installs_every_file_where_the_seat_keeps_it(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    manifest = json.loads((stick / MANIFEST).read_text("utf-8"))
    assert manifest["catalogue_version"] == "test.1"
    listed = {(f["backend"], f["name"]): f for f in manifest["files"]}
    assert listed[("comfyui", "big.safetensors")]["sha256"] == hashlib.sha256(BIG).hexdigest()
    assert listed[("swarmui", "big.safetensors")]["place"] == (
        "Models/Stable-Diffusion/Official/big.safetensors"
    )
    seat = Seat(tmp_path / "seat")
    steps: list[BundleProgress] = []
    report = import_bundle(stick, seat.planned, trusted=trust(key), progress=steps.append)
    assert report.ok
    assert {r.outcome for r in report.results} == {Outcome.installed}
    assert len(report.results) == 4
    for backend, name, data in [
        ("comfyui", "big.safetensors", BIG),
        ("comfyui", "text.safetensors", TEXT),
        ("comfyui", "published.safetensors", PUBLISHED),
        ("swarmui", "big.safetensors", BIG),
    ]:
        assert seat.place(backend, name).read_bytes() == data
    assert steps[-1].done == steps[-1].total == 2 * len(BIG) + len(TEXT) + len(PUBLISHED)
    assert not list((tmp_path / "seat").rglob("*.part"))


def test_intact_files_are_skipped_and_damaged_ones_replaced(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    seat = Seat(tmp_path / "seat")
    seat.put("comfyui", "big.safetensors", BIG)
    damaged = bytearray(TEXT)
    damaged[100] ^= 0xFF
    seat.put("comfyui", "text.safetensors", bytes(damaged))  # same size, other bytes
    report = import_bundle(stick, seat.planned, trusted=trust(key))
    outcome = {(r.backend, r.name): r.outcome for r in report.results}
    assert outcome[("comfyui", "big.safetensors")] is Outcome.intact
    assert outcome[("comfyui", "text.safetensors")] is Outcome.installed
    assert seat.place("comfyui", "text.safetensors").read_bytes() == TEXT


def test_a_changed_manifest_is_refused_and_nothing_is_copied(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    manifest = stick / MANIFEST
    manifest.write_text(manifest.read_text("utf-8").replace("test.1", "test.2"), "utf-8")
    seat = Seat(tmp_path / "seat")
    with pytest.raises(BundleError, match="changed after it was signed"):
        import_bundle(stick, seat.planned, trusted=trust(key))
    assert not (tmp_path / "seat").exists()


def test_a_manifest_signed_by_another_key_is_refused(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    """An attacker re-signs a changed manifest with their own key: the seat trusts only the
    teacher's fingerprint."""
    other = Ed25519PrivateKey.generate()
    raw = (stick / MANIFEST).read_bytes()
    bundle._sign(stick, raw, other)
    with pytest.raises(BundleUntrusted) as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))
    assert caught.value.fingerprint == fingerprint(other.public_key())
    assert caught.value.fingerprint in caught.value.user_message


def test_a_broken_signature_file_is_refused(tmp_path: Path, stick: Path) -> None:
    (stick / SIGNATURE).write_text('{"algorithm": "ed25519", "public_key": "AAAA"}', "utf-8")
    with pytest.raises(BundleError, match="signature file is broken") as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=lambda _f: True)
    assert caught.value.key == "error.bundle_tampered"
    (stick / SIGNATURE).unlink()
    with pytest.raises(BundleError, match="not a model bundle") as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=lambda _f: True)
    assert caught.value.key == "error.bundle_not_a_bundle"
    assert caught.value.params == {"folder": str(stick), "file": SIGNATURE}


def test_a_bundle_from_a_newer_app_asks_for_an_update(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    def newer(data: dict[str, Any]) -> None:
        data["schema_version"] = bundle.SCHEMA_VERSION + 1

    _resign(stick, key, newer)
    with pytest.raises(BundleError, match="newer app") as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))
    assert caught.value.key == "error.bundle_too_new"

    def wordy(data: dict[str, Any]) -> None:
        data["schema_version"] = "one"

    _resign(stick, key, wordy)
    with pytest.raises(BundleError, match="manifest cannot be used") as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))
    assert caught.value.key == "error.bundle_manifest_broken"
    assert "schema_version 'one'" in caught.value.detail


def test_an_oversized_manifest_or_an_unwritable_folder_is_refused_in_the_ui_language(
    tmp_path: Path, stick: Path, teacher: Seat, key: Ed25519PrivateKey
) -> None:
    (stick / MANIFEST).write_bytes(b" " * (bundle._MAX_MANIFEST_BYTES + 1))
    with pytest.raises(BundleError, match="too large") as caught:
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))
    assert caught.value.key == "error.bundle_file_too_large"
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder", "utf-8")
    with pytest.raises(BundleError, match="cannot be written") as caught:
        export_bundle(teacher.planned, teacher.roots, blocker / "x", key, catalogue=CATALOGUE)
    assert caught.value.key == "error.bundle_folder_unwritable"
    assert caught.value.params == {"folder": str(blocker / "x")}
    assert str(blocker / "x") in caught.value.detail  # the OS's reason: detail and log


def test_a_changed_file_is_named_and_not_installed_the_others_are(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    copy = stick / "files" / "comfyui" / "models" / "text_encoders" / "text.safetensors"
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0x01
    copy.write_bytes(bytes(data))
    short = stick / "files" / "comfyui" / "models" / "checkpoints" / "published.safetensors"
    short.write_bytes(PUBLISHED[:-10])
    seat = Seat(tmp_path / "seat")
    report = import_bundle(stick, seat.planned, trusted=trust(key))
    outcome = {(r.backend, r.name): r for r in report.results}
    assert outcome[("comfyui", "text.safetensors")].outcome is Outcome.damaged
    assert "SHA-256" in outcome[("comfyui", "text.safetensors")].detail
    assert outcome[("comfyui", "published.safetensors")].outcome is Outcome.damaged
    assert outcome[("comfyui", "big.safetensors")].outcome is Outcome.installed
    assert not report.ok
    assert {r.name for r in report.problems} == {"text.safetensors", "published.safetensors"}
    assert not seat.place("comfyui", "text.safetensors").exists()
    assert not part_path(seat.place("comfyui", "text.safetensors")).exists()


def test_a_file_missing_from_the_bundle_is_named(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    (
        stick / "files" / "swarmui" / "Models" / "Stable-Diffusion" / "Official" / "big.safetensors"
    ).unlink()
    report = import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))
    assert [(r.backend, r.outcome) for r in report.problems] == [("swarmui", Outcome.missing)]


def test_a_cancelled_import_leaves_no_half_copied_file(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "COPY_CHUNK", 64 * KIB)
    seat = Seat(tmp_path / "seat")
    cancel = threading.Event()

    def stop_midway(step: BundleProgress) -> None:
        if step.name == "big.safetensors" and step.file_done >= 128 * KIB:
            cancel.set()

    with pytest.raises(UserCancelled):
        import_bundle(stick, seat.planned, trusted=trust(key), progress=stop_midway, cancel=cancel)
    target = seat.place("comfyui", "big.safetensors")
    assert not target.exists()
    assert not part_path(target).exists()
    assert not [p for p in (tmp_path / "seat").rglob("*") if p.is_file() and p.read_bytes() != BIG]


def test_a_write_error_midway_leaves_no_file_and_the_next_import_finishes(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "COPY_CHUNK", 64 * KIB)
    seat = Seat(tmp_path / "seat")
    target = seat.place("comfyui", "big.safetensors")

    def disk_full(step: BundleProgress) -> None:
        if step.name == "big.safetensors" and step.file_done >= 128 * KIB:
            raise OSError(28, "No space left on device")

    report = import_bundle(stick, seat.planned, trusted=trust(key), progress=disk_full)
    failed = {r.name for r in report.named(Outcome.failed)}
    assert "big.safetensors" in failed
    assert "No space left" in report.named(Outcome.failed)[0].detail
    assert not target.exists()
    assert not part_path(target).exists()
    # a .part a killed import left behind is simply overwritten
    part_path(target).write_bytes(b"left over")
    again = import_bundle(stick, seat.planned, trusted=trust(key))
    assert again.ok
    assert target.read_bytes() == BIG
    assert not part_path(target).exists()


def test_not_enough_space_refuses_before_copying(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "DISK_MARGIN", 2**62)
    seat = Seat(tmp_path / "seat")
    with pytest.raises(BundleError, match="Not enough free space"):
        import_bundle(stick, seat.planned, trusted=trust(key))
    assert not [p for p in (tmp_path / "seat").rglob("*") if p.is_file()]


def _resign(stick: Path, key: Ed25519PrivateKey, change: Any) -> None:
    data = json.loads((stick / MANIFEST).read_text("utf-8"))
    change(data)
    bundle._sign(stick, json.dumps(data).encode(), key)


@pytest.mark.parametrize(
    "place",
    [
        "../../../outside.safetensors",
        "/etc/big.safetensors",
        "custom_nodes/big.py",
        "models\\..\\big.safetensors",
        "models/checkpoints/other.safetensors",
    ],
)
def test_a_signed_manifest_still_cannot_name_a_path_outside_the_models(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey, place: str
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["files"][0]["place"] = place

    _resign(stick, key, change)
    with pytest.raises(BundleError, match="manifest cannot be used"):
        import_bundle(stick, Seat(tmp_path / "seat").planned, trusted=trust(key))


def test_files_this_app_does_not_know_or_not_the_published_ones_are_left_out(
    tmp_path: Path, stick: Path, key: Ed25519PrivateKey
) -> None:
    def change(data: dict[str, Any]) -> None:
        data["files"][0]["name"] = "new.safetensors"
        data["files"][0]["place"] = "models/checkpoints/new.safetensors"
        published = next(f for f in data["files"] if f["name"] == "published.safetensors")
        published["sha256"] = "0" * 64

    _resign(stick, key, change)
    seat = Seat(tmp_path / "seat")
    report = import_bundle(stick, seat.planned, trusted=trust(key))
    assert [r.name for r in report.named(Outcome.unknown)] == ["new.safetensors"]
    assert [r.name for r in report.named(Outcome.not_published)] == ["published.safetensors"]
    assert not (seat.roots["comfyui"] / "models" / "checkpoints" / "new.safetensors").exists()


def test_export_names_missing_and_unpublished_files_and_writes_the_manifest_last(
    tmp_path: Path, teacher: Seat, key: Ed25519PrivateKey
) -> None:
    teacher.place("comfyui", "text.safetensors").unlink()
    teacher.put("comfyui", "published.safetensors", os.urandom(len(PUBLISHED)))
    folder = tmp_path / "stick"
    report = export_bundle(teacher.planned, teacher.roots, folder, key, catalogue=CATALOGUE)
    outcome = {(r.backend, r.name): r.outcome for r in report.results}
    assert outcome[("comfyui", "text.safetensors")] is Outcome.missing
    assert outcome[("comfyui", "published.safetensors")] is Outcome.not_published
    names = {f["name"] for f in json.loads((folder / MANIFEST).read_text("utf-8"))["files"]}
    assert names == {"big.safetensors"}
    assert not (
        folder / "files" / "comfyui" / "models" / "checkpoints" / "published.safetensors"
    ).exists()


def test_a_cancelled_export_leaves_no_manifest(
    tmp_path: Path, stick: Path, teacher: Seat, key: Ed25519PrivateKey
) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(UserCancelled):
        export_bundle(
            teacher.planned, teacher.roots, stick, key, catalogue=CATALOGUE, cancel=cancel
        )
    assert not (stick / MANIFEST).exists()  # the old one is gone too: no mix of old and new
    assert not (stick / SIGNATURE).exists()
    assert not list(stick.rglob("*.part"))


def test_the_signing_key_is_made_once_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "config" / "bundle-signing-key.pem"
    first = load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_key(path)
    assert fingerprint(first.public_key()) == fingerprint(again.public_key())
    path.write_text("not a key", "utf-8")
    with pytest.raises(BundleError, match="not a usable signing key") as caught:
        load_or_create_key(path)
    assert caught.value.key == "error.bundle_key_broken"
    assert caught.value.params == {"path": str(path)}


def test_fingerprints_are_compared_however_they_are_typed(tmp_path: Path) -> None:
    fpr = fingerprint(Ed25519PrivateKey.generate().public_key())
    assert len(fpr) == 39
    assert fpr.count("-") == 7
    typed = fpr.replace("-", " ").lower()
    assert normalize_fingerprint(typed) == fpr
    store = TrustStore(tmp_path / "trusted.json")
    assert not store.trusts(fpr)
    store.add(typed)
    assert store.trusts(fpr)
    (tmp_path / "trusted.json").write_text("{", "utf-8")
    assert not store.trusts(fpr)  # a broken file trusts nobody


def test_signature_is_over_the_exact_manifest_bytes(stick: Path, key: Ed25519PrivateKey) -> None:
    sig = json.loads((stick / SIGNATURE).read_text("utf-8"))
    raw = (stick / MANIFEST).read_bytes()
    key.public_key().verify(base64.b64decode(sig["signature"]), raw)
    manifest, fpr = bundle.read_signed_manifest(stick)
    assert fpr == fingerprint(key.public_key())
    assert len(manifest.entries) == 4
