"""Completion latency: ComfyUI finished -> our client knows; and the reference's polling.

The ComfyUI simulator (started the way demo mode starts it, through the supervisor) stamps
``execution_success`` with its wall clock (ms). Our websocket path (``ComfyClient.run``)
takes its own stamp when it yields ``JobFinished`` (that includes the one /history read).
Side by side in the same run, a poller does what the reference client did: GET
``/history/{id}`` every 2 s from submission until the entry appears.

Run: ``python -m benchmarks.completion [--runs N] [--poll-interval 2.0]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.manager import free_port
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.events import JobFinished

from ._stats import machine, summary


def _graph(color: int) -> dict[str, Any]:
    empty = {"width": 64, "height": 64, "batch_size": 1, "color": color}
    save = {"images": ["1", 0], "filename_prefix": "bench"}
    return {
        "1": {"class_type": "EmptyImage", "inputs": empty},
        "2": {"class_type": "SaveImage", "inputs": save},
    }


async def _poll_history(base: str, prompt_id: str, interval: float) -> float:
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        while True:
            if (await http.get(f"/history/{prompt_id}")).json():
                return time.time()
            await asyncio.sleep(interval)


async def _one(client: ComfyClient, base: str, color: int, interval: float) -> tuple[float, float]:
    prompt_id = uuid.uuid4().hex
    poller = asyncio.create_task(_poll_history(base, prompt_id, interval))
    finished_at = 0.0
    async for event in client.run(_graph(color), prompt_id=prompt_id):
        if isinstance(event, JobFinished):
            finished_at = time.time()
    polled_at = await poller
    entry = await client.history(prompt_id)
    assert entry is not None
    success = entry.message("execution_success")
    assert success is not None
    done = float(success["timestamp"]) / 1000
    return (finished_at - done) * 1000, (polled_at - done) * 1000


async def main(runs: int, interval: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        spec = launchers.demo_spec("comfyui", port=port, work_dir=work)
        sup = ProcessSupervisor(spec, log_dir=work, state_dir=work / "state")
        await sup.ensure_ready()
        base = f"http://127.0.0.1:{port}"
        ws_ms, poll_ms = [], []
        try:
            async with ComfyClient(base) as client:
                for i in range(runs):
                    ws, poll = await _one(client, base, 0x102030 + i, interval)
                    ws_ms.append(ws)
                    poll_ms.append(poll)
        finally:
            await sup.stop()
    print(f"# completion ({machine()})")
    print(summary("websocket: backend finished -> client knows", ws_ms))
    print(summary(f"reference polling every {interval:g} s: finished -> poller knows", poll_ms))
    ratio = statistics.median(poll_ms) / max(statistics.median(ws_ms), 0.001)
    print(f"ratio polling / websocket (medians): {ratio:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.poll_interval))
