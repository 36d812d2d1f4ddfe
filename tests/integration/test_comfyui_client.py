"""ComfyClient against the ComfyUI simulator running as a real child process."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from ai4artsed_desktop.backends.comfyui import ComfyClient, MissingModel
from ai4artsed_desktop.errors import BackendProtocolError, BackendRequestError, BackendUnavailable
from ai4artsed_desktop.events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    NodeExecuting,
    OutputFile,
)
from tests.integration.comfy_fixtures import (
    ComfySim,
    ace_graph,
    comfy_free_port,
    sd35_graph,
    stable_audio_graph,
)


@pytest_asyncio.fixture
async def client(comfy_sim: ComfySim) -> AsyncIterator[ComfyClient]:
    async with ComfyClient(comfy_sim.base_url) as comfy:
        yield comfy


@pytest.fixture
def slow_sim(comfy_sim_factory: Callable[..., ComfySim]) -> ComfySim:
    return comfy_sim_factory(env={"FAKE_COMFY_STEP_MS": "20"}, args=[])


async def run_all(comfy: ComfyClient, graph: dict[str, Any], **kwargs: Any) -> list[Any]:
    async with contextlib.aclosing(comfy.run(graph, **kwargs)) as stream:
        return [event async for event in stream]


async def wait_until(check: Callable[[], Any], deadline_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


# ---------------------------------------------------------------- info


@pytest.mark.asyncio
async def test_system_stats_and_health(client: ComfyClient) -> None:
    stats = await client.system_stats()
    assert stats.comfyui_version == "0.3.64"
    (device,) = stats.devices
    assert device.vram_total >= device.vram_free > 0
    assert await client.health()
    async with ComfyClient(f"http://127.0.0.1:{comfy_free_port()}") as nobody:
        assert not await nobody.health()
        with pytest.raises(BackendUnavailable):
            await nobody.system_stats()


@pytest.mark.asyncio
async def test_model_files_both_encodings_and_missing(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    assert "sd3.5_large.safetensors" in await client.model_files(
        "CheckpointLoaderSimple", "ckpt_name"
    )
    assert "t5xxl_fp16.safetensors" in await client.model_files("TripleCLIPLoader", "clip_name3")
    assert await client.model_files("NoSuchNode", "x") == []
    assert await client.model_files("KSampler", "steps") == []
    assert "KSampler" in await client.object_info()
    required = [
        ("CheckpointLoaderSimple", "ckpt_name", "sd3.5_large.safetensors"),
        ("LoraLoader", "lora_name", "mine.safetensors"),
        ("TripleCLIPLoader", "clip_name1", "clip_l.safetensors"),
        ("GhostNode", "x", "y.safetensors"),
    ]
    missing = await client.missing_models(required)
    assert missing == [
        MissingModel("LoraLoader", "lora_name", "mine.safetensors"),
        MissingModel("GhostNode", "x", "y.safetensors", "node not installed"),
    ]
    (comfy_sim.models_dir / "loras" / "mine.safetensors").write_bytes(b"")
    assert len(await client.missing_models(required)) == 1


# ---------------------------------------------------------------- runs


@pytest.mark.asyncio
async def test_image_run_event_order_previews_and_download(
    client: ComfyClient, tmp_path: Path
) -> None:
    events = await run_all(client, sd35_graph(steps=3), prompt_id="job-1")
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "JobQueued", "JobStarted", *["NodeExecuting"] * 7,
        *["JobProgress", "JobPreview"] * 3, "NodeExecuting", "NodeExecuting", "JobFinished",
    ]  # fmt: skip
    assert events[0] == JobQueued("job-1")
    assert events[1] == JobStarted("job-1", ())
    progress = [e for e in events if isinstance(e, JobProgress)]
    assert [(p.step, p.total, p.node) for p in progress] == [(1, 3, "7"), (2, 3, "7"), (3, 3, "7")]
    preview = next(e for e in events if isinstance(e, JobPreview))
    assert Image.open(io.BytesIO(preview.image)).format == "JPEG"
    assert preview.mime == "image/jpeg"
    finished = events[-1]
    assert isinstance(finished, JobFinished)
    (image,) = finished.outputs
    assert image == OutputFile("app_sd35_00001_.png", "", "output", "images")
    path = await client.download(image, tmp_path)
    assert path == tmp_path / "app_sd35_00001_.png"
    with Image.open(path) as saved:
        assert saved.size == (256, 256)
    assert await client.view(image) == path.read_bytes()
    history = await client.history("job-1")
    assert history is not None
    assert history.outputs == (image,)


@pytest.mark.asyncio
async def test_cached_resubmission_finishes_with_same_file(client: ComfyClient) -> None:
    graph = sd35_graph(steps=2, size=64)
    first = await run_all(client, graph)
    second = await run_all(client, graph)
    started = next(e for e in second if isinstance(e, JobStarted))
    assert sorted(started.cached_nodes, key=int) == [str(i) for i in range(1, 10)]
    assert not any(isinstance(e, JobProgress | NodeExecuting) for e in second)
    assert second[-1].outputs == first[-1].outputs


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("graph", "name"),
    [(stable_audio_graph(), "app_sao_00001_.flac"), (ace_graph(), "app_ace_00001_.flac")],
)
async def test_audio_runs(client: ComfyClient, graph: dict[str, Any], name: str) -> None:
    events = await run_all(client, graph)
    assert sum(isinstance(e, JobProgress) for e in events) == 4
    assert not any(isinstance(e, JobPreview) for e in events)
    (audio,) = events[-1].outputs
    assert audio == OutputFile(name, "audio", "output", "audio")
    assert (await client.view(audio))[:4] == b"fLaC"


@pytest.mark.asyncio
async def test_validation_error_is_readable(client: ComfyClient) -> None:
    graph = sd35_graph()
    graph["1"]["inputs"]["ckpt_name"] = "x.safetensors"
    with pytest.raises(BackendRequestError) as caught:
        await run_all(client, graph)
    assert caught.value.status == 400
    assert (
        "Model file 'x.safetensors' is missing (node 1 CheckpointLoaderSimple.ckpt_name)"
        in caught.value.user_message
    )
    assert "value_not_in_list" in caught.value.detail
    graph = sd35_graph()
    graph["50"] = {"class_type": "NotInstalled", "inputs": {}}
    with pytest.raises(BackendRequestError, match="NotInstalled does not exist"):
        await run_all(client, graph)


@pytest.mark.asyncio
async def test_execution_error_gives_job_failed(comfy_sim: ComfySim, client: ComfyClient) -> None:
    comfy_sim.fault("execution_error", node="8")
    events = await run_all(client, sd35_graph(steps=1, size=64))
    failed = events[-1]
    assert isinstance(failed, JobFailed)
    assert failed.node == "8"
    assert "VAEDecode" in failed.message
    runtime = await run_all(client, sd35_graph(steps=1, latent="EmptyLatentImage"))
    assert isinstance(runtime[-1], JobFailed)
    assert "channels" in runtime[-1].message


@pytest.mark.asyncio
async def test_interrupt_mid_run(slow_sim: ComfySim) -> None:
    async with ComfyClient(slow_sim.base_url) as comfy:
        events: list[Any] = []
        async with contextlib.aclosing(comfy.run(sd35_graph(steps=500))) as stream:
            async for event in stream:
                events.append(event)
                if isinstance(event, JobProgress) and event.step == 2:
                    await comfy.interrupt()
        assert isinstance(events[-1], JobInterrupted)
        history = await comfy.history(events[-1].job_id)
        assert history is not None
        assert history.status == "error"


@pytest.mark.asyncio
async def test_closing_stream_interrupts_running_and_dequeues_pending(slow_sim: ComfySim) -> None:
    async with ComfyClient(slow_sim.base_url) as comfy:
        running = comfy.run(sd35_graph(steps=500), prompt_id="running")
        pending = comfy.run(sd35_graph(steps=500, seed=2), prompt_id="pending")
        assert await anext(running) == JobQueued("running")
        assert await anext(pending) == JobQueued("pending")
        assert isinstance(await anext(running), JobStarted)
        assert "pending" in (await comfy.queue()).pending
        assert await comfy.history("running") is None  # running: history is still {}
        await pending.aclose()
        assert "pending" not in await comfy.queue()
        await running.aclose()

        async def running_ended() -> bool:
            return await comfy.history("running") is not None

        await wait_until(running_ended)
        entry = await comfy.history("running")
        assert entry is not None
        assert entry.message("execution_interrupted") is not None
        assert await comfy.history("pending") is None


@pytest.mark.asyncio
async def test_cancelling_the_consumer_task_interrupts(slow_sim: ComfySim) -> None:
    async with ComfyClient(slow_sim.base_url) as comfy:
        seen = asyncio.Event()

        async def consume() -> None:
            async with contextlib.aclosing(comfy.run(sd35_graph(steps=500), prompt_id="c")) as s:
                async for event in s:
                    if isinstance(event, JobProgress):
                        seen.set()

        task = asyncio.get_running_loop().create_task(consume())
        await seen.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def ended() -> bool:
            return await comfy.history("c") is not None

        await wait_until(ended)


@pytest.mark.asyncio
async def test_websocket_drop_mid_run_reconnects(
    comfy_sim_factory: Callable[..., ComfySim],
) -> None:
    sim = comfy_sim_factory(env={"FAKE_COMFY_STEP_MS": "5"}, args=[])
    sim.fault("close_ws_midrun", node="7")
    async with ComfyClient(sim.base_url) as comfy:
        events = await run_all(comfy, sd35_graph(steps=40, size=64))
        assert isinstance(events[-1], JobFinished)
        assert events[-1].outputs[0].filename == "app_sd35_00001_.png"
        assert comfy._ws.reconnects == 1
        again = await run_all(comfy, sd35_graph(steps=2, size=64, seed=7))
        assert isinstance(again[-1], JobFinished)


@pytest.mark.asyncio
async def test_drop_with_quick_finish_is_reconciled_from_history(
    comfy_sim_factory: Callable[..., ComfySim],
) -> None:
    sim = comfy_sim_factory(args=[])
    sim.fault("close_ws_midrun", node="7")
    async with ComfyClient(sim.base_url) as comfy:
        events = await run_all(comfy, sd35_graph(steps=4, size=64))
        assert isinstance(events[-1], JobFinished)
        assert len(events[-1].outputs) == 1
        assert comfy._ws.reconnects == 1


@pytest.mark.asyncio
async def test_malformed_answers_raise_protocol_errors(
    comfy_sim: ComfySim, client: ComfyClient
) -> None:
    comfy_sim.fault("malformed", path="/system_stats")
    with pytest.raises(BackendProtocolError):
        await client.system_stats()
    comfy_sim.fault("malformed", path="/prompt")
    with pytest.raises(BackendProtocolError):
        await run_all(client, sd35_graph(steps=1, size=64))
    comfy_sim.fault("malformed_ws", node="7")
    with pytest.raises(BackendProtocolError, match="broken websocket message"):
        await run_all(client, sd35_graph(steps=2, size=64, seed=3))
    comfy_sim.fault("http500", path="/queue")
    with pytest.raises(BackendRequestError) as caught:
        await client.queue()
    assert caught.value.status == 500


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "bad",
    [
        OutputFile("../secret.png"),
        OutputFile("x.png", subfolder="../../etc"),
        OutputFile("/etc/passwd"),
        OutputFile("a\\b.png"),
        OutputFile("C:evil.png"),
        OutputFile("x.png", subfolder="C:/Windows"),
        OutputFile("x.png", type="weird"),
    ],
)
async def test_unsafe_names_rejected_before_any_request(bad: OutputFile, tmp_path: Path) -> None:
    async with ComfyClient(f"http://127.0.0.1:{comfy_free_port()}") as nobody:
        with pytest.raises(BackendProtocolError):
            await nobody.view(bad)  # BackendUnavailable if it had tried to connect
        with pytest.raises(BackendProtocolError):
            await nobody.download(bad, tmp_path)
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))


@pytest.mark.asyncio
async def test_upload_rename_free_and_delete(comfy_sim: ComfySim, client: ComfyClient) -> None:
    assert await client.upload_image(b"one", "src.png") == "src.png"
    assert await client.upload_image(b"one", "src.png") == "src.png"
    assert await client.upload_image(b"two", "src.png") == "src (1).png"
    assert await client.upload_image(b"three", "src.png", overwrite=True) == "src.png"
    assert await asyncio.to_thread((comfy_sim.input_dir / "src.png").read_bytes) == b"three"
    idle = (await client.system_stats()).devices[0].vram_free
    await run_all(client, sd35_graph(steps=1, size=64))
    assert (await client.system_stats()).devices[0].vram_free < idle
    await client.free(unload_models=True)

    async def freed() -> bool:
        return (await client.system_stats()).devices[0].vram_free == idle

    await wait_until(freed)
    await client.delete_queued(["not-there"])
    async with httpx.AsyncClient(trust_env=False) as raw:
        assert (await raw.post(comfy_sim.base_url + "/free", content=b"")).status_code == 500


@pytest.mark.asyncio
async def test_load_image_graph_with_uploaded_file(client: ComfyClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, format="PNG")
    name = await client.upload_image(buffer.getvalue(), "red.png")
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "copy"}},
    }
    events = await run_all(client, graph)
    (copy,) = events[-1].outputs
    image = Image.open(io.BytesIO(await client.view(copy)))
    assert image.size == (40, 30)
    assert image.convert("RGB").getpixel((0, 0)) == (200, 10, 10)


@pytest.mark.asyncio
async def test_through_swarmui_comfy_backend_direct(swarm_sim_comfy: Any) -> None:
    async with ComfyClient(swarm_sim_comfy.base_url, path_prefix="/ComfyBackendDirect") as comfy:
        assert await comfy.health()
        assert "clip_g.safetensors" in await comfy.model_files("TripleCLIPLoader", "clip_name2")
        events = await run_all(comfy, sd35_graph(steps=2, size=64))
        assert any(isinstance(e, JobProgress) for e in events)
        finished = events[-1]
        assert isinstance(finished, JobFinished)
        assert (await comfy.view(finished.outputs[0]))[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.asyncio
async def test_prompt_deleted_while_disconnected_fails_clearly(slow_sim: ComfySim) -> None:
    slow_sim.fault("close_ws_midrun", node="7")
    async with ComfyClient(slow_sim.base_url) as comfy, httpx.AsyncClient(trust_env=False) as raw:
        comfy._ws.first_delay = 1.0  # a wide window in which the socket is down
        blocker = comfy.run(sd35_graph(steps=10, size=64), prompt_id="blocker")
        victim = comfy.run(sd35_graph(steps=10, size=64, seed=9), prompt_id="victim")
        assert await anext(blocker) == JobQueued("blocker")
        assert await anext(victim) == JobQueued("victim")

        async def drain(stream: Any) -> list[Any]:
            async with contextlib.aclosing(stream):
                return [event async for event in stream]

        victim_task = asyncio.get_running_loop().create_task(drain(victim))
        async with contextlib.aclosing(blocker):
            async for event in blocker:
                if isinstance(event, JobProgress) and event.step == 5:
                    resp = await raw.post(slow_sim.base_url + "/queue", json={"delete": ["victim"]})
                    assert resp.status_code == 200
                if isinstance(event, JobFinished):
                    break
        victim_events = await victim_task
        failed = victim_events[-1]
        assert isinstance(failed, JobFailed)
        assert "disappeared" in failed.message
        assert comfy._ws.reconnects == 1


# ---------------------------------------------------------------- runs never hang


@pytest.mark.asyncio
async def test_closing_the_client_mid_job_wakes_the_waiting_run(slow_sim: ComfySim) -> None:
    """Changing the image engine or a backend setting closes the client during a run."""
    comfy = ComfyClient(slow_sim.base_url)
    started = asyncio.Event()
    outcome: list[BaseException | str] = []

    async def consume() -> None:
        try:
            async with contextlib.aclosing(comfy.run(sd35_graph(steps=400))) as stream:
                async for event in stream:
                    if isinstance(event, JobProgress):
                        started.set()
            outcome.append("finished")
        except BaseException as exc:
            outcome.append(exc)

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(started.wait(), 20)
    await comfy.aclose()
    await asyncio.wait_for(task, 10)  # before the fix this waited for ever
    (error,) = outcome
    assert isinstance(error, BackendUnavailable)
    assert "was closed while the job ran" in error.user_message


@pytest.mark.asyncio
async def test_a_silent_server_is_noticed_by_the_watchdog(slow_sim: ComfySim) -> None:
    """No wall-clock limit: a silent but answering server is waited for; a frozen one is not."""
    async with ComfyClient(slow_sim.base_url, silence=0.3) as comfy:
        events = await run_all(comfy, sd35_graph(steps=30))  # 20 ms steps: never silent
        assert isinstance(events[-1], JobFinished)
        started = asyncio.Event()

        async def consume() -> list[Any]:
            seen = []
            async with contextlib.aclosing(comfy.run(sd35_graph(steps=400))) as stream:
                async for event in stream:
                    seen.append(event)
                    started.set()
            return seen

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(started.wait(), 20)
        os.kill(slow_sim.proc.pid, signal.SIGSTOP)  # frozen: the socket stays open, silent
        try:
            with pytest.raises(BackendUnavailable) as info:
                await asyncio.wait_for(task, 40)
        finally:
            os.kill(slow_sim.proc.pid, signal.SIGCONT)
    assert "stopped answering" in info.value.user_message
