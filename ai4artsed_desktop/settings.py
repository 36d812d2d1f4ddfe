"""Typed settings: declared once, loaded leniently, saved atomically.

A corrupt or partly invalid settings file never stops the app: every field that cannot
be used falls back to its default, and one warning lists what was replaced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .fileio import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
T = TypeVar("T")


def setting(
    default: Any,
    description: str,
    *,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    editable: bool = True,
) -> Any:
    """Declare a settings field with its default, a description and its constraints.

    ``editable=False`` keeps a field off the generated settings form (:func:`describe`);
    such fields are changed by other means, e.g. by applying a lesson profile.
    """
    return field(
        default=default,
        metadata={
            "description": description,
            "choices": choices,
            "minimum": minimum,
            "maximum": maximum,
            "editable": editable,
        },
    )


LANGUAGES = ("de", "en")
UI_MODES = ("kids", "youth", "expert")
SAFETY_LEVELS = ("kids", "youth", "adult", "research")
#: The level used when a damaged settings file does not say which one was chosen.
STRICTEST_LEVEL = "kids"
BACKEND_MODES = ("managed", "remote")
IMAGE_ENGINES = ("swarmui", "comfyui")


@dataclass(frozen=True)
class UiSettings:
    """Language and presentation."""

    language: str = setting("de", "Language of the interface and content", choices=LANGUAGES)
    ui_mode: str = setting("youth", "How many technical controls are shown", choices=UI_MODES)
    first_run_done: bool = setting(False, "The first-run assistant was completed")


@dataclass(frozen=True)
class SafetySettings:
    """Safety level and data protection."""

    level: str = setting("youth", "Safety level of checks and blocking", choices=SAFETY_LEVELS)
    local_only: bool = setting(True, "Refuse every non-local (cloud) provider")
    media_check: bool = setting(
        True,
        "Check every generated image with the vision model (kids, youth); switching it off "
        "is written to the review log",
    )


@dataclass(frozen=True)
class BackendSettings:
    """One backend: a managed local child process or a remote URL."""

    mode: str = setting("managed", "Start locally (managed) or use a URL", choices=BACKEND_MODES)
    path: str = setting("", "Executable or install folder; empty means search PATH")
    url: str = setting("", "Base URL in remote mode, e.g. http://gpu-server:7801")
    port: int = setting(0, "Local port; 0 means the backend's usual port", minimum=0, maximum=65535)
    startup_timeout_s: float = setting(
        180.0, "How long a start may take before it counts as failed", minimum=1, maximum=3600
    )


@dataclass(frozen=True)
class ComfySettings(BackendSettings):
    """ComfyUI: a backend whose own command-line options can be added."""

    launch_args: str = setting(
        "",
        "Extra ComfyUI options when the app starts it, e.g. --cpu (no NVIDIA card) or --lowvram",
    )


@dataclass(frozen=True)
class TrainingSettings:
    """LoRA training with kohya sd-scripts."""

    kohya_dir: str = setting("", "Folder of kohya sd-scripts (with its venv)")
    python: str = setting("", "Python of the sd-scripts venv; empty means <kohya_dir>/venv")
    lora_dir: str = setting("", "Where finished LoRAs go; empty means the app's data folder")
    base_model: str = setting("", "Base checkpoint (.safetensors) to train on")


@dataclass(frozen=True)
class ModelRoles:
    """Provider-prefixed model per pipeline role, e.g. ``ollama/qwen3:8b``."""

    interception: str = setting("ollama/qwen3:8b", "Transforms the idea with the rules")
    adaptation: str = setting("ollama/qwen3:8b", "Shapes the prompt for the output model")
    code: str = setting("ollama/qwen2.5-coder:7b", "Writes p5.js / Tone.js code")
    translation: str = setting("ollama/qwen3:8b", "Translates to English where needed")
    safety: str = setting("ollama/llama-guard3:1b", "Judges safety in context (local only)")
    vision: str = setting("ollama/qwen2.5vl:7b", "Looks at generated images (local only)")


@dataclass(frozen=True)
class LessonSettings:
    """What a lesson profile allows; set by importing a profile, not on the settings form."""

    profile_name: str = setting(
        "", "Name of the applied lesson profile; empty = none", editable=False
    )
    allowed_configs: tuple[str, ...] = setting(
        (), "Interception config ids students may use; empty = all", editable=False
    )
    allowed_outputs: tuple[str, ...] = setting(
        (), "Output config ids students may use; empty = all", editable=False
    )
    bundle_location: str = setting(
        "", "Model bundle folder every seat checks at start; empty = none", editable=False
    )
    bundle_key: str = setting(
        "", "Fingerprint of the key that signs the lesson's model bundle", editable=False
    )


#: The lab console's usual port (lab.console.DEFAULT_PORT; a test checks they agree).
LAB_DEFAULT_PORT = 47820


@dataclass(frozen=True)
class LabSettings:
    """The lab console on the teacher's PC (the seats' pairing is kept in its own file)."""

    console_port: int = setting(
        LAB_DEFAULT_PORT,
        "The one port the lab console listens on (open it in the teacher PC's firewall)",
        minimum=1024,
        maximum=65535,
    )


@dataclass(frozen=True)
class Settings:
    """All settings of the app."""

    ui: UiSettings = field(default_factory=UiSettings)
    safety: SafetySettings = field(default_factory=SafetySettings)
    roles: ModelRoles = field(default_factory=ModelRoles)
    image_engine: str = setting(
        "swarmui", "Which server runs image/audio workflows", choices=IMAGE_ENGINES
    )
    ollama: BackendSettings = field(default_factory=BackendSettings)
    swarmui: BackendSettings = field(default_factory=BackendSettings)
    comfyui: ComfySettings = field(default_factory=ComfySettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    demo_mode: bool = setting(False, "Run protocol simulators instead of real AI backends")
    retention_days: int = setting(
        0, "Delete runs older than this many days at start; 0 keeps them", minimum=0
    )
    lesson: LessonSettings = field(default_factory=LessonSettings)
    lab: LabSettings = field(default_factory=LabSettings)


# ------------------------------------------------------------------ (de)serialisation


def to_dict(settings: Settings) -> dict[str, Any]:
    """The JSON form, with ``schema_version``."""
    data = dataclasses.asdict(settings)
    return {"schema_version": SCHEMA_VERSION, **data}


def _check_text_tuple(value: Any) -> tuple[str, ...]:
    """A JSON list of texts as a tuple (duplicates dropped, order kept)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of texts, got {value!r}")
    return tuple(dict.fromkeys(value))


