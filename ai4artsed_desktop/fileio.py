"""Atomic file writes: a crash or a full disk never leaves a half-written file behind.

Every write goes to a temp file in the same folder that then replaces the target with
``os.replace``, so a killed process leaves either the old or the new file, never a mix.
Whether the new content also survives a power cut is a separate, costlier promise:

* ``durable=True`` (the default) flushes the file (``fsync``) before the rename and the
  folder after it (POSIX), so the new file is on the disk when the call returns.
* ``durable=False`` skips both. The write is still atomic against a killed process; after
  a power cut the file may hold an older version. The run store uses this for the saves
  in the middle of a run and makes the final save of every run (and every media file)
  durable; see :meth:`ai4artsed_desktop.store.runs.RunStore.save`.

Files are private to the user by default (0600): runs hold students' ideas and pictures,
and lab PCs are often shared. Pass ``mode`` for files meant to be shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o600, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    ``durable`` (see the module docstring) adds an ``fsync`` of the file and its folder.

    Raises:
        OSError: the folder is not writable or the disk is full; ``path`` is unchanged.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        _sync_folder(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (it may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def sync_folder(folder: Path) -> None:
    """Flush the renames in ``folder`` to the disk (a no-op where that is not possible)."""
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Flush a rename in ``folder`` to the disk (POSIX; Windows has no folder handles).

    The file itself is already replaced and flushed; a file system that cannot sync a
    folder (some network shares) is not an error.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, text: str, *, mode: int = 0o600, durable: bool = True) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode, durable=durable)


def atomic_write_json(path: Path, value: Any, *, mode: int = 0o600, durable: bool = True) -> None:
    """Pretty-printed JSON version of :func:`atomic_write_bytes`."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text, mode=mode, durable=durable)
