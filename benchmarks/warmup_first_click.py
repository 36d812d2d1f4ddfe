"""Load time at the first student click after "Prepare lesson": the old and the new warm-up.

The Ollama simulator plays a cold load of ``--load-ms`` (a rule-of-thumb 7-14 B model from
NVMe; protocols.md §1.1) and applies Ollama's reload rule (``needsReload``: other runner
options, e.g. ``num_ctx``, reload the model). Each round starts a fresh simulator, warms the
safety and interception models the way a warm-up does, then times the first click: the
input safety check and the interception chat, each with the options the runner sends.

* **before**: the warm-up loaded without options (the server default ``num_ctx``) and
  every chat sent ``num_ctx: 8192``: both models reload at the first click, and the reload
  keeps them only for the chat's keep-alive.
* **after**: the warm-up loads with ``RUNNER_OPTIONS`` and the lesson keep-alive, the chats
  send the same options: nothing loads at the first click.

Run: ``python -m benchmarks.warmup_first_click [--runs N] [--load-ms MS]``
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.manager import free_port
from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.content.schema import LlmParams
from ai4artsed_desktop.pipeline.prompts import (
    RUNNER_OPTIONS,
    SAFETY_OPTIONS,
    as_dicts,
    build_interception,
    llm_options,
)

from ._stats import machine, summary

SAFETY_MODEL, INTERCEPTION_MODEL = "llama-guard3:1b", "qwen3:8b"


async def _first_click(client: OllamaClient) -> tuple[float, float]:
    """Wall ms of the first click's two chats and the load ms Ollama reported for them."""
    idea = as_dicts(build_interception("Ein Ritter mit Schwert", "Als Märchen", lang="de"))
    options = llm_options(LlmParams(temperature=0.7, top_p=0.9, max_tokens=200), seed=1)
    started = time.perf_counter()
    judge = await client.chat_once(
        SAFETY_MODEL, [{"role": "user", "content": "Ein Ritter mit Schwert"}],
        options=SAFETY_OPTIONS, keep_alive="45m",
    )  # fmt: skip
    answer = await client.chat_once(
        INTERCEPTION_MODEL, idea, options=options, keep_alive="45m", think=False
    )
    wall = (time.perf_counter() - started) * 1000
    return wall, judge.load_ms + answer.load_ms


async def _round(work: Path, load_ms: int, fixed: bool) -> tuple[float, float, int]:
    port = free_port()
    spec = launchers.demo_spec("ollama", port=port, work_dir=work)
    env = {**spec.env, "FAKE_OLLAMA_LOAD_MS": str(load_ms), "FAKE_CONTROL": "1"}
    spec = dataclasses.replace(spec, env=env)
    sup = ProcessSupervisor(spec, log_dir=work, state_dir=work / "state")
    await sup.ensure_ready()
    try:
        async with OllamaClient(f"http://127.0.0.1:{port}") as client:
            load_options: dict[str, Any] | None = dict(RUNNER_OPTIONS) if fixed else None
            for model in (SAFETY_MODEL, INTERCEPTION_MODEL):
                await client.load(model, keep_alive="45m", options=load_options)
            wall, loaded = await _first_click(client)
            reloads = sum(1 for m in await client.ps() if m.context_length != 8192)
            assert reloads == 0  # after the click both run with num_ctx 8192 either way
            stats = (await client._http.get("/__fake__/stats")).json()
    finally:
        await sup.stop()
    return wall, loaded, int(stats["reloads"])


async def main(runs: int, load_ms: int) -> None:
    results: dict[str, tuple[list[float], list[float], list[int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, fixed in (("before", False), ("after", True)):
            walls, loads, reloads = [], [], []
            for i in range(runs):
                work = Path(tmp) / f"{label}{i}"
                work.mkdir()
                wall, loaded, reloaded = await _round(work, load_ms, fixed)
                walls.append(wall)
                loads.append(loaded)
                reloads.append(reloaded)
            results[label] = (walls, loads, reloads)
    print(f"# warmup_first_click ({machine()}; simulated cold load {load_ms} ms per model)")
    for label, (walls, loads, reloads) in results.items():
        print(summary(f"{label}: first click (safety check + interception)", walls))
        print(summary(f"{label}: model load time inside the first click", loads))
        print(f"{label}: reloads at the first click: {max(reloads)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load-ms", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.load_ms))