def _check_value(value: Any, kind: Any, meta: Mapping[str, Any]) -> Any:
    """Return ``value`` converted to ``kind`` (a scalar or a tuple of texts), or raise."""
    if typing.get_origin(kind) is tuple:
        return _check_text_tuple(value)
    return _check_scalar(value, kind, meta)


def _check_scalar(value: Any, kind: type, meta: Mapping[str, Any]) -> Any:
    """Return ``value`` converted to ``kind`` or raise ``ValueError`` with the reason."""
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true/false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ValueError(f"{value!r} is not one of {', '.join(meta['choices'])}")
    if kind in (int, float):
        low, high = meta.get("minimum"), meta.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{value!r} is out of range")
    return value


def _build(cls: type[T], data: Any, prefix: str, problems: list[str]) -> T:
    """Build dataclass ``cls`` from ``data``, replacing each bad field by its default."""
    default = cls()
    if not isinstance(data, dict):
        problems.append(f"{prefix or 'file'}: expected an object, got {type(data).__name__}")
        return default
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for fld in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = f"{prefix}{fld.name}"
        if fld.name not in data:
            continue
        kind = hints[fld.name]
        if dataclasses.is_dataclass(kind):
            values[fld.name] = _build(kind, data[fld.name], f"{name}.", problems)  # type: ignore[arg-type]
            continue
        try:
            values[fld.name] = _check_value(data[fld.name], kind, fld.metadata)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)} - {"schema_version"})  # type: ignore[arg-type]
    problems.extend(f"{prefix}{key}: unknown setting (ignored)" for key in unknown)
    return dataclasses.replace(default, **values)  # type: ignore[type-var]


# ------------------------------------------------------------------ migrations


