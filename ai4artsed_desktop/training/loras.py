"""Trained LoRAs: installing them into the LoRA folder, their sidecar files, attaching to configs.

Next to each installed ``<name>.safetensors`` lies ``<name>.ai4artsed.json`` with the
trigger word, base model and project, so the app can list what it trained.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..content.loader import load_content
from ..content.schema import LORA_FAMILIES
from ..errors import ConfigError
from ..fileio import atomic_write_bytes, atomic_write_json
from ..paths import resources_dir

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".ai4artsed.json"


@dataclass(frozen=True)
class TrainedLora:
    """A LoRA in the LoRA folder.

    Attributes:
        file: the ``.safetensors`` file.
        trigger: the trigger word ('' when unknown: no sidecar).
        created: when it was installed (the file time when there is no sidecar).
        base_model: the checkpoint it was trained on ('' when unknown).
        project: the training project ('' when unknown).
        family: ``sd15``, ``sdxl``, ``sd35`` or ``flux`` ('' when unknown).
    """

    file: Path
    trigger: str
    created: datetime
    base_model: str
    project: str = ""
    family: str = ""

    @property
    def sidecar(self) -> Path:
        """The sidecar JSON next to the file."""
        return sidecar_for(self.file)


def sidecar_for(lora_file: Path) -> Path:
    """``<dir>/<stem>.ai4artsed.json`` for ``<dir>/<stem>.safetensors``."""
    return lora_file.with_name(lora_file.stem + SIDECAR_SUFFIX)


def install_lora(
    source: Path, lora_dir: Path, *, trigger: str, base_model: str, project: str, family: str
) -> TrainedLora:
    """Copy a finished LoRA into ``lora_dir`` atomically and write its sidecar.

    The copy goes to a temporary file in ``lora_dir`` first and is renamed into place, so
    ComfyUI or SwarmUI never see half a file. Blocking: call it in a thread.

    Raises:
        OSError: the LoRA folder is not writable or the disk is full.
    """
    lora_dir.mkdir(parents=True, exist_ok=True)
    target = lora_dir / source.name
    fd, tmp_name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".tmp", dir=lora_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    lora = TrainedLora(target, trigger, datetime.now(UTC), base_model, project, family)
    atomic_write_json(lora.sidecar, _sidecar_json(lora))
    return lora


def _sidecar_json(lora: TrainedLora) -> dict[str, Any]:
    return {
        "file": lora.file.name,
        "trigger": lora.trigger,
        "created": lora.created.isoformat(),
        "base_model": lora.base_model,
        "project": lora.project,
        "family": lora.family,
    }


def read_lora(file: Path) -> TrainedLora:
    """Describe one LoRA file, from its sidecar when there is a usable one."""
    created = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    try:
        data = json.loads(sidecar_for(file).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        stamp = datetime.fromisoformat(str(data.get("created", "")))
        return TrainedLora(
            file,
            str(data.get("trigger", "")),
            stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
            str(data.get("base_model", "")),
            str(data.get("project", "")),
            str(data.get("family", "")),
        )
    except FileNotFoundError:
        return TrainedLora(file, "", created, "")
    except (OSError, ValueError) as exc:
        log.info("unusable LoRA sidecar for %s: %s", file, exc)
        return TrainedLora(file, "", created, "")


def list_loras(lora_dir: Path) -> list[TrainedLora]:
    """Every ``.safetensors`` file in ``lora_dir`` (not recursive), newest first."""
    if not lora_dir.is_dir():
        return []
    found = []
    for file in lora_dir.glob("*.safetensors"):
        if file.is_file() and not file.name.startswith("."):
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                found.append(read_lora(file))
    return sorted(found, key=lambda lora: (lora.created, lora.file.name), reverse=True)


def delete_lora(lora: TrainedLora) -> None:
    """Remove a LoRA file and its sidecar (no error when already gone).

    Raises:
        OSError: a file exists but cannot be removed.
    """
    for path in (lora.file, lora.sidecar):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def attach_to_config(
    lora: TrainedLora,
    config_id: str,
    strength: float,
    user_content_dir: Path,
    *,
    builtin_dir: Path | None = None,
) -> Path:
    """Add ``lora`` to an interception config as a user config (a copy that overrides it).

    The built-in (or existing user) config is copied to
    ``<user_content_dir>/interception/<config_id>.json`` with the LoRA in ``loras``
    (replacing an entry for the same file). The result is validated by loading the content
    again; a file the loader rejects is rolled back. Blocking: call it in a thread.

    Returns:
        The user config file.

    Raises:
        ConfigError: unknown config, or the loader rejected the result (e.g. bad strength).
    """
    builtin = builtin_dir or resources_dir() / "configs"
    config = load_content(builtin, user_content_dir).interceptions.get(config_id)
    if config is None or config.source is None:
        raise ConfigError(
            f"There is no interception config '{config_id}'.",
            key="error.unknown_config",
            params={"config": config_id},
        )
    raw = json.loads(config.source.read_text(encoding="utf-8"))
    entry: dict[str, Any] = {"file": lora.file.name, "strength": strength, "trigger": lora.trigger}
    if lora.family in LORA_FAMILIES:  # so it goes only into outputs of its base model
        entry["family"] = lora.family
    loras = [
        e
        for e in raw.get("loras", [])
        if not (isinstance(e, dict) and e.get("file") == lora.file.name)
    ]
    raw["loras"] = [*loras, entry]
    target = user_content_dir / "interception" / f"{config_id}.json"
    previous = target.read_bytes() if target.is_file() else None
    atomic_write_json(target, raw)
    library = load_content(builtin, user_content_dir)
    rel = f"interception/{config_id}.json"
    problems = [str(p) for p in library.problems if p.file == rel]
    loaded = library.interceptions.get(config_id)
    if problems or loaded is None or loaded.builtin:
        if previous is None:
            target.unlink()
        else:
            atomic_write_bytes(target, previous)
        raise ConfigError(
            f"The LoRA could not be added to '{config_id}'.",
            detail="\n".join(problems),
            key="training.error.attach_invalid",
        )
    return target
