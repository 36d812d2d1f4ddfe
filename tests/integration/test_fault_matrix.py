"""Fault matrix for a run: each row asserts a clear message and a consistent record."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from ai4artsed_desktop.events import RunFailed, RunProgress, RunResult, Stage, StageText
from ai4artsed_desktop.store import runs as runs_mod
from ai4artsed_desktop.ui.i18n import load_catalogue
from tests.integration.run_rig import RigFactory, collect, run_to_failure, wait_until


@pytest.mark.asyncio
async def test_comfyui_killed_mid_generation_fails_the_run_clearly(make_rig: RigFactory) -> None:
    rig = await make_rig(comfy_env={"FAKE_COMFY_STEP_MS": "50"})
    session = rig.session(level="adult")
    failed = None
    async for event in session.advance():
        if isinstance(event, RunProgress) and event.step == 2:
            rig.comfy.stop(signal.SIGKILL)
        if isinstance(event, RunFailed):
            failed = event
    assert failed is not None
    assert failed.stage is Stage.generation
    assert "ComfyUI" in failed.message
    assert failed.key in load_catalogue("de")  # a student in German mode reads it in German
    record = rig.run_json(session)
    assert record["status"] == "failed"
    assert record["error"]["message"] == failed.message
    assert record["stages"][-1]["stage"] == "translation" or record["stages"]


@pytest.mark.asyncio
async def test_ollama_killed_mid_stream_fails_the_stage(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_TOKEN_MS": "20"})
    session = rig.session(level="adult")
    events = []
    async for event in session.advance():
        events.append(event)
        if isinstance(event, StageText) and len(events) < 10:
            with contextlib.suppress(httpx.HTTPError):  # it dies before it answers
                rig.ollama.control("POST", "/__fake__/crash")
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert failed.stage is Stage.interception
    assert "Ollama" in failed.message
    assert failed.key in load_catalogue("de")
    assert rig.run_json(session)["status"] == "failed"


@pytest.mark.asyncio
async def test_websocket_dropped_mid_run_still_finishes(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.comfy.fault("close_ws_midrun")
    session = rig.session(level="adult")
    events = await collect(session)
    assert isinstance(events[-1], RunResult), events[-1]
    assert rig.run_json(session)["status"] == "done"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mode", "path"),
    [
        ("malformed", "/prompt"),
        ("malformed", "/object_info/CheckpointLoaderSimple"),
        ("http500", "/prompt"),
        ("huge", "/object_info/CheckpointLoaderSimple"),
        ("truncated", "/object_info/CheckpointLoaderSimple"),
    ],
)
async def test_bad_comfyui_answer_is_a_clear_failure(
    make_rig: RigFactory, mode: str, path: str
) -> None:
    rig = await make_rig()
    rig.comfy.fault(mode, path=path, count=20)
    _, failed = await run_to_failure(rig, Stage.generation, level="adult")
    assert "ComfyUI" in failed.message


@pytest.mark.asyncio
async def test_comfyui_answer_to_the_job_cut_off_cancels_the_job(make_rig: RigFactory) -> None:
    rig = await make_rig(comfy_env={"FAKE_COMFY_STEP_MS": "50"})
    rig.comfy.fault("truncated", path="/prompt")
    _, failed = await run_to_failure(rig, Stage.generation, level="adult")
    assert "ComfyUI" in failed.message
    assert "broke off" in failed.message
    # ComfyUI queued the job before the answer broke: the client took it back.
    async with httpx.AsyncClient(base_url=rig.comfy.base_url, trust_env=False) as http:

        async def queue_empty() -> bool:
            queue = (await http.get("/queue")).json()
            return queue == {"queue_running": [], "queue_pending": []}

        await wait_until(queue_empty)
        history = (await http.get("/history")).json()
    assert [entry["status"]["status_str"] for entry in history.values()] == ["error"]


@pytest.mark.asyncio
async def test_llm_line_without_end_fails_the_stage_clearly(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.ollama.fault("huge_line")
    session, failed = await run_to_failure(rig, Stage.interception, level="adult")
    assert "Ollama" in failed.message
    assert "larger" in failed.message
    record = rig.run_json(session)
    assert record["status"] == "failed"
    assert record["inputs"]["idea"] == session.request.idea


@pytest.mark.asyncio
async def test_llm_connection_dropped_mid_answer(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.ollama.fault("drop_midstream")
    await run_to_failure(rig, Stage.interception, level="adult")


@pytest.mark.asyncio
async def test_disk_full_while_saving_media_keeps_the_record_readable(
    make_rig: RigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = await make_rig()

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runs_mod, "atomic_write_bytes", full)
    session, failed = await run_to_failure(rig, Stage.generation, level="adult")
    assert "full" in failed.message.lower()
    record = json.loads((rig.store.folder(session.run_id) / "run.json").read_text("utf-8"))
    assert record["status"] == "failed"
    assert record["media"] == []
    assert [p.name for p in rig.store.folder(session.run_id).iterdir()] == ["run.json"]
