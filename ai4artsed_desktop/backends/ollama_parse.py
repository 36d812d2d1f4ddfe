"""Pure parsing for the Ollama client: answers -> typed results, errors -> ``AppError``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from ..errors import (
    AppError,
    BackendProtocolError,
    BackendRequestError,
    BackendUnavailable,
    InsufficientResources,
)
from ..events import PullProgress, TextDelta, TextDone

BACKEND = "Ollama"
#: Out-of-memory texts of old and current Ollama versions (scheduler, runner, CUDA).
_OOM_HINTS = (
    "out of memory",
    "out-of-memory",
    "requires more system memory",
    "insufficient memory",
    "failed to allocate",
    "cudamalloc failed",
)


def is_oom(message: str) -> bool:
    """True when an Ollama error text says memory ran out."""
    low = message.lower()
    return any(hint in low for hint in _OOM_HINTS)


def same_model(a: str, b: str) -> bool:
    """Ollama model names compare without regard to case (``Qwen3:8B`` is ``qwen3:8b``)."""
    return normalize_model_name(a).casefold() == normalize_model_name(b).casefold()


def normalize_model_name(name: str) -> str:
    """``qwen3`` -> ``qwen3:latest``; a name with a tag stays as it is."""
    name = name.strip()
    if ":" not in name.rsplit("/", 1)[-1]:
        return f"{name}:latest"
    return name


def _bad(what: str, value: object) -> BackendProtocolError:
    return BackendProtocolError(
        f"{BACKEND} sent an unexpected answer ({what}).",
        detail=repr(value)[:300],
        key="error.backend_protocol",
        params={"backend": BACKEND},
    )


def _str(obj: Mapping[str, Any], key: str, what: str, default: str = "") -> str:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad(f"{what}: {key} is not text", obj)
    return value


def _int(obj: Mapping[str, Any], key: str, what: str) -> int:
    value = obj.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{what}: {key} is not a number", obj)
    return int(value)


def _obj(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(f"{what} is not an object", value)
    return value


def parse_datetime(text: object) -> datetime | None:
    """RFC 3339 with up to nanoseconds (Go) -> aware ``datetime``; None when unusable."""
    if not isinstance(text, str) or not text:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class ModelMeta:
    """The ``details`` object Ollama attaches to a model (family, size class, quantisation)."""

    family: str = ""
    families: tuple[str, ...] = ()
    parameter_size: str = ""
    quantization_level: str = ""
    format: str = ""

    @classmethod
    def parse(cls, value: object) -> ModelMeta:
        """Tolerant parse; missing keys give empty values."""
        obj = _obj(value, "model details")
        families = obj.get("families") or ()
        if not isinstance(families, list | tuple):
            raise _bad("model details: families is not a list", obj)
        return cls(
            family=_str(obj, "family", "model details"),
            families=tuple(str(f) for f in families),
            parameter_size=_str(obj, "parameter_size", "model details"),
            quantization_level=_str(obj, "quantization_level", "model details"),
            format=_str(obj, "format", "model details"),
        )


@dataclass(frozen=True)
class ModelInfo:
    """An installed model (one entry of ``/api/tags``)."""

    name: str
    size: int = 0
    digest: str = ""
    modified_at: datetime | None = None
    meta: ModelMeta = field(default_factory=ModelMeta)
    #: Set for a pulled cloud stub: the host Ollama forwards its requests to.
    remote_host: str = ""


@dataclass(frozen=True)
class LoadedModel:
    """A model resident in memory (one entry of ``/api/ps``)."""

    name: str
    size: int = 0
    size_vram: int = 0
    expires_at: datetime | None = None
    context_length: int | None = None
    meta: ModelMeta = field(default_factory=ModelMeta)

    @property
    def fully_on_gpu(self) -> bool:
        """False when part of the model was offloaded to the CPU."""
        return self.size_vram >= self.size


@dataclass(frozen=True)
class ModelDetails:
    """What ``/api/show`` says about one model."""

    name: str
    capabilities: tuple[str, ...] = ()
    meta: ModelMeta = field(default_factory=ModelMeta)
    model_info: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    parameters: str = ""
    template: str = ""
    #: Set for a cloud stub: the host Ollama forwards this model's requests to.
    remote_host: str = ""

    @property
    def supports_thinking(self) -> bool:
        """The model can return separate reasoning (``think``)."""
        return "thinking" in self.capabilities

    @property
    def supports_vision(self) -> bool:
        """The model accepts images."""
        return "vision" in self.capabilities

    @property
    def context_length(self) -> int | None:
        """The trained context length (``<arch>.context_length``), when reported."""
        for key, value in self.model_info.items():
            if key.endswith(".context_length") and isinstance(value, int):
                return value
        return None


def _model_list(body: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    models = body.get("models")
    if models is None:
        return []
    if not isinstance(models, list):
        raise _bad(f"{what}: models is not a list", body)
    entries = [_obj(m, what) for m in models]
    for entry in entries:
        if not (entry.get("name") or entry.get("model")):
            raise _bad(f"{what}: a model has no name", entry)
    return entries


def _name(entry: Mapping[str, Any], what: str) -> str:
    return normalize_model_name(_str(entry, "name", what) or _str(entry, "model", what))


def parse_tags(body: Mapping[str, Any]) -> list[ModelInfo]:
    """``/api/tags`` -> installed models."""
    return [
        ModelInfo(
            name=_name(e, "model list"),
            size=_int(e, "size", "model list"),
            digest=_str(e, "digest", "model list"),
            modified_at=parse_datetime(e.get("modified_at")),
            meta=ModelMeta.parse(e.get("details")),
            remote_host=_remote_host(e, "model list"),
        )
        for e in _model_list(body, "model list")
    ]


def _remote_host(obj: Mapping[str, Any], what: str) -> str:
    """``remote_host`` at the top level or inside ``details`` (servers differ)."""
    details = _obj(obj.get("details"), what)
    return _str(obj, "remote_host", what) or _str(details, "remote_host", what)


def parse_ps(body: Mapping[str, Any]) -> list[LoadedModel]:
    """``/api/ps`` -> resident models."""
    result = []
    for e in _model_list(body, "loaded models"):
        ctx = e.get("context_length")
        result.append(
            LoadedModel(
                name=_name(e, "loaded models"),
                size=_int(e, "size", "loaded models"),
                size_vram=_int(e, "size_vram", "loaded models"),
                expires_at=parse_datetime(e.get("expires_at")),
                context_length=_int(e, "context_length", "loaded models") if ctx else None,
                meta=ModelMeta.parse(e.get("details")),
            )
        )
    return result


def parse_show(name: str, body: Mapping[str, Any]) -> ModelDetails:
    """``/api/show`` -> model details (capabilities may be missing on old servers)."""
    caps = body.get("capabilities") or []
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        raise _bad("model details: capabilities is not a list of text", body)
    return ModelDetails(
        name=normalize_model_name(name),
        capabilities=tuple(caps),
        meta=ModelMeta.parse(body.get("details")),
        model_info=MappingProxyType(dict(_obj(body.get("model_info"), "model_info"))),
        parameters=_str(body, "parameters", "model details"),
        template=_str(body, "template", "model details"),
        remote_host=_remote_host(body, "model details"),
    )


def error_text(body: bytes | str) -> tuple[str, bool]:
    """The ``error`` message of an error answer, and whether the body was Ollama JSON."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip()[:500], False
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        return value["error"], True
    return text.strip()[:500], False


