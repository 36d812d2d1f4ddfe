"""The offline lab bundle: one teacher PC exports its model files, every seat imports them.

A bundle is a folder (a USB stick, a network share)::

    ai4artsed-bundle.json   the manifest: catalogue version, and per file its backend,
                            name, place, size and SHA-256
    ai4artsed-bundle.sig    an Ed25519 signature over the manifest's exact bytes, with the
                            public key that made it
    files/<backend>/<place> the copies, e.g. files/comfyui/models/checkpoints/x.safetensors

**Signing.** The teacher PC makes an Ed25519 key pair once (``bundle-signing-key.pem`` in
its config folder, readable by the user only) and signs every manifest it writes. A seat
installs nothing from a bundle whose signature does not match its manifest ("changed after
it was signed"), and nothing from a key it does not trust: a key is trusted when its
fingerprint (:func:`fingerprint`, shown by ``models bundle key`` on the teacher PC) was
given with the import (``--key``), is named by the applied lesson profile, or was confirmed
on this seat before (:class:`TrustStore`). Every copied file is hashed while it is copied
and compared with the signed manifest (and with the publisher's hash where the catalogue
has one), so a file changed on the stick is named and not installed. See docs/bundles.md
for what this protects against and what not.

**Import.** Only files this app's catalogue knows are installed, and only where the
catalogue puts them on this seat (never a path from the bundle: a signed bundle still cannot
write outside the models folders). A target that is already intact (same size and SHA-256)
is skipped. A copy goes to ``<name>.part`` beside its target and replaces the target by an
atomic rename only after its hash matched; a cancel or crash leaves no file under a final
name that is not whole, and the next import overwrites a left-over ``.part``.

No Qt here: the Models page and the CLI call these functions in a worker thread.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import enum
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import AppError, UserCancelled
from ..fileio import atomic_write_bytes, atomic_write_json
from .catalogue import Catalogue, PlannedFile

FORMAT = "ai4artsed-model-bundle"
SCHEMA_VERSION = 1
MANIFEST = "ai4artsed-bundle.json"
SIGNATURE = "ai4artsed-bundle.sig"
FILES = "files"
KEY_FILE = "bundle-signing-key.pem"
TRUST_FILE = "trusted-bundle-keys.json"
PART_SUFFIX = ".part"
#: A key fingerprint: 20 bytes of SHA-256 in base32, 32 letters.
FINGERPRINT_LETTERS = 32
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: Model files only: a bundle never carries code (custom nodes, pickled checkpoints).
MODEL_SUFFIXES = (".safetensors", ".gguf", ".sft")
COPY_CHUNK = 4 * 1024 * 1024
_MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_MAX_SIGNATURE_BYTES = 64 * 1024
#: Room left free on the target disk beyond the files themselves.
DISK_MARGIN = 512 * 1024 * 1024

#: Called with each progress step while hashing and copying.
Progress = Callable[["BundleProgress"], None]


class BundleError(AppError):
    """The bundle is refused as a whole; nothing was installed."""


class BundleUntrusted(BundleError):
    """The bundle is signed correctly, but by a key this seat does not trust (yet)."""

    def __init__(self, fingerprint: str) -> None:
        super().__init__(
            f"The bundle is signed by a key this computer does not know: {fingerprint}. "
            "Compare it with the fingerprint the teacher PC shows (models bundle key) and "
            "import again with that fingerprint; nothing was copied.",
            key="error.bundle_untrusted",
            params={"fingerprint": fingerprint},
        )
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class BundleProgress:
    """One progress step: ``name`` is being hashed or copied."""

    name: str
    file_done: int
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Done as a share of all bytes (0..1)."""
        return 1.0 if not self.total else min(1.0, self.done / self.total)


@dataclass(frozen=True)
class BundleEntry:
    """One file of a bundle as its manifest lists it."""

    backend: str
    name: str
    place: str  # below the backend's folder, "/"-separated (models/checkpoints/x.safetensors)
    size: int
    sha256: str

    @property
    def relative(self) -> PurePosixPath:
        """Where the copy lies inside the bundle folder."""
        return PurePosixPath(FILES, self.backend, self.place)


@dataclass(frozen=True)
class Manifest:
    """A bundle's manifest."""

    catalogue_version: str
    created: str
    entries: tuple[BundleEntry, ...]
    app_version: str = ""


