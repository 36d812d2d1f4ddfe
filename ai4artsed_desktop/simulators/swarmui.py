"""A protocol-faithful SwarmUI stand-in: ``python -m ai4artsed_desktop.simulators.swarmui``.

It follows the checklist of protocols.md section 3.9: Swarm's console lines on stdout,
POST-only JSON API with sessions (``/API/<Route>``, names matched case-insensitively),
blocking and websocket text-to-image generation that writes deterministic PNGs, the
ListModels/ListBackends/GetCurrentStatus/InterruptAll/FreeBackendMemory family,
``GET /View/...`` for outputs, and ``/ComfyBackendDirect/*`` relayed to a real ComfyUI
simulator child process (unless ``--no-comfy``), which makes readiness two-staged.

Knobs (environment): ``FAKE_SWARM_STEP_MS`` (delay per sampler step, default 25),
``FAKE_SWARM_COMFY_START_PORT`` (first port tried for the child, default 7821),
``FAKE_SWARM_KEEPALIVE_MS`` and ``FAKE_SWARM_WS_LINGER_MS``. Only with ``FAKE_CONTROL=1``:
``FAKE_SWARM_START_DELAY_MS`` (before binding), ``FAKE_SWARM_COMFY_DELAY_MS`` (before the
backend is started; ``POST /__fake__/start_backends`` cuts it short),
``FAKE_SWARM_COMFY_MODULE`` (the module run as the ComfyUI child),
``POST /__fake__/expire_sessions`` and ``POST /__fake__/crash``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from .swarm_api import SwarmServer
from .swarm_common import VERSION, Knobs, SwarmLog


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Swarm's command line; flags the simulator does not use are accepted and ignored."""
    parser = argparse.ArgumentParser(prog="swarmui-simulator", allow_abbrev=False)
    parser.add_argument("--port", type=int, default=7801)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--launch_mode", default="none")
    parser.add_argument("--data_dir", default="Data")
    parser.add_argument("--user_id", default="local")
    parser.add_argument("--loglevel", default="Info")
    parser.add_argument("--no_persist", nargs="?", const="true", default="false")
    parser.add_argument("--no-comfy", dest="no_comfy", action="store_true")
    args, _unknown = parser.parse_known_args(argv)
    return args


def _bind_host(host: str) -> str:
    """Swarm's ``localhost`` default binds loopback only; ``*`` means every interface."""
    if host in ("localhost", ""):
        return "127.0.0.1"
    if host == "*":
        return "0.0.0.0"
    return host


async def _start_backends(server: SwarmServer) -> None:
    """Bring backend 0 up: start the ComfyUI child, or mark the built-in backend running."""
    if server.knobs.no_backends:  # a fresh install, as SwarmUI says it
        server.log.warning("No backends present. Add a backend under Server -> Backends.")
        return
    if server.comfy is not None:
        try:
            await server.comfy.run()
        except OSError as exc:
            server.backend.set_status("errored", str(exc))
            server.log.error(f"Self-Start ComfyUI-0 failed: {exc}")
        return
    await server.backend.start_delay(server.knobs.comfy_delay_s)
    server.backend.set_status("running")
    server.log.init("Backend 0 (built-in simulated generator, no ComfyUI) is ready.")


async def serve(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM/SIGINT; returns the process exit code."""
    log = SwarmLog(args.loglevel)
    knobs = Knobs.from_env()
    log.init(f"=== SwarmUI v{VERSION} Starting at {dt.datetime.now():%Y-%m-%d %H:%M:%S} ===")
    data_dir: Path = args.data_dir
    persist = str(args.no_persist).lower() not in ("true", "1", "yes")
    server = SwarmServer(
        log, knobs, data_dir, user=args.user_id, persist=persist, with_comfy=not args.no_comfy
    )
    log.init("Loading backends...")
    await asyncio.sleep(knobs.start_delay_s)
    runner = web.AppRunner(server.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, _bind_host(args.host), args.port).start()
    except OSError as exc:
        log.error(f"Failed to start webserver on port {args.port}: {exc}")
        await runner.cleanup()
        return 1
    log.init(f"Starting webserver on http://{args.host}:{args.port}")
    log.init(f"SwarmUI v{VERSION} - Local is now running.")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    starter = asyncio.ensure_future(_start_backends(server))
    await stop.wait()
    log.init("Shutting down...")
    starter.cancel()
    await asyncio.gather(starter, return_exceptions=True)
    if server.comfy is not None:
        await server.comfy.stop()
    await runner.cleanup()
    log.init("Shutdown complete.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ai4artsed_desktop.simulators.swarmui``."""
    args = parse_args(argv)
    args.data_dir = Path(args.data_dir).expanduser().resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