def error_for_status(status: int, body: bytes | str, model: str = "", path: str = "") -> AppError:
    """The user-facing error for a non-200 answer."""
    message, is_json = error_text(body)
    detail = f"HTTP {status} from {path or 'Ollama'}: {message}"
    if status == 404 and not is_json:
        return BackendProtocolError(
            f"The server does not offer {path or 'this function'}. Is it really Ollama, "
            "and a recent version?",
            detail=detail,
            key="error.ollama_not_ollama",
        )
    if status == 404 and model:
        return BackendRequestError(
            f"The model “{model}” is not installed in Ollama. Install it with "
            f"`ollama pull {model}`, or choose another model.",
            detail=detail,
            status=404,
            key="error.ollama_model_missing",
            params={"model": model},
        )
    if status == 403 and "cloud" in message.lower():
        return BackendRequestError(
            f"Ollama refused the cloud model “{model or 'this model'}”: cloud models are "
            "switched off on this computer. Ask your teacher to choose a local model.",
            detail=detail,
            status=403,
            key="error.cloud_model_off",
            params={"model": model or "?"},
        )
    if status == 503:
        return BackendRequestError(
            "Ollama is busy with too many requests. Wait a moment and try again.",
            detail=detail,
            status=503,
            key="error.ollama_busy",
        )
    if status >= 500 and is_oom(message):
        return InsufficientResources(
            f"There is not enough memory on this computer to run “{model or 'the model'}”. "
            "Close other AI work (or press Release in the lesson panel) or ask your teacher "
            "for a smaller model.",
            detail=detail,
            key="error.out_of_memory",
            params={"model": model or "?"},
        )
    if status >= 500:
        return BackendRequestError(
            f"Ollama could not run the request: {message}",
            detail=detail,
            status=status,
            key="error.backend_refused_reason",
            params={"backend": "Ollama", "reason": message},
        )
    return BackendRequestError(
        f"Ollama refused the request: {message}",
        detail=detail,
        status=status,
        key="error.backend_refused_reason",
        params={"backend": "Ollama", "reason": message},
    )


