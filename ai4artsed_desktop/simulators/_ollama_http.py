"""HTTP plumbing of the Ollama simulator: Go-style JSON, errors, slog lines, NDJSON, faults."""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .hostile import hang_up, write_endless

VERSION = "0.12.6"
FAULT_MODES = frozenset(
    {"error_midstream", "http500", "http503", "drop_midstream", "huge_line", "hang"}
)
_JSON_CT = "application/json; charset=utf-8"


class ApiError(Exception):
    """An error answer ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def go_json(value: Any) -> bytes:
    """Compact JSON the way Go's encoder writes it (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def json_response(value: Any, status: int = 200) -> web.Response:
    """A single JSON object answer with Go's content type."""
    return web.Response(body=go_json(value), status=status, headers={"Content-Type": _JSON_CT})


def utc_stamp() -> str:
    """``created_at``: RFC 3339, UTC, fractional seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_stamp(epoch: float) -> str:
    """``expires_at`` / ``modified_at``: RFC 3339 with the local offset."""
    return datetime.fromtimestamp(epoch, UTC).astimezone().isoformat(timespec="microseconds")


def _slog_value(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\\') or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


def slog(msg: str, *, level: str = "INFO", source: str = "routes.go:1", **attrs: object) -> None:
    """Write one Go ``slog`` text record to stderr (the stream Ollama logs to)."""
    stamp = datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")
    parts = [f"time={stamp}", f"level={level}", f"source={source}", f"msg={_slog_value(msg)}"]
    parts += [f"{key}={_slog_value(val)}" for key, val in attrs.items()]
    print(" ".join(parts), file=sys.stderr, flush=True)


def _access_log(request: web.Request, status: int, started: float) -> None:
    stamp = datetime.now().strftime("%Y/%m/%d - %H:%M:%S")
    took = f"{(time.monotonic() - started) * 1000:.3f}ms"
    who, method = request.remote, f"{request.method:<7}"
    line = f'[GIN] {stamp} | {status:3d} | {took:>13} | {who} | {method} "{request.path}"'
    print(line, file=sys.stdout, flush=True)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """JSON errors for ``ApiError``; Go's plain-text 404/405; a gin-style access log."""
    started = time.monotonic()
    response: web.StreamResponse
    try:
        response = await handler(request)
    except ApiError as exc:
        response = json_response({"error": exc.message}, exc.status)
    except web.HTTPMethodNotAllowed:
        response = web.Response(status=405, text="405 method not allowed")
    except web.HTTPNotFound:
        response = web.Response(status=404, text="404 page not found")
    _access_log(request, response.status, started)
    return response


async def read_json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or the 400 answers Ollama gives."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, "missing request body")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, str(exc)) from exc
    if not isinstance(value, dict):
        raise ApiError(400, "json: cannot unmarshal non-object into Go value of type api.Request")
    return value


def check_types(body: dict[str, Any], expected: dict[str, type | tuple[type, ...]]) -> None:
    """400 (like Go's decoder) when a present, non-null field has the wrong JSON type."""
    for key, kind in expected.items():
        value = body.get(key)
        if value is None:
            continue
        wrong_bool = isinstance(value, bool) and bool not in (
            kind if isinstance(kind, tuple) else (kind,)
        )
        if wrong_bool or not isinstance(value, kind):
            raise ApiError(
                400, f"json: cannot unmarshal {type(value).__name__} into Go struct field .{key}"
            )


def model_name(body: dict[str, Any]) -> str:
    """The ``model`` field (``name`` for old clients); 400 when missing."""
    check_types(body, {"model": str, "name": str})
    name = body.get("model") or body.get("name") or ""
    if not name.strip():
        raise ApiError(400, "model is required")
    return str(name)


class NdjsonStream:
    """An ``application/x-ndjson`` answer written and flushed one object per line."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})

    async def send(self, obj: dict[str, Any]) -> None:
        """Write one line (starting the response on the first call)."""
        if not self.response.prepared:
            await self.response.prepare(self.request)
        await self.response.write(go_json(obj) + b"\n")

    async def finish(self) -> web.StreamResponse:
        """End the chunked body normally."""
        if not self.response.prepared:
            await self.response.prepare(self.request)
        await self.response.write_eof()
        return self.response

    async def endless_line(self) -> web.StreamResponse:
        """Start a line that never ends (fault injection): a client must cap line length."""
        if not self.response.prepared:
            await self.response.prepare(self.request)
        await write_endless(self.response, b'{"response": "', b"la ")
        return self.response

    def drop(self) -> web.StreamResponse:
        """Cut the connection mid-body (fault injection)."""
        hang_up(self.request)
        return self.response


@dataclass
class Faults:
    """Pending injected faults and counters, used only when ``FAKE_CONTROL=1``."""

    enabled: bool = False
    pending: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "requests": 0,
            "disconnects": 0,
            "loads": 0,
            "reloads": 0,
            "aborted_loads": 0,
            "cloud_requests": 0,
        }
    )

    def arm(self, mode: str, count: int) -> None:
        """Apply ``mode`` to the next ``count`` model requests."""
        self.pending.extend([mode] * count)

    def take(self) -> str | None:
        """The fault for the request now starting, if any."""
        if self.enabled and self.pending:
            return self.pending.pop(0)
        return None

    #: The last model requests (``GET /__fake__/requests``): model, options, keep_alive, think.
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    def count(self, key: str) -> None:
        """Increment a counter reported by ``GET /__fake__/stats``."""
        self.stats[key] = self.stats.get(key, 0) + 1

    def log_request(self, kind: str, body: Mapping[str, Any]) -> None:
        """Remember what a model request asked for (only with ``FAKE_CONTROL=1``)."""
        if self.enabled:
            keys = ("model", "options", "keep_alive", "think", "stream", "format")
            self.requests.append({"kind": kind, **{k: body[k] for k in keys if k in body}})
