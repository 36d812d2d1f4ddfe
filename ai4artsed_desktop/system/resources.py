"""RAM and CPU of the machine through psutil."""

from __future__ import annotations

from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class SystemSnapshot:
    """Memory and CPU at one moment."""

    ram_total_bytes: int
    ram_used_bytes: int
    cpu_percent: float

    @property
    def ram_percent(self) -> float:
        """Used RAM in percent."""
        return 100.0 * self.ram_used_bytes / self.ram_total_bytes if self.ram_total_bytes else 0.0


def system_snapshot() -> SystemSnapshot:
    """RAM and CPU now. ``cpu_percent`` is measured since the previous call (non-blocking)."""
    mem = psutil.virtual_memory()
    return SystemSnapshot(
        ram_total_bytes=int(mem.total),
        ram_used_bytes=int(mem.total - mem.available),
        cpu_percent=float(psutil.cpu_percent(interval=None)),
    )