def error_for_line(message: str, model: str) -> AppError:
    """The user-facing error for an ``{"error": ...}`` line inside a 200 stream."""
    detail = f"error line in the stream for {model}: {message}"
    if is_oom(message):
        return InsufficientResources(
            f"Ollama ran out of memory while working on “{model}”. Choose a smaller model.",
            detail=detail,
            key="error.out_of_memory",
            params={"model": model},
        )
    return BackendRequestError(
        f"Ollama stopped in the middle of the answer from “{model}”: {message}",
        detail=detail,
        key="error.llm_stopped",
        params={"backend": "Ollama", "message": message},
    )


def check_line(obj: Mapping[str, Any], model: str) -> None:
    """Raise when a streamed object carries ``error``."""
    if "error" in obj:
        raise error_for_line(str(obj["error"]), model)


def chunk_parts(obj: Mapping[str, Any], chat: bool) -> tuple[str, str]:
    """(content, thinking) of one generate or chat chunk."""
    what = "chat chunk" if chat else "generate chunk"
    if chat:
        message = _obj(obj.get("message"), "chat message")
        return _str(message, "content", what), _str(message, "thinking", what)
    return _str(obj, "response", what), _str(obj, "thinking", what)


def is_done(obj: Mapping[str, Any]) -> bool:
    """The chunk is the final one; ``done`` must be a boolean."""
    done = obj.get("done", False)
    if not isinstance(done, bool):
        raise _bad("done is not true/false", obj)
    return done


def text_done(obj: Mapping[str, Any], text: str, thinking: str) -> TextDone:
    """The ``TextDone`` for a final chunk (metrics are optional, omitted when zero)."""
    what = "final chunk"
    return TextDone(
        text=text,
        thinking=thinking,
        done_reason=_str(obj, "done_reason", what) or "stop",
        load_ms=_int(obj, "load_duration", what) / 1e6,
        total_ms=_int(obj, "total_duration", what) / 1e6,
        eval_count=_int(obj, "eval_count", what),
    )


_OPEN, _CLOSE = "<think>", "</think>"


