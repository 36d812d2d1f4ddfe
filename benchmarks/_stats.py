"""Small helpers shared by the benchmark scripts: repeated timing and a printed summary."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Sequence

import psutil


def machine() -> str:
    """One line describing where the numbers were taken."""
    freq = psutil.cpu_freq()
    mhz = f", {freq.max:.0f} MHz" if freq and freq.max else ""
    return (
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{psutil.cpu_count()} cores{mhz}, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    )


def summary(name: str, samples_ms: Sequence[float]) -> str:
    """``name: median X ms (p10 .. p90, max) over N runs``."""
    data = sorted(samples_ms)
    n = len(data)
    p10 = data[max(0, int(n * 0.1) - 1)] if n >= 10 else data[0]
    p90 = data[min(n - 1, int(n * 0.9))] if n >= 10 else data[-1]
    return (
        f"{name}: median {statistics.median(data):.1f} ms "
        f"(p10 {p10:.1f}, p90 {p90:.1f}, max {data[-1]:.1f}) over {n} runs"
    )
