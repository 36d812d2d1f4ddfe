"""Classification of SwarmUI ``GenerateText2ImageWS`` frames into typed values (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendProtocolError
from .swarmui_parsing import SwarmStatus, as_int, as_str, decode_data_url, parse_status

# ------------------------------------------------------------------ websocket frames


@dataclass(frozen=True)
class WsStatus:
    """A status snapshot frame."""

    status: SwarmStatus


@dataclass(frozen=True)
class WsProgress:
    """A ``gen_progress`` frame; ``preview`` holds decoded image bytes when one was sent."""

    batch_index: int
    overall: float
    current: float
    preview: bytes | None = field(default=None, repr=False)
    preview_mime: str = ""


@dataclass(frozen=True)
class WsImage:
    """An image (path or ``data:`` URL) with SwarmUI's own ``batch_index``.

    The index is the server's: 0, 1, ... for results, -1 for a grid of them and -11 or
    lower for intermediate images (``discard_indices`` names images by these numbers).
    """

    path: str
    batch_index: int

    @property
    def is_result(self) -> bool:
        """A generated image (not a grid, not an intermediate step)."""
        return self.batch_index >= 0


@dataclass(frozen=True)
class WsDiscard:
    """Indices of images to drop (sent after all images)."""

    indices: tuple[int, ...]


@dataclass(frozen=True)
class WsKeepAlive:
    """A keep-alive frame during long waits."""


@dataclass(frozen=True)
class WsClose:
    """``socket_intention: close``: the server is done with this request."""


@dataclass(frozen=True)
class WsError:
    """An error frame; ``error_id`` is set for calling-convention errors."""

    message: str
    error_id: str = ""


@dataclass(frozen=True)
class WsSilence:
    """Not a frame: the server sent nothing for the watchdog's time (the client checks)."""

    seconds: float


@dataclass(frozen=True)
class WsUnknown:
    """A frame of a shape this client does not know (ignored)."""


WsFrame = (
    WsStatus
    | WsProgress
    | WsImage
    | WsDiscard
    | WsKeepAlive
    | WsClose
    | WsError
    | WsSilence
    | WsUnknown
)


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return min(1.0, max(0.0, number)) if number == number else 0.0


def _progress(data: Mapping[str, Any]) -> WsProgress:
    preview: bytes | None = None
    mime = ""
    raw = data.get("preview")
    if isinstance(raw, str) and raw.startswith("data:"):
        try:
            preview, mime = decode_data_url(raw)
        except BackendProtocolError:
            preview, mime = None, ""
    return WsProgress(
        batch_index=as_int(data.get("batch_index")),
        overall=_percent(data.get("overall_percent")),
        current=_percent(data.get("current_percent")),
        preview=preview,
        preview_mime=mime,
    )


_NONE = -(2**31)


def _index(value: Any, default: int = _NONE) -> int:
    """A ``batch_index`` (Swarm sends it as text: "0", "-11"); negative numbers kept."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def parse_ws_frame(frame: Any) -> WsFrame:
    """Classify one decoded JSON frame of ``GenerateText2ImageWS``."""
    if not isinstance(frame, dict):
        return WsUnknown()
    if "error" in frame or "error_id" in frame:
        return WsError(as_str(frame.get("error"), "unknown error"), as_str(frame.get("error_id")))
    if isinstance(frame.get("gen_progress"), dict):
        return _progress(frame["gen_progress"])
    image = frame.get("image")
    if isinstance(image, dict):  # the documented (nested) shape
        image, frame = image.get("image"), image
    if isinstance(image, str) and image:
        return WsImage(image, _index(frame.get("batch_index"), 0))
    if isinstance(frame.get("discard_indices"), list):
        return WsDiscard(tuple(_index(i) for i in frame["discard_indices"] if _index(i) != _NONE))
    if frame.get("socket_intention") == "close":
        return WsClose()
    if frame.get("keep_alive") is True:
        return WsKeepAlive()
    if isinstance(frame.get("status"), dict):
        return WsStatus(parse_status(frame))
    return WsUnknown()
