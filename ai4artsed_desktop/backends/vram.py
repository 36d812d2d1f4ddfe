"""The VRAM arbiter: who holds GPU memory, and freeing it on policy.

Sources: NVML (device totals and per-process memory), Ollama ``/api/ps`` (``size_vram`` per
loaded model) and ComfyUI ``/system_stats`` (its device's free memory, the fallback when NVML
is not available). Freeing is asynchronous on every backend, so :meth:`VramArbiter.release`
re-measures until the memory really dropped, or says that it did not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import AppError, InsufficientResources
from ..system.gpu import GpuProvider

log = logging.getLogger(__name__)

GIB = 2**30
#: Memory changes smaller than this are measurement noise (driver bookkeeping).
NOISE_BYTES = 64 * 2**20


class LoadedModelLike(Protocol):
    """What the arbiter reads of one ``/api/ps`` entry."""

    @property
    def name(self) -> str:
        """Model name with tag."""
        ...

    @property
    def size_vram(self) -> int:
        """Bytes resident in GPU memory."""
        ...


class OllamaMemory(Protocol):
    """The part of the Ollama client the arbiter uses."""

    async def ps(self) -> Sequence[LoadedModelLike]:
        """Loaded models."""
        ...

    async def unload(self, model: str, *, confirm_timeout: float = 10.0) -> None:
        """Unload one model and confirm it is gone."""
        ...


@dataclass(frozen=True)
class ComfyMemory:
    """The part of ComfyUI the arbiter uses, as two coroutines.

    ``vram`` returns ``(total, free)`` bytes of ComfyUI's device, or None on a CPU device.
    """

    vram: Callable[[], Awaitable[tuple[int, int] | None]]
    free: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class MemoryHolder:
    """Something that holds GPU memory."""

    name: str
    bytes: int
    source: str  # "nvml", "ollama"


@dataclass(frozen=True)
class VramReport:
    """GPU memory now. ``total_bytes``/``free_bytes`` are None when nothing can measure it."""

    total_bytes: int | None
    free_bytes: int | None
    holders: tuple[MemoryHolder, ...]
    source: str  # "nvml", "comfyui" or "none"

    @property
    def used_bytes(self) -> int | None:
        """Memory in use (device-wide)."""
        if self.total_bytes is None or self.free_bytes is None:
            return None
        return self.total_bytes - self.free_bytes

    def describe(self) -> str:
        """A short sentence for messages and logs."""
        if self.free_bytes is None or self.total_bytes is None:
            return "GPU memory cannot be measured on this machine"
        text = f"{self.free_bytes / GIB:.1f} of {self.total_bytes / GIB:.1f} GB free"
        if self.holders:
            top = sorted(self.holders, key=lambda h: -h.bytes)[:3]
            text += "; in use by " + ", ".join(f"{h.name} ({h.bytes / GIB:.1f} GB)" for h in top)
        return text


OllamaGetter = Callable[[], Awaitable[OllamaMemory | None]]
ComfyGetter = Callable[[], Awaitable[ComfyMemory | None]]


async def _none() -> None:
    return None


class VramArbiter:
    """Knows who holds GPU memory and frees it before big jobs.

    Args:
        gpu: the NVML provider (or a fake); blocking, so it is called in a thread.
        ollama: returns the Ollama client when Ollama is running now, else None. The arbiter
            never starts a backend just to free it.
        comfy: likewise for ComfyUI (direct or behind SwarmUI).
        poll_interval: seconds between measurements while waiting for memory to drop.
    """

    def __init__(
        self,
        gpu: GpuProvider,
        *,
        ollama: OllamaGetter = _none,
        comfy: ComfyGetter = _none,
        poll_interval: float = 0.1,
    ) -> None:
        self._gpu = gpu
        self._ollama = ollama
        self._comfy = comfy
        self._poll = poll_interval
        self._lock = asyncio.Lock()

    async def report(self) -> VramReport:
        """Measure now (NVML first, ComfyUI's numbers as the fallback)."""
        holders: list[MemoryHolder] = []
        snapshot = await asyncio.to_thread(self._gpu.snapshot)
        total = free = None
        source = "none"
        if snapshot is not None and snapshot.gpus:
            gpu = max(snapshot.gpus, key=lambda g: g.total_bytes)
            total, free, source = gpu.total_bytes, gpu.free_bytes, "nvml"
            holders += [
                MemoryHolder(p.name, p.used_bytes, "nvml") for p in gpu.processes if p.used_bytes
            ]
        ollama = await self._ollama()
        if ollama is not None:
            holders += [
                MemoryHolder(f"Ollama model {m.name}", m.size_vram, "ollama")
                for m in await ollama.ps()
                if m.size_vram > 0
            ]
        if source == "none":
            comfy = await self._comfy()
            measured = await comfy.vram() if comfy is not None else None
            if measured is not None:
                (total, free), source = measured, "comfyui"
        return VramReport(total, free, tuple(holders), source)

    async def ensure_free(self, need_bytes: int, *, for_: str, within: float = 30.0) -> VramReport:
        """Make sure ``need_bytes`` are free, releasing the backends' memory if needed.

        Raises:
            InsufficientResources: still not enough after releasing (the message says who holds it).
        """
        report = await self.report()
        if report.free_bytes is None or report.free_bytes >= need_bytes:
            return report
        return await self.release(for_=for_, need_bytes=need_bytes, within=within)

    async def release(
        self, *, for_: str, need_bytes: int | None = None, within: float = 30.0
    ) -> VramReport:
        """Unload Ollama's models and free ComfyUI, then wait until memory really dropped.

        Args:
            for_: what the memory is for ("training", "image generation"), for messages.
            need_bytes: stop waiting as soon as this much is free.
            within: seconds to wait for the memory to drop.

        Raises:
            InsufficientResources: memory did not drop (or not enough) within ``within`` seconds.
        """
        async with self._lock:
            before = await self.report()
            freed_something = await self._unload_all(within)
            if before.free_bytes is None:
                log.info("VRAM release for %s: nothing can measure GPU memory", for_)
                return await self.report()
            return await self._wait_dropped(before, need_bytes, freed_something, for_, within)

    async def _unload_all(self, within: float) -> bool:
        freed = False
        ollama = await self._ollama()
        if ollama is not None:
            for model in await ollama.ps():
                await ollama.unload(model.name, confirm_timeout=within)
                freed = True
        comfy = await self._comfy()
        if comfy is not None:
            await comfy.free()
            freed = True
        return freed

    async def _wait_dropped(
        self,
        before: VramReport,
        need_bytes: int | None,
        freed_something: bool,
        for_: str,
        within: float,
    ) -> VramReport:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        assert before.free_bytes is not None
        while True:
            now = await self.report()
            free = now.free_bytes if now.free_bytes is not None else before.free_bytes
            if need_bytes is not None and free >= need_bytes:
                return now
            if need_bytes is None and (
                not freed_something or free > before.free_bytes + NOISE_BYTES
            ):
                return now
            if loop.time() >= deadline:
                raise self._not_freed(now, need_bytes, for_, within)
            await asyncio.sleep(self._poll)

    @staticmethod
    def _not_freed(now: VramReport, need_bytes: int | None, for_: str, timeout: float) -> AppError:
        need = f" ({need_bytes / GIB:.1f} GB needed)" if need_bytes else ""
        return InsufficientResources(
            f"Not enough GPU memory could be freed for {for_}{need}: {now.describe()}. "
            "Close other programs that use the GPU, or restart the AI backends.",
            detail=f"waited {timeout:g}s; report={now}",
            key="error.gpu_memory",
        )
