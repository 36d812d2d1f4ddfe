"""Run folder housekeeping: listing, whole-folder deletion, leftovers, write-error messages."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import time
from pathlib import Path

from ..errors import AppError, ConfigError, InsufficientResources
from .record import is_run_id

TRASH_PREFIX = ".trash-"
STAGING_PREFIX = ".new-"
STALE_TEMP_S = 3600.0
"""Temp files and staging folders older than this belong to killed writers."""


def run_folder_names(runs_dir: Path) -> list[str]:
    """Names of the folders below ``runs_dir`` that are run ids (fast at 10,000 runs)."""
    with os.scandir(runs_dir) as entries:
        return [e.name for e in entries if is_run_id(e.name) and e.is_dir()]


def trash_folder(folder: Path) -> None:
    """Delete a folder so that it vanishes whole: rename it aside, then remove it.

    A missing folder is fine. If removal is interrupted, :func:`cleanup_leftovers`
    finishes it at the next start; a half-deleted run is never visible.

    Raises:
        ConfigError: the folder could not be renamed (a file in it is in use).
    """
    trash = folder.with_name(f"{TRASH_PREFIX}{folder.name}-{secrets.token_hex(4)}")
    try:
        folder.rename(trash)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(
            "The run could not be deleted; a file of it may be open in another program.",
            detail=f"{folder}: {exc}",
            key="error.run_not_deleted",
        ) from exc
    shutil.rmtree(trash, ignore_errors=True)


def cleanup_leftovers(runs_dir: Path, *, now: float | None = None) -> None:
    """Finish interrupted deletions and drop staging folders of killed ``new_run`` calls.

    Staging folders younger than ``STALE_TEMP_S`` may belong to another process that is
    writing right now and are left alone.
    """
    stale = (time.time() if now is None else now) - STALE_TEMP_S
    with os.scandir(runs_dir) as entries:
        hidden = [
            Path(e.path) for e in entries if e.name.startswith((TRASH_PREFIX, STAGING_PREFIX))
        ]
    for path in hidden:
        with contextlib.suppress(OSError):
            if path.name.startswith(TRASH_PREFIX) or path.stat().st_mtime < stale:
                shutil.rmtree(path, ignore_errors=True)


def sweep_temp_files(folder: Path, *, now: float | None = None) -> None:
    """Drop temp files of atomic writes older than ``STALE_TEMP_S`` (left by killed writers)."""
    stale = (time.time() if now is None else now) - STALE_TEMP_S
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        temps = [
            Path(e.path) for e in entries if e.name.startswith(".") and e.name.endswith(".tmp")
        ]
    for tmp in temps:
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < stale:
                tmp.unlink()


def write_error(exc: OSError, where: Path, *, what: str = "The run") -> AppError:
    """The user-facing error for a failed write below ``where``.

    ``what`` is "The run" or "The portfolio" (the catalogue has a text for each).
    """
    thing = "portfolio" if what == "The portfolio" else "run"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return InsufficientResources(
            f"{what} could not be saved: the disk is full. Free some space and try again.",
            detail=f"{where}: {exc}",
            key="error.disk_full_portfolio" if thing == "portfolio" else "error.disk_full_run",
        )
    return ConfigError(
        f"{what} could not be saved in {where}. Check that the folder exists and is writable.",
        detail=f"{where}: {exc}",
        key="error.not_saved_portfolio" if thing == "portfolio" else "error.not_saved_run",
        params={"folder": where},
    )
