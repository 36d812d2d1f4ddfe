"""The run record: everything one pipeline run produced, exactly as saved in ``run.json``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, TypedDict, TypeVar, cast, get_args

from .. import __version__
from ..events import Stage

RECORD_VERSION = 1
"""``schema_version`` written into every ``run.json``."""

#: "stopped": the run paused (after Transform) or was left before the end; it can go on.
RunStatus = Literal["running", "done", "blocked", "failed", "cancelled", "stopped"]
SafetyCheck = Literal["wordlist", "llm", "code_scan", "vision"]
SafetyResult = Literal["pass", "block", "unavailable", "unreadable"]
MediaKind = Literal["image", "audio", "code", "music", "video"]

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
SAFETY_CHECKS: tuple[SafetyCheck, ...] = get_args(SafetyCheck)
SAFETY_RESULTS: tuple[SafetyResult, ...] = get_args(SafetyResult)
MEDIA_KINDS: tuple[MediaKind, ...] = get_args(MediaKind)

_RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
_L = TypeVar("_L", bound=str)


class RecordError(ValueError):
    """The content of a ``run.json`` does not describe a run."""


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds (the format of every timestamp)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable run id such as ``20261124-134512-ab12cd`` (UTC time + 24 random bits)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def is_run_id(text: str) -> bool:
    """True when ``text`` has the shape of a run id (also a safe folder name)."""
    return _RUN_ID.fullmatch(text) is not None


def run_id_time(run_id: str) -> datetime:
    """The UTC creation time encoded in a run id (to the second).

    Raises:
        ValueError: ``run_id`` is not a run id.
    """
    if not is_run_id(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp as an aware datetime (naive text is taken as UTC).

    Raises:
        RecordError: ``text`` is not ISO 8601.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RecordError(f"not an ISO 8601 timestamp: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LoraApplied(TypedDict):
    """A LoRA that was really injected into the generation workflow."""

    file: str
    strength: float
    trigger: str
    node_id: str


class RunError(TypedDict):
    """Why a run failed: the user-facing message and the technical detail.

    ``key`` and ``params`` (when the message has them) name it in the UI catalogues, so a
    reopened run says it in the language of the window.
    """

    message: str
    detail: str
    key: NotRequired[str]
    params: NotRequired[dict[str, str]]


@dataclass(frozen=True)
class RunInputs:
    """What the user asked for."""

    idea: str
    rules: str = ""
    config_id: str = ""
    output_id: str = ""
    level: str = ""
    language: str = ""
    ui_mode: str = ""
    #: The seed the user fixed (None: the seed policy chose); a resumed run keeps it.
    seed: int | None = None


@dataclass(frozen=True)
class StageRecord:
    """One stage of a run; ``edited_text`` is set when the user changed ``text``."""

    stage: Stage
    started_at: str
    finished_at: str | None = None
    model: str = ""
    text: str = ""
    edited_text: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    duration_ms: float | None = None

    @property
    def final_text(self) -> str:
        """The text the next stage used: the user's edit if there is one."""
        return self.text if self.edited_text is None else self.edited_text


@dataclass(frozen=True)
class SafetyDecision:
    """The outcome of one safety check."""

    stage: Stage
    check: SafetyCheck
    result: SafetyResult
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class MediaRecord:
    """A file of the run; ``path`` is relative to the run folder (POSIX separators)."""

    path: str
    mime: str
    kind: MediaKind
    sha256: str


