"""Lesson profiles: one JSON file that configures every seat of a lab (no Qt).

A profile holds what a teacher decides for a lesson: the allowed interception configs and
outputs (empty list = all), the safety level, the UI mode, model roles, retention and the
backend addresses. It never holds machine-specific paths or the teacher PIN.

Loading checks every field against the content library and reports each problem with
file, field and a plain sentence (:class:`~ai4artsed_desktop.content.schema.ContentProblem`),
like the content loader does; a profile with any problem is not applied at all. Each
problem also carries a catalogue key (``profile.problem.<name>``, :data:`PROBLEMS`) and
its parameters, so the window lists the problems in its language.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .content.fields import child, describe
from .content.schema import ContentLibrary, ContentProblem
from .errors import ConfigError
from .fileio import atomic_write_json
from .models.bundle import is_fingerprint, normalize_fingerprint
from .pipeline.locality import is_local
from .settings import (
    BACKEND_MODES,
    IMAGE_ENGINES,
    SAFETY_LEVELS,
    UI_MODES,
    BackendSettings,
    LessonSettings,
    ModelRoles,
    Settings,
)

FORMAT = "ai4artsed-desktop-lesson-profile"
SCHEMA_VERSION = 1
BACKENDS = ("ollama", "swarmui", "comfyui")
ROLE_NAMES = tuple(f.name for f in dataclasses.fields(ModelRoles))
MAX_NAME = 80
_MAX_FILE_BYTES = 1024 * 1024

#: Every problem a profile can have: ``name -> English sentence``. The window shows the
#: catalogue text ``profile.problem.<name>`` with the same ``{placeholders}`` (a parameter
#: given as ``<name>_de`` and ``<name>_en`` fills ``{<name>}`` in the UI language).
PROBLEMS = {
    "too_large": "The file is too large (more than {max_kb} KB).",
    "unreadable": "The file cannot be read ({reason}).",
    "not_json": "The file is not valid JSON (line {line}, column {column}: {reason}).",
    "not_object": "The file must contain one JSON object {{...}}.",
    "not_a_profile": "This is not a lesson profile (expected '{format}').",
    "newer_schema": "Written by a newer version of the app (schema {version}); "
    "update the app on this computer.",
    "at_least": "Expected {minimum} or more, found {value}.",
    "unknown_field": "Unknown field.",
    "missing": "This field is missing.",
    "wrong_type": "Expected {expected}, found {found}.",
    "not_one_of": "'{value}' is not one of {choices}.",
    "no_such_config": "There is no interception config '{id}'.",
    "no_such_output": "There is no output '{id}'.",
    "name_empty": "The name must not be empty.",
    "name_too_long": "The name may have at most {max} characters.",
    "unknown_role": "Unknown model role (known: {known}).",
    "model_reference": "Expected 'provider/model', e.g. 'ollama/qwen3:8b'.",
    "no_such_provider": "There is no provider '{provider}'.",
    "role_not_local": "The {role} role must use a local provider.",
    "unknown_backend": "Unknown backend (known: {known}).",
    "backend_mode": "Expected one of {choices}.",
    "remote_url": "Remote mode needs an http:// or https:// URL.",
    "bundle_location": "Expected the bundle's folder.",
    "bundle_key": "Expected the signing key's fingerprint (models bundle key on the teacher PC).",
    "config_without_output": "The config '{config}' supports none of the allowed outputs.",
}

#: What a field should hold, for ``wrong_type`` (``expected_en`` / ``expected_de``).
_EXPECTED = {
    "text": ("a text", "ein Text"),
    "whole_number": ("a whole number", "eine ganze Zahl"),
    "ids": ("a list of ids (empty = all)", "eine Liste von IDs (leer = alle)"),
    "id": ("an id in quotes", "eine ID in Anführungszeichen"),
    "days": ("a whole number of days (0 keeps runs)", "eine ganze Zahl von Tagen (0 = behalten)"),
    "roles": ("an object of role: provider/model", "ein Objekt aus Rolle: Anbieter/Modell"),
    "backends": (
        "an object with ollama, swarmui, comfyui",
        "ein Objekt mit ollama, swarmui, comfyui",
    ),
    "endpoint": ("an object with mode and url", "ein Objekt mit mode und url"),
    "bundle": ("an object with location and key", "ein Objekt mit location und key"),
}


def _found(value: Any) -> dict[str, str]:
    """``found_en`` / ``found_de``: what a JSON value is, in both languages."""
    english = describe(value)
    if value is None or isinstance(value, bool):
        german = english  # null, true, false: JSON's own words
    elif isinstance(value, int | float):
        german = f"die Zahl {value}"
    elif isinstance(value, str):
        german = "ein Text"
    elif isinstance(value, list):
        german = "eine Liste"
    else:
        german = "ein Objekt"
    return {"found_en": english, "found_de": german}


def profile_problem(file: str, field: str, name: str, **params: object) -> ContentProblem:
    """The problem ``name`` of :data:`PROBLEMS` at ``field``, in English and with its key."""
    values = {k: str(v) for k, v in params.items()}
    english = PROBLEMS[name].format(**_in_english(values))
    return ContentProblem(file, field, english, key=f"profile.problem.{name}", params=values)


def _in_english(params: Mapping[str, str]) -> dict[str, str]:
    """``params`` with ``{x}`` filled from ``x_en`` (the English sentence's values)."""
    filled = dict(params)
    for name, value in params.items():
        if name.endswith("_en"):
            filled[name[:-3]] = value
    return filled


@dataclass(frozen=True)
class BackendEndpoint:
    """How a seat reaches one backend: ``managed`` (start locally) or ``remote`` (``url``)."""

    mode: str
    url: str = ""


@dataclass(frozen=True)
class Profile:
    """A validated lesson profile."""

    name: str
    allowed_configs: tuple[str, ...]
    allowed_outputs: tuple[str, ...]
    safety_level: str
    ui_mode: str
    roles: dict[str, str]
    retention_days: int
    image_engine: str
    backends: dict[str, BackendEndpoint]
    #: A model bundle folder (USB stick, share) every seat checks at start; "" = none.
    bundle_location: str = ""
    #: The fingerprint of the key that signs that bundle (the teacher PC's).
    bundle_key: str = ""


class ProfileError(ConfigError):
    """A profile file that cannot be used; ``problems`` lists every reason.

    The window shows ``key`` (the file cannot be used) and lists ``problems`` below it,
    each in the UI language.
    """

    def __init__(
        self,
        file: str,
        problems: Sequence[ContentProblem],
        *,
        key: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"The lesson profile {file} cannot be used; nothing was changed.\n{lines}",
            detail=lines,
            key=key,
            params=params,
        )
        self.problems = tuple(problems)


# ------------------------------------------------------------------ export


def profile_from_settings(
    settings: Settings,
    *,
    name: str | None = None,
    allowed_configs: Sequence[str] | None = None,
    allowed_outputs: Sequence[str] | None = None,
) -> Profile:
    """The profile that reproduces ``settings`` (allowed lists default to the lesson section)."""
    lesson = settings.lesson
    return Profile(
        name=name if name is not None else (lesson.profile_name or "Lesson"),
        allowed_configs=tuple(
            lesson.allowed_configs if allowed_configs is None else allowed_configs
        ),
        allowed_outputs=tuple(
            lesson.allowed_outputs if allowed_outputs is None else allowed_outputs
        ),
        safety_level=settings.safety.level,
        ui_mode=settings.ui.ui_mode,
        roles=dataclasses.asdict(settings.roles),
        retention_days=settings.retention_days,
        image_engine=settings.image_engine,
        backends={
            b: BackendEndpoint(getattr(settings, b).mode, getattr(settings, b).url)
            for b in BACKENDS
        },
        bundle_location=lesson.bundle_location,
        bundle_key=lesson.bundle_key,
    )


def to_dict(profile: Profile) -> dict[str, Any]:
    """The JSON form of ``profile`` (``model_bundle`` only when one is named)."""
    data = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "name": profile.name,
        "allowed_configs": list(profile.allowed_configs),
        "allowed_outputs": list(profile.allowed_outputs),
        "safety_level": profile.safety_level,
        "ui_mode": profile.ui_mode,
        "model_roles": dict(profile.roles),
        "retention_days": profile.retention_days,
        "image_engine": profile.image_engine,
        "backends": {
            b: {"mode": e.mode, "url": e.url} for b, e in sorted(profile.backends.items())
        },
    }
    if profile.bundle_location:
        data["model_bundle"] = {"location": profile.bundle_location, "key": profile.bundle_key}
    return data


