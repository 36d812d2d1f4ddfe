"""A SeatActions double that records every call (it stands for the app side in lab tests)."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ai4artsed_desktop.errors import AppError, ConfigError
from ai4artsed_desktop.lab.seat_actions import ProgressFn, SeatStatus


@dataclass
class RecordingActions:
    """Records calls as (name, args); behaviour is set through the public fields."""

    seat_name: str = "seat"
    calls: list[tuple[str, Any]] = field(default_factory=list)
    portfolio: bytes = b"PK\x05\x06" + b"\x00" * 18  # an empty zip
    blocked: list[dict[str, object]] = field(default_factory=list)
    runs: int = 3
    profile_error: str = ""  # apply_profile raises ConfigError with this text
    profile_raises: AppError | None = None  # ... or this error (with its key)
    blocked_raises: AppError | None = None  # blocked_attempts raises this
    prepare_gate: asyncio.Event | None = None  # prepare_lesson waits for it after 50 %
    status_value: SeatStatus = field(default_factory=lambda: SeatStatus(seat_name="seat"))

    def __post_init__(self) -> None:
        self.status_value = dataclasses.replace(self.status_value, seat_name=self.seat_name)

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)

    def set_status(self, **changes: Any) -> None:
        self.status_value = dataclasses.replace(self.status_value, **changes)

    def status(self) -> SeatStatus:
        return self.status_value

    async def apply_profile(self, profile: dict[str, object]) -> None:
        self.calls.append(("apply_profile", profile))
        if self.profile_raises is not None:
            raise self.profile_raises
        if self.profile_error:
            raise ConfigError(self.profile_error)
        self.set_status(profile_name=str(profile.get("name", "")))

    async def prepare_lesson(self, progress: ProgressFn) -> None:
        self.calls.append(("prepare_lesson", None))
        progress(0.0, "starting")
        progress(0.5, "loading models")
        if self.prepare_gate is not None:
            await self.prepare_gate.wait()
        progress(1.0, "ready")
        self.set_status(warm=True)

    async def set_paused(self, paused: bool, message: str) -> None:
        self.calls.append(("set_paused", (paused, message)))
        self.set_status(paused=paused)

    async def blocked_attempts(self, limit: int) -> list[dict[str, object]]:
        self.calls.append(("blocked_attempts", limit))
        if self.blocked_raises is not None:
            raise self.blocked_raises
        return self.blocked[:limit]

    async def export_portfolio(self) -> bytes:
        self.calls.append(("export_portfolio", None))
        return self.portfolio

    async def wipe(self) -> int:
        self.calls.append(("wipe", None))
        removed, self.runs = self.runs, 0
        return removed
