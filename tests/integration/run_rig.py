"""The run rig: a RunSession's services wired to simulator processes (remote mode).

``make_rig(ollama_env=..., comfy_env=..., local_only=..., roles=..., research_confirmed=...)``
starts an Ollama and a ComfyUI simulator and returns a :class:`Rig`; everything is shut down
at teardown.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import RunFailed, Stage
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.runner import RunEvent, RunRequest, RunServices, RunSession
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings import BackendSettings, ModelRoles, SafetySettings, Settings
from ai4artsed_desktop.store.review_log import FILE_NAME as REVIEW_LOG_FILE
from ai4artsed_desktop.store.review_log import ReviewLog
from ai4artsed_desktop.store.runs import RunStore
from tests.integration.comfy_fixtures import ComfySim
from tests.integration.conftest import OllamaSim

CONTENT = load_content(resources_dir() / "configs")
WORKFLOWS = resources_dir() / "workflows"
IDEA = "Ein Fuchs im Schnee"


@dataclass
class Rig:
    services: RunServices
    store: RunStore
    ollama: OllamaSim
    comfy: ComfySim
    review_log: ReviewLog
    settings: list[Settings]  # [current]; replace the item to change the settings

    def session(self, **request: Any) -> RunSession:
        values: dict[str, Any] = {"idea": IDEA, "output_id": "sd15", "level": "youth"}
        values.update(request)
        return RunSession(self.services, RunRequest(**values))

    def run_json(self, session: RunSession) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.store.folder(session.run_id) / "run.json").read_text("utf-8")
        )
        return data

    def llm_requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.ollama.control("GET", "/__fake__/requests")
        return result


RigFactory = Callable[..., Awaitable[Rig]]


@pytest_asyncio.fixture
async def make_rig(
    tmp_path: Path,
    ollama_sim_factory: Callable[..., OllamaSim],
    comfy_sim_factory: Callable[..., ComfySim],
) -> AsyncIterator[RigFactory]:
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def make(
        *,
        ollama_env: dict[str, str] | None = None,
        comfy_env: dict[str, str] | None = None,
        local_only: bool = True,
        roles: ModelRoles | None = None,
        research_confirmed: bool = False,
    ) -> Rig:
        ollama = ollama_sim_factory(env=ollama_env or {})
        comfy = comfy_sim_factory(env=comfy_env or {})
        settings = Settings(
            ollama=BackendSettings(mode="remote", url=ollama.base_url),
            comfyui=BackendSettings(mode="remote", url=comfy.base_url),
            image_engine="comfyui",
            safety=SafetySettings(level="youth", local_only=local_only),
            roles=roles or ModelRoles(),
        )
        paths = AppPaths.under(tmp_path / f"app{len(cleanups)}")
        paths.ensure()
        manager = BackendManager(settings, paths, demo=False)
        store = RunStore(paths.runs_dir)
        review_log = ReviewLog(paths.data_dir / REVIEW_LOG_FILE)
        current = [settings]
        services = build_services(
            backends=manager,
            content=CONTENT,
            settings=lambda: current[0],
            store=store,
            workflows_dir=WORKFLOWS,
            research_confirmed=research_confirmed,
            review_log=review_log,
        )

        async def cleanup() -> None:
            await services.providers.aclose()
            await manager.shutdown()
            store.close()

        cleanups.append(cleanup)
        return Rig(services, store, ollama, comfy, review_log, current)

    yield make
    for cleanup in cleanups:
        await cleanup()


async def collect(session: RunSession, until: Stage | None = None) -> list[RunEvent]:
    async with aclosing(session.advance(until)) as events:
        return [event async for event in events]


async def run_to_failure(rig: Rig, stage: Stage, **request: Any) -> tuple[RunSession, RunFailed]:
    """Run a session to its end; it must fail at ``stage`` with a saved "failed" record."""
    session = rig.session(**request)
    events = await collect(session)
    failed = events[-1]
    assert isinstance(failed, RunFailed), failed
    assert failed.stage is stage, failed
    assert rig.run_json(session)["status"] == "failed"
    return session, failed


async def wait_until(check: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Poll ``check`` until it is true; fail after ``deadline_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not await check():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.02)
