"""Is a catalogue file on this computer, whole, and the published one?

Two depths: the quick check (size against the published size, the safetensors header;
:func:`~ai4artsed_desktop.pipeline.model_files.check_model_file`, the same check Create and
doctor use at every start) and the full check (SHA-256 over every byte, on demand and after
an import). A file whose catalogue entry has no confirmed hash can only be "unverified" by a
full check: whole as far as its header tells, but not proven to be the publisher's file.
"""

from __future__ import annotations

import enum
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserCancelled
from ..pipeline.availability import match_name
from ..pipeline.model_files import FileCheck, FileHealth, LocalModels, check_model_file
from .catalogue import ModelFile, PlannedFile

#: Read size for hashing: large enough that Python overhead vanishes next to SHA-256.
HASH_CHUNK = 4 * 1024 * 1024

Progress = Callable[[int], None]


class FileState(enum.Enum):
    """What a check found for one file."""

    ok = "ok"
    missing = "missing"
    damaged = "damaged"  # empty, cut off, unreadable header, other size than published
    hash_mismatch = "hash_mismatch"  # whole, but not the published bytes
    unverified = "unverified"  # whole; the catalogue has no confirmed hash to compare


@dataclass(frozen=True)
class FileReport:
    """One file's state.

    Attributes:
        file: The catalogue entry.
        state: The verdict.
        path: Where the file is (or, when missing, where it belongs; None if unknown).
        check: The quick check (None when missing).
        sha256: The hash computed by a full check (None after a quick one).
        full: A full check was made.
    """

    file: ModelFile
    state: FileState
    path: Path | None
    check: FileCheck | None = None
    sha256: str | None = None
    full: bool = False

    @property
    def detail(self) -> str:
        """A technical sentence for logs and ``--json``."""
        if self.state is FileState.missing:
            return f"{self.file.name} is missing" + (
                f" (expected at {self.path})" if self.path else ""
            )
        if self.state is FileState.damaged and self.check is not None:
            return self.check.detail or f"{self.path} is damaged ({self.check.health.value})"
        if self.state is FileState.hash_mismatch:
            return f"{self.path}: SHA-256 {self.sha256} is not the published {self.file.sha256}"
        if self.state is FileState.unverified:
            return f"{self.path}: whole, but the catalogue has no confirmed SHA-256 to compare"
        return f"{self.path}: ok" + (" (SHA-256 matches)" if self.full else " (quick check)")


def sha256_file(
    path: Path, *, progress: Progress | None = None, cancel: threading.Event | None = None
) -> str:
    """The SHA-256 of ``path`` (lower-case hex), reading it in large chunks.

    Args:
        path: The file.
        progress: Called with the bytes read so far after each chunk.
        cancel: When set, hashing stops with :class:`UserCancelled`.

    Raises:
        OSError: the file cannot be read.
        UserCancelled: ``cancel`` was set.
    """
    digest = hashlib.sha256()
    done = 0
    buffer = bytearray(HASH_CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while True:
            if cancel is not None and cancel.is_set():
                raise UserCancelled()
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
            done += count
            if progress is not None:
                progress(done)
    return digest.hexdigest()


def verify_path(
    file: ModelFile,
    path: Path,
    *,
    full: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> FileReport:
    """Check ``file`` at exactly ``path``.

    Raises:
        UserCancelled: ``cancel`` was set during a full check.
    """
    if not path.is_file():
        return FileReport(file, FileState.missing, path)
    check = check_model_file(path, file.expected_size)
    if check.damaged:
        return FileReport(file, FileState.damaged, path, check)
    if not full:
        return FileReport(file, FileState.ok, path, check)
    try:
        digest = sha256_file(path, progress=progress, cancel=cancel)
    except OSError as exc:
        broken = FileCheck(FileHealth.unreadable, check.size, detail=f"{path}: {exc}")
        return FileReport(file, FileState.damaged, path, broken, full=True)
    if file.sha256 is None:
        return FileReport(file, FileState.unverified, path, check, digest, full=True)
    state = FileState.ok if digest == file.sha256 else FileState.hash_mismatch
    return FileReport(file, state, path, check, digest, full=True)


def locate(local: LocalModels, file: ModelFile) -> Path | None:
    """Where ``file`` lies in a backend's models folders, as ComfyUI would find it.

    The exact name first, then the same name in other case or in a subfolder (the rules of
    :func:`~ai4artsed_desktop.pipeline.availability.match_name`).
    """
    exact = local.locate(file.folder, file.name)
    if exact is not None:
        return exact
    listed = match_name(local.names(file.folder), [file.name])
    return local.locate(file.folder, listed) if listed is not None else None


def verify_files(
    files: Iterable[ModelFile],
    local: LocalModels,
    *,
    full: bool = False,
    expected: Callable[[ModelFile], Path | None] = lambda _file: None,
    progress: Callable[[ModelFile, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[FileReport]:
    """Check each of ``files`` where the backend would find it.

    Args:
        files: Catalogue entries.
        local: The backend's models folders.
        full: Hash every present, whole file.
        expected: Where a missing file belongs (for the report).
        progress: Called with the file and its bytes hashed so far.
        cancel: Stops a full check with :class:`UserCancelled`.
    """
    reports = []
    for file in files:
        path = locate(local, file)
        if path is None:
            reports.append(FileReport(file, FileState.missing, expected(file)))
            continue
        step = None if progress is None else (lambda n, f=file: progress(f, n))
        reports.append(verify_path(file, path, full=full, progress=step, cancel=cancel))
    return reports


def verify_planned(
    planned: Iterable[PlannedFile],
    *,
    full: bool = False,
    cancel: threading.Event | None = None,
) -> list[FileReport]:
    """Check each planned file at its exact expected path (bundles, imports)."""
    return [verify_path(p.file, p.path, full=full, cancel=cancel) for p in planned]