class ThinkSplitter:
    """Splits ``<think>...</think>`` out of streamed content, also across chunk borders.

    Feed content pieces in order; each call returns the deltas that are certain so far
    (a possible partial tag is held back). Whitespace right after a tag is dropped.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._thinking = False
        self._strip = False

    def feed(self, text: str) -> list[TextDelta]:
        """Process one content piece."""
        self._buffer += text
        out: list[TextDelta] = []
        while self._buffer:
            tag = _CLOSE if self._thinking else _OPEN
            index = self._buffer.find(tag)
            if index >= 0:
                self._emit(self._buffer[:index], out)
                self._buffer = self._buffer[index + len(tag) :]
                self._thinking, self._strip = not self._thinking, True
                continue
            keep = _partial_tag_len(self._buffer, tag)
            self._emit(self._buffer[: len(self._buffer) - keep], out)
            self._buffer = self._buffer[len(self._buffer) - keep :]
            break
        return out

    def flush(self) -> list[TextDelta]:
        """The held-back rest at the end of the stream."""
        out: list[TextDelta] = []
        self._emit(self._buffer, out)
        self._buffer = ""
        return out

    def _emit(self, text: str, out: list[TextDelta]) -> None:
        if self._strip:
            text = text.lstrip()
            self._strip = not text
        if text:
            out.append(TextDelta(text, thinking=self._thinking))


def _partial_tag_len(text: str, tag: str) -> int:
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class TextAssembler:
    """Turns the chunks of one generate/chat stream into ``TextDelta``s and a ``TextDone``."""

    def __init__(self, model: str, *, chat: bool) -> None:
        self.model = model
        self.chat = chat
        self._splitter = ThinkSplitter()
        self._text: list[str] = []
        self._thinking: list[str] = []

    def feed(self, obj: Mapping[str, Any]) -> list[TextDelta | TextDone]:
        """Process one parsed line; the last item is a ``TextDone`` for the final chunk."""
        check_line(obj, self.model)
        content, thinking = chunk_parts(obj, self.chat)
        deltas: list[TextDelta] = [TextDelta(thinking, thinking=True)] if thinking else []
        deltas += self._splitter.feed(content)
        done = is_done(obj)
        if done:
            deltas += self._splitter.flush()
        for delta in deltas:
            (self._thinking if delta.thinking else self._text).append(delta.text)
        out: list[TextDelta | TextDone] = list(deltas)
        if done:
            out.append(text_done(obj, "".join(self._text), "".join(self._thinking).strip()))
        return out


class PullTracker:
    """Sums the per-layer progress of a ``/api/pull`` stream."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._layers: dict[str, tuple[int, int]] = {}
        self.succeeded = False

    def feed(self, obj: Mapping[str, Any]) -> PullProgress:
        """One progress line -> overall progress."""
        if "error" in obj:
            raise pull_error(str(obj["error"]), self.model)
        status = _str(obj, "status", "pull progress")
        digest = _str(obj, "digest", "pull progress")
        if digest:
            total = _int(obj, "total", "pull progress")
            completed = _int(obj, "completed", "pull progress")
            self._layers[digest] = (min(completed, total) if total else completed, total)
        self.succeeded = self.succeeded or status == "success"
        done = sum(c for c, _t in self._layers.values())
        total = sum(t for _c, t in self._layers.values())
        return PullProgress(status=status, completed=done, total=total)


def pull_error(message: str, model: str) -> AppError:
    """The user-facing error for a failed pull."""
    detail = f"pull {model}: {message}"
    if "file does not exist" in message or "not found" in message:
        return BackendRequestError(
            f"Ollama's library has no model called “{model}”. Check the name and the tag.",
            detail=detail,
            key="error.ollama_no_such_model",
            params={"model": model},
        )
    if "no space left" in message.lower():
        return InsufficientResources(
            f"The disk is full, so “{model}” cannot be downloaded. Free some space.",
            detail=detail,
            key="error.download_disk_full",
            params={"model": model},
        )
    return BackendUnavailable(
        f"Downloading “{model}” failed: {message}. Check the internet connection and try again.",
        detail=detail,
        key="error.download_failed",
        params={"model": model},
    )
