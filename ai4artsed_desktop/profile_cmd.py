"""``ai4artsed-desktop profile export|import|show``: lesson profiles from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from pathlib import Path

from .content.loader import load_content
from .errors import AppError
from .instance_lock import held_by_other
from .models.bundle import KEY_FILE, fingerprint, load_or_create_key
from .paths import AppPaths, resources_dir
from .profiles import apply_profile, export_profile, load_profile, profile_from_settings, to_dict
from .settings import load as load_settings
from .settings import save as save_settings
from .teacher_lock import LockError, TeacherLock, default_path


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _read_pin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Teacher PIN: ")
    return sys.stdin.readline().rstrip("\r\n")


def unlock_teacher(paths: AppPaths) -> None:
    """Ask for the teacher PIN when a lock is set.

    Raises:
        LockError: wrong PIN, throttled, or an unusable lock file.
    """
    lock = TeacherLock(default_path(paths.config_dir))
    if lock.is_set and not lock.unlock(_read_pin()):
        raise LockError("The teacher PIN is wrong; nothing was changed.")


def _import(paths: AppPaths, file: Path) -> int:
    if held_by_other(paths.state_dir):
        # The window keeps its own copy of the settings and would overwrite the import with
        # its next change: import in the window (Settings > Lesson) or close it first.
        raise AppError(
            "The app is open on this seat. Import the profile in its window (Settings, "
            "Lesson tab), or close the window and run this command again; nothing was changed."
        )
    content = load_content(resources_dir() / "configs", paths.user_content_dir)
    profile = load_profile(file, content)
    unlock_teacher(paths)
    current = load_settings(paths.settings_file).settings
    try:
        save_settings(apply_profile(current, profile), paths.settings_file)
    except OSError as exc:
        raise AppError(f"The settings could not be saved: {exc.strerror or exc}.") from exc
    print(f"Lesson profile '{profile.name}' applied to {paths.settings_file}.")
    return 0


def run_profile(args: argparse.Namespace) -> int:
    """Export, import (validate, then apply) or show a lesson profile; exit 1 on problems."""
    paths = AppPaths.from_cli(args.data_dir)
    try:
        if args.action == "import":
            return _import(paths, Path(args.path))
        settings = load_settings(paths.settings_file).settings
        if args.action == "export":
            if args.bundle:  # this PC signs the bundle: its key's fingerprint goes along
                key = load_or_create_key(paths.config_dir / KEY_FILE)
                lesson = dataclasses.replace(
                    settings.lesson,
                    bundle_location=args.bundle,
                    bundle_key=fingerprint(key.public_key()),
                )
                settings = dataclasses.replace(settings, lesson=lesson)
            profile = export_profile(
                settings,
                Path(args.path),
                name=args.name,
                allowed_configs=_ids(args.configs),
                allowed_outputs=_ids(args.outputs),
            )
            print(f"Lesson profile '{profile.name}' written to {args.path}.")
            return 0
        json.dump(
            to_dict(profile_from_settings(settings)), sys.stdout, indent=2, ensure_ascii=False
        )
        print()
        return 0
    except AppError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1


__all__ = ["run_profile"]
