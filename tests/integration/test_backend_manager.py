"""BackendManager with real child processes: demo simulators, remote URLs, missing installs."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
import pytest_asyncio

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.errors import BackendNotInstalled, BackendUnavailable
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import BackendSettings, Settings
from tests.integration.conftest import OllamaSim


def _simulator_children() -> list[psutil.Process]:
    me = psutil.Process(os.getpid())
    found = []
    for child in me.children(recursive=True):
        try:
            if (
                child.status() != psutil.STATUS_ZOMBIE
                and "ai4artsed_desktop.simulators" in " ".join(child.cmdline())
            ):
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest_asyncio.fixture
async def demo_manager(tmp_path: Path) -> AsyncIterator[BackendManager]:
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    manager = BackendManager(Settings(), paths, demo=True)
    try:
        yield manager
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_demo_ollama_starts_lazily_once_and_reports_states(
    demo_manager: BackendManager,
) -> None:
    events: list[BackendStateChanged] = []
    demo_manager.add_listener(events.append)
    assert demo_manager.states() == dict.fromkeys(
        ("ollama", "swarmui", "comfyui"), BackendState.stopped
    )
    clients = await asyncio.gather(*(demo_manager.ollama() for _ in range(5)))
    assert all(c is clients[0] for c in clients)
    assert await clients[0].version()
    assert [e.state for e in events if e.backend == "ollama"][-1] is BackendState.ready
    assert BackendState.starting in [e.state for e in events]
    assert demo_manager.entry("ollama").mode == "demo"
    assert len(_simulator_children()) == 1
    await demo_manager.shutdown()
    assert demo_manager.states()["ollama"] is BackendState.stopped
    assert _simulator_children() == []


@pytest.mark.asyncio
async def test_demo_swarm_is_ready_only_with_its_comfy_backend(
    demo_manager: BackendManager,
) -> None:
    swarm = await demo_manager.swarm()
    assert await swarm.comfy_ready()
    comfy = await demo_manager.comfy()
    stats = await comfy.system_stats()
    assert stats.comfyui_version


@pytest.mark.asyncio
async def test_missing_install_is_a_state_with_advice(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    settings = dataclasses.replace(
        Settings(), ollama=BackendSettings(path=str(tmp_path / "nowhere" / "ollama"))
    )
    manager = BackendManager(settings, paths, demo=False)
    try:
        with pytest.raises(BackendNotInstalled) as info:
            await manager.ollama()
        assert "ollama.com" in info.value.user_message
        assert manager.states()["ollama"] is BackendState.not_installed
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_remote_backend_connects_notices_loss_and_reconnects(
    tmp_path: Path, ollama_sim: OllamaSim
) -> None:
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    settings = dataclasses.replace(
        Settings(), ollama=BackendSettings(mode="remote", url=ollama_sim.base_url)
    )
    manager = BackendManager(settings, paths, demo=False, remote_check_interval=0.05)
    states: list[BackendState] = []
    changed = asyncio.Event()

    def on_state(event: BackendStateChanged) -> None:
        states.append(event.state)
        changed.set()

    async def wait_for(state: BackendState) -> None:
        async with asyncio.timeout(10):
            while manager.states()["ollama"] is not state:
                changed.clear()
                await changed.wait()

    manager.add_listener(on_state)
    try:
        client = await manager.ollama()
        assert manager.entry("ollama").mode == "remote"
        assert await client.health()
        ollama_sim.stop()
        await wait_for(BackendState.failed)
        ollama_sim.start()
        await wait_for(BackendState.ready)
        assert await client.health()
        assert states.count(BackendState.ready) >= 2
        assert _simulator_children() == [] or all(
            c.pid == ollama_sim.proc.pid for c in _simulator_children() if ollama_sim.proc
        )
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_remote_backend_that_never_answers_fails_clearly(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    settings = dataclasses.replace(
        Settings(), ollama=BackendSettings(mode="remote", url="http://127.0.0.1:9")
    )
    manager = BackendManager(settings, paths, demo=False, remote_check_interval=0.05)
    manager.entry("ollama").impl._connect_within = 0.3  # type: ignore[attr-defined]
    try:
        with pytest.raises(BackendUnavailable, match="does not answer"):
            await manager.ollama()
        assert manager.states()["ollama"] is BackendState.failed
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
async def test_apply_settings_rebuilds_only_changed_backends(demo_manager: BackendManager) -> None:
    await demo_manager.ollama()
    old_swarm = demo_manager.entry("swarmui").impl
    await demo_manager.apply_settings(Settings(), demo=False)
    assert demo_manager.entry("ollama").mode == "managed"
    assert demo_manager.states()["ollama"] is BackendState.stopped
    assert demo_manager.entry("swarmui").impl is not old_swarm
    assert _simulator_children() == []
