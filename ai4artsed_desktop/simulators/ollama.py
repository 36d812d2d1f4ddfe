"""A protocol-faithful stand-in for ``ollama serve`` (tests and demo mode; no AI inside).

Run it as ``python -m ai4artsed_desktop.simulators.ollama [serve] [--port N]``. It speaks
the Ollama HTTP API of protocols.md §1 on 127.0.0.1 only (never any other interface),
logs slog-style records to stderr (including ``msg="Listening on 127.0.0.1:PORT (version
0.12.6)"``) and gin-style access lines to stdout, and answers with deterministic text
from :mod:`._textgen`. SIGTERM and SIGINT close the listener and exit 0.

Environment:

* ``OLLAMA_HOST``: ``host``, ``host:port``, ``scheme://host:port[/path]`` (port 11434 by
  default, 80/443 with an explicit scheme); ``--port`` overrides the port.
* ``OLLAMA_KEEP_ALIVE`` (default ``5m``), ``OLLAMA_CONTEXT_LENGTH`` (default 4096).
* ``FAKE_OLLAMA_MODELS``: installed models, a comma list (default: qwen3:8b, llama3.2:3b,
  qwen2.5-coder:7b, llama-guard3:1b, qwen2.5vl:7b); an empty value means none.
* ``FAKE_OLLAMA_REGISTRY``: names ``/api/pull`` can fetch (default: the built-in catalogue).
* Cloud models: names ending in ``:cloud``/``-cloud`` and the names in
  ``FAKE_OLLAMA_CLOUD_STUBS`` (pulled cloud stubs with a local-looking name) report
  ``remote_host`` in ``/api/tags`` and ``/api/show``; their requests are "forwarded"
  (counted as ``cloud_requests``), or refused with 403 under ``OLLAMA_NO_CLOUD=1``.
* ``FAKE_OLLAMA_QUIRKS``: small-model answers (prose instead of code, untranslated
  text, cut-off answers, echoed labels), see :mod:`._ollama_quirks`.
* Reload rule: a request whose runner options (num_ctx, num_batch, num_gpu, main_gpu,
  use_mmap, num_thread) differ from the loaded model's reloads it (``needsReload``),
  counted as ``reloads``; the reloaded model keeps that request's keep_alive.
* ``FAKE_OLLAMA_DISCOVERY_MS``: "GPU discovery" after the Listening line, during which
  connections are accepted but not answered (default 0).
* ``FAKE_OLLAMA_LOAD_MS`` (cold load, reported as ``load_duration``), ``FAKE_OLLAMA_UNLOAD_MS``
  (delay before an unload shows in ``/api/ps``), ``FAKE_OLLAMA_TOKEN_MS`` (per streamed
  piece) and ``FAKE_OLLAMA_PULL_MS`` (per pull progress step); all default 0.

* ``FAKE_OLLAMA_JUDGE``: how safety verdicts are answered: ``verdict`` (default), ``prose``
  (no verdict word, as small models often answer) or ``cutoff`` (runs into the token limit:
  ``done_reason: "length"``). ``FAKE_OLLAMA_VISION_SEES``: what the vision model "sees" in
  every picture it is asked about (default: a harmless description).

Fault injection, only with ``FAKE_CONTROL=1`` (the real routes never change shape):

* ``POST /__fake__/fault {"mode": M, "count": N}`` arms mode M for the next N model
  requests (generate, chat with a prompt, pull). Modes: ``http500`` and ``http503`` (error
  status before any output), ``error_midstream`` (an ``{"error": ...}`` line after two
  chunks and no ``done`` line; a 500 for ``stream: false``), ``drop_midstream`` (the
  connection is cut after two chunks), ``huge_line`` (after two chunks a line that never
  ends; streams only) and ``hang`` (no answer until the client leaves).
* ``FAKE_OLLAMA_FAULT=M`` / ``FAKE_OLLAMA_FAULT_COUNT=N`` arm a fault at start-up.
* ``GET /__fake__/stats``: counters ``requests``, ``disconnects`` (clients that left
  mid-stream), ``loads``, ``reloads``, ``aborted_loads`` and ``cloud_requests``.
* ``GET /__fake__/requests``: the last 200 model requests (model, options, keep_alive,
  think, stream, format), so tests can see what really reached the "model".
* ``POST /__fake__/crash``: the process exits at once with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence

from aiohttp import web

from ._ollama_http import FAULT_MODES, VERSION, Faults, slog
from ._ollama_quirks import Quirks
from ._ollama_routes import SimState, build_app
from ._ollama_state import ModelStore

DEFAULT_PORT = 11434


def parse_ollama_host(raw: str) -> tuple[str, int]:
    """Host and port from ``OLLAMA_HOST`` the way Ollama reads it (§1.1)."""
    raw = raw.strip()
    default_port = DEFAULT_PORT
    if "://" in raw:
        scheme, raw = raw.split("://", 1)
        default_port = 443 if scheme.lower() == "https" else 80
    hostport = raw.split("/", 1)[0]
    host, port_text = hostport, ""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif hostport.count(":") == 1:
        host, port_text = hostport.split(":")
    port = default_port
    if port_text:
        try:
            port = int(port_text)
            if not 0 <= port <= 65535:
                raise ValueError(port_text)
        except ValueError:
            slog("invalid port, using default", level="WARN", port=port_text, default=default_port)
            port = default_port
    return host or "127.0.0.1", port


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ollama-simulator", description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", choices=["serve"], help="accepted and ignored")
    parser.add_argument("--port", type=int, default=None, help="port (overrides OLLAMA_HOST)")
    return parser.parse_args(argv)


def _faults(env: Mapping[str, str]) -> Faults:
    faults = Faults(enabled=env.get("FAKE_CONTROL") == "1")
    mode = env.get("FAKE_OLLAMA_FAULT", "")
    if faults.enabled and mode in FAULT_MODES:
        try:
            count = max(1, int(env.get("FAKE_OLLAMA_FAULT_COUNT", "1")))
        except ValueError:
            count = 1
        faults.arm(mode, count)
    return faults


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


async def serve(port: int, env: Mapping[str, str]) -> int:
    """Bind, log readiness, wait out "GPU discovery", serve until SIGTERM/SIGINT."""
    try:
        sock = _bind(port)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()  # Go prints the errno text in lower case
        print(f"Error: listen tcp 127.0.0.1:{port}: bind: {reason}", file=sys.stderr)
        return 1
    actual = sock.getsockname()[1]
    state = SimState(
        store=ModelStore.from_env(env), faults=_faults(env), quirks=Quirks.from_env(env)
    )
    slog(
        "server config",
        source="routes.go:1960",
        env=f"map[OLLAMA_HOST:http://127.0.0.1:{actual} FAKE_CONTROL:{int(state.faults.enabled)}]",
    )
    slog(f"Listening on 127.0.0.1:{actual} (version {VERSION})", source="routes.go:2008")
    stop = asyncio.Event()
    _install_signals(stop)
    runner = web.AppRunner(build_app(state), handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.store.timing.discovery)
        if not stop.is_set():
            await web.SockSite(runner, sock).start()
            slog(
                "inference compute",
                source="types.go:32",
                id="sim-0",
                library="simulated",
                name="Ollama simulator (no GPU used)",
                total="8.0 GiB",
                available="8.0 GiB",
            )
            await stop.wait()
        slog("shutting down", source="routes.go:2080")
    finally:
        await runner.cleanup()
        sock.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parse_args(argv)
    _host, port = parse_ollama_host(os.environ.get("OLLAMA_HOST", ""))
    if args.port is not None:
        port = args.port
    return asyncio.run(serve(port, os.environ))


if __name__ == "__main__":
    sys.exit(main())
