"""Seconds per picture of the CPU preset's image output (SD-Turbo, 512 px, one step) on this PC.

What runs is the real thing except the weights: the real ComfyUI 0.8.0 of the contract tier
(its peers venv, ``--cpu``), the app's own ``sd_turbo`` template filled by the app's own
code with the output's defaults (512 × 512, one step, guidance 1), and a checkpoint with
SD-Turbo's architecture (SD 2.1: OpenCLIP-H text tower, SD 2.x UNet, SD VAE) built with
random weights by sd-scripts' own code (tests/contract/build_sd_turbo.py; cached beside
the peers venv). Random weights cost the same arithmetic as the real ones, so the time is the
real time; the pictures are noise.

The first picture includes loading the checkpoint (what a student waits for after the app
started ComfyUI); every further picture is timed from ``POST /prompt`` until ``/history``
has its result, one after the other. The load average (``os.getloadavg``) is printed before
and after: on a shared machine other work slows the numbers down. ComfyUI's own CPU time
per picture is printed too: divided by the cores it is what an otherwise idle PC of this
kind would need at best.

What the app shows as its estimate (``estimated_seconds`` of
``resources/configs/outputs/sd_turbo.json``, shown by the first-run assistant, the output
picker and doctor) is ComfyUI's CPU time per picture, rounded: it hardly depends on what
else the machine does, and it is what one core needs for a picture, so an otherwise idle PC
with two cores takes that long at most. Update it by hand after a new measurement.

Run: ``python -m benchmarks.cpu_image [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.workflow import apply_inputs
from tests.contract import peers

from ._stats import machine

OUTPUT_ID = "sd_turbo"
PICTURE_TIMEOUT_S = 1800.0


def graph(seed: int) -> dict[str, Any]:
    """The shipped template as the app fills it, with the output's own defaults."""
    output = load_content(resources_dir() / "configs").outputs[OUTPUT_ID]
    workflow = load_workflow(output, resources_dir() / "workflows", output.workflow)
    values: dict[str, object] = {**output.defaults, "prompt": "a lighthouse on a cliff, gouache"}
    return apply_inputs(workflow, output, {**values, "seed": seed})


def picture_seconds(url: str, seed: int) -> float:
    """Queue one picture and wait until ComfyUI lists its result; the seconds it took."""
    prompt_id = str(uuid.uuid4())
    started = time.monotonic()
    body = {"prompt": graph(seed), "client_id": "benchmark", "prompt_id": prompt_id}
    answer = httpx.post(f"{url}/prompt", json=body, timeout=60)
    answer.raise_for_status()
    deadline = started + PICTURE_TIMEOUT_S
    while time.monotonic() < deadline:
        entry = httpx.get(f"{url}/history/{prompt_id}", timeout=30).json().get(prompt_id)
        if entry:
            status = entry.get("status", {})
            if status.get("status_str") != "success":
                raise RuntimeError(f"the picture failed: {status}")
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"no picture after {PICTURE_TIMEOUT_S:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ComfyUI so far (its threads; it starts no children)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="pictures after the first")
    args = parser.parse_args()
    checkpoint = peers.build_sd_turbo()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="cpu-image-") as tmp:
        base = Path(tmp)
        peers.link_or_copy(checkpoint, base / "models" / "checkpoints" / checkpoint.name)
        server = peers.ComfyServer(base)
        print(f"before: {load_line()}")
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        try:
            first = picture_seconds(server.url, 1)
            print(f"first picture (loads the checkpoint): {first:.1f} s")
            further, cpu = [], []
            for i in range(args.runs):
                before = cpu_seconds(pid)
                further.append(picture_seconds(server.url, 2 + i))
                cpu.append(cpu_seconds(pid) - before)
        finally:
            server.stop()
    print(f"after: {load_line()}")
    spread = f"min {min(further):.1f}, max {max(further):.1f}"
    print(
        f"SD-Turbo 512 px, 1 step, ComfyUI --cpu: median {statistics.median(further):.1f} s "
        f"({spread}) over {len(further)} pictures"
    )
    cores = os.cpu_count() or 1
    busy = statistics.median(cpu)
    print(
        f"ComfyUI CPU time per picture: median {busy:.1f} s "
        f"(min {min(cpu):.1f}, max {max(cpu):.1f}); on {cores} idle cores at best "
        f"{busy / cores:.1f} s (less busy neighbours: closer to this)"
    )


if __name__ == "__main__":
    main()