class Outcome(enum.Enum):
    """What happened to one file."""

    exported = "exported"
    installed = "installed"
    intact = "intact"  # the seat already had it, whole: skipped
    damaged = "damaged"  # the bundle's copy has another size or hash than signed: not used
    not_published = "not_published"  # signed, but not the file the publisher published
    missing = "missing"  # listed, but not in the bundle folder / not on the teacher PC
    unknown = "unknown"  # this app's catalogue does not know the file: not installed
    failed = "failed"  # could not be read or written (detail says why)


@dataclass(frozen=True)
class FileResult:
    """One file's outcome, with a technical detail for logs and ``--json``."""

    backend: str
    name: str
    outcome: Outcome
    path: Path | None = None
    detail: str = ""


@dataclass(frozen=True)
class BundleReport:
    """What an export or import did, file by file."""

    results: tuple[FileResult, ...]
    fingerprint: str
    catalogue_version: str
    folder: Path

    def named(self, *outcomes: Outcome) -> list[FileResult]:
        """The results with one of ``outcomes``."""
        return [r for r in self.results if r.outcome in outcomes]

    @property
    def problems(self) -> list[FileResult]:
        """Files that were not exported or installed although they should have been."""
        return self.named(Outcome.damaged, Outcome.not_published, Outcome.missing, Outcome.failed)

    @property
    def ok(self) -> bool:
        """Every listed file is in place (unknown files are not counted as problems)."""
        return not self.problems


