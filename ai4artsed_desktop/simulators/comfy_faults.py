"""Fault injection for the ComfyUI simulator (only with ``FAKE_CONTROL=1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ``execution_error``/``hang``: at a node (any node when none is named); ``close_ws_midrun``
#: and ``malformed_ws``: at the sampler's middle step; ``http500``/``malformed``/``huge``/
#: ``truncated``: HTTP answers (optionally only for ``path``): a 500, cut-off JSON text, an
#: endless body, or the real answer with its connection closed halfway.
FAULT_MODES = frozenset(
    {
        "execution_error", "close_ws_midrun", "hang", "http500", "malformed", "malformed_ws",
        "huge", "truncated",
    }
)  # fmt: skip


@dataclass
class Fault:
    """One armed fault; ``count`` is how many more times it fires."""

    mode: str
    node: str = ""
    path: str = ""
    count: int = 1


@dataclass
class Faults:
    """The armed faults (empty and inert unless ``enabled``)."""

    enabled: bool = False
    armed: list[Fault] = field(default_factory=list)

    def arm(self, body: Any) -> Fault:
        """Arm a fault from a ``/__fake__/fault`` body.

        Raises:
            ValueError: for an unknown mode or malformed fields.
        """
        if not isinstance(body, dict) or body.get("mode") not in FAULT_MODES:
            raise ValueError(f"mode must be one of {sorted(FAULT_MODES)}")
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        fault = Fault(
            str(body["mode"]), str(body.get("node", "")), str(body.get("path", "")), count
        )
        self.armed.append(fault)
        return fault

    def take(self, mode: str, node: str = "", path: str = "") -> Fault | None:
        """Consume one firing of a matching fault, if any is armed."""
        for fault in self.armed:
            if fault.mode != mode:
                continue
            if fault.node and node and fault.node != node:
                continue
            if fault.path and path and fault.path.rstrip("/") != path.rstrip("/"):
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.armed.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self.armed.clear()
