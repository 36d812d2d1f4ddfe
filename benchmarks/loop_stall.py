"""Event-loop stalls under a busy moment: previews, a streaming LLM and a training log at once.

A ``QApplication`` (offscreen) runs a qasync loop, as the app does. A 5 ms periodic asyncio
timer (``await asyncio.sleep(0.005)`` in a loop) records its lateness: how much later than
5 ms it woke up. First for ``--idle`` seconds with nothing else on the loop (the timer's own
jitter), then for ``--seconds`` with, at the same time on the same loop:

* previews at 20 fps: a 512x512 JPEG decoded into a ``QImage`` and turned into a
  ``QPixmap``, as the preview widget would;
* an LLM stream at 50 tokens/s: the Ollama simulator (child process,
  ``FAKE_OLLAMA_TOKEN_MS=20``) consumed through ``OllamaClient.generate``, request after
  request;
* a training log at 500 lines/s: a child process prints kohya-style lines (tqdm bars with
  ``\\r``, logger lines) read from its stdout pipe and parsed by
  ``ai4artsed_desktop.training.progress.ProgressParser``.

The rates achieved are printed too, so a starved producer shows. Each round gives one
lateness distribution; with ``--rounds N`` the p50/p99/max of each round are summarised.

Run: ``python -m benchmarks.loop_stall [--seconds 5] [--idle 2] [--rounds 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import textwrap
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.events import TextDelta
from ai4artsed_desktop.training.progress import ProgressParser

from ._stats import machine
from .orchestration import simulator

TICK_S = 0.005
LOG_WRITER = textwrap.dedent(
    r"""
    import sys, time
    rate, seconds = float(sys.argv[1]), float(sys.argv[2])
    total = int(rate * seconds)
    out = sys.stdout
    start = time.monotonic()
    for n in range(1, total + 1):
        if n % 10 == 0:
            out.write(f"2026-11-24 10:00:00 INFO     epoch 1/10, step {n}  train_util.py:123\n")
        else:
            out.write(f"\rsteps: {n * 100 // total:3d}%|#####     | {n}/{total} "
                      f"[00:{n // 500:02d}<00:05, 500.00it/s, avr_loss=0.{n % 997:03d}]")
        if n % 5 == 0:
            out.flush()
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    out.write("\n")
    out.flush()
    """
)


@dataclass
class Counters:
    """What the loads delivered during the loaded phase."""

    previews: int = 0
    tokens: int = 0
    log_lines: int = 0
    log_events: int = 0
    lateness_ms: list[float] = field(default_factory=list)


def _jpeg() -> bytes:
    from PIL import Image

    image = Image.effect_mandelbrot((512, 512), (-2.0, -1.25, 0.75, 1.25), 60).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


async def _ticker(until: float, sink: list[float]) -> None:
    while time.perf_counter() < until:
        before = time.perf_counter()
        await asyncio.sleep(TICK_S)
        sink.append(max(0.0, (time.perf_counter() - before - TICK_S) * 1000))


def _show_preview(data: bytes) -> None:
    from PySide6.QtGui import QImage, QPixmap

    image = QImage.fromData(data)  # format sniffed from the bytes, as for previews
    assert not image.isNull()
    QPixmap.fromImage(image)


async def _previews(data: bytes, until: float, counters: Counters) -> None:
    next_at = time.perf_counter()
    while time.perf_counter() < until:
        _show_preview(data)
        counters.previews += 1
        next_at += 0.05
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def _llm(client: OllamaClient, until: float, counters: Counters) -> None:
    while time.perf_counter() < until:
        stream = client.generate("qwen3:8b", "Beschreibe einen Fuchs im Schnee.")
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    counters.tokens += 1
                if time.perf_counter() >= until:
                    break


async def _training_log(script: Path, seconds: float, counters: Counters) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "500", str(seconds), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    parser = ProgressParser()
    while chunk := await proc.stdout.read(65536):
        counters.log_lines += chunk.count(b"\n") + chunk.count(b"\r")
        counters.log_events += len(parser.feed(chunk))
    counters.log_events += len(parser.finish())
    await proc.wait()


async def _round(
    client: OllamaClient, script: Path, idle_s: float, seconds: float
) -> tuple[Counters, list[float]]:
    # Warm-up, as in a running app: Qt's JPEG plugin is loaded on first use, the first
    # timer and the first HTTP connection cost extra once.
    data = _jpeg()
    _show_preview(data)
    await asyncio.sleep(TICK_S)
    async with aclosing(client.generate("qwen3:8b", "Hallo", options={"num_predict": 2})) as e:
        async for _ in e:
            pass
    idle: list[float] = []
    await _ticker(time.perf_counter() + idle_s, idle)
    counters = Counters()
    until = time.perf_counter() + seconds
    await asyncio.gather(
        _ticker(until, counters.lateness_ms),
        _previews(data, until, counters),
        _llm(client, until, counters),
        _training_log(script, seconds, counters),
    )
    return counters, idle


def _dist(samples: list[float]) -> tuple[float, float, float]:
    data = sorted(samples)
    return statistics.median(data), data[min(len(data) - 1, int(len(data) * 0.99))], data[-1]


def _line(name: str, per_round: list[tuple[float, float, float]], ticks: int) -> str:
    p50 = statistics.median(r[0] for r in per_round)
    p99 = statistics.median(r[1] for r in per_round)
    worst = max(r[2] for r in per_round)
    return (
        f"{name}: median {p50:.2f} ms (p99 {p99:.2f}, max {worst:.2f}) "
        f"over {ticks} ticks in {len(per_round)} round(s)"
    )


async def bench(rounds: int, idle_s: float, seconds: float, work: Path) -> list[str]:
    # qasync's loop does not install the async-generator hooks that asyncio's own
    # run_forever installs; without them httpx's inner stream generators are finalised
    # by the garbage collector outside the loop ("async generator ignored GeneratorExit").
    loop = asyncio.get_running_loop()
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    script = work / "log_writer.py"
    script.write_text(LOG_WRITER, encoding="utf-8")
    loaded: list[tuple[float, float, float]] = []
    quiet: list[tuple[float, float, float]] = []
    ticks = [0, 0]
    rates: list[Counters] = []
    with simulator("ollama", work, {"FAKE_OLLAMA_TOKEN_MS": "20"}) as base_url:
        async with OllamaClient(base_url) as client:
            for _ in range(rounds):
                counters, idle = await _round(client, script, idle_s, seconds)
                quiet.append(_dist(idle))
                loaded.append(_dist(counters.lateness_ms))
                ticks[0] += len(idle)
                ticks[1] += len(counters.lateness_ms)
                rates.append(counters)
    span = seconds * rounds
    return [
        _line("5 ms timer lateness, idle loop", quiet, ticks[0]),
        _line("5 ms timer lateness, previews + LLM + training log", loaded, ticks[1]),
        f"delivered: {sum(c.previews for c in rates) / span:.1f} previews/s, "
        f"{sum(c.tokens for c in rates) / span:.1f} tokens/s, "
        f"{sum(c.log_lines for c in rates) / span:.0f} training log lines/s "
        f"({sum(c.log_events for c in rates) / span:.0f} parsed events/s)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="loaded phase per round")
    parser.add_argument("--idle", type=float, default=2.0, help="idle phase per round")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    with (
        tempfile.TemporaryDirectory(prefix="loop-stall-bench-") as tmp,
        asyncio.Runner(loop_factory=qasync.QEventLoop) as runner,
    ):
        lines = runner.run(bench(args.rounds, args.idle, args.seconds, Path(tmp)))
    del app
    print(f"# loop stall ({machine()})")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
