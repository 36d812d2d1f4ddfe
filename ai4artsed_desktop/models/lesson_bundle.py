"""The lesson's model bundle, checked by every seat at start (no Qt, never raises).

A lesson profile can name a bundle folder and the fingerprint of the key that signs it
(``model_bundle`` in the profile, ``lesson.bundle_location``/``bundle_key`` in the
settings). At start each seat reads the bundle's signed manifest and compares it with its
own model files by size only (no hashing: a start must stay quick). The result is one of:
no bundle named, unreachable (stick not plugged in, share offline), refused (changed after
signing, or signed by another key than the lesson names), complete, or files to install.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import AppError
from ..settings import Settings
from .bundle import MANIFEST, BundleEntry, normalize_fingerprint, read_signed_manifest
from .catalogue import PlannedFile, load_catalogue, planned_files
from .service import roots_from_settings

log = logging.getLogger(__name__)


class LessonBundleState(enum.Enum):
    """What the start check found."""

    none = "none"  # the lesson names no bundle
    unreachable = "unreachable"
    refused = "refused"
    complete = "complete"  # every file the bundle has is here with its size
    installable = "installable"  # files are missing or of another size here


@dataclass(frozen=True)
class LessonBundleStatus:
    """The start check's result.

    Attributes:
        state: The verdict.
        location: The bundle folder the lesson names.
        detail: A technical sentence (logs, the banner's details).
        missing: The bundle's files this seat lacks or has in another size.
    """

    state: LessonBundleState
    location: str
    detail: str = ""
    missing: tuple[BundleEntry, ...] = ()

    @property
    def missing_bytes(self) -> int:
        """Bytes an import would copy at most."""
        return sum(e.size for e in self.missing)


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def check_lesson_bundle(
    location: str, key: str, planned: Iterable[PlannedFile]
) -> LessonBundleStatus:
    """Compare the lesson's bundle with this seat's files (sizes only); never raises.

    Args:
        location: The bundle folder ("" = none).
        key: The fingerprint the lesson names for its signing key.
        planned: Where this seat keeps each catalogue file.
    """
    if not location.strip():
        return LessonBundleStatus(LessonBundleState.none, location)
    folder = Path(location).expanduser()
    try:
        reachable = (folder / MANIFEST).is_file()
    except (OSError, ValueError) as exc:  # a share that hangs up, a drive that vanished
        reachable = False
        log.info("Lesson bundle %s: %s", location, exc)
    if not reachable:
        return LessonBundleStatus(
            LessonBundleState.unreachable, location, f"{folder / MANIFEST} cannot be reached"
        )
    try:
        manifest, fpr = read_signed_manifest(folder)
    except AppError as exc:
        return LessonBundleStatus(LessonBundleState.refused, location, exc.user_message)
    except OSError as exc:
        return LessonBundleStatus(LessonBundleState.unreachable, location, str(exc))
    if fpr != normalize_fingerprint(key):
        detail = f"signed by {fpr}, the lesson names {normalize_fingerprint(key) or 'no key'}"
        return LessonBundleStatus(LessonBundleState.refused, location, detail)
    places = {(p.backend, p.file.name): p.path for p in planned}
    missing = tuple(
        entry
        for entry in manifest.entries
        if (entry.backend, entry.name) in places
        and not _same_size(places[(entry.backend, entry.name)], entry.size)
    )
    if not missing:
        return LessonBundleStatus(LessonBundleState.complete, location)
    names = ", ".join(e.name for e in missing)
    return LessonBundleStatus(
        LessonBundleState.installable, location, f"not here or not whole: {names}", missing
    )


def check_for_settings(settings: Settings) -> LessonBundleStatus:
    """:func:`check_lesson_bundle` for the lesson and the model folders of ``settings``."""
    lesson = settings.lesson
    if not lesson.bundle_location.strip():
        return LessonBundleStatus(LessonBundleState.none, "")
    try:
        roots = roots_from_settings(settings)
        folders = {b: p for b in ("comfyui", "swarmui") if (p := roots.get(b)) is not None}
        planned = planned_files(load_catalogue(), folders)
    except AppError as exc:  # a broken catalogue: say so, start anyway
        return LessonBundleStatus(
            LessonBundleState.refused, lesson.bundle_location, exc.user_message
        )
    return check_lesson_bundle(lesson.bundle_location, lesson.bundle_key, planned)
