"""SwarmClient against the SwarmUI simulator running as a real child process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.backends.swarmui import SwarmClient, Text2ImageParams
from ai4artsed_desktop.errors import BackendProtocolError, BackendRequestError, BackendUnavailable
from ai4artsed_desktop.events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    OutputFile,
)
from tests.integration.swarm_fixtures import SimFactory, SwarmSim, free_port

SD35 = "OfficialStableDiffusion/sd3.5_large.safetensors"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _params(**changes: Any) -> Text2ImageParams:
    base: dict[str, Any] = {"prompt": "a paper fox", "model": SD35, "width": 32, "height": 32}
    return Text2ImageParams(**{**base, **changes})


@pytest_asyncio.fixture
async def client(swarm_sim: SwarmSim) -> AsyncIterator[SwarmClient]:
    async with SwarmClient(swarm_sim.base_url) as swarm:
        yield swarm


async def _collect(swarm: SwarmClient, params: Text2ImageParams) -> list[Any]:
    async with contextlib.aclosing(swarm.generate_text2image_ws(params)) as stream:
        return [event async for event in stream]


async def _until(check: Any, within: float = 15.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


# ------------------------------------------------------------------ sessions and health


@pytest.mark.asyncio
async def test_health_and_new_session(client: SwarmClient) -> None:
    assert await client.health()
    info = await client.new_session()
    assert len(info.session_id) == 40
    assert info.version.startswith("0.9.8.2")
    assert info.server_id
    assert client.session == info


@pytest.mark.asyncio
async def test_health_false_when_unreachable_or_not_swarm() -> None:
    async with SwarmClient(f"127.0.0.1:{free_port()}") as nobody:
        assert not await nobody.health()

    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", html)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with SwarmClient(f"http://127.0.0.1:{port}/") as stranger:
            assert not await stranger.health()
            with pytest.raises(BackendProtocolError):
                await stranger.new_session()
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_expired_session_is_renewed_once(client: SwarmClient, swarm_sim: SwarmSim) -> None:
    await client.list_models()
    old = client.session
    assert old is not None
    swarm_sim.control("expire_sessions")
    models = await client.list_models()
    assert models
    assert client.session is not None
    assert client.session.session_id != old.session_id
    assert client.restart_count == 0


@pytest.mark.asyncio
async def test_restart_detected_by_server_id(swarm_sim_factory: SimFactory) -> None:
    first = swarm_sim_factory(args=("--no_persist",))
    async with SwarmClient(first.base_url) as swarm:
        await swarm.current_status()
        first.stop()
        second = swarm_sim_factory(data_dir=first.data_dir, port=first.port, args=("--no_persist",))
        assert second.port == first.port
        status = await swarm.current_status()
        assert status.backend_status == "running"
        assert swarm.restart_count == 1


@pytest.mark.asyncio
async def test_route_errors_map_to_app_errors(client: SwarmClient) -> None:
    with pytest.raises(BackendProtocolError) as bad_route:
        await client.call("NoSuchRoute", {})
    assert "bad_route" in bad_route.value.detail
    with pytest.raises(BackendRequestError) as unknown_model:
        await client.generate_text2image(_params(model="sd9"))
    assert unknown_model.value.status == 0
    assert "sd9" in unknown_model.value.user_message
    with pytest.raises(BackendRequestError) as mismatch:
        await client.generate_text2image(
            _params(loras=("sd35_demo_paper_cut",), lora_weights=(0.5, 0.7))
        )
    assert "loraweights" in mismatch.value.user_message


# ------------------------------------------------------------------ generation


@pytest.mark.asyncio
async def test_generate_blocking_and_fetch_image_with_spaces(client: SwarmClient) -> None:
    paths = await client.generate_text2image(
        _params(prompt="two paper foxes in deep snow", images=2, seed=42)
    )
    assert len(paths) == 2
    assert " " in paths[0]
    first = await client.fetch_image(paths[0])
    assert first.startswith(PNG_MAGIC)
    assert first != await client.fetch_image(paths[1])
    inline = await client.generate_text2image(
        _params(prompt="two paper foxes in deep snow", seed=42, donotsave=True)
    )
    assert await client.fetch_image(inline[0]) == first


@pytest.mark.asyncio
async def test_fetch_image_refuses_traversal_and_reports_missing(client: SwarmClient) -> None:
    with pytest.raises(BackendRequestError):
        await client.fetch_image("View/local/../../Sessions/sessions.json")
    with pytest.raises(BackendRequestError) as missing:
        await client.fetch_image("View/local/raw/2020-01-01/nothing here.png")
    assert missing.value.status == 404


@pytest.mark.asyncio
async def test_generate_ws_streams_events(client: SwarmClient) -> None:
    events = await _collect(client, _params(images=2, steps=8))
    assert isinstance(events[0], JobQueued)
    assert isinstance(events[1], JobStarted)
    job_ids = {event.job_id for event in events}
    assert len(job_ids) == 1
    progress = [e.step for e in events if isinstance(e, JobProgress)]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert all(e.total == 100 for e in events if isinstance(e, JobProgress))
    previews = [e for e in events if isinstance(e, JobPreview)]
    assert previews
    assert previews[0].mime == "image/jpeg"
    assert previews[0].image.startswith(b"\xff\xd8")
    finished = events[-1]
    assert isinstance(finished, JobFinished)
    assert len(finished.outputs) == 2
    assert all(isinstance(o, OutputFile) and o.type == "swarm" for o in finished.outputs)
    assert (await client.fetch_image(finished.outputs[0].filename)).startswith(PNG_MAGIC)


@pytest.mark.asyncio
async def test_generate_ws_failure_and_session_renewal(
    client: SwarmClient, swarm_sim: SwarmSim
) -> None:
    failed = await _collect(client, _params(model="sd9"))
    assert isinstance(failed[-1], JobFailed)
    assert "sd9" in failed[-1].message
    swarm_sim.control("expire_sessions")
    events = await _collect(client, _params())
    assert isinstance(events[-1], JobFinished)
    assert len(events[-1].outputs) == 1


@pytest.mark.asyncio
async def test_generate_ws_early_close_by_consumer(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    async with SwarmClient(sim.base_url) as swarm:
        started = time.monotonic()
        stream = swarm.generate_text2image_ws(_params(steps=200))
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, JobProgress):
                    break
        assert await _until(lambda: _idle(swarm), within=5)
        assert time.monotonic() - started < 8, "200 steps x 50 ms would take 10 s"
    stats = await _stats(sim)
    # the simulator would have finished it (it does not stop when the client leaves):
    # only the client's InterruptAll stopped it
    assert (stats["interrupted"], stats["finished_without_client"]) == (1, 0)


@pytest.mark.asyncio
async def test_a_cancelled_generation_is_interrupted_on_the_server(
    swarm_sim_factory: SimFactory,
) -> None:
    """Stop in the app cancels the task that reads the stream: InterruptAll still goes out."""
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    async with SwarmClient(sim.base_url) as swarm:
        progressed = asyncio.Event()

        async def consume() -> None:
            async with contextlib.aclosing(swarm.generate_text2image_ws(_params(steps=200))) as s:
                async for event in s:
                    if isinstance(event, JobProgress):
                        progressed.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(progressed.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _until(lambda: _idle(swarm), within=5)
    stats = await _stats(sim)
    assert stats["interrupted"] == 1


@pytest.mark.asyncio
async def test_intermediate_images_are_not_results(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_INTERMEDIATES": "1"})
    async with SwarmClient(sim.base_url) as swarm:
        events = await _collect(swarm, _params(images=2, steps=8))
    finished = events[-1]
    assert isinstance(finished, JobFinished)
    assert len(finished.outputs) == 2
    assert all(not o.filename.startswith("data:image/jpeg") for o in finished.outputs)


async def _stats(sim: SwarmSim) -> dict[str, Any]:
    async with httpx.AsyncClient(trust_env=False) as http:
        stats: dict[str, Any] = (await http.get(f"{sim.base_url}/__fake__/stats")).json()
    return stats


async def _idle(client: SwarmClient) -> bool:
    status = await client.current_status()
    return status.live_gens == 0 and status.waiting_gens == 0


@pytest.mark.asyncio
async def test_interrupt_all(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    async with SwarmClient(sim.base_url) as swarm:
        blocking = asyncio.ensure_future(swarm.generate_text2image(_params(images=3, steps=200)))
        try:
            await _until(lambda: _live(swarm))
            await swarm.interrupt_all()
            paths = await asyncio.wait_for(blocking, 20)
        finally:
            blocking.cancel()
        assert len(paths) < 3
        events: list[Any] = []
        async with contextlib.aclosing(
            swarm.generate_text2image_ws(_params(images=2, steps=200))
        ) as stream:
            async for event in stream:
                events.append(event)
                if isinstance(event, JobProgress) and len(events) == 3:
                    await swarm.interrupt_all()
        assert isinstance(events[-1], JobInterrupted)


async def _live(swarm: SwarmClient) -> bool:
    return (await swarm.current_status()).live_gens > 0


# ------------------------------------------------------------------ models and backends


@pytest.mark.asyncio
async def test_models_backends_status_refresh_and_free(
    client: SwarmClient, swarm_sim: SwarmSim
) -> None:
    models = await client.list_models()
    large = next(m for m in models if m.name == SD35)
    assert large.title == "Stable Diffusion 3.5 Large"
    assert large.standard_width == 1024
    loras = {m.name for m in await client.list_models("LoRA")}
    assert "styles/sd35_demo_watercolour.safetensors" in loras
    (swarm_sim.data_dir / "Models" / "Lora" / "class_lora.safetensors").write_bytes(b"x")
    await client.trigger_refresh()
    assert "class_lora.safetensors" in {m.name for m in await client.list_models("LoRA")}
    backends = await client.list_backends()
    assert [b.id for b in backends] == [0]
    assert backends[0].status == "running"
    assert backends[0].is_ready
    assert await client.comfy_ready()
    status = await client.current_status()
    assert status.backend_status == "running"
    assert status.live_gens == 0
    await client.generate_text2image(_params())
    assert (await client.list_backends())[0].current_model == SD35
    assert await client.free_backend_memory() == 1
    assert (await client.list_backends())[0].current_model is None
    assert client.comfy_base_url() == (swarm_sim.base_url, "/ComfyBackendDirect")


@pytest.mark.asyncio
async def test_two_stage_readiness(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_COMFY_DELAY_MS": "60000"})
    async with SwarmClient(sim.base_url) as swarm:
        assert await swarm.health()
        assert not await swarm.comfy_ready()
        assert (await swarm.list_backends())[0].status == "loading"
        assert await swarm.free_backend_memory() == 0
        job = asyncio.ensure_future(swarm.generate_text2image(_params()))
        try:
            status = await _until(lambda: _waiting_backends(swarm))
            assert not job.done()
            async with httpx.AsyncClient(trust_env=False) as http:
                await http.post(f"{sim.base_url}/__fake__/start_backends")
            paths = await asyncio.wait_for(job, 20)
        finally:
            job.cancel()
        assert status
        assert len(paths) == 1
        assert await swarm.comfy_ready()


async def _waiting_backends(swarm: SwarmClient) -> bool:
    return (await swarm.current_status()).waiting_backends == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")  # the InterruptAll to a frozen server fails
async def test_a_frozen_server_is_noticed_by_the_generation_watchdog(
    swarm_sim_factory: SimFactory,
) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    async with SwarmClient(sim.base_url, silence=0.3) as swarm:
        events = await _collect(swarm, _params(steps=4))  # short silences are fine
        assert isinstance(events[-1], JobFinished)
        started = asyncio.Event()

        async def consume() -> None:
            async with contextlib.aclosing(swarm.generate_text2image_ws(_params(steps=400))) as s:
                async for event in s:
                    if isinstance(event, JobProgress):
                        started.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(started.wait(), 20)
        os.kill(sim.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(BackendUnavailable) as info:
                await asyncio.wait_for(task, 45)
        finally:
            os.kill(sim.proc.pid, signal.SIGCONT)
    assert "stopped answering" in info.value.user_message


@pytest.mark.asyncio
async def test_a_fresh_swarm_without_backends_is_explained(tmp_path: Path) -> None:
    """A fresh SwarmUI has no backend: the start fails with what to do, not a bare timeout."""
    port = free_port()
    spec = launchers.demo_spec("swarmui", port=port, work_dir=tmp_path)

    async def probe() -> bool:  # the manager's two-stage readiness
        async with SwarmClient(f"http://127.0.0.1:{port}") as client:
            return await client.health() and await client.comfy_ready()

    spec = dataclasses.replace(
        spec,
        env={**spec.env, "FAKE_SWARM_NO_BACKENDS": "1"},
        startup_timeout=6.0,
        ready_probe=probe,
    )
    supervisor = ProcessSupervisor(spec, log_dir=tmp_path / "logs", state_dir=tmp_path / "state")
    try:
        with pytest.raises(BackendUnavailable) as info:
            await supervisor.ensure_ready()
    finally:
        await supervisor.stop()
    assert "no image backend yet" in info.value.user_message
    assert "add a ComfyUI backend" in info.value.user_message