# ------------------------------------------------------------------ keys and trust


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """A short, readable name of a public key (what a teacher reads out, a seat compares).

    20 bytes of its SHA-256 in base32, in groups of four (``ABCD-EFGH-...``).
    """
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    text = base64.b32encode(hashlib.sha256(raw).digest()[:20]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def normalize_fingerprint(text: str) -> str:
    """``text`` as :func:`fingerprint` writes it (spaces, dashes and case ignored)."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def is_fingerprint(text: str) -> bool:
    """Whether ``text`` (typed in any case, with or without dashes) can be a fingerprint."""
    letters = normalize_fingerprint(text).replace("-", "")
    return len(letters) == FINGERPRINT_LETTERS and not letters.strip(_BASE32)


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The teacher PC's signing key at ``path``; made (mode 0600) when there is none.

    Raises:
        BundleError: the file exists but is not an Ed25519 key, or cannot be written.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            atomic_write_bytes(path, pem, mode=0o600)
        except OSError as exc:
            raise BundleError(
                f"The signing key could not be saved as {path}: {exc}.",
                detail=f"{path}: {exc}",
                key="error.bundle_key_unsaved",
                params={"path": path},
            ) from exc
        return key
    except OSError as exc:
        raise BundleError(
            f"The signing key {path} cannot be read: {exc}.",
            detail=f"{path}: {exc}",
            key="error.bundle_key_unreadable",
            params={"path": path},
        ) from exc
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(
            f"{path} is not a usable signing key: {exc}.",
            detail=f"{path}: {exc}",
            key="error.bundle_key_broken",
            params={"path": path},
        ) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise BundleError(
            f"{path} is not an Ed25519 signing key.",
            detail=f"{path}: {type(loaded).__name__}",
            key="error.bundle_key_broken",
            params={"path": path},
        )
    return loaded


class TrustStore:
    """The bundle keys this seat trusts, by fingerprint (a small JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fingerprints(self) -> set[str]:
        """The trusted fingerprints; an unreadable file trusts none."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        keys = data.get("keys", []) if isinstance(data, dict) else []
        return {normalize_fingerprint(k) for k in keys if isinstance(k, str)}

    def trusts(self, fpr: str) -> bool:
        """Whether ``fpr`` was confirmed on this seat."""
        return normalize_fingerprint(fpr) in self.fingerprints()

    def add(self, fpr: str) -> None:
        """Trust ``fpr`` from now on.

        Raises:
            OSError: the file cannot be written.
        """
        keys = sorted(self.fingerprints() | {normalize_fingerprint(fpr)})
        atomic_write_json(self.path, {"keys": keys})


# ------------------------------------------------------------------ manifest


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest as it is written and signed."""
    data = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "catalogue_version": manifest.catalogue_version,
        "app_version": manifest.app_version,
        "created": manifest.created,
        "files": [
            {
                "backend": e.backend,
                "name": e.name,
                "place": e.place,
                "size": e.size,
                "sha256": e.sha256,
            }
            for e in manifest.entries
        ],
    }
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _safe_place(place: Any, name: str) -> str:
    if not isinstance(place, str) or "\\" in place or ":" in place:
        raise ValueError(f"'{place}' is not a plain relative path")
    path = PurePosixPath(place)
    if path.is_absolute() or any(part in ("", ".", "..") for part in place.split("/")):
        raise ValueError(f"'{place}' is not a plain relative path")
    if path.name != name or path.suffix.lower() not in MODEL_SUFFIXES:
        raise ValueError(f"'{place}' is not a model file named {name}")
    return place


def parse_manifest(raw: bytes) -> Manifest:
    """Check and convert a manifest.

    Raises:
        BundleError: it is not a bundle manifest this app can read.
    """
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("this is not a model bundle manifest")
        version = data.get("schema_version")
        if not isinstance(version, int):
            raise ValueError(f"schema_version {version!r} is not a whole number")
        if version > SCHEMA_VERSION:
            raise BundleError(  # not caught below: its own advice (update this app)
                f"The bundle was written by a newer app (schema {version}); update this app; "
                "nothing was copied.",
                detail=f"schema_version {version} > {SCHEMA_VERSION}",
                key="error.bundle_too_new",
            )
        entries = []
        for index, item in enumerate(data["files"]):
            where = f"files[{index}]"
            name, backend = item["name"], item["backend"]
            size, sha = item["size"], item["sha256"]
            if not all(isinstance(v, str) and v for v in (name, backend)):
                raise ValueError(f"{where}: name and backend must be texts")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"{where}: size must be a whole number of bytes")
            if not isinstance(sha, str) or len(sha) != 64 or sha.strip("0123456789abcdef"):
                raise ValueError(f"{where}: sha256 must be 64 lower-case hex digits")
            try:
                place = _safe_place(item["place"], name)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            entries.append(BundleEntry(backend, name, place, size, sha))
        return Manifest(
            catalogue_version=str(data["catalogue_version"]),
            created=str(data["created"]),
            entries=tuple(entries),
            app_version=str(data.get("app_version", "")),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise BundleError(
            f"The bundle's manifest cannot be used: {exc}; nothing was copied.",
            detail=str(exc),
            key="error.bundle_manifest_broken",
            params={"file": MANIFEST},
        ) from None


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        raise BundleError(
            f"{path.parent} is not a model bundle: {what} {path.name} is missing.",
            detail=f"{path} does not exist",
            key="error.bundle_not_a_bundle",
            params={"folder": path.parent, "file": path.name},
        ) from None
    except OSError as exc:
        raise BundleError(
            f"The bundle cannot be read at {path}: {exc}.",
            detail=f"{path}: {exc}",
            key="error.bundle_unreadable",
            params={"path": path},
        ) from exc
    if len(data) > cap:
        raise BundleError(
            f"{path} is too large for a bundle {what}.",
            detail=f"{path}: more than {cap} bytes",
            key="error.bundle_file_too_large",
            params={"path": path},
        )
    return data


def read_signed_manifest(folder: Path) -> tuple[Manifest, str]:
    """The bundle's manifest and the fingerprint of the key that signed it.

    Raises:
        BundleError: missing or unreadable files, or the signature does not match the
            manifest (it was changed after it was signed).
    """
    raw = _read_capped(folder / MANIFEST, _MAX_MANIFEST_BYTES, "manifest")
    signed = _read_capped(folder / SIGNATURE, _MAX_SIGNATURE_BYTES, "signature")
    try:
        sig = json.loads(signed.decode("utf-8"))
        if sig.get("algorithm") != "ed25519":
            raise ValueError(f"unknown algorithm {sig.get('algorithm')!r}")
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"]))
        signature = base64.b64decode(sig["signature"])
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise BundleError(
            f"The bundle's signature file is broken ({exc}); nothing was copied.",
            key="error.bundle_tampered",
        ) from None
    try:
        public.verify(signature, raw)
    except InvalidSignature:
        raise BundleError(
            "The bundle was changed after it was signed (its manifest does not match the "
            "signature); nothing was copied. Export it again on the teacher PC.",
            key="error.bundle_tampered",
        ) from None
    return parse_manifest(raw), fingerprint(public)


def _sign(folder: Path, raw: bytes, key: Ed25519PrivateKey) -> None:
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    sig = {
        "algorithm": "ed25519",
        "public_key": base64.b64encode(public).decode("ascii"),
        "signature": base64.b64encode(key.sign(raw)).decode("ascii"),
    }
    atomic_write_bytes(folder / MANIFEST, raw, mode=0o644)
    atomic_write_bytes(folder / SIGNATURE, json.dumps(sig, indent=2).encode(), mode=0o644)


# ------------------------------------------------------------------ copying


@dataclass
class _Counter:
    total: int
    done: int = 0
    progress: Progress | None = None
    cancel: threading.Event | None = None

    def step(self, name: str, file_done: int, added: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise UserCancelled()
        self.done += added
        if self.progress is not None:
            self.progress(BundleProgress(name, file_done, self.done, self.total))


def part_path(target: Path) -> Path:
    """Where the copy for ``target`` is written until it is whole and checked."""
    return target.with_name(target.name + PART_SUFFIX)


def hash_file(path: Path, counter: _Counter) -> str:
    """SHA-256 of ``path``, counting its bytes as progress."""
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            counter.step(path.name, done, len(chunk))
    return digest.hexdigest()


def copy_hashed(source: Path, target: Path, counter: _Counter) -> tuple[int, str]:
    """Copy ``source`` to ``target``'s ``.part`` file, hashing while copying.

    Returns ``(size, sha256)``; the caller renames the part (:func:`_commit`) or removes it.
    """
    part = part_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, part.open("wb") as dst:
        while chunk := src.read(COPY_CHUNK):
            dst.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            counter.step(target.name, size, len(chunk))
        dst.flush()
        os.fsync(dst.fileno())
    return size, digest.hexdigest()


def _commit(target: Path) -> None:
    os.replace(part_path(target), target)
    with contextlib.suppress(OSError):  # some network shares cannot sync a folder
        if os.name == "posix":
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _drop_part(target: Path) -> None:
    with contextlib.suppress(OSError):
        part_path(target).unlink()


def _check_space(folder: Path, needed: int) -> None:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: the copy itself will report a full disk
    if free < needed + DISK_MARGIN:
        gib = 2**30
        raise BundleError(
            f"Not enough free space on {probe}: {needed / gib:.1f} GB are needed, "
            f"{free / gib:.1f} GB are free; nothing was copied.",
            key="error.bundle_no_space",
            params={"needed": f"{needed / gib:.1f}", "free": f"{free / gib:.1f}"},
        )


# ------------------------------------------------------------------ export


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def export_bundle(
    planned: Iterable[PlannedFile],
    roots: Mapping[str, Path],
    folder: Path,
    key: Ed25519PrivateKey,
    *,
    catalogue: Catalogue,
    app_version: str = "",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> BundleReport:
    """Copy every planned file this PC has into ``folder`` and write the signed manifest.

    Files missing here are named and left out; a file whose hash is not the publisher's
    (where the catalogue has one) is named and left out. The manifest is written last: an
    export that stops half-way leaves a folder without a manifest, which no seat imports.

    Raises:
        BundleError: ``folder`` cannot be written or lacks space (nothing usable written).
        UserCancelled: ``cancel`` was set (the manifest is not written).
    """
    plan = list(planned)
    present = [p for p in plan if p.path.is_file()]
    results: list[FileResult] = [
        FileResult(p.backend, p.file.name, Outcome.missing, p.path, f"{p.path} is not here")
        for p in plan
        if not p.path.is_file()
    ]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (folder / MANIFEST, folder / SIGNATURE):  # no old manifest over new files
            stale.unlink(missing_ok=True)
    except OSError as exc:
        raise BundleError(
            f"The bundle folder {folder} cannot be written: {exc}.",
            detail=f"{folder}: {exc}",
            key="error.bundle_folder_unwritable",
            params={"folder": folder},
        ) from exc
    sizes = {p.path: p.path.stat().st_size for p in present}
    _check_space(folder, sum(sizes.values()))
    counter = _Counter(sum(sizes.values()), progress=progress, cancel=cancel)
    entries: list[BundleEntry] = []
    for item in present:
        place = item.path.relative_to(roots[item.backend]).as_posix()
        entry_path = folder.joinpath(FILES, item.backend, *place.split("/"))
        try:
            size, sha = copy_hashed(item.path, entry_path, counter)
        except UserCancelled:
            _drop_part(entry_path)
            raise
        except OSError as exc:
            _drop_part(entry_path)
            results.append(
                FileResult(item.backend, item.file.name, Outcome.failed, item.path, str(exc))
            )
            continue
        published = item.file.sha256
        if published is not None and sha != published:
            _drop_part(entry_path)
            detail = f"SHA-256 {sha} is not the published {published}"
            results.append(
                FileResult(item.backend, item.file.name, Outcome.not_published, item.path, detail)
            )
            continue
        _commit(entry_path)
        entries.append(BundleEntry(item.backend, item.file.name, place, size, sha))
        results.append(FileResult(item.backend, item.file.name, Outcome.exported, entry_path))
    manifest = Manifest(catalogue.version, _now(), tuple(entries), app_version)
    try:
        _sign(folder, manifest_bytes(manifest), key)
    except OSError as exc:
        raise BundleError(
            f"The bundle's manifest could not be written: {exc}.",
            detail=f"{folder / MANIFEST}: {exc}",
            key="error.bundle_manifest_unwritten",
            params={"folder": folder},
        ) from exc
    return BundleReport(tuple(results), fingerprint(key.public_key()), catalogue.version, folder)


# ------------------------------------------------------------------ import


def import_bundle(
    folder: Path,
    planned: Iterable[PlannedFile],
    *,
    trusted: Callable[[str], bool],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> BundleReport:
    """Verify the bundle in ``folder`` and install its files where this seat keeps them.

    Args:
        folder: The bundle.
        planned: Where this seat's catalogue puts each file (:func:`planned_files`).
        trusted: Whether a key fingerprint may install here.
        progress: Called while hashing and copying.
        cancel: Stops between chunks with :class:`UserCancelled`; nothing half-copied stays
            under a final name.

    Raises:
        BundleError: the bundle is unreadable, changed after signing, or lacks space.
        BundleUntrusted: signed by a key ``trusted`` refuses.
        UserCancelled: ``cancel`` was set.
    """
    manifest, fpr = read_signed_manifest(folder)
    if not trusted(fpr):
        raise BundleUntrusted(fpr)
    where = {(p.backend, p.file.name): p for p in planned}
    results: list[FileResult] = []
    work: list[tuple[BundleEntry, Path, PlannedFile]] = []
    for entry in manifest.entries:
        item = where.get((entry.backend, entry.name))
        if item is None:
            detail = f"this app's catalogue has no {entry.backend} file {entry.name}"
            results.append(FileResult(entry.backend, entry.name, Outcome.unknown, None, detail))
            continue
        if item.file.sha256 is not None and item.file.sha256 != entry.sha256:
            detail = f"signed SHA-256 {entry.sha256} is not the published {item.file.sha256}"
            results.append(
                FileResult(entry.backend, entry.name, Outcome.not_published, item.path, detail)
            )
            continue
        source = folder.joinpath(*entry.relative.parts)
        work.append((entry, source, item))
    existing = [(e, t) for e, _, t in work if _same_size(t.path, e.size)]
    to_copy = sum(e.size for e, _, t in work if not _same_size(t.path, e.size))
    counter = _Counter(sum(e.size for e, _ in existing) + to_copy, progress=progress, cancel=cancel)
    copies: list[tuple[BundleEntry, Path, PlannedFile]] = []
    for entry, source, item in work:
        if _same_size(item.path, entry.size):
            try:
                intact = hash_file(item.path, counter) == entry.sha256
            except OSError:
                intact = False
            if intact:
                results.append(FileResult(entry.backend, entry.name, Outcome.intact, item.path))
                continue
            counter.total += entry.size
        copies.append((entry, source, item))
    needed: dict[Path, int] = {}
    for entry, _, item in copies:
        needed[item.path.parent] = needed.get(item.path.parent, 0) + entry.size
    for target_folder, size in needed.items():
        _check_space(target_folder, size)
    for entry, source, item in copies:
        results.append(_install(entry, source, item.path, counter))
    return BundleReport(tuple(results), fpr, manifest.catalogue_version, folder)


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False


def _install(entry: BundleEntry, source: Path, target: Path, counter: _Counter) -> FileResult:
    def result(outcome: Outcome, detail: str = "") -> FileResult:
        return FileResult(entry.backend, entry.name, outcome, target, detail)

    try:
        actual = source.stat().st_size
    except FileNotFoundError:
        counter.total -= entry.size
        return result(Outcome.missing, f"{source} is not in the bundle")
    except OSError as exc:
        counter.total -= entry.size
        return result(Outcome.failed, f"{source}: {exc}")
    if actual != entry.size:
        counter.total -= entry.size
        return result(Outcome.damaged, f"{source} has {actual} bytes, signed {entry.size}")
    try:
        size, sha = copy_hashed(source, target, counter)
    except UserCancelled:
        _drop_part(target)
        raise
    except OSError as exc:
        _drop_part(target)
        return result(Outcome.failed, f"copying {source} to {target}: {exc}")
    if size != entry.size or sha != entry.sha256:
        _drop_part(target)
        return result(Outcome.damaged, f"{source}: SHA-256 {sha} is not the signed {entry.sha256}")
    try:
        _commit(target)
    except OSError as exc:
        _drop_part(target)
        return result(Outcome.failed, f"renaming {part_path(target).name}: {exc}")
    return result(Outcome.installed)
