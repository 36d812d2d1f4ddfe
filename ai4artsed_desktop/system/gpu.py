"""GPU snapshots through NVML, behind a small provider interface (a fake one for tests).

NVML calls block for milliseconds: call :meth:`GpuProvider.snapshot` through
``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

log = logging.getLogger(__name__)

FAKE_GPU_ENV = "AI4ARTSED_FAKE_GPU"


@dataclass(frozen=True)
class GpuProcess:
    """A process holding GPU memory (``used_bytes`` is None where the driver won't say)."""

    pid: int
    name: str
    used_bytes: int | None


@dataclass(frozen=True)
class GpuInfo:
    """One GPU at one moment."""

    index: int
    name: str
    uuid: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    utilization_percent: int | None = None
    temperature_c: int | None = None
    processes: tuple[GpuProcess, ...] = ()

    @property
    def total_gb(self) -> float:
        """Total memory in GiB."""
        return self.total_bytes / 2**30


@dataclass(frozen=True)
class GpuSnapshot:
    """All NVIDIA GPUs and the driver version."""

    driver: str
    gpus: tuple[GpuInfo, ...]

    @property
    def total_vram_gb(self) -> float:
        """The largest single GPU's memory in GiB (what one job can use)."""
        return max((g.total_gb for g in self.gpus), default=0.0)


class GpuProvider(Protocol):
    """Something that can describe the GPUs now."""

    def snapshot(self) -> GpuSnapshot | None:
        """The GPUs now, or None when there is no usable NVIDIA GPU."""
        ...


def _process_name(pid: int) -> str:
    try:
        return str(psutil.Process(pid).name())
    except (psutil.Error, OSError):
        return f"pid {pid}"


class NvmlProvider:
    """Real GPUs via ``pynvml`` (package nvidia-ml-py). Thread-safe; init once, lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initialised = False
        self._unavailable_reason = ""

    @property
    def unavailable_reason(self) -> str:
        """Why NVML could not be used ('' when it works or was not tried yet)."""
        return self._unavailable_reason

    def _init(self) -> bool:
        if self._initialised:
            return True
        if self._unavailable_reason:
            return False
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError subclasses, ImportError, OSError
            self._unavailable_reason = str(exc) or type(exc).__name__
            log.info("No NVIDIA GPU via NVML: %s", self._unavailable_reason)
            return False
        self._initialised = True
        return True

    def snapshot(self) -> GpuSnapshot | None:
        """See :class:`GpuProvider`."""
        with self._lock:
            if not self._init():
                return None
            try:
                return self._read()
            except Exception as exc:  # a GPU that fell off the bus must not kill the UI
                log.warning("Reading the GPU through NVML failed: %s", exc)
                return None

    def _read(self) -> GpuSnapshot:
        import pynvml as nv

        gpus = []
        for index in range(nv.nvmlDeviceGetCount()):
            handle = nv.nvmlDeviceGetHandleByIndex(index)
            mem = nv.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(
                GpuInfo(
                    index=index,
                    name=_text(nv.nvmlDeviceGetName(handle)),
                    uuid=_text(nv.nvmlDeviceGetUUID(handle)),
                    total_bytes=int(mem.total),
                    used_bytes=int(mem.used),
                    free_bytes=int(mem.free),
                    utilization_percent=_optional(
                        lambda h=handle: nv.nvmlDeviceGetUtilizationRates(h).gpu
                    ),
                    temperature_c=_optional(
                        lambda h=handle: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)
                    ),
                    processes=_processes(nv, handle),
                )
            )
        return GpuSnapshot(driver=_text(nv.nvmlSystemGetDriverVersion()), gpus=tuple(gpus))

    def close(self) -> None:
        """Release NVML (one shutdown per successful init)."""
        with self._lock:
            if self._initialised:
                import pynvml

                pynvml.nvmlShutdown()
                self._initialised = False


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _optional(read: Any) -> int | None:
    try:
        return int(read())
    except Exception:  # NVMLError_NotSupported and friends
        return None


def _processes(nv: Any, handle: Any) -> tuple[GpuProcess, ...]:
    try:
        procs = nv.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception:
        return ()
    out = []
    for proc in procs:
        used = getattr(proc, "usedGpuMemory", None)
        out.append(GpuProcess(int(proc.pid), _process_name(int(proc.pid)), used and int(used)))
    return tuple(out)


class FakeGpuProvider:
    """Reads GPUs from a JSON file the tests (or simulators) update.

    The file holds ``{"driver": "...", "gpus": [{"index": 0, "name": ..., "uuid": ...,
    "total_bytes": ..., "used_bytes": ..., "free_bytes": ..., "utilization_percent": ...,
    "temperature_c": ..., "processes": [{"pid": 1, "name": "x", "used_bytes": 1}]}]}``;
    a missing file or ``{"gpus": []}`` means "no NVIDIA GPU".
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def snapshot(self) -> GpuSnapshot | None:
        """See :class:`GpuProvider`."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            gpus = tuple(
                GpuInfo(
                    **{
                        **gpu,
                        "processes": tuple(GpuProcess(**p) for p in gpu.get("processes", ())),
                    }
                )
                for gpu in data.get("gpus", ())
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.debug("Fake GPU file unusable: %s", exc)
            return None
        return GpuSnapshot(driver=str(data.get("driver", "fake")), gpus=gpus) if gpus else None


def default_provider() -> GpuProvider:
    """NVML, or the fake provider when ``AI4ARTSED_FAKE_GPU`` names a JSON file."""
    fake = os.environ.get(FAKE_GPU_ENV)
    if fake:
        return FakeGpuProvider(Path(fake))
    return NvmlProvider()


def describe(snapshot: GpuSnapshot | None) -> str:
    """One line for logs and doctor: GPU names and memory, or "no NVIDIA GPU"."""
    if snapshot is None or not snapshot.gpus:
        return "no NVIDIA GPU"
    parts = [f"{g.name} ({g.total_gb:.0f} GB)" for g in snapshot.gpus]
    return f"{', '.join(parts)}; driver {snapshot.driver}"
