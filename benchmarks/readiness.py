"""Readiness-detection latency: the server starts serving -> the supervisor says "ready".

A tiny HTTP server child writes ``time.monotonic()`` (system-wide on Linux) at the moment it
starts serving; the supervisor's state listener takes its own timestamp at ``ready``. The
difference is what the supervisor adds on top of the server's own start-up. A second series
starts the Ollama simulator (demo mode) and reports spawn -> ready wall time.

Run: ``python -m benchmarks.readiness [--runs N]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.manager import free_port
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.backends.process_types import LaunchSpec
from ai4artsed_desktop.events import BackendState, BackendStateChanged

from ._stats import machine, summary

SERVER = textwrap.dedent(
    """
    import http.server, sys, time
    port, stamp, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    time.sleep(delay)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    open(stamp, "w").write(repr(time.monotonic()))
    srv.serve_forever()
    """
)


async def _one_fake(work: Path, delay: float) -> float:
    port = free_port()
    stamp = work / f"stamp-{port}"
    script = work / "server.py"
    script.write_text(SERVER, encoding="utf-8")
    ready_at: list[float] = []

    def on_state(event: BackendStateChanged) -> None:
        if event.state is BackendState.ready:
            ready_at.append(time.monotonic())

    spec = LaunchSpec(
        name="bench",
        display_name="Bench server",
        argv=(sys.executable, str(script), str(port), str(stamp), str(delay)),
        cwd=work,
        env={},
        port=port,
        ready_probe=launchers.http_probe(port, "/"),
    )
    sup = ProcessSupervisor(spec, log_dir=work, state_dir=work / "state", on_state=on_state)
    try:
        await sup.ensure_ready()
    finally:
        await sup.stop()
    return (ready_at[0] - float(stamp.read_text())) * 1000


async def _one_demo_ollama(work: Path) -> float:
    port = free_port()
    spec = launchers.demo_spec("ollama", port=port, work_dir=work)
    sup = ProcessSupervisor(spec, log_dir=work, state_dir=work / "state")
    start = time.monotonic()
    try:
        await sup.ensure_ready()
        return (time.monotonic() - start) * 1000
    finally:
        await sup.stop()


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fake = [await _one_fake(work, delay=0.3) for _ in range(runs)]
        demo = [await _one_demo_ollama(work) for _ in range(max(3, runs // 4))]
    print(f"# readiness ({machine()})")
    print(summary("readiness detection (server serving -> supervisor ready)", fake))
    print(summary("Ollama simulator spawn -> ready (demo mode)", demo))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args().runs))
