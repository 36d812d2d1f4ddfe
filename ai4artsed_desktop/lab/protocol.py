"""The lab protocol's wire format: length-prefixed JSON frames and their validation.

Every message is one frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON
holding an object with ``"v"`` (the protocol version) and ``"type"``. Each type has a fixed
set of fields with fixed JSON types; a message with an unknown type, an unknown field, a
missing field or a wrong type is refused with :class:`ProtocolError` and never acted on.
A frame longer than :data:`MAX_FRAME` is refused before it is read, so a peer that speaks
something else (an HTTP request's ``GET /`` reads as a 1.2 GB length) is cut off at once.

A few types have optional fields besides (:data:`_OPTIONAL`): a message without them is
exactly what earlier versions of the app sent, and stays valid. A seat's failed ``result``
may name its error's catalogue key, parameters and (a refused lesson profile) problems, so
the console says it in the console's language; the English ``error`` is always there.

Commands name one of :data:`ACTIONS`, the operations of
:class:`~ai4artsed_desktop.lab.seat_actions.SeatActions` plus ``status``; nothing else can
be expressed, so nothing in the protocol reads or writes files or runs code on a seat.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..content.schema import ContentProblem
from ..errors import AppError

VERSION: Final = 1
MAX_FRAME: Final = 1024 * 1024
CHUNK_SIZE: Final = 256 * 1024  # portfolio bytes per chunk frame (base64 grows it by 4/3)
MAX_BLOCKED_LIMIT: Final = 500

_HEADER = struct.Struct(">I")

# JSON field types: "str", "int", "num" (int or float), "bool", "obj", "list",
# "str?"/"num?"/"int?" (may be null).
_SCHEMAS: Final[Mapping[str, Mapping[str, str]]] = {
    # pairing (seat -> console, console -> seat)
    "pair_start": {"seat_name": "str", "pake": "str"},
    "pair_reply": {"pake": "str", "confirm": "str", "seat_id": "str", "class_id": "str"},
    "pair_confirm": {"confirm": "str"},
    "pair_ok": {"confirm": "str", "console_time": "num"},
    # reconnect of a paired seat
    "hello": {"nonce": "str", "class_id": "str", "console_time": "num", "heartbeat": "num"},
    "auth": {"seat_id": "str", "nonce": "str", "mac": "str"},
    "auth_ok": {"mac": "str"},
    # console -> seat (ping: the console's heartbeat, so a seat notices a dead link)
    "ping": {},
    "command": {"id": "str", "ts": "num", "action": "str", "args": "obj"},
    # seat -> console
    "status": {"status": "obj"},
    "progress": {"id": "str", "fraction": "num", "message": "str"},
    "chunk": {"id": "str", "seq": "int", "total": "int", "data": "str"},
    "result": {"id": "str", "ok": "bool", "value": "any", "error": "str"},
    # either side: a refusal (the connection is closed after it)
    "error": {"error": "str"},
}

# Fields a message of a type may have besides its own (absent in older messages).
_OPTIONAL: Final[Mapping[str, Mapping[str, str]]] = {
    "result": {"error_key": "str", "error_params": "obj", "error_problems": "list"},
}
#: A problem of ``error_problems``: a ContentProblem (file, field, English text, key, params).
_PROBLEM: Final[Mapping[str, str]] = {
    "file": "str",
    "field": "str",
    "text": "str",
    "key": "str",
    "params": "obj",
}
MAX_PARAMS: Final = 20
MAX_PROBLEMS: Final = 50
MAX_ERROR_TEXT: Final = 500
_MAX_WHERE = 200  # a problem's file and field
_KEY = re.compile(r"[a-z][a-z0-9_.]{0,99}")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")

# The arguments of each command; nothing outside this table can be asked of a seat.
ACTIONS: Final[Mapping[str, Mapping[str, str]]] = {
    "status": {},
    "apply_profile": {"profile": "obj"},
    "prepare_lesson": {},
    "set_paused": {"paused": "bool", "message": "str"},
    "blocked_attempts": {"limit": "int"},
    "export_portfolio": {"max_bytes": "int"},
    "wipe": {},
}

MAX_PAUSE_MESSAGE: Final = 500
MAX_SEAT_NAME: Final = 64


class LabError(AppError):
    """The lab console or seat cannot do what was asked (a friendly message, a key)."""


class ProtocolError(Exception):
    """A frame or message that does not follow the protocol; it is never acted on."""


class FrameTooLarge(ProtocolError):
    """A frame header announced more than MAX_FRAME bytes (the stream is out of step)."""


def _type_ok(value: object, kind: str) -> bool:
    if kind.endswith("?"):
        if value is None:
            return True
        kind = kind[:-1]
    checks: dict[str, bool] = {
        "any": True,
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "num": isinstance(value, int | float) and not isinstance(value, bool),
        "obj": isinstance(value, dict),
        "list": isinstance(value, list),
    }
    return checks[kind]


def _check_fields(
    where: str,
    given: Mapping[str, Any],
    schema: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
) -> None:
    extra = optional or {}
    unknown = sorted(set(given) - set(schema) - set(extra))
    if unknown:
        raise ProtocolError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(set(schema) - set(given))
    if missing:
        raise ProtocolError(f"{where}: missing field(s) {', '.join(missing)}")
    for name, kind in {**schema, **extra}.items():
        if name in given and not _type_ok(given[name], kind):
            raise ProtocolError(f"{where}: field {name!r} must be {kind}")


def _check_key(where: str, key: str, params: Mapping[str, Any]) -> None:
    """A catalogue key and its parameters: plain names, a few short texts."""
    if key and not _KEY.fullmatch(key):
        raise ProtocolError(f"{where}: not a catalogue key")
    if len(params) > MAX_PARAMS:
        raise ProtocolError(f"{where}: more than {MAX_PARAMS} parameters")
    for name, value in params.items():
        if not _PARAM_NAME.fullmatch(name):
            raise ProtocolError(f"{where}: parameter names are lower-case words")
        if not isinstance(value, str) or len(value) > MAX_ERROR_TEXT:
            raise ProtocolError(f"{where}: parameter {name!r} must be a short text")


def _check_result(body: Mapping[str, Any]) -> None:
    """A result's optional error key, parameters and problems."""
    _check_key("result", body.get("error_key", ""), body.get("error_params", {}))
    problems = body.get("error_problems", [])
    if len(problems) > MAX_PROBLEMS:
        raise ProtocolError(f"result: more than {MAX_PROBLEMS} problems")
    for index, problem in enumerate(problems):
        where = f"result problem {index}"
        if not isinstance(problem, dict):
            raise ProtocolError(f"{where}: must be obj")
        _check_fields(where, problem, _PROBLEM)
        _check_key(where, problem["key"], problem["params"])