def export_profile(
    settings: Settings,
    path: Path,
    *,
    name: str | None = None,
    allowed_configs: Sequence[str] | None = None,
    allowed_outputs: Sequence[str] | None = None,
) -> Profile:
    """Write the profile of ``settings`` to ``path`` atomically and return it.

    Raises:
        ConfigError: the file could not be written.
    """
    profile = profile_from_settings(
        settings, name=name, allowed_configs=allowed_configs, allowed_outputs=allowed_outputs
    )
    try:
        atomic_write_json(path, to_dict(profile))
    except OSError as exc:
        raise ConfigError(
            f"The lesson profile could not be saved as {path}: {exc.strerror or exc}.",
            detail=str(exc),
            key="error.profile_not_saved",
            params={"path": path},
        ) from exc
    return profile


# ------------------------------------------------------------------ validation


class _Checker:
    """Reads one profile object field by field, collecting every problem."""

    def __init__(self, file: str, data: dict[str, Any], content: ContentLibrary) -> None:
        self.file = file
        self.data = data
        self.content = content
        self.problems: list[ContentProblem] = []

    def problem(self, field: str, name: str, **params: object) -> None:
        self.problems.append(profile_problem(self.file, field, name, **params))

    def wrong_type(self, field: str, expected: str, value: Any) -> None:
        english, german = _EXPECTED[expected]
        self.problem(field, "wrong_type", expected_en=english, expected_de=german, **_found(value))

    def get(self, key: str, kind: type, expected: str) -> Any:
        """The value of ``key`` if present and of ``kind``, else None (problem recorded)."""
        if key not in self.data:
            self.problem(key, "missing")
            return None
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.wrong_type(key, expected, value)
            return None
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, str, "text")
        if value is not None and value not in choices:
            self.problem(key, "not_one_of", value=value, choices=", ".join(choices))
        return value if value in choices else ""

    def ids(self, key: str, known: Sequence[str], missing: str) -> tuple[str, ...]:
        """A list of ids of ``known``; ``missing`` names the problem of an unknown one."""
        value = self.get(key, list, "ids")
        out: list[str] = []
        for index, item in enumerate(value or ()):
            field = child(key, index)
            if not isinstance(item, str):
                self.wrong_type(field, "id", item)
            elif item not in known:
                self.problem(field, missing, id=item)
            elif item not in out:
                out.append(item)
        return tuple(out)

    def header(self) -> None:
        if self.data.get("format") != FORMAT:
            self.problem("format", "not_a_profile", format=FORMAT)
        version = self.get("schema_version", int, "whole_number")
        if version is not None and version > SCHEMA_VERSION:
            self.problem("schema_version", "newer_schema", version=version)
        elif version is not None and version < 1:
            self.problem("schema_version", "at_least", minimum=1, value=version)
        known = {
            "format", "schema_version", "name", "allowed_configs", "allowed_outputs",
            "safety_level", "ui_mode", "model_roles", "retention_days", "image_engine",
            "backends", "model_bundle",
        }  # fmt: skip
        for key in sorted(set(self.data) - known):
            self.problem(key, "unknown_field")

    def name(self) -> str:
        value = self.get("name", str, "text")
        if value is not None and not value.strip():
            self.problem("name", "name_empty")
        elif value is not None and len(value) > MAX_NAME:
            self.problem("name", "name_too_long", max=MAX_NAME)
        return (value or "").strip()

    def retention(self) -> int:
        value = self.get("retention_days", int, "days")
        if value is not None and value < 0:
            self.problem("retention_days", "at_least", minimum=0, value=value)
        return value if isinstance(value, int) and value >= 0 else 0

    def roles(self) -> dict[str, str]:
        value = self.get("model_roles", dict, "roles")
        out: dict[str, str] = {}
        for role, ref in (value or {}).items():
            field = child("model_roles", role)
            if role not in ROLE_NAMES:
                self.problem(field, "unknown_role", known=", ".join(ROLE_NAMES))
            elif not isinstance(ref, str) or "/" not in ref or ref.endswith("/"):
                self.problem(field, "model_reference")
            else:
                self._check_provider(field, role, ref.split("/", 1)[0])
                out[role] = ref
        return out

    def _check_provider(self, field: str, role: str, provider_id: str) -> None:
        provider = self.content.providers.get(provider_id)
        if provider is None:
            self.problem(field, "no_such_provider", provider=provider_id)
            return
        info = self.content.roles.get(role)
        if info is not None and info.local_only and not is_local(provider):
            self.problem(field, "role_not_local", role=role)

    def backends(self) -> dict[str, BackendEndpoint]:
        value = self.get("backends", dict, "backends")
        out: dict[str, BackendEndpoint] = {}
        for name, raw in (value or {}).items():
            field = child("backends", name)
            if name not in BACKENDS:
                self.problem(field, "unknown_backend", known=", ".join(BACKENDS))
            elif not isinstance(raw, dict):
                self.wrong_type(field, "endpoint", raw)
            else:
                endpoint = self._endpoint(field, raw)
                if endpoint is not None:
                    out[name] = endpoint
        return out

    def _endpoint(self, field: str, raw: dict[str, Any]) -> BackendEndpoint | None:
        mode, url = raw.get("mode"), raw.get("url", "")
        for key in sorted(set(raw) - {"mode", "url"}):
            self.problem(child(field, key), "unknown_field")
        if mode not in BACKEND_MODES:
            self.problem(child(field, "mode"), "backend_mode", choices=", ".join(BACKEND_MODES))
            return None
        if not isinstance(url, str):
            self.wrong_type(child(field, "url"), "text", url)
            return None
        if mode == "remote" and not url.strip().lower().startswith(("http://", "https://")):
            self.problem(child(field, "url"), "remote_url")
            return None
        return BackendEndpoint(mode, url.strip())

    def bundle(self) -> tuple[str, str]:
        """``model_bundle`` (optional): ``(location, key fingerprint)``, or ``("", "")``."""
        if "model_bundle" not in self.data:
            return "", ""
        value = self.get("model_bundle", dict, "bundle")
        if value is None:
            return "", ""
        for key in sorted(set(value) - {"location", "key"}):
            self.problem(child("model_bundle", key), "unknown_field")
        location, key = value.get("location"), value.get("key", "")
        if not isinstance(location, str) or not location.strip():
            self.problem(child("model_bundle", "location"), "bundle_location")
            return "", ""
        if not isinstance(key, str) or not is_fingerprint(key):
            self.problem(child("model_bundle", "key"), "bundle_key")
            return "", ""
        return location.strip(), normalize_fingerprint(key)

    def coverage(self, configs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
        """Every allowed config must be usable with at least one allowed output."""
        if not outputs:
            return
        for config_id in configs:
            config = self.content.interceptions[config_id]
            if not any(config.supports(o) for o in outputs):
                self.problem("allowed_configs", "config_without_output", config=config_id)


def check_profile(
    data: Any, file: str, content: ContentLibrary
) -> tuple[Profile | None, tuple[ContentProblem, ...]]:
    """Validate a parsed profile; ``(profile, ())`` when usable, else ``(None, problems)``."""
    if not isinstance(data, dict):
        return None, (profile_problem(file, "", "not_object"),)
    check = _Checker(file, data, content)
    check.header()
    steps: dict[str, Callable[[], Any]] = {
        "name": check.name,
        "allowed_configs": lambda: check.ids(
            "allowed_configs", list(content.interceptions), "no_such_config"
        ),
        "allowed_outputs": lambda: check.ids(
            "allowed_outputs", list(content.outputs), "no_such_output"
        ),
        "safety_level": lambda: check.choice("safety_level", SAFETY_LEVELS),
        "ui_mode": lambda: check.choice("ui_mode", UI_MODES),
        "roles": check.roles,
        "retention_days": check.retention,
        "image_engine": lambda: check.choice("image_engine", IMAGE_ENGINES),
        "backends": check.backends,
    }
    values = {key: step() for key, step in steps.items()}
    values["bundle_location"], values["bundle_key"] = check.bundle()
    check.coverage(values["allowed_configs"], values["allowed_outputs"])
    if check.problems:
        return None, tuple(check.problems)
    return Profile(**values), ()


def load_profile(path: Path, content: ContentLibrary) -> Profile:
    """Read and validate the profile at ``path``.

    Raises:
        ProfileError: the file cannot be read or has problems (all are listed).
    """
    file = path.name
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
        if len(raw) > _MAX_FILE_BYTES:
            problem = profile_problem(file, "", "too_large", max_kb=_MAX_FILE_BYTES // 1024)
            raise ProfileError(file, [problem], key="error.profile_unusable", params={"file": file})
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = profile_problem(file, "", "unreadable", reason=exc)
        raise ProfileError(
            str(path), [problem], key="error.profile_unusable", params={"file": file}
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = profile_problem(
            file, "", "not_json", line=exc.lineno, column=exc.colno, reason=exc.msg
        )
        raise ProfileError(
            str(path), [problem], key="error.profile_unusable", params={"file": file}
        ) from None
    profile, problems = check_profile(data, file, content)
    if profile is None:
        raise ProfileError(str(path), problems, key="error.profile_unusable", params={"file": file})
    return profile


# ------------------------------------------------------------------ apply


_B = TypeVar("_B", bound=BackendSettings)


def _backend(current: _B, endpoint: BackendEndpoint | None) -> _B:
    if endpoint is None:
        return current
    return dataclasses.replace(current, mode=endpoint.mode, url=endpoint.url)


def apply_profile(settings: Settings, profile: Profile) -> Settings:
    """``settings`` with the profile's choices; machine-specific paths and ports are kept.

    Roles and backends the profile does not name keep their current values.
    """
    return dataclasses.replace(
        settings,
        ui=dataclasses.replace(settings.ui, ui_mode=profile.ui_mode),
        safety=dataclasses.replace(settings.safety, level=profile.safety_level),
        roles=dataclasses.replace(settings.roles, **profile.roles),
        retention_days=profile.retention_days,
        image_engine=profile.image_engine,
        ollama=_backend(settings.ollama, profile.backends.get("ollama")),
        swarmui=_backend(settings.swarmui, profile.backends.get("swarmui")),
        comfyui=_backend(settings.comfyui, profile.backends.get("comfyui")),
        lesson=LessonSettings(
            profile_name=profile.name,
            allowed_configs=profile.allowed_configs,
            allowed_outputs=profile.allowed_outputs,
            bundle_location=profile.bundle_location,
            bundle_key=profile.bundle_key,
        ),
    )


__all__ = [
    "PROBLEMS",
    "BackendEndpoint",
    "Profile",
    "ProfileError",
    "apply_profile",
    "check_profile",
    "export_profile",
    "load_profile",
    "profile_from_settings",
    "profile_problem",
    "to_dict",
]
