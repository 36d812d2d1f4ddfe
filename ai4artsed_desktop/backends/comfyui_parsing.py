"""Pure parsers for ComfyUI answers: typed results, or ``BackendProtocolError`` (never KeyError).

Every function here takes already-decoded JSON (or raw websocket frames) and checks the
shape before use, so a malformed answer becomes one clear error instead of a crash deep
inside the client.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendProtocolError
from ..events import OutputFile

BACKEND = "ComfyUI"
OUTPUT_KINDS = ("images", "audio", "gifs", "video", "videos", "files")
FILE_TYPES = frozenset({"output", "temp", "input"})
_DRIVE = re.compile(r"^[A-Za-z]:")


def _bad(what: str, value: Any) -> BackendProtocolError:
    return BackendProtocolError(
        f"{BACKEND} sent an unexpected answer ({what}).",
        detail=repr(value)[:500],
        key="error.backend_protocol",
        params={"backend": BACKEND},
    )


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(what, value)
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(what, value)
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(what, value)
    return int(value)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(what, value)
    return value


# ---------------------------------------------------------------- system stats


@dataclass(frozen=True)
class DeviceInfo:
    """One torch device as ComfyUI reports it (sizes in bytes)."""

    name: str
    type: str
    index: int | None
    vram_total: int
    vram_free: int


@dataclass(frozen=True)
class SystemStats:
    """``/system_stats``: versions, RAM and the device ComfyUI uses."""

    comfyui_version: str
    python_version: str
    pytorch_version: str
    os: str
    ram_total: int
    ram_free: int
    devices: tuple[DeviceInfo, ...]


def parse_system_stats(value: Any) -> SystemStats:
    """Parse ``/system_stats``."""
    body = _obj(value, "system_stats")
    system = _obj(body.get("system"), "system_stats.system")
    devices = []
    for raw in _list(body.get("devices", []), "system_stats.devices"):
        dev = _obj(raw, "system_stats device")
        index = dev.get("index")
        devices.append(
            DeviceInfo(
                name=_str(dev.get("name", ""), "device name"),
                type=_str(dev.get("type", ""), "device type"),
                index=None if index is None else _int(index, "device index"),
                vram_total=_int(dev.get("vram_total", 0), "vram_total"),
                vram_free=_int(dev.get("vram_free", 0), "vram_free"),
            )
        )
    return SystemStats(
        comfyui_version=str(system.get("comfyui_version", "")),
        python_version=str(system.get("python_version", "")),
        pytorch_version=str(system.get("pytorch_version", "")),
        os=str(system.get("os", "")),
        ram_total=_int(system.get("ram_total", 0), "ram_total"),
        ram_free=_int(system.get("ram_free", 0), "ram_free"),
        devices=tuple(devices),
    )


# ---------------------------------------------------------------- object_info


@dataclass(frozen=True)
class NodeInfo:
    """The parts of a node schema a client needs: inputs (raw specs), outputs, output flag."""

    name: str
    required: Mapping[str, Any]
    optional: Mapping[str, Any]
    outputs: tuple[str, ...]
    output_node: bool
    category: str = ""

    def input_spec(self, name: str) -> Any:
        """The raw spec of an input (required or optional), or None."""
        if name in self.required:
            return self.required[name]
        return self.optional.get(name)


def combo_options(spec: Any) -> list[str] | None:
    """The option list of a combo input in either encoding, or None if not a combo.

    Classic nodes: ``[[options...], {...}]``; V3 nodes: ``["COMBO", {"options": [...]}]``.
    """
    if not isinstance(spec, list) or not spec:
        return None
    head = spec[0]
    if isinstance(head, list):
        return [str(x) for x in head]
    if head == "COMBO":
        config = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        options = config.get("options", [])
        if not isinstance(options, list):
            raise _bad("combo options", spec)
        return [str(x) for x in options]
    return None


def parse_node_info(name: str, value: Any) -> NodeInfo:
    """Parse one class entry of ``/object_info``."""
    entry = _obj(value, f"object_info {name}")
    inputs = _obj(entry.get("input", {}), f"object_info {name}.input")
    required = _obj(inputs.get("required", {}), f"object_info {name}.input.required")
    optional = _obj(inputs.get("optional", {}), f"object_info {name}.input.optional")
    outputs = _list(entry.get("output", []), f"object_info {name}.output")
    return NodeInfo(
        name=name,
        required=required,
        optional=optional,
        outputs=tuple(str(o) for o in outputs),
        output_node=bool(entry.get("output_node", False)),
        category=str(entry.get("category", "")),
    )


def parse_object_info(value: Any) -> dict[str, NodeInfo]:
    """Parse ``/object_info`` or ``/object_info/{class}`` (``{}`` for an unknown class)."""
    body = _obj(value, "object_info")
    return {name: parse_node_info(name, entry) for name, entry in body.items()}


# ---------------------------------------------------------------- prompt, queue, history


def parse_prompt_answer(value: Any) -> tuple[str, dict[str, Any]]:
    """``POST /prompt`` 200 answer -> ``(prompt_id, node_errors)``."""
    body = _obj(value, "prompt answer")
    prompt_id = _str(body.get("prompt_id"), "prompt answer prompt_id")
    node_errors = body.get("node_errors") or {}
    return prompt_id, _obj(node_errors, "prompt answer node_errors")


@dataclass(frozen=True)
class QueueState:
    """Prompt ids running and pending (pending in the server's heap order)."""

    running: tuple[str, ...]
    pending: tuple[str, ...]

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.running or prompt_id in self.pending


def _queue_ids(items: Any, what: str) -> tuple[str, ...]:
    ids = []
    for item in _list(items, what):
        entry = _list(item, what)
        if len(entry) < 2:
            raise _bad(what, item)
        ids.append(_str(entry[1], what))
    return tuple(ids)


def parse_queue(value: Any) -> QueueState:
    """Parse ``GET /queue``."""
    body = _obj(value, "queue")
    return QueueState(
        running=_queue_ids(body.get("queue_running", []), "queue_running"),
        pending=_queue_ids(body.get("queue_pending", []), "queue_pending"),
    )


@dataclass(frozen=True)
class HistoryEntry:
    """A finished prompt: outcome, files and the status messages."""

    prompt_id: str
    status: str
    completed: bool
    outputs: tuple[OutputFile, ...]
    messages: tuple[tuple[str, Mapping[str, Any]], ...] = field(default=())

    def message(self, kind: str) -> Mapping[str, Any] | None:
        """The data of the last status message of this kind, if any."""
        found = [data for name, data in self.messages if name == kind]
        return found[-1] if found else None


def parse_output_files(outputs: Any) -> tuple[OutputFile, ...]:
    """``outputs`` of a history entry (or ``executed`` events) -> files, in node order."""
    files: list[OutputFile] = []
    for node_id, ui in _obj(outputs, "history outputs").items():
        ui_map = _obj(ui, f"outputs of node {node_id}")
        for kind in OUTPUT_KINDS:
            for raw in _list(ui_map.get(kind, []), f"{kind} of node {node_id}"):
                item = _obj(raw, f"{kind} entry of node {node_id}")
                files.append(
                    OutputFile(
                        filename=_str(item.get("filename"), "output filename"),
                        subfolder=_str(item.get("subfolder", ""), "output subfolder"),
                        type=_str(item.get("type", "output"), "output type"),
                        kind=kind,
                    )
                )
    return tuple(files)


def parse_history(value: Any, prompt_id: str) -> HistoryEntry | None:
    """Parse ``/history/{id}``: None while the prompt has not finished (``{}``)."""
    body = _obj(value, "history")
    if prompt_id not in body:
        return None
    entry = _obj(body[prompt_id], "history entry")
    status = _obj(entry.get("status", {}), "history status")
    messages = []
    for raw in _list(status.get("messages", []), "history messages"):
        pair = _list(raw, "history message")
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise _bad("history message", raw)
        messages.append((pair[0], _obj(pair[1], "history message data")))
    return HistoryEntry(
        prompt_id=prompt_id,
        status=str(status.get("status_str", "")),
        completed=bool(status.get("completed", False)),
        outputs=parse_output_files(entry.get("outputs", {})),
        messages=tuple(messages),
    )


# ---------------------------------------------------------------- validation errors

_MODEL_INPUT = re.compile(r"(^|_)(ckpt|lora|clip|vae|unet|model|control_net|upscale)_?name\d*$")


def _describe_error(node_id: str, class_type: str, error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    extra = error.get("extra_info") if isinstance(error.get("extra_info"), dict) else {}
    assert isinstance(extra, dict)
    name = str(extra.get("input_name", error.get("details", "")))
    where = f"(node {node_id} {class_type}.{name})"
    received = extra.get("received_value")
    if kind == "value_not_in_list" and _MODEL_INPUT.search(name):
        return f"Model file '{received}' is missing {where}"
    if kind == "value_not_in_list" and name == "image":
        return f"Input image '{received}' is missing {where}"
    if kind == "value_not_in_list":
        return f"Value '{received}' is not one of the allowed choices {where}"
    if kind == "required_input_missing":
        return f"Required input '{name}' is missing {where}"
    if kind in ("value_smaller_than_min", "value_bigger_than_max"):
        return f"{error.get('message', 'Value out of range')} {where}"
    if kind == "return_type_mismatch":
        return f"Wrong connection: {error.get('details', '')} (node {node_id} {class_type})"
    return f"{error.get('message', kind)}: {error.get('details', '')} (node {node_id} {class_type})"


def describe_rejection(body: Any) -> str:
    """A readable sentence from a 400 ``/prompt`` answer (never raises)."""
    if not isinstance(body, dict):
        return "ComfyUI rejected the workflow."
    lines: list[str] = []
    node_errors = body.get("node_errors")
    if isinstance(node_errors, dict):
        for node_id, info in node_errors.items():
            if not isinstance(info, dict):
                continue
            class_type = str(info.get("class_type", "?"))
            for error in info.get("errors", []) if isinstance(info.get("errors"), list) else []:
                if isinstance(error, dict):
                    lines.append(_describe_error(str(node_id), class_type, error))
    error = body.get("error")
    if not lines and isinstance(error, dict):
        text = str(error.get("message", "")).strip()
        details = str(error.get("details", "")).strip()
        lines.append(f"{text} ({details})" if details else text)
    elif not lines and isinstance(error, str):
        lines.append(error)
    if not lines:
        return "ComfyUI rejected the workflow."
    return "ComfyUI rejected the workflow: " + "; ".join(lines)


# ---------------------------------------------------------------- websocket


@dataclass(frozen=True)
class WsMessage:
    """A text frame ``{"type": ..., "data": {...}}``."""

    type: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class WsPreview:
    """A preview image frame; ``prompt_id`` only with type-4 (metadata) frames."""

    image: bytes
    mime: str
    prompt_id: str | None = None


def parse_ws_text(text: str) -> WsMessage:
    """Parse a text frame."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackendProtocolError(
            f"{BACKEND} sent a broken websocket message.",
            detail=text[:300],
            key="error.backend_protocol",
            params={"backend": BACKEND},
        ) from exc
    body = _obj(value, "websocket message")
    kind = _str(body.get("type"), "websocket message type")
    data = body.get("data", {})
    return WsMessage(kind, _obj(data, f"websocket {kind} data"))


_MIMES = {1: "image/jpeg", 2: "image/png"}


def parse_ws_binary(frame: bytes) -> WsPreview | None:
    """Parse a binary frame: type 1 (format + image) and 4 (JSON metadata + image).

    Other types (3 = progress text) give None.
    """
    if len(frame) < 8:
        raise _bad("websocket binary frame", frame[:16])
    kind, second = struct.unpack(">II", frame[:8])
    if kind == 1:
        if second not in _MIMES:
            raise _bad("preview image format", second)
        return WsPreview(frame[8:], _MIMES[second])
    if kind == 4:
        end = 8 + second
        if end > len(frame):
            raise _bad("preview metadata length", second)
        try:
            meta = json.loads(frame[8:end])
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _bad("preview metadata", frame[8:end][:100]) from exc
        meta = _obj(meta, "preview metadata")
        prompt_id = meta.get("prompt_id")
        mime = str(meta.get("image_type", "image/jpeg"))
        return WsPreview(frame[end:], mime, prompt_id if isinstance(prompt_id, str) else None)
    return None


# ---------------------------------------------------------------- file names


def check_output_file(file: OutputFile) -> None:
    """Reject names that could reach outside the server's folders (or ours).

    Raises:
        BackendProtocolError: for ``..``, absolute paths, backslashes, drive letters,
            NUL characters, a ``/`` in the file name or an unknown folder type.
    """
    parts: Sequence[str] = (file.filename, file.subfolder)
    for value in parts:
        if "\\" in value or "\x00" in value or value.startswith("/") or _DRIVE.match(value):
            raise _bad("unsafe output file name", file)
        if ".." in value.split("/"):
            raise _bad("unsafe output file name", file)
    if not file.filename or "/" in file.filename or file.filename in (".", ".."):
        raise _bad("unsafe output file name", file)
    if file.type not in FILE_TYPES:
        raise _bad("unknown output folder type", file)
