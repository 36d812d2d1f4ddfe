"""Orchestration overhead of a full run (idea -> image file) against zero-latency simulators.

The Ollama simulator (``FAKE_OLLAMA_TOKEN_MS=0``) and the ComfyUI simulator
(``FAKE_COMFY_STEP_MS=0``) run as child processes on 127.0.0.1; a ``RunSession`` is built
the way the app builds it (``build_services`` over a remote-mode ``BackendManager`` pointing
at the simulators, a ``RunStore`` in a temporary folder). Since the "models" answer at once,
what is left is our own work: HTTP and websocket traffic, safety checks, prompt building,
workflow mapping, saving the media and ``run.json`` (fsync for media files and the
final state, see ``ai4artsed_desktop.store.runs``).

After one warm-up run, each of N runs is timed from ``RunSession`` creation to the final
``RunResult``; per stage, the time from ``StageStarted`` to ``StageCompleted`` as the
events arrive at the consumer (``time.perf_counter``). Stages a run skips do not appear.
The ``store:`` lines add up, per run, the time spent in the run store's writes (they run
in a worker thread and are part of the stage times above): creating the run, the saves
of ``run.json`` and saving the media (PNG metadata, thumbnail, fsync).

Run: ``python -m benchmarks.orchestration [--runs N] [--outputs sd15,sdxl] [--config bauhaus]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import aclosing
from pathlib import Path

import httpx

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import RunBlocked, RunFailed, RunResult, StageCompleted, StageStarted
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.runner import RunRequest, RunServices, RunSession
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings import BackendSettings, SafetySettings, Settings
from ai4artsed_desktop.store.record import MediaKind, MediaRecord, RunInputs, RunRecord
from ai4artsed_desktop.store.runs import RunStore

from ._stats import machine, summary

REPO = Path(__file__).resolve().parents[1]
IDEA = "Ein Fuchs im Schnee unter einer Laterne"
READY_PATHS = {"ollama": "/", "comfyui": "/system_stats"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def simulator(name: str, work: Path, env: dict[str, str]) -> Iterator[str]:
    """Start ``ai4artsed_desktop.simulators.<name>`` as a child; yields its base URL.

    ``name`` is ``ollama`` or ``comfyui``; the child is stopped (SIGTERM, then SIGKILL)
    on exit.
    """
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_", "OLLAMA_"))}
    full_env.update(env)
    if name == "ollama":
        args = ["serve"]
        full_env["OLLAMA_HOST"] = f"127.0.0.1:{port}"
    else:
        root = work / f"comfy-{port}"
        args = ["--port", str(port), "--output-directory", str(root / "output")]
        args += ["--disable-auto-launch", "--preview-method", "auto"]
    log = (work / f"{name}-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", f"ai4artsed_desktop.simulators.{name}", *args],
        cwd=REPO,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base + READY_PATHS[name])
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    with httpx.Client(trust_env=False, timeout=0.5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"simulator exited early with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.02)
    raise RuntimeError(f"simulator not ready in {deadline_s} s: {url}")


class TimedStore(RunStore):
    """A :class:`RunStore` that adds up the time of its writes, per kind of call."""

    def __init__(self, runs_dir: Path) -> None:
        super().__init__(runs_dir)
        self._times: dict[str, list[float]] = defaultdict(list)

    def new_run(self, inputs: RunInputs) -> RunRecord:
        """Time :meth:`RunStore.new_run`."""
        begin = time.perf_counter()
        try:
            return super().new_run(inputs)
        finally:
            self._times["new_run"].append((time.perf_counter() - begin) * 1000)

    def save(self, record: RunRecord, *, durable: bool | None = None) -> None:
        """Time :meth:`RunStore.save` (also the one inside :meth:`add_media`)."""
        begin = time.perf_counter()
        try:
            super().save(record, durable=durable)
        finally:
            self._times["save"].append((time.perf_counter() - begin) * 1000)

    def add_media(
        self,
        record: RunRecord,
        data: bytes,
        *,
        filename: str,
        mime: str,
        kind: MediaKind,
        metadata: Mapping[str, str] | None = None,
    ) -> MediaRecord:
        """Time :meth:`RunStore.add_media`."""
        begin = time.perf_counter()
        try:
            return super().add_media(
                record, data, filename=filename, mime=mime, kind=kind, metadata=metadata
            )
        finally:
            self._times["add_media"].append((time.perf_counter() - begin) * 1000)

    def take(self) -> dict[str, list[float]]:
        """The times since the last call, by kind of call; starts over."""
        times, self._times = dict(self._times), defaultdict(list)
        return times


async def timed_run(services: RunServices, request: RunRequest) -> tuple[float, dict[str, float]]:
    """One full run: total ms and ms per stage (event arrival times)."""
    started: dict[str, float] = {}
    stages: dict[str, float] = {}
    begin = time.perf_counter()
    session = RunSession(services, request)
    async with aclosing(session.advance(None)) as events:
        async for event in events:
            now = time.perf_counter()
            if isinstance(event, StageStarted):
                started[event.stage.value] = now
            elif isinstance(event, StageCompleted):
                stages[event.stage.value] = (now - started[event.stage.value]) * 1000
            elif isinstance(event, RunBlocked | RunFailed):
                raise RuntimeError(f"run did not finish: {event}")
            elif isinstance(event, RunResult):
                assert event.media, "a run without media"
    return (time.perf_counter() - begin) * 1000, stages


async def bench(outputs: list[str], runs: int, config_id: str, work: Path) -> list[str]:
    content = load_content(resources_dir() / "configs")
    lines: list[str] = []
    with (
        simulator("ollama", work, {"FAKE_OLLAMA_TOKEN_MS": "0"}) as ollama_url,
        simulator("comfyui", work, {"FAKE_COMFY_STEP_MS": "0"}) as comfy_url,
    ):
        settings = Settings(
            ollama=BackendSettings(mode="remote", url=ollama_url),
            comfyui=BackendSettings(mode="remote", url=comfy_url),
            image_engine="comfyui",
            safety=SafetySettings(level="youth", local_only=True),
        )
        paths = AppPaths.under(work / "app")
        paths.ensure()
        manager = BackendManager(settings, paths, demo=False)
        store = TimedStore(paths.runs_dir)
        services = build_services(
            backends=manager,
            content=content,
            settings=lambda: settings,
            store=store,
            workflows_dir=resources_dir() / "workflows",
        )
        try:
            for output_id in outputs:
                request = RunRequest(idea=IDEA, output_id=output_id, config_id=config_id)
                await timed_run(services, request)  # warm-up: connections, model "loads"
                store.take()
                totals: list[float] = []
                outside: list[float] = []
                per_stage: dict[str, list[float]] = defaultdict(list)
                per_call: dict[str, list[float]] = defaultdict(list)
                calls: dict[str, int] = defaultdict(int)
                for _ in range(runs):
                    total, stages = await timed_run(services, request)
                    totals.append(total)
                    outside.append(total - sum(stages.values()))
                    for stage, ms in stages.items():
                        per_stage[stage].append(ms)
                    for call, samples in store.take().items():
                        per_call[call].append(sum(samples))
                        calls[call] += len(samples)
                lines.append(summary(f"{output_id}: full run, idea -> image file", totals))
                for stage, samples in per_stage.items():
                    lines.append(summary(f"{output_id}:   stage {stage}", samples))
                lines.append(summary(f"{output_id}:   between stages (saving, set-up)", outside))
                for call, samples in per_call.items():
                    label = f"{output_id}:   store: {call} ({calls[call] / runs:g} per run, sum)"
                    lines.append(summary(label, samples))
        finally:
            await services.providers.aclose()
            await manager.shutdown()
            store.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per output")
    parser.add_argument("--outputs", default="sd15", help="comma-separated output ids")
    parser.add_argument("--config", default="bauhaus", help="interception config id")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orchestration-bench-") as tmp:
        outputs = [o for o in args.outputs.split(",") if o]
        lines = asyncio.run(bench(outputs, args.runs, args.config, Path(tmp)))
    print(f"# orchestration ({machine()})")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
