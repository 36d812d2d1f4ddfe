"""A protocol-faithful stand-in for a ComfyUI server (tests and demo mode; no AI inside).

Run it as ``python -m ai4artsed_desktop.simulators.comfyui --port N``. It speaks the HTTP and
websocket API of protocols.md §2 on 127.0.0.1 only (``--listen`` is accepted, but the
simulator never binds any other interface), logs to stderr (stdout with ``--log-stdout``)
with ComfyUI's start-up lines, ``Starting server`` and ``To see the GUI go to: ...``, and
writes real, deterministic files: PNG patterns from prompt text + seed + size (capped at
2048 px, prompt in the PNG text unless ``--disable-metadata``) and FLAC tone sketches.

Deviations from real ComfyUI, on purpose:

* ``SaveAudioMP3`` and ``SaveAudioOpus`` write FLAC files named ``.flac``: no MP3 or Opus
  encoder is available without new dependencies, and a wrong extension would lie.
* Audio is capped at ``FAKE_COMFY_MAX_AUDIO_S`` seconds (default 5) to keep files small.
* ``/view`` ignores ``preview=`` and ``channel=``; the ``Origin`` check is always on
  (``--enable-cors-header`` is accepted and ignored).

The models folder (``--models-dir``, default ``<output-dir>/../models``) holds
``checkpoints``, ``loras``, ``text_encoders`` (or ``clip``), ``vae`` and ``unet``; it is
re-read on every request. An empty one is seeded with placeholder files named like the
defaults of our templates (unless ``--no-seed-models``).

Environment: ``FAKE_COMFY_STEP_MS`` (sleep per sampler step, fractions allowed, default 0),
``FAKE_COMFY_START_DELAY_MS`` (delay before binding), ``FAKE_COMFY_VRAM_MB`` (simulated VRAM,
default 24576), ``FAKE_COMFY_MAX_AUDIO_S``.

Fault injection, only with ``FAKE_CONTROL=1``: ``POST /__fake__/fault`` with
``{"mode": M, "node": "<id>", "path": "/route", "count": N}`` where M is
``execution_error`` or ``hang`` (at that node, or the first node run), ``close_ws_midrun``
or ``malformed_ws`` (the prompt's socket is closed, or one message truncated, at the
sampler's middle step), ``http500`` or ``malformed`` (the next answers of ``path``, or of
any route, are a 500 or truncated JSON). ``POST /__fake__/clear`` disarms everything and
``POST /__fake__/crash`` exits at once with status 2. SIGTERM and SIGINT exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil
from aiohttp import web

from .comfy_executor import Executor
from .comfy_faults import Faults
from .comfy_hub import Hub
from .comfy_registry import Folders
from .comfy_server import ServerState, build_app
from .comfy_settings import FRONTEND_VERSION, VERSION, Settings, log, set_log_stream


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The subset of ComfyUI's command line the simulator understands (others are ignored)."""
    parser = argparse.ArgumentParser(prog="comfyui-simulator", allow_abbrev=False)
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--listen", nargs="?", const="0.0.0.0,::", default="127.0.0.1")
    parser.add_argument("--output-directory", type=Path, default=None)
    parser.add_argument("--input-directory", type=Path, default=None)
    parser.add_argument("--temp-directory", type=Path, default=None)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument(
        "--preview-method", choices=["none", "auto", "latent2rgb", "taesd"], default="none"
    )
    parser.add_argument("--preview-size", type=int, default=512)
    parser.add_argument("--disable-auto-launch", action="store_true")
    parser.add_argument("--disable-metadata", action="store_true")
    parser.add_argument("--log-stdout", action="store_true")
    parser.add_argument("--no-seed-models", action="store_true")
    args, _unknown = parser.parse_known_args(argv)
    return args


def _folders(args: argparse.Namespace) -> Folders:
    output = (args.output_directory or Path.cwd() / "output").resolve()
    root = output.parent
    return Folders(
        models=(args.models_dir or root / "models").resolve(),
        output=output,
        input=(args.input_directory or root / "input").resolve(),
        temp=(args.temp_directory or root / "temp").resolve(),
    )


def _startup_lines(settings: Settings) -> None:
    ram_mb = psutil.virtual_memory().total // (1024 * 1024)
    log("Checkpoint files will always be loaded safely.")
    log(f"Total VRAM {settings.vram_mb} MB, total RAM {ram_mb} MB")
    log("pytorch version: 2.8.0+cu128")
    log("Set vram state to: NORMAL_VRAM")
    log("Device: cuda:0 ComfyUI simulator (no GPU used) : cudaMallocAsync")
    log("Using pytorch attention")
    log(f"Python version: {sys.version}")
    log(f"ComfyUI version: {VERSION}")
    log(f"ComfyUI frontend version: {FRONTEND_VERSION}")
    log("\nImport times for custom nodes:\n")


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if sys.platform != "win32":  # on Windows SO_REUSEADDR would allow double binds
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))


def _crash() -> None:
    asyncio.get_running_loop().call_soon(os._exit, 2)


async def serve(args: argparse.Namespace, argv: list[str]) -> int:
    """Print the start-up lines, bind 127.0.0.1, serve until SIGTERM/SIGINT."""
    settings = Settings.from_env(
        preview_method=args.preview_method,
        preview_size=args.preview_size,
        disable_metadata=args.disable_metadata,
    )
    stop = asyncio.Event()
    _install_signals(stop)
    if args.listen != "127.0.0.1":
        log(f"--listen {args.listen} ignored: the simulator only ever binds 127.0.0.1")
    folders = _folders(args)
    folders.ensure()
    if not args.no_seed_models and folders.seed_models():
        log(f"Seeded the empty models folder {folders.models} with placeholder files.")
    _startup_lines(settings)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), settings.start_delay_s)
    if stop.is_set():
        return 0
    try:
        sock = _bind(args.port)
    except OSError as exc:
        log(f"OSError: [Errno {exc.errno}] error while attempting to bind on address "
            f"('127.0.0.1', {args.port}): {exc.strerror}")  # fmt: skip
        return 1
    faults = Faults(enabled=os.environ.get("FAKE_CONTROL") == "1")
    hub = Hub()
    executor = Executor(folders, hub, settings, faults)
    state = ServerState(folders, executor, hub, faults, ["main.py", *argv], _crash)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    tasks = [asyncio.ensure_future(hub.publish_loop()), asyncio.ensure_future(executor.worker())]
    try:
        await web.SockSite(runner, sock, shutdown_timeout=1.0).start()
        log("Starting server\n")
        log(f"To see the GUI go to: http://127.0.0.1:{sock.getsockname()[1]}")
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.close_all()
        await runner.cleanup()
        sock.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    set_log_stream(sys.stdout if args.log_stdout else sys.stderr)
    return asyncio.run(serve(args, raw))


if __name__ == "__main__":
    sys.exit(main())
