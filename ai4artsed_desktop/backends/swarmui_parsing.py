"""Typed SwarmUI answers and the pure functions that parse them (tolerant of unknown keys).

Everything here is free of I/O so it can be unit-tested and fuzzed. The functions take
decoded JSON (``Any``) and either return frozen dataclasses or raise
``BackendProtocolError`` / ``BackendRequestError``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import BackendProtocolError, BackendRequestError

BACKEND = "SwarmUI"
INVALID_SESSION = "invalid_session_id"
#: Backend statuses in which a backend can take work.
READY_STATUSES = frozenset({"running", "idle"})
#: ``error_id`` values that mean the request itself was malformed (our bug, not the user's).
_PROTOCOL_ERROR_IDS = frozenset({"basic_api", "bad_route", "bad_request_method", "internal_error"})


@dataclass(frozen=True)
class SessionInfo:
    """A Swarm session; ``server_id`` changes whenever the server restarts."""

    session_id: str
    version: str
    server_id: str
    user_id: str = "local"
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Text2ImageParams:
    """Parameters of a text-to-image request (sent at the root of the JSON body).

    ``extra`` holds further Swarm parameter ids verbatim (``sigmashift``, ``vae``, ...).
    """

    prompt: str
    model: str
    images: int = 1
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    seed: int = -1
    sampler: str | None = None
    scheduler: str | None = None
    loras: tuple[str, ...] = ()
    lora_weights: tuple[float, ...] = ()
    donotsave: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        """The JSON body without ``session_id``."""
        body: dict[str, Any] = dict(self.extra)
        body.update({"images": self.images, "prompt": self.prompt, "model": self.model})
        if self.negative_prompt:
            body["negativeprompt"] = self.negative_prompt
        optional = {
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "cfgscale": self.cfg_scale,
            "sampler": self.sampler,
            "scheduler": self.scheduler,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        body["seed"] = self.seed
        if self.loras:
            body["loras"] = list(self.loras)
            body["loraweights"] = [_format_weight(w) for w in self.lora_weights]
        if self.donotsave:
            body["donotsave"] = True
        return body


def _format_weight(weight: float) -> str:
    return format(weight, "g")


@dataclass(frozen=True)
class SwarmModel:
    """One entry of ListModels."""

    name: str
    title: str = ""
    architecture: str = ""
    loaded: bool = False
    local: bool = True
    standard_width: int = 0
    standard_height: int = 0
    trigger_phrase: str | None = None


@dataclass(frozen=True)
class SwarmBackend:
    """One entry of ListBackends; ``port`` only when the answer reveals it."""

    id: int
    type: str
    status: str
    enabled: bool = True
    title: str = ""
    current_model: str | None = None
    port: int | None = None

    @property
    def is_ready(self) -> bool:
        """True when this backend can take work now."""
        return self.enabled and self.status in READY_STATUSES


@dataclass(frozen=True)
class SwarmStatus:
    """GetCurrentStatus (also the status snapshots on the websocket)."""

    waiting_gens: int = 0
    loading_models: int = 0
    waiting_backends: int = 0
    live_gens: int = 0
    backend_status: str = ""
    backend_message: str = ""
    any_loading: bool = False
    supported_features: tuple[str, ...] = ()


# ------------------------------------------------------------------ small helpers


def as_str(value: Any, default: str = "") -> str:
    """``value`` if it is a string, else ``default``."""
    return value if isinstance(value, str) else default


def as_int(value: Any, default: int = 0) -> int:
    """``value`` as an int (ints, integral floats, digit strings), else ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    return default


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BackendProtocolError(
            f"{BACKEND} sent an unexpected answer ({what}).",
            detail=repr(value)[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    return value


# ------------------------------------------------------------------ errors


def is_invalid_session(body: Any) -> bool:
    """True if ``body`` is Swarm's invalid-session answer (whatever the HTTP status was)."""
    return isinstance(body, dict) and body.get("error_id") == INVALID_SESSION


def raise_for_answer(status: int, body: Any, route: str) -> dict[str, Any]:
    """Check one API answer; return the body if it is a success.

    Raises:
        BackendRequestError: a route-level refusal (``error`` inside a 200, permissions).
        BackendProtocolError: a malformed call or an answer outside the protocol.
    """
    if not isinstance(body, dict):
        raise BackendProtocolError(
            f"{BACKEND} sent an unexpected answer to {route}.",
            detail=repr(body)[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    error_id = body.get("error_id")
    message = as_str(body.get("error"))
    detail = f"HTTP {status} {route}: {body!r}"[:500]
    if isinstance(error_id, str) and error_id in _PROTOCOL_ERROR_IDS:
        raise BackendProtocolError(
            f"{BACKEND} rejected the request to {route} ({message or error_id}).",
            detail=detail,
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    if error_id is not None:
        raise BackendRequestError(
            f"{BACKEND} refused {route}: {message or error_id}",
            detail=detail,
            status=status,
            key="error.backend_refused_reason",
            params={"backend": BACKEND, "reason": message or error_id},
        )
    if "error" in body:
        raise BackendRequestError(
            f"{BACKEND} could not do that: {message or 'unknown error'}",
            detail=detail,
            status=0 if status == 200 else status,
            key="error.backend_refused_reason" if message else "error.backend_refused",
            params={"backend": BACKEND, "reason": message},
        )
    if status != 200:
        raise BackendProtocolError(
            f"{BACKEND} answered {route} with HTTP status {status}.",
            detail=detail,
            key="error.backend_refused_http",
            params={"backend": BACKEND, "status": status},
        )
    return body


# ------------------------------------------------------------------ route answers


def parse_session(body: Any) -> SessionInfo:
    """GetNewSession's answer."""
    data = _require_object(body, "GetNewSession")
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise BackendProtocolError(
            f"{BACKEND} did not hand out a session.",
            detail=repr(data)[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    return SessionInfo(
        session_id=session_id,
        version=as_str(data.get("version")),
        server_id=as_str(data.get("server_id")),
        user_id=as_str(data.get("user_id"), "local"),
        permissions=_str_tuple(data.get("permissions")),
    )


def parse_images(body: Any) -> list[str]:
    """GenerateText2Image's ``images`` list (paths or ``data:`` URLs)."""
    data = _require_object(body, "GenerateText2Image")
    images = data.get("images")
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        raise BackendProtocolError(
            f"{BACKEND} sent no image list after generating.",
            detail=repr(data)[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    return list(images)


def parse_models(body: Any) -> list[SwarmModel]:
    """ListModels' ``files`` (entries without a name are skipped)."""
    data = _require_object(body, "ListModels")
    files = data.get("files")
    models: list[SwarmModel] = []
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        trigger = entry.get("trigger_phrase")
        models.append(
            SwarmModel(
                name=entry["name"],
                title=as_str(entry.get("title")),
                architecture=as_str(entry.get("architecture")),
                loaded=entry.get("loaded") is True,
                local=entry.get("local") is not False,
                standard_width=as_int(entry.get("standard_width")),
                standard_height=as_int(entry.get("standard_height")),
                trigger_phrase=trigger if isinstance(trigger, str) and trigger else None,
            )
        )
    return models


_PORT_IN_TEXT = re.compile(r"\bport (\d{2,5})\b", re.IGNORECASE)


def _port_of(entry: Mapping[str, Any]) -> int | None:
    """A backend's ComfyUI port, if any field reveals it."""
    settings = entry.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    for value in (entry.get("port"), settings.get("Port"), settings.get("port")):
        port = as_int(value, 0)
        if 0 < port < 65536:
            return port
    for value in (settings.get("Address"), settings.get("address")):
        if isinstance(value, str) and value:
            try:
                address_port = urlsplit(value if "://" in value else f"http://{value}").port
            except ValueError:
                address_port = None
            if address_port:
                return address_port
    match = _PORT_IN_TEXT.search(as_str(entry.get("message")))
    return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None


def parse_backends(body: Any) -> list[SwarmBackend]:
    """ListBackends' object keyed by id string, sorted by id."""
    data = _require_object(body, "ListBackends")
    backends: list[SwarmBackend] = []
    for key, entry in data.items():
        if not isinstance(entry, dict):
            continue
        backend_id = as_int(entry.get("id"), as_int(key, -1))
        current = entry.get("current_model")
        backends.append(
            SwarmBackend(
                id=backend_id,
                type=as_str(entry.get("type")),
                status=as_str(entry.get("status"), "unknown"),
                enabled=entry.get("enabled") is not False,
                title=as_str(entry.get("title")),
                current_model=current if isinstance(current, str) and current else None,
                port=_port_of(entry),
            )
        )
    return sorted(backends, key=lambda backend: backend.id)


def parse_status(body: Any) -> SwarmStatus:
    """GetCurrentStatus (or a websocket status snapshot)."""
    data = _require_object(body, "GetCurrentStatus")
    status = data.get("status")
    status = status if isinstance(status, dict) else {}
    backend = data.get("backend_status")
    backend = backend if isinstance(backend, dict) else {}
    return SwarmStatus(
        waiting_gens=as_int(status.get("waiting_gens")),
        loading_models=as_int(status.get("loading_models")),
        waiting_backends=as_int(status.get("waiting_backends")),
        live_gens=as_int(status.get("live_gens")),
        backend_status=as_str(backend.get("status")),
        backend_message=as_str(backend.get("message")),
        any_loading=backend.get("any_loading") is True,
        supported_features=_str_tuple(data.get("supported_features")),
    )


# ------------------------------------------------------------------ paths and data URLs


def decode_data_url(url: str) -> tuple[bytes, str]:
    """``data:<mime>;base64,<payload>`` -> (bytes, mime).

    Raises:
        BackendProtocolError: not a base64 data URL.
    """
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise BackendProtocolError(
            f"{BACKEND} sent a malformed image.",
            detail=url[:100],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    mime = head[len("data:") : -len(";base64")] or "application/octet-stream"
    try:
        return base64.b64decode(payload, validate=True), mime
    except (binascii.Error, ValueError) as exc:
        raise BackendProtocolError(
            f"{BACKEND} sent a malformed image.",
            detail=url[:100],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        ) from exc


def view_url_path(path: str) -> str:
    """An image path from Swarm (``View/local/raw/...png``) as a percent-encoded URL path.

    Raises:
        BackendRequestError: the path is empty or tries to leave the output folder.
    """
    parts = path.replace("\\", "/").lstrip("/").split("/")
    if not path.strip() or any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise BackendRequestError(
            f"{BACKEND} image path is not acceptable.",
            detail=repr(path)[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        )
    return "/" + "/".join(quote(part, safe="") for part in parts)
