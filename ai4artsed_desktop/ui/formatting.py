"""Human-readable texts for GPU, VRAM and RAM figures, shared by status bar and pages."""

from __future__ import annotations

from ..system.gpu import GpuInfo
from ..system.resources import SystemSnapshot
from .i18n import Translator
from .viewmodels.status_vm import GpuStatus, StatusViewModel

GB = 2**30


def gb(value: int) -> str:
    """Bytes as GiB with one decimal place below 10 GB and none above."""
    amount = value / GB
    return f"{amount:.1f}" if amount < 10 else f"{amount:.0f}"


def vram_text(tr: Translator, status: StatusViewModel) -> str:
    """``VRAM 3.1 / 24 GB``, ``No NVIDIA GPU`` or ``GPU: unknown``."""
    if status.gpu_status is GpuStatus.unknown:
        return tr.tr("status.gpu_unknown")
    if status.gpu_status is GpuStatus.absent:
        return tr.tr("status.no_gpu")
    return tr.tr("status.vram", used=gb(status.vram_used_bytes), total=gb(status.vram_total_bytes))


def gpu_line(tr: Translator, gpu: GpuInfo) -> str:
    """``NVIDIA RTX 4090 — 3.1 / 24 GB`` for one GPU."""
    return tr.tr("gpu.line", name=gpu.name, used=gb(gpu.used_bytes), total=gb(gpu.total_bytes))


def ram_text(tr: Translator, ram: SystemSnapshot | None) -> str:
    """``RAM 7.9 / 24 GB`` or ``RAM: unknown``."""
    if ram is None:
        return tr.tr("status.ram_unknown")
    return tr.tr("status.ram", used=gb(ram.ram_used_bytes), total=gb(ram.ram_total_bytes))
