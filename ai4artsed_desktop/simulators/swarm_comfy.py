"""The SwarmUI simulator's self-started ComfyUI child and the ``/ComfyBackendDirect`` proxy.

The child is the ComfyUI simulator, run as a real process on the first free port counted
up from 7821 (``FAKE_SWARM_COMFY_START_PORT`` overrides the start). It dies with the
simulator: it is terminated on shutdown and, on Linux, gets ``PR_SET_PDEATHSIG`` so even a
SIGKILL of the simulator takes it down.

The proxy is a transparent relay. The real server rewrites a ``client_id`` that matches a
proxied websocket to its own backend socket id (protocols.md section 3.8); here the id is
passed through unchanged, which the ComfyUI child then uses directly. Clients see the same
events either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ..sim_entry import simulator_argv
from .swarm_common import Knobs, SwarmLog
from .swarm_engine import Backend

_PR_SET_PDEATHSIG = 1
#: The folder holding the ``ai4artsed_desktop`` package, so the child can import it.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
READY_DEADLINE_S = 120.0
NO_BACKEND_HTML = (
    "<!DOCTYPE html><html><head><title>Error</title></head><body>"
    "<h1>400 Bad Request</h1><p>No ComfyUI backend available.</p></body></html>"
)
_HOP_HEADERS = {"content-type", "x-swarm-backend-id"}


def port_is_free(port: int) -> bool:
    """True if nothing listens on ``127.0.0.1:port`` and we could bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def first_free_port(start: int, attempts: int = 100) -> int:
    """The first free port at or above ``start`` (busy ports are skipped, like Swarm does)."""
    for port in range(start, start + attempts):
        if port_is_free(port):
            return port
    raise OSError(f"no free port in {start}..{start + attempts - 1}")


def _death_signal_hook() -> Any:
    """A ``preexec_fn`` that makes the child die with this process (Linux only), else None."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


class ComfyChild:
    """Starts, watches and stops the ComfyUI simulator child for backend 0."""

    def __init__(self, log: SwarmLog, backend: Backend, data_dir: Path, knobs: Knobs) -> None:
        self.log = log
        self.backend = backend
        self.data_dir = data_dir
        self.knobs = knobs
        self.proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self._stopping = False
        self._http: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str | None:
        """``http://127.0.0.1:<port>`` while the child is ready, else None."""
        if self.backend.port is None or not self.backend.ready.is_set():
            return None
        return f"http://127.0.0.1:{self.backend.port}"

    def http(self) -> aiohttp.ClientSession:
        """The session used to talk to the child (created on first use)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._http

    async def run(self) -> None:
        """Spawn the child and wait until it answers ``/system_stats`` (the start-up task)."""
        await self.backend.start_delay(self.knobs.comfy_delay_s)
        port = first_free_port(self.knobs.comfy_start_port)
        self.backend.port = port
        self.log.init(f"Self-Start ComfyUI-0 on port {port} is loading...")
        out_dir = self.data_dir / "ComfyUI" / "output"
        out_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        env["CUDA_VISIBLE_DEVICES"] = "0"
        args = ["--port", str(port), "--output-directory", str(out_dir)]
        self.proc = await asyncio.create_subprocess_exec(
            *simulator_argv(self.knobs.comfy_module, *args),
            "--preview-method",
            "latent2rgb",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            preexec_fn=_death_signal_hook(),
        )
        self._pump = asyncio.ensure_future(self._capture_output(self.proc))
        if await self._wait_ready(port):
            self.backend.set_status("running")
            self.log.init(f"Self-Start ComfyUI-0 on port {port} started.")
        elif not self._stopping:
            self.backend.set_status("errored", "ComfyUI did not start.")
            self.log.error(f"Self-Start ComfyUI-0 on port {port} failed to start.")

    async def _wait_ready(self, port: int) -> bool:
        deadline = time.monotonic() + READY_DEADLINE_S
        url = f"http://127.0.0.1:{port}/system_stats"
        while time.monotonic() < deadline and not self._stopping:
            if self.proc is None or self.proc.returncode is not None:
                return False
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self.http().get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return True
            await asyncio.sleep(0.1)
        return False

    async def _capture_output(self, proc: asyncio.subprocess.Process) -> None:
        """Copy the child's output into ``Logs/ComfyUI-0.log`` (and Debug lines)."""
        assert proc.stdout is not None
        log_path = self.data_dir / "Logs" / "ComfyUI-0.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as sink:
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip()
                sink.write(line + "\n")
                sink.flush()
                self.log.debug(f"[ComfyUI-0/STDERR] {line}")
        code = await proc.wait()
        if not self._stopping:
            self.backend.set_status("errored", f"ComfyUI exited with code {code}.")
            self.log.error(f"Self-Start ComfyUI-0 on port {self.backend.port} exited ({code}).")

    async def free(self, system_ram: bool) -> bool:
        """Ask the child to unload models (``POST /free``); False if no child is ready."""
        base = self.base_url
        if base is None:
            return False
        body = {"unload_models": True, "free_memory": system_ram}
        async with self.http().post(f"{base}/free", json=body) as resp:
            return resp.status == 200

    async def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 5 s) and close the session."""
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pump, 5.0)
        if self._http is not None:
            await self._http.close()

    # ------------------------------------------------------------------ proxy

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        """``/ComfyBackendDirect/<tail>``: relay HTTP or the websocket to the child."""
        base = self.base_url
        if base is None:
            return web.Response(status=400, text=NO_BACKEND_HTML, content_type="text/html")
        wanted = request.headers.get("X-Swarm-Backend-ID", "0").strip()
        if wanted not in ("", "0"):
            message = f"[SwarmUI] Invalid backend ID '{wanted}'."
            return web.json_response({"error": message}, status=400)
        tail = request.match_info.get("tail", "")
        query = request.rel_url.query_string
        target = f"{base}/{tail}" + (f"?{query}" if query else "")
        if tail.strip("/") == "ws" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._relay_ws(request, target.replace("http://", "ws://", 1))
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in _HOP_HEADERS}
        headers.pop("X-Swarm-Backend-ID", None)
        async with self.http().request(
            request.method, target, data=body or None, headers=headers, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            out_headers = {}
            if "Content-Type" in upstream.headers:
                out_headers["Content-Type"] = upstream.headers["Content-Type"]
            return web.Response(status=upstream.status, body=payload, headers=out_headers)

    async def _relay_ws(self, request: web.Request, target: str) -> web.StreamResponse:
        async with self.http().ws_connect(target, max_msg_size=0, autoping=True) as upstream:
            downstream = web.WebSocketResponse(max_msg_size=0)
            await downstream.prepare(request)
            pumps = [
                asyncio.ensure_future(_pump_ws(upstream, downstream)),
                asyncio.ensure_future(_pump_ws(downstream, upstream)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                await downstream.close()
        return downstream


async def _pump_ws(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Copy text and binary frames from ``source`` to ``sink`` until either side closes."""
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:
            break
