"""Shared bits of the SwarmUI simulator: console log format, knobs, JSON error answers."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from aiohttp import web

VERSION = "0.9.8.2"
VERSION_FULL = "0.9.8.2.GIT-062407c7"

_LEVELS = ("Debug", "Info", "Init", "Warning", "Error")


class SwarmLog:
    """Console logger printing ``HH:mm:ss.fff [Level] message`` lines on stdout.

    Args:
        min_level: the lowest level printed (Swarm's ``--loglevel``; default ``Info``).
    """

    def __init__(self, min_level: str = "Info") -> None:
        wanted = min_level.capitalize()
        self._min = _LEVELS.index(wanted) if wanted in _LEVELS else 1

    def write(self, level: str, message: str) -> None:
        """Print one line if ``level`` is at or above the configured minimum."""
        if _LEVELS.index(level) < self._min:
            return
        now = dt.datetime.now()
        stamp = now.strftime("%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        sys.stdout.write(f"{stamp} [{level}] {message}\n")
        sys.stdout.flush()

    def init(self, message: str) -> None:
        """Log at ``Init`` level (start-up milestones)."""
        self.write("Init", message)

    def info(self, message: str) -> None:
        """Log at ``Info`` level."""
        self.write("Info", message)

    def debug(self, message: str) -> None:
        """Log at ``Debug`` level."""
        self.write("Debug", message)

    def warning(self, message: str) -> None:
        """Log at ``Warning`` level."""
        self.write("Warning", message)

    def error(self, message: str) -> None:
        """Log at ``Error`` level."""
        self.write("Error", message)


def _env_ms(name: str, default: float, *, control_only: bool) -> float:
    """Read a millisecond knob from the environment, as seconds."""
    if control_only and os.environ.get("FAKE_CONTROL") != "1":
        return default / 1000.0
    raw = os.environ.get(name, "")
    try:
        return max(0.0, float(raw)) / 1000.0 if raw else default / 1000.0
    except ValueError:
        return default / 1000.0


@dataclass(frozen=True)
class Knobs:
    """Timing and fault knobs taken from the environment once at start-up.

    ``FAKE_SWARM_STEP_MS`` (per sampler step), ``FAKE_SWARM_KEEPALIVE_MS`` and
    ``FAKE_SWARM_COMFY_START_PORT`` always apply; the start-up delays and the
    ``/__fake__/...`` routes only with ``FAKE_CONTROL=1``.
    """

    control: bool
    step_s: float
    keepalive_s: float
    ws_linger_s: float
    start_delay_s: float
    comfy_delay_s: float
    comfy_start_port: int
    comfy_module: str = "ai4artsed_desktop.simulators.comfyui"
    #: ``FAKE_SWARM_INTERMEDIATES=1``: also send an intermediate image (batch_index -11).
    intermediates: bool = False
    #: ``FAKE_SWARM_NO_BACKENDS=1``: a fresh install: no backend is configured.
    no_backends: bool = False

    @classmethod
    def from_env(cls) -> Knobs:
        """Build the knobs from ``os.environ``."""
        try:
            start_port = int(os.environ.get("FAKE_SWARM_COMFY_START_PORT", "7821"))
        except ValueError:
            start_port = 7821
        control = os.environ.get("FAKE_CONTROL") == "1"
        return cls(
            control=control,
            step_s=_env_ms("FAKE_SWARM_STEP_MS", 25, control_only=False),
            keepalive_s=_env_ms("FAKE_SWARM_KEEPALIVE_MS", 30_000, control_only=False),
            ws_linger_s=_env_ms("FAKE_SWARM_WS_LINGER_MS", 2_000, control_only=False),
            start_delay_s=_env_ms("FAKE_SWARM_START_DELAY_MS", 0, control_only=True),
            comfy_delay_s=_env_ms("FAKE_SWARM_COMFY_DELAY_MS", 0, control_only=True),
            comfy_start_port=start_port,
            comfy_module=(os.environ.get("FAKE_SWARM_COMFY_MODULE", "") if control else "")
            or "ai4artsed_desktop.simulators.comfyui",
            intermediates=os.environ.get("FAKE_SWARM_INTERMEDIATES") == "1",
            no_backends=os.environ.get("FAKE_SWARM_NO_BACKENDS") == "1",
        )


class RouteError(Exception):
    """A route-level failure: answered as HTTP 200 ``{"error": message}`` like Swarm does."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def api_error(status: int, error_id: str, message: str) -> web.Response:
    """A Swarm API error answer: JSON body with ``error_id`` and ``error``."""
    return json_response({"error_id": error_id, "error": message}, status=status)


def invalid_session() -> web.Response:
    """The 401 answer for an unknown or expired session id."""
    return json_response(
        {
            "error": "Invalid session ID. You may need to refresh the page.",
            "error_id": "invalid_session_id",
        },
        status=401,
    )


def json_response(body: dict[str, Any], *, status: int = 200) -> web.Response:
    """A compact JSON answer with Swarm's content type."""
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", charset="utf-8"
    )
