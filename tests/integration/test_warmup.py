"""Warm-up for a lesson against the Ollama and ComfyUI simulators."""

from __future__ import annotations

import dataclasses
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.pipeline.prompts import NUM_CTX, RUNNER_OPTIONS
from ai4artsed_desktop.pipeline.warmup import (
    WarmupEvent,
    WarmupState,
    prepare_lesson,
    release,
    tiny_job,
)
from tests.integration.run_rig import CONTENT, RigFactory, collect


async def _events(gen: object) -> list[WarmupEvent]:
    async with aclosing(gen) as events:  # type: ignore[type-var]
        return [event async for event in events]


def _warm(events: list[WarmupEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.target) for e in events if e.state is WarmupState.warm]


def test_tiny_job_uses_the_smallest_mapped_values() -> None:
    job = tiny_job(CONTENT.outputs["sd15"])
    assert job.values == {"steps": 1, "width": 256, "height": 256}


@pytest.mark.asyncio
async def test_prepare_lesson_loads_the_model_with_keep_alive_and_warms_outputs(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    events = await _events(prepare_lesson(rig.services, ["sd15", "p5js", "nope"], "45m"))
    assert _warm(events) == [
        ("model", "llama-guard3:1b"),
        ("model", "qwen3:8b"),
        ("output", "sd15"),
    ]
    skipped = {e.target: (e.message, e.key) for e in events if e.state is WarmupState.skipped}
    assert skipped == {
        "p5js": ("nothing to load", "warmup.reason.nothing_to_load"),
        "nope": ("unknown output", "warmup.reason.unknown_output"),
    }
    loaded = rig.ollama.control("GET", "/api/ps")["models"]
    assert [m["name"] for m in loaded] == ["llama-guard3:1b", "qwen3:8b"]
    # The load sent keep_alive "45m": the simulator keeps it for the lesson (the 5-minute
    # default would expire far sooner).
    for model in loaded:
        expires = datetime.fromisoformat(model["expires_at"])
        assert expires - datetime.now(UTC) > timedelta(minutes=40)
        assert model["context_length"] == NUM_CTX  # loaded as the chats will ask
    sent = [r for r in rig.llm_requests() if r["model"] == "qwen3:8b"]
    assert [(r.get("keep_alive"), r.get("options")) for r in sent] == [("45m", RUNNER_OPTIONS)]
    # The tiny generation really ran on the ComfyUI simulator.
    async with httpx.AsyncClient(trust_env=False) as http:
        history = (await http.get(rig.comfy.base_url + "/history")).json()
    graphs = [entry["prompt"][2] for entry in history.values()]
    assert len(graphs) == 1
    sampler = next(n for n in graphs[0].values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["steps"] == 1


@pytest.mark.asyncio
async def test_release_unloads_every_model_and_frees_comfyui(make_rig: RigFactory) -> None:
    rig = await make_rig()
    await _events(prepare_lesson(rig.services, ["sd15"], "45m"))
    events = await _events(release(rig.services))
    released = [(e.kind, e.target) for e in events if e.state is WarmupState.released]
    assert released == [
        ("model", "llama-guard3:1b"),
        ("model", "qwen3:8b"),
        ("backend", "comfyui"),
    ]
    assert rig.ollama.control("GET", "/api/ps")["models"] == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_a_failing_output_is_reported_and_the_rest_goes_on(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.comfy.fault("execution_error")
    events = await _events(prepare_lesson(rig.services, ["sd15", "sdxl"], "10m"))
    failed = [e for e in events if e.state is WarmupState.failed]
    assert [e.target for e in failed] == ["sd15"]
    assert failed[0].message
    assert failed[0].key  # the ComfyUI refusal's catalogue key travels with it
    assert ("output", "sdxl") in _warm(events)


@pytest.mark.asyncio
async def test_first_click_after_warm_up_reloads_nothing_and_keeps_the_lesson(
    make_rig: RigFactory,
) -> None:
    """The first student click after "Prepare lesson" finds both models as they were
    loaded: no reload (same runner options), and every request renews the lesson's
    keep-alive instead of falling back to Ollama's 5 minutes."""
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_LOAD_MS": "150"})
    await _events(prepare_lesson(rig.services, [], "45m"))
    loads = rig.ollama.stats()["loads"]
    assert loads == 2
    first = len(rig.llm_requests())
    session = rig.session(idea="Ein Fuchs im Schnee", level="kids")  # kids: the judge is asked
    await collect(session, until=Stage.interception)
    assert session.text(Stage.interception)
    assert (rig.ollama.stats()["loads"], rig.ollama.stats()["reloads"]) == (loads, 0)
    chats = rig.llm_requests()[first:]
    assert {r["model"] for r in chats} == {"llama-guard3:1b", "qwen3:8b"}
    assert {r.get("keep_alive") for r in chats} == {"45m"}
    assert all(r["options"]["num_ctx"] == NUM_CTX for r in chats)
    for model in rig.ollama.control("GET", "/api/ps")["models"]:
        expires = datetime.fromisoformat(model["expires_at"])
        assert expires - datetime.now(UTC) > timedelta(minutes=40)
    # After "Release" the requests go back to the short default.
    await _events(release(rig.services))
    before = len(rig.llm_requests())
    await collect(rig.session(idea="Ein Fuchs im Schnee", level="kids"), until=Stage.interception)
    assert {r.get("keep_alive") for r in rig.llm_requests()[before:]} == {"5m"}


@pytest.mark.asyncio
async def test_warm_up_leaves_no_file_in_a_local_comfyui_and_records_the_model_check(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    rig.services = dataclasses.replace(rig.services, comfy_output=lambda: rig.comfy.output_dir)
    events = await _events(prepare_lesson(rig.services, ["sd15"], "10m"))
    assert ("output", "sd15") in _warm(events)
    assert not [p for p in rig.comfy.output_dir.rglob("ai4artsed_warmup*") if p.is_file()]
    board = rig.services.models
    assert board is not None
    status = board.get("sd15")
    assert status is not None
    assert status.available