def validate(message: object, *, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """Check one decoded message; returns it as a dict.

    Args:
        message: the decoded JSON value.
        allowed: the message types acceptable at this point of the conversation
            (None: any known type).

    Raises:
        ProtocolError: wrong version, unknown or unexpected type, unknown, missing or
            mistyped field, or a command with an unknown action or bad arguments.
    """
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    version = message.get("v")
    if type(version) is not int or version != VERSION:  # true == 1 in Python, not here
        raise ProtocolError(f"unsupported protocol version {message.get('v')!r}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _SCHEMAS:
        raise ProtocolError(f"unknown message type {kind!r}")
    if allowed is not None and kind not in allowed:
        raise ProtocolError(f"message type {kind!r} is not expected here")
    body = {key: value for key, value in message.items() if key not in ("v", "type")}
    _check_fields(kind, body, _SCHEMAS[kind], _OPTIONAL.get(kind))
    if kind == "result":
        _check_result(body)
    if kind == "command":
        action = body["action"]
        if action not in ACTIONS:
            raise ProtocolError(f"unknown action {action!r}")
        _check_fields(f"command {action}", body["args"], ACTIONS[action])
        _check_args(action, body["args"])
    return message


def _check_args(action: str, args: Mapping[str, Any]) -> None:
    if action == "blocked_attempts" and not 1 <= args["limit"] <= MAX_BLOCKED_LIMIT:
        raise ProtocolError(f"limit must be between 1 and {MAX_BLOCKED_LIMIT}")
    if action == "set_paused" and len(args["message"]) > MAX_PAUSE_MESSAGE:
        raise ProtocolError(f"the pause message is longer than {MAX_PAUSE_MESSAGE} characters")


def make(kind: str, **fields: Any) -> dict[str, Any]:
    """Build a message of ``kind`` and check it (a programming error raises at once)."""
    message: dict[str, Any] = {"v": VERSION, "type": kind, **fields}
    return validate(message)


def encode(message: Mapping[str, Any]) -> bytes:
    """One frame: length header plus compact JSON."""
    payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"message of {len(payload)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(payload)) + payload


async def read_message(
    reader: asyncio.StreamReader, *, allowed: frozenset[str] | None = None
) -> dict[str, Any]:
    """Read and validate one frame.

    Raises:
        ProtocolError: an oversized frame, bad JSON or an invalid message.
        asyncio.IncompleteReadError: the peer closed the connection.
    """
    header = await reader.readexactly(_HEADER.size)
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise FrameTooLarge(f"frame of {length} bytes exceeds {MAX_FRAME}")
    payload = await reader.readexactly(length)
    try:
        decoded = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    return validate(decoded, allowed=allowed)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


async def write_message(writer: asyncio.StreamWriter, message: Mapping[str, Any]) -> None:
    """Send one frame and wait until the transport has taken it."""
    writer.write(encode(message))
    await writer.drain()


async def shut(writer: asyncio.StreamWriter, *, grace_s: float = 2.0) -> None:
    """Close a connection politely (TLS close-notify), or abort it after ``grace_s``.

    A peer that stopped reading (frozen, unplugged) would otherwise hold the socket open.
    """
    writer.close()
    try:
        async with asyncio.timeout(grace_s):
            await writer.wait_closed()
    except (TimeoutError, OSError, ConnectionError):
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()
        raise


def error_fields(
    key: str, params: Mapping[str, object], problems: Sequence[ContentProblem] = ()
) -> dict[str, Any]:
    """A failed result's optional fields for an error's key, parameters and problems.

    Long texts are cut; a key or parameters the protocol would refuse are left out (the
    console then shows the English ``error``), so a result can always be sent.
    """
    fields: dict[str, Any] = {}
    if key:
        wire = _wire_params(key, params)
        if wire is not None:
            fields["error_key"], fields["error_params"] = key, wire
    listed = []
    for problem in problems[:MAX_PROBLEMS]:
        wire = _wire_params(problem.key, problem.params) if problem.key else None
        listed.append(
            {
                "file": problem.file[:_MAX_WHERE],
                "field": problem.field[:_MAX_WHERE],
                "text": problem.problem[:MAX_ERROR_TEXT],
                "key": problem.key if wire is not None else "",
                "params": wire or {},
            }
        )
    if listed:
        fields["error_problems"] = listed
    return fields


def _wire_params(key: str, params: Mapping[str, object]) -> dict[str, str] | None:
    wire = {name: str(value)[:MAX_ERROR_TEXT] for name, value in params.items()}
    try:
        _check_key("error", key, wire)
    except ProtocolError:
        return None
    return wire


def problems_from(message: Mapping[str, Any]) -> tuple[ContentProblem, ...]:
    """The problems of a validated ``result`` (none when it names none)."""
    return tuple(
        ContentProblem(p["file"], p["field"], p["text"], key=p["key"], params=dict(p["params"]))
        for p in message.get("error_problems", ())
    )
