"""The backends of one app session: Ollama, SwarmUI, ComfyUI — managed, remote or demo.

The manager decides per backend how it is reached (a supervised child process, a remote
URL, or a protocol simulator in demo mode), starts it lazily on the first request, hands
out the protocol clients, fans state changes out to listeners (the status lights), and
stops every child on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..events import BackendState, BackendStateChanged
from ..paths import AppPaths
from ..settings import BackendSettings, Settings
from ..system.gpu import GpuProvider
from . import launchers
from .comfyui import ComfyClient
from .http import answers_http, normalize_base_url
from .ollama import OllamaClient
from .process import ProcessSupervisor
from .process_types import LaunchSpec, Probe
from .remote import RemoteBackend
from .swarmui import SwarmClient
from .vram import ComfyMemory, OllamaMemory, VramArbiter

log = logging.getLogger(__name__)

BACKENDS = ("ollama", "swarmui", "comfyui")
StateListener = Callable[[BackendStateChanged], None]


class Backend(Protocol):
    """What the manager and the UI need of one backend, however it is reached."""

    @property
    def state(self) -> BackendState:
        """The current state."""
        ...

    @property
    def message(self) -> str:
        """The user-facing reason of the state (English: the log, the command line)."""
        ...

    @property
    def message_key(self) -> str:
        """The catalogue key of :attr:`message` for the window ("" when it has none)."""
        ...

    @property
    def message_params(self) -> Mapping[str, str]:
        """The parameters of :attr:`message_key`."""
        ...

    @property
    def tail(self) -> Sequence[str]:
        """The last output lines (managed children only)."""
        ...

    async def ensure_ready(self) -> None:
        """Start or connect lazily; return when usable."""
        ...

    async def restart(self) -> None:
        """Stop and start again."""
        ...

    async def stop(self, grace: float = 5.0) -> None:
        """Stop (or disconnect)."""
        ...


@dataclass
class BackendEntry:
    """One backend with how it is reached."""

    name: str
    display_name: str
    mode: str  # "managed", "remote" or "demo"
    url: str
    impl: Backend
    log_file: Path | None


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (for demo simulators)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _url_probe(url: str) -> Probe:
    async def probe() -> bool:
        return await answers_http(url, wait_s=2.0)

    return probe


class BackendManager:
    """Owns the backends of this session and their clients.

    Args:
        settings: the settings at construction; see :meth:`apply_settings` for changes.
        paths: app folders (logs, pid records, demo work folders).
        demo: run the protocol simulators instead of real servers.
        remote_check_interval: seconds between health checks of remote servers.
    """

    def __init__(
        self,
        settings: Settings,
        paths: AppPaths,
        *,
        demo: bool,
        remote_check_interval: float = 5.0,
    ) -> None:
        self._paths = paths
        self._remote_check_interval = remote_check_interval
        self._listeners: list[StateListener] = []
        self._entries: dict[str, BackendEntry] = {}
        self._ollama: OllamaClient | None = None
        self._swarm: SwarmClient | None = None
        self._comfy: ComfyClient | None = None
        self._settings = settings
        self._demo = demo
        for name in BACKENDS:
            self._entries[name] = self._build(name, settings)

    # ------------------------------------------------------------------ observation
    @property
    def demo(self) -> bool:
        """True when the backends are simulators."""
        return self._demo

    def entry(self, name: str) -> BackendEntry:
        """The backend called ``name`` (one of :data:`BACKENDS`)."""
        return self._entries[name]

    def states(self) -> dict[str, BackendState]:
        """Every backend's state now."""
        return {name: e.impl.state for name, e in self._entries.items()}

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state change of any backend; returns the remover."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def _emit(self, event: BackendStateChanged) -> None:
        log.info("Backend %s: %s %s", event.backend, event.state.value, event.message)
        for listener in list(self._listeners):
            listener(event)

    # ------------------------------------------------------------------ construction
    def _build(self, name: str, settings: Settings) -> BackendEntry:
        backend: BackendSettings = getattr(settings, name)
        display = launchers.DISPLAY_NAMES[name]
        if not self._demo and backend.mode == "remote" and backend.url.strip():
            url = normalize_base_url(backend.url)
            remote = RemoteBackend(
                name,
                display,
                url,
                self._probe_for(name, url),
                on_state=self._emit,
                check_interval=self._remote_check_interval,
                retry_interval=min(0.25, self._remote_check_interval),
            )
            return BackendEntry(name, display, "remote", url, remote, None)
        spec = self._spec_for(name, backend)
        url = f"http://127.0.0.1:{spec.port}"
        spec = _with_probe(spec, self._probe_for(name, url))
        supervisor = ProcessSupervisor(
            spec, log_dir=self._paths.log_dir, state_dir=self._paths.state_dir, on_state=self._emit
        )
        mode = "demo" if self._demo else "managed"
        return BackendEntry(name, spec.display_name, mode, url, supervisor, supervisor.log_file)

    def _spec_for(self, name: str, backend: BackendSettings) -> LaunchSpec:
        if self._demo:
            work = self._paths.demo_dir / name
            work.mkdir(parents=True, exist_ok=True)
            return launchers.demo_spec(name, port=free_port(), work_dir=work)
        if name == "ollama":
            return launchers.ollama_spec(backend, no_cloud=self._settings.safety.local_only)
        if name == "swarmui":
            return launchers.swarmui_spec(backend)
        return launchers.comfyui_spec(backend)

    def _probe_for(self, name: str, url: str) -> Probe:
        if name == "ollama":

            async def ollama_probe() -> bool:
                async with OllamaClient(url) as client:
                    return await client.health()

            return ollama_probe
        if name == "swarmui":

            async def swarm_probe() -> bool:
                # Ready only when SwarmUI AND its ComfyUI backend answer (two-stage start).
                async with SwarmClient(url) as client:
                    return await client.health() and await client.comfy_ready()

            return swarm_probe
        return _url_probe(url + launchers.PROBE_PATHS["comfyui"])

    # ------------------------------------------------------------------ clients
    async def ensure_ready(self, name: str) -> None:
        """Start (or connect to) one backend; lazy, and safe to call concurrently."""
        await self._entries[name].impl.ensure_ready()

    async def ollama(self) -> OllamaClient:
        """The Ollama client, after the server is ready."""
        await self.ensure_ready("ollama")
        if self._ollama is None:
            self._ollama = OllamaClient(self._entries["ollama"].url)
        return self._ollama

    async def swarm(self) -> SwarmClient:
        """The SwarmUI client, after SwarmUI and its ComfyUI backend are ready."""
        await self.ensure_ready("swarmui")
        if self._swarm is None:
            self._swarm = SwarmClient(self._entries["swarmui"].url)
        return self._swarm

    async def comfy(self) -> ComfyClient:
        """A ComfyUI client: through SwarmUI's ComfyBackendDirect, or ComfyUI itself."""
        if self._comfy is None:
            if self._settings.image_engine == "swarmui":
                swarm = await self.swarm()
                base, prefix = swarm.comfy_base_url()
                self._comfy = ComfyClient(base, path_prefix=prefix)
            else:
                await self.ensure_ready("comfyui")
                self._comfy = ComfyClient(self._entries["comfyui"].url)
        else:
            await self.ensure_ready(self._settings.image_engine)
        return self._comfy

    def comfy_output_dir(self) -> Path | None:
        """ComfyUI's output folder when it is on this computer (started by the app, or demo).

        None for SwarmUI's ComfyUI, a remote server, or a ComfyUI folder not set.
        """
        if self._settings.image_engine != "comfyui":
            return None
        entry = self._entries["comfyui"]
        if entry.mode == "demo":
            return self._paths.demo_dir / "comfyui" / "output"
        if entry.mode == "managed":
            folder = launchers.comfyui_dir(self._settings.comfyui)
            return folder / "output" if folder is not None else None
        return None

    def image_engine_state(self) -> BackendState:
        """State of the backend that runs workflows."""
        return self._entries[self._settings.image_engine].impl.state

    def engine_crash_since(self, since: float) -> str | None:
        """Why the app-managed image engine died after ``since`` (monotonic), else None.

        Only a server the app started has a supervisor that saw it die; a remote one has none.
        """
        impl = self._entries[self._settings.image_engine].impl
        return impl.crashed_since(since) if isinstance(impl, ProcessSupervisor) else None

    # ------------------------------------------------------------------ VRAM
    async def _running_ollama(self) -> OllamaMemory | None:
        if self._entries["ollama"].impl.state is not BackendState.ready:
            return None
        return await self.ollama()

    async def _running_comfy(self) -> ComfyMemory | None:
        if self.image_engine_state() is not BackendState.ready:
            return None
        comfy = await self.comfy()

        async def vram() -> tuple[int, int] | None:
            stats = await comfy.system_stats()
            device = stats.devices[0] if stats.devices else None
            if device is None or device.type == "cpu":
                return None
            return device.vram_total, device.vram_free

        async def free() -> None:
            await comfy.free(unload_models=True, free_memory=True)

        return ComfyMemory(vram=vram, free=free)

    def arbiter(self, gpu: GpuProvider) -> VramArbiter:
        """A VRAM arbiter that frees only backends that are running now."""
        return VramArbiter(gpu, ollama=self._running_ollama, comfy=self._running_comfy)

    # ------------------------------------------------------------------ life cycle
    async def apply_settings(self, settings: Settings, *, demo: bool | None = None) -> None:
        """Rebuild the backends whose settings changed (stopping the old ones first)."""
        demo_changed = demo is not None and demo != self._demo
        if demo is not None:
            self._demo = demo
        old, self._settings = self._settings, settings
        for name in BACKENDS:
            # In demo mode the simulators ignore paths, URLs and ports: nothing to rebuild.
            section_changed = getattr(old, name) != getattr(settings, name) and not self._demo
            if demo_changed or section_changed:
                await self._entries[name].impl.stop()
                await self._close_clients()
                self._entries[name] = self._build(name, settings)
                entry = self._entries[name]
                impl = entry.impl
                params = tuple(impl.message_params.items())
                self._emit(
                    BackendStateChanged(name, impl.state, impl.message, impl.message_key, params)
                )
        if old.image_engine != settings.image_engine:
            await self._close_clients()

    async def _close_clients(self) -> None:
        for client in (self._ollama, self._swarm, self._comfy):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._ollama = self._swarm = self._comfy = None

    async def shutdown(self, grace: float = 5.0) -> None:
        """Close clients, then stop every backend and its process tree (in parallel)."""
        await self._close_clients()
        await asyncio.gather(
            *(e.impl.stop(grace) for e in self._entries.values()), return_exceptions=True
        )


def _with_probe(spec: LaunchSpec, probe: Probe) -> LaunchSpec:
    return dataclasses.replace(spec, ready_probe=probe)
