"""What a seat can be asked to do: the only operations the lab protocol can reach on a seat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SeatStatus:
    """What the console's grid shows about one seat."""

    seat_name: str
    # "ollama"/"comfyui"/"swarmui" -> "off"|"starting"|"ready"|"error"
    backends: dict[str, str] = field(default_factory=dict)
    warm: bool = False  # lesson prepared (warm-up done)
    stage: str = ""  # "" idle, else the current stage key, e.g. "interception", "generation"
    last_block: str = ""  # friendly reason of the last safety block, "" if none
    last_block_at: float | None = None  # unix time
    vram_used_mb: int | None = None
    vram_total_mb: int | None = None
    paused: bool = False
    profile_name: str = ""  # active lesson profile, "" if none


ProgressFn = Callable[[float, str], None]  # fraction 0..1, short message


class SeatActions(Protocol):
    """The seat's side of every console command; the app implements it against its services."""

    def status(self) -> SeatStatus:
        """The seat's current status (cheap; called on every heartbeat)."""
        ...

    async def apply_profile(self, profile: dict[str, object]) -> None:
        """Apply a lesson profile document in profiles.py's format."""
        ...

    async def prepare_lesson(self, progress: ProgressFn) -> None:
        """Warm the backends and models for the lesson, reporting progress."""
        ...

    async def set_paused(self, paused: bool, message: str) -> None:
        """Show or hide the "eyes on me" screen with the teacher's message."""
        ...

    async def blocked_attempts(self, limit: int) -> list[dict[str, object]]:
        """Review-log rows of blocked attempts, newest first, at most ``limit``."""
        ...

    async def export_portfolio(self) -> bytes:
        """The seat's runs as the existing portfolio export (a zip)."""
        ...

    async def wipe(self) -> int:
        """End-of-lesson wipe per the retention policy; returns the number of runs removed."""
        ...
