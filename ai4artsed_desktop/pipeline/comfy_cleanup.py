"""ComfyUI's own copy of a run's files is removed once the run has saved its copy.

ComfyUI keeps every file a SaveImage/SaveAudio node wrote in its ``output`` folder, and a
PNG carries its prompt in its metadata. The run folder is the app's copy (History, export,
delete). So, for a ComfyUI whose output folder this computer can reach (the one the app
starts, or the demo simulator), the generation deletes ComfyUI's copy right after the run
saved its own: deleting the run then leaves nothing of it behind, and runs that are never
deleted do not pile up a second copy on 25 lab PCs. Only files the run itself named
(``ai4artsed_<run id>...``) inside that folder are ever touched. A remote ComfyUI has no
delete call; its files stay where its admin keeps them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..events import OutputFile

log = logging.getLogger(__name__)


def run_prefix(run_id: str) -> str:
    """The file-name prefix every saving node of a run uses (``set_filename_prefix``)."""
    return f"ai4artsed_{run_id}"


def discard_server_copies(
    files: Sequence[OutputFile], output_dir: Path | None, run_id: str
) -> list[Path]:
    """Delete ComfyUI's output copies of ``files``; returns what was removed.

    A file is removed only when it is of type ``output``, its name starts with the run's
    prefix, and it lies inside ``output_dir``; anything else is left alone. Failures are
    logged, never raised: the run's own copy is already safe.
    """
    if output_dir is None:
        return []
    root = output_dir.resolve()
    prefix = run_prefix(run_id)
    removed: list[Path] = []
    for file in files:
        if file.type != "output" or not Path(file.filename).name.startswith(prefix):
            continue
        path = (root / file.subfolder / file.filename).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError as exc:
            log.warning("ComfyUI's copy %s could not be removed: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        log.info("Removed ComfyUI's copies of run %s: %s", run_id, [p.name for p in removed])
    return removed
