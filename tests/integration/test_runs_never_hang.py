"""A run never waits for ever: a backend setting changed mid-run ends it with a message."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import aclosing

import pytest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.events import RunFailed, RunProgress, Stage
from ai4artsed_desktop.pipeline.runner import RunEvent
from ai4artsed_desktop.settings import Settings
from tests.integration.run_rig import RigFactory


@pytest.mark.asyncio
async def test_changing_the_image_engine_mid_generation_ends_the_run_with_a_message(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(comfy_env={"FAKE_COMFY_STEP_MS": "200"})
    manager = rig.services.backends
    assert isinstance(manager, BackendManager)
    session = rig.session(level="adult", output_id="sd15")
    events: list[RunEvent] = []
    progressed = asyncio.Event()

    async def run() -> None:
        async with aclosing(session.advance()) as stream:
            async for event in stream:
                events.append(event)
                if isinstance(event, RunProgress):
                    progressed.set()

    task = asyncio.ensure_future(run())
    await asyncio.wait_for(progressed.wait(), 60)
    settings: Settings = rig.services.settings()
    await manager.apply_settings(dataclasses.replace(settings, image_engine="swarmui"))
    await asyncio.wait_for(task, 20)  # it used to wait for ever here
    failed = events[-1]
    assert isinstance(failed, RunFailed), failed
    assert failed.stage is Stage.generation
    assert "was closed while the job ran" in failed.message
    assert rig.run_json(session)["status"] == "failed"