@dataclass(slots=True)
class RunRecord:
    """A whole run. Mutable while the run goes on; the parts are frozen values."""

    id: str
    created_at: str
    updated_at: str
    status: RunStatus
    inputs: RunInputs
    stages: list[StageRecord] = field(default_factory=list)
    prompt: str = ""
    negative_prompt: str = ""
    models: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    loras_applied: list[LoraApplied] = field(default_factory=list)
    safety: list[SafetyDecision] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    media: list[MediaRecord] = field(default_factory=list)
    code: str = ""
    favourite: bool = False
    error: RunError | None = None
    app_version: str = __version__
    #: Which process runs it while status is "running" (``pid:start-time``), else "".
    owner: str = ""

    @property
    def created(self) -> datetime:
        """``created_at`` as an aware datetime."""
        return parse_timestamp(self.created_at)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (the content of ``run.json``)."""
        return {
            "schema_version": RECORD_VERSION,
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "inputs": _inputs_json(self.inputs),
            "stages": [_stage_json(s) for s in self.stages],
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "models": dict(self.models),
            "parameters": dict(self.parameters),
            "seed": self.seed,
            "loras_applied": [dict(lora) for lora in self.loras_applied],
            "safety": [_safety_json(s) for s in self.safety],
            "timings": dict(self.timings),
            "media": [_media_json(m) for m in self.media],
            "code": self.code,
            "favourite": self.favourite,
            "error": dict(self.error) if self.error is not None else None,
            "app_version": self.app_version,
            "owner": self.owner,
        }

    @classmethod
    def from_json(cls, data: object) -> RunRecord:
        """Parse a ``run.json`` value. Unknown keys are ignored, missing ones get defaults.

        Raises:
            RecordError: ``data`` is not an object, lacks ``id``/``created_at`` or has a
                value of the wrong type.
        """
        f = _Fields(data, "run")
        run_id = f.text("id")
        if not is_run_id(run_id):
            raise RecordError(f"run: bad id {run_id!r}")
        created_at = f.text("created_at")
        parse_timestamp(created_at)
        return cls(
            id=run_id,
            created_at=created_at,
            updated_at=f.text("updated_at", created_at),
            status=f.choice("status", RUN_STATUSES, "failed"),
            inputs=_inputs_from(f.sub("inputs")),
            stages=[_stage_from(_Fields(s, "stage")) for s in f.items("stages")],
            prompt=f.text("prompt", ""),
            negative_prompt=f.text("negative_prompt", ""),
            models=f.str_map("models"),
            parameters=f.mapping("parameters"),
            seed=f.integer("seed"),
            loras_applied=[_lora_from(_Fields(x, "lora")) for x in f.items("loras_applied")],
            safety=[_safety_from(_Fields(x, "safety")) for x in f.items("safety")],
            timings=f.number_map("timings"),
            media=[_media_from(_Fields(x, "media")) for x in f.items("media")],
            code=f.text("code", ""),
            favourite=f.flag("favourite"),
            error=_error_from(f.sub_or_none("error")),
            app_version=f.text("app_version", ""),
            owner=f.text("owner", ""),
        )


# ------------------------------------------------------------------ serialising


def _inputs_json(inputs: RunInputs) -> dict[str, Any]:
    return {
        "idea": inputs.idea,
        "rules": inputs.rules,
        "config_id": inputs.config_id,
        "output_id": inputs.output_id,
        "level": inputs.level,
        "language": inputs.language,
        "ui_mode": inputs.ui_mode,
        "seed": inputs.seed,
    }


def _stage_json(stage: StageRecord) -> dict[str, Any]:
    return {
        "stage": stage.stage.name,
        "started_at": stage.started_at,
        "finished_at": stage.finished_at,
        "model": stage.model,
        "text": stage.text,
        "edited_text": stage.edited_text,
        "params": dict(stage.params),
        "duration_ms": stage.duration_ms,
    }


def _safety_json(decision: SafetyDecision) -> dict[str, Any]:
    return {
        "stage": decision.stage.name,
        "check": decision.check,
        "result": decision.result,
        "reason": decision.reason,
        "detail": decision.detail,
    }


def _media_json(media: MediaRecord) -> dict[str, Any]:
    return {"path": media.path, "mime": media.mime, "kind": media.kind, "sha256": media.sha256}


# ------------------------------------------------------------------ parsing


class _Fields:
    """Typed access to one JSON object; every wrong type raises :class:`RecordError`."""

    _MISSING: Any = object()

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise RecordError(f"{where}: expected an object, got {type(data).__name__}")
        self._data: Mapping[str, Any] = data
        self._where = where

    def _get(self, key: str, kinds: type | tuple[type, ...], default: Any) -> Any:
        value = self._data.get(key, default)
        if value is self._MISSING:
            raise RecordError(f"{self._where}: {key!r} is missing")
        if value is default and default is not self._MISSING:
            return value
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise RecordError(f"{self._where}: {key!r} has the wrong type")
        return value

    def text(self, key: str, default: Any = _MISSING) -> str:
        return cast(str, self._get(key, str, default))

    def text_or_none(self, key: str) -> str | None:
        return cast("str | None", self._get(key, str, None))

    def integer(self, key: str) -> int | None:
        return cast("int | None", self._get(key, int, None))

    def number(self, key: str, default: float) -> float:
        return float(self._get(key, (int, float), default))

    def number_or_none(self, key: str) -> float | None:
        value = self._get(key, (int, float), None)
        return None if value is None else float(value)

    def flag(self, key: str) -> bool:
        return cast(bool, self._get(key, bool, False))

    def choice(self, key: str, allowed: tuple[_L, ...], default: Any = _MISSING) -> _L:
        value = self.text(key, default)
        if value not in allowed:
            raise RecordError(f"{self._where}: {key!r} = {value!r} is not one of {allowed}")
        return value

    def stage(self, key: str) -> Stage:
        name = self.text(key)
        try:
            return Stage[name]
        except KeyError:
            raise RecordError(f"{self._where}: unknown stage {name!r}") from None

    def mapping(self, key: str) -> dict[str, Any]:
        return dict(self._get(key, Mapping, {}))

    def str_map(self, key: str) -> dict[str, str]:
        value = self.mapping(key)
        if not all(isinstance(v, str) for v in value.values()):
            raise RecordError(f"{self._where}: {key!r} must map names to text")
        return value

    def number_map(self, key: str) -> dict[str, float]:
        value = self.mapping(key)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
            raise RecordError(f"{self._where}: {key!r} must map names to numbers")
        return {k: float(v) for k, v in value.items()}

    def items(self, key: str) -> list[Any]:
        return list(self._get(key, list, []))

    def sub(self, key: str) -> _Fields:
        return _Fields(self._get(key, Mapping, {}), f"{self._where}.{key}")

    def sub_or_none(self, key: str) -> _Fields | None:
        value = self._get(key, Mapping, None)
        return None if value is None else _Fields(value, f"{self._where}.{key}")


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _inputs_from(f: _Fields) -> RunInputs:
    return RunInputs(
        idea=f.text("idea", ""),
        rules=f.text("rules", ""),
        config_id=f.text("config_id", ""),
        output_id=f.text("output_id", ""),
        level=f.text("level", ""),
        language=f.text("language", ""),
        ui_mode=f.text("ui_mode", ""),
        seed=f.integer("seed"),
    )


def _stage_from(f: _Fields) -> StageRecord:
    return StageRecord(
        stage=f.stage("stage"),
        started_at=f.text("started_at", ""),
        finished_at=f.text_or_none("finished_at"),
        model=f.text("model", ""),
        text=f.text("text", ""),
        edited_text=f.text_or_none("edited_text"),
        params=f.mapping("params"),
        duration_ms=f.number_or_none("duration_ms"),
    )


def _safety_from(f: _Fields) -> SafetyDecision:
    return SafetyDecision(
        stage=f.stage("stage"),
        check=f.choice("check", SAFETY_CHECKS),
        result=f.choice("result", SAFETY_RESULTS),
        reason=f.text("reason", ""),
        detail=f.text("detail", ""),
    )


def _media_from(f: _Fields) -> MediaRecord:
    return MediaRecord(
        path=f.text("path"),
        mime=f.text("mime", "application/octet-stream"),
        kind=f.choice("kind", MEDIA_KINDS),
        sha256=f.text("sha256", ""),
    )


def _lora_from(f: _Fields) -> LoraApplied:
    return LoraApplied(
        file=f.text("file"),
        strength=f.number("strength", 1.0),
        trigger=f.text("trigger", ""),
        node_id=f.text("node_id", ""),
    )


def _error_from(f: _Fields | None) -> RunError | None:
    if f is None:
        return None
    error = RunError(message=f.text("message", ""), detail=f.text("detail", ""))
    if f.text("key", ""):
        error["key"] = f.text("key")
        error["params"] = f.str_map("params")
    return error
