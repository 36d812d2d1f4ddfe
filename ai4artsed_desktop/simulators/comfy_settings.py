"""Settings and the log writer of the ComfyUI simulator (stderr, or stdout with --log-stdout)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

VERSION = "0.3.64"
FRONTEND_VERSION = "1.27.10"
_stream: list[TextIO] = []


def set_log_stream(stream: TextIO) -> None:
    """Send log lines to ``stream`` from now on."""
    _stream[:] = [stream]


def log(line: str) -> None:
    """Write one log line (flushed, so a supervisor sees it at once)."""
    stream = _stream[0] if _stream else sys.stderr
    stream.write(line + "\n")
    stream.flush()


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, "") or default)
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    """Behaviour knobs from the command line and ``FAKE_COMFY_*`` environment variables."""

    previews: bool = False
    preview_size: int = 512
    disable_metadata: bool = False
    step_s: float = 0.0
    max_audio_s: float = 5.0
    vram_mb: int = 24576
    vram_base_mb: int = 300
    start_delay_s: float = 0.0

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        preview_method: str = "none",
        preview_size: int = 512,
        disable_metadata: bool = False,
    ) -> Settings:
        """Settings from the flags plus the ``FAKE_COMFY_*`` variables.

        Reads ``FAKE_COMFY_STEP_MS``, ``FAKE_COMFY_MAX_AUDIO_S``, ``FAKE_COMFY_VRAM_MB`` and
        ``FAKE_COMFY_START_DELAY_MS``.
        """
        env = os.environ if env is None else env
        return cls(
            previews=preview_method != "none",
            preview_size=preview_size,
            disable_metadata=disable_metadata,
            step_s=max(0.0, _env_float(env, "FAKE_COMFY_STEP_MS", 0.0) / 1000),
            max_audio_s=max(0.1, _env_float(env, "FAKE_COMFY_MAX_AUDIO_S", 5.0)),
            vram_mb=max(1024, int(_env_float(env, "FAKE_COMFY_VRAM_MB", 24576))),
            start_delay_s=max(0.0, _env_float(env, "FAKE_COMFY_START_DELAY_MS", 0.0) / 1000),
        )
