"""StatusViewModel: backend lights, GPU/VRAM and RAM, refreshed without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from ...events import BackendState, BackendStateChanged
from ...system.gpu import GpuInfo, GpuProvider, GpuSnapshot
from ...system.resources import SystemSnapshot, system_snapshot
from ...tasks import TaskRegistry

log = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 1.0


class GpuStatus(enum.Enum):
    """What the last GPU read found."""

    unknown = "unknown"  # not read yet, or the provider failed
    absent = "absent"  # no NVIDIA GPU
    present = "present"


class StatusViewModel(QObject):
    """Backend states plus a once-a-second GPU and RAM snapshot.

    The GPU is read through ``asyncio.to_thread`` (NVML blocks); a failing provider turns
    the GPU status to ``unknown`` and the refresh goes on.

    Signals:
        backend_states_changed(dict): name -> :class:`BackendState` after any change.
        gpu_changed(object): the GPU snapshot (or None) or its status changed.
        ram_changed(object): a new :class:`SystemSnapshot`.
        refreshed(): one refresh round finished (tests and gauges).
    """

    backend_states_changed = Signal(dict)
    gpu_changed = Signal(object)
    ram_changed = Signal(object)
    refreshed = Signal()

    def __init__(
        self,
        gpu: GpuProvider,
        tasks: TaskRegistry,
        backends: Sequence[str] = ("ollama", "swarmui", "comfyui"),
        *,
        interval_s: float = REFRESH_INTERVAL_S,
        system: Callable[[], SystemSnapshot] = system_snapshot,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._gpu_provider = gpu
        self._tasks = tasks
        self._system = system
        self._interval = interval_s
        self._states = dict.fromkeys(backends, BackendState.stopped)
        self._messages = dict.fromkeys(backends, "")
        self._keys: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._gpu: GpuSnapshot | None = None
        self._gpu_status = GpuStatus.unknown
        self._gpu_failure_logged = False
        self._ram: SystemSnapshot | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def backends(self) -> tuple[str, ...]:
        return tuple(self._states)

    @property
    def backend_states(self) -> dict[str, BackendState]:
        return dict(self._states)

    def backend_message(self, name: str) -> str:
        return self._messages.get(name, "")

    def backend_message_key(self, name: str) -> tuple[str, dict[str, str]]:
        """The catalogue key and parameters of :meth:`backend_message` ("" when none)."""
        key, params = self._keys.get(name, ("", ()))
        return key, dict(params)

    @property
    def gpu(self) -> GpuSnapshot | None:
        return self._gpu

    @property
    def gpu_status(self) -> GpuStatus:
        return self._gpu_status

    @property
    def vram_used_bytes(self) -> int:
        """Used memory of the largest GPU (what one job can use), 0 without a GPU."""
        main = self._main_gpu()
        return main.used_bytes if main else 0

    @property
    def vram_total_bytes(self) -> int:
        main = self._main_gpu()
        return main.total_bytes if main else 0

    @property
    def ram(self) -> SystemSnapshot | None:
        return self._ram

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _main_gpu(self) -> GpuInfo | None:
        if self._gpu is None or not self._gpu.gpus:
            return None
        return max(self._gpu.gpus, key=lambda g: g.total_bytes)

    # ------------------------------------------------------------------ updates
    def update_backend(self, event: BackendStateChanged) -> None:
        """Show a backend's new state (unknown backends get a light of their own)."""
        if self._states.get(event.backend) is event.state and (
            self._messages.get(event.backend) == event.message
        ):
            return
        self._states[event.backend] = event.state
        self._messages[event.backend] = event.message
        self._keys[event.backend] = (event.key, event.params)
        self.backend_states_changed.emit(dict(self._states))

    def start(self) -> None:
        """Start the periodic refresh (idempotent)."""
        if not self.running:
            self._task = self._tasks.spawn(self._poll(), name="status-refresh")

    async def _poll(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._interval)

    async def refresh(self) -> None:
        """Read GPU and RAM once and emit what changed."""
        try:
            snapshot = await asyncio.to_thread(self._gpu_provider.snapshot)
        except Exception as exc:  # a broken driver must not stop the status bar
            if not self._gpu_failure_logged:
                log.warning("Reading the GPU failed; showing it as unknown: %s", exc)
                self._gpu_failure_logged = True
            self._set_gpu(None, GpuStatus.unknown)
        else:
            self._gpu_failure_logged = False
            status = GpuStatus.present if snapshot and snapshot.gpus else GpuStatus.absent
            self._set_gpu(snapshot, status)
        try:
            ram = self._system()
        except Exception as exc:  # psutil on exotic systems
            log.debug("Reading RAM failed: %s", exc)
        else:
            if ram != self._ram:
                self._ram = ram
                self.ram_changed.emit(ram)
        self.refreshed.emit()

    def _set_gpu(self, snapshot: GpuSnapshot | None, status: GpuStatus) -> None:
        if snapshot == self._gpu and status is self._gpu_status:
            return
        self._gpu, self._gpu_status = snapshot, status
        self.gpu_changed.emit(snapshot)

    async def shutdown(self) -> None:
        """Stop the refresh and wait until it has stopped."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