def _migrate_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 kept language and demo mode at the top level and called the level ``safety_level``."""
    out = dict(data)
    for old_key, section, new_key in (
        ("language", "ui", "language"),
        ("safety_level", "safety", "level"),
    ):
        if old_key not in out:
            continue
        value = out.pop(old_key)
        target = out.get(section)
        if target is None:
            target = {}
        if isinstance(target, dict):
            out[section] = {new_key: value, **target}
    return out


def _migrate_2_to_3(data: dict[str, Any]) -> dict[str, Any]:
    """v3 adds the ``lesson`` section; a v2 file had no profile, so everything is allowed."""
    out = dict(data)
    if not isinstance(out.get("lesson"), dict):
        out["lesson"] = {}
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a loaded settings dict up to :data:`SCHEMA_VERSION`."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        version = 1
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    data["schema_version"] = SCHEMA_VERSION
    return data


# ------------------------------------------------------------------ load / save


@dataclass(frozen=True)
class LoadResult:
    """Settings plus the problems found while loading them (empty when clean)."""

    settings: Settings
    problems: tuple[str, ...] = ()


def load(path: Path) -> LoadResult:
    """Load settings; never raises for content problems, logs one warning for them."""
    problems: list[str] = []
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(Settings())
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"cannot read the file: {exc}")
        raw = None
    settings = Settings()
    level_read = False
    if raw is not None:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"not valid JSON (line {exc.lineno}): {exc.msg}")
        else:
            if isinstance(data, dict):
                if isinstance(data.get("schema_version"), int) and data["schema_version"] > (
                    SCHEMA_VERSION
                ):
                    problems.append(
                        f"written by a newer version (schema {data['schema_version']}); "
                        "unknown fields are ignored"
                    )
                data = migrate(data)
                settings = _build(Settings, data, "", problems)
                safety = data.get("safety")
                level_read = isinstance(safety, dict) and safety.get("level") in SAFETY_LEVELS
            else:
                problems.append("expected a JSON object at the top level")
    if problems and not level_read:
        # A damaged file cannot say which level the teacher chose: the strictest applies.
        settings = dataclasses.replace(
            settings, safety=dataclasses.replace(settings.safety, level=STRICTEST_LEVEL)
        )
        problems.append(
            f"safety.level: unreadable; the strictest level ({STRICTEST_LEVEL}) applies"
        )
    if problems:
        log.warning(
            "Settings file %s had problems; using defaults for: %s", path, "; ".join(problems)
        )
    return LoadResult(settings, tuple(problems))


def keep_damaged_copy(path: Path, *, now: float | None = None) -> Path | None:
    """Copy a settings file that had problems to ``settings.json.corrupt-<time>``.

    The next save replaces the file, so this copy is all that is left of what could not be
    read. No new copy when the newest one has the same bytes (the app was started again
    without saving). None when there is no file or the copy failed (logged).
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    earlier = sorted(path.parent.glob(f"{path.name}.corrupt-*"))
    if earlier:
        with contextlib.suppress(OSError):
            if earlier[-1].read_bytes() == data:
                return earlier[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        atomic_write_bytes(target, data, mode=0o600)
    except OSError as exc:
        log.warning("Cannot keep a copy of the damaged settings file: %s", exc)
        return None
    log.warning("The damaged settings file was copied to %s", target)
    return target


def save(settings: Settings, path: Path) -> None:
    """Save atomically, readable by the user only (it may hold URLs and paths).

    Raises:
        OSError: the file could not be written; the previous file is unchanged.
    """
    atomic_write_json(path, to_dict(settings), mode=0o600)


def replace_path(settings: T, dotted: str, value: Any) -> T:
    """Return a copy with one field changed, e.g. ``replace_path(s, "ui.language", "en")``.

    Raises:
        ValueError: unknown field or invalid value.
    """
    head, _, rest = dotted.partition(".")
    fields = {f.name: f for f in dataclasses.fields(settings)}  # type: ignore[arg-type]
    if head not in fields:
        raise ValueError(f"unknown setting {dotted!r}")
    current = getattr(settings, head)
    new_value: Any
    if rest:
        if not dataclasses.is_dataclass(current):
            raise ValueError(f"unknown setting {dotted!r}")
        new_value = replace_path(current, rest, value)
    else:
        kind = typing.get_type_hints(type(settings))[head]
        new_value = _check_value(value, kind, fields[head].metadata)
    changes: dict[str, Any] = {head: new_value}
    return dataclasses.replace(settings, **changes)  # type: ignore[type-var]


def describe(
    cls: type[Any] = Settings, prefix: str = "", *, include_hidden: bool = False
) -> list[tuple[str, dataclasses.Field[Any]]]:
    """Leaf fields as ``(dotted name, field)`` pairs, for settings pages and docs.

    Fields declared with ``editable=False`` are left out unless ``include_hidden``.
    """
    out: list[tuple[str, dataclasses.Field[Any]]] = []
    hints = typing.get_type_hints(cls)
    for fld in dataclasses.fields(cls):
        kind = hints[fld.name]
        if dataclasses.is_dataclass(kind):
            nested = describe(kind, f"{prefix}{fld.name}.", include_hidden=include_hidden)  # type: ignore[arg-type]
            out.extend(nested)
        elif include_hidden or fld.metadata.get("editable", True):
            out.append((f"{prefix}{fld.name}", fld))
    return out
