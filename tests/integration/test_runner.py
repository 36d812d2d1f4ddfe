"""The run pipeline end to end against the simulators (real processes on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from contextlib import aclosing

import httpx
import pytest

from ai4artsed_desktop.events import (
    RunBlocked,
    RunCancelled,
    RunFailed,
    RunPreview,
    RunProgress,
    RunResult,
    RunStopped,
    Stage,
    StageChecking,
    StageCompleted,
    StageStarted,
    StageText,
)
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.pipeline.runner import RunEvent, RunSession
from ai4artsed_desktop.settings import ModelRoles
from tests.integration.run_rig import CONTENT, IDEA, RigFactory, collect, run_to_failure


def stage_texts(events: list[RunEvent], stage: Stage) -> str:
    return "".join(e.delta for e in events if isinstance(e, StageText) and e.stage is stage)


def completed(events: list[RunEvent]) -> dict[Stage, StageCompleted]:
    return {e.stage: e for e in events if isinstance(e, StageCompleted)}


# ------------------------------------------------------------------ every output


@pytest.mark.asyncio
async def test_image_run_streams_every_stage_and_records_it(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(config_id="bauhaus", level="kids")
    events = await collect(session)

    started = [e.stage for e in events if isinstance(e, StageStarted)]
    assert started == [
        Stage.input_safety,
        Stage.interception,
        Stage.adaptation,
        Stage.translation,
        Stage.output_safety,
        Stage.generation,
    ]
    done = completed(events)
    assert done[Stage.input_safety].badge == "safety passed"
    assert done[Stage.interception].badge == "safety passed"
    assert done[Stage.translation].badge == "translated"
    assert done[Stage.output_safety].badge == "safety passed"
    assert done[Stage.media_check].badge == "safety passed"
    # Kids: no LLM text reaches the UI before it was judged, no image before its check.
    checking = [e.stage for e in events if isinstance(e, StageChecking)]
    assert checking == [
        Stage.interception, Stage.adaptation, Stage.translation, Stage.media_check
    ]  # fmt: skip
    assert not any(isinstance(e, StageText) for e in events)
    assert not any(isinstance(e, RunPreview) for e in events)
    for stage in (Stage.interception, Stage.adaptation, Stage.translation):
        index = events.index(done[stage])
        assert isinstance(events[index - 1], StageChecking)  # judged, then shown
    progress = [e for e in events if isinstance(e, RunProgress)]
    assert progress[-1].step == progress[-1].total == 25  # sd15's default steps
    result = events[-1]
    assert isinstance(result, RunResult)
    assert [m.mime for m in result.media] == ["image/png"]

    record = rig.run_json(session)
    assert record["status"] == "done"
    assert record["inputs"]["rules"] == CONTENT.interceptions["bauhaus"].rules.de
    assert [s["stage"] for s in record["stages"]] == [
        "interception",
        "adaptation",
        "translation",
        "generation",
    ]
    assert record["prompt"] == done[Stage.translation].text
    assert isinstance(record["seed"], int)
    assert record["models"]["interception"] == "ollama/qwen3:8b"
    assert {d["stage"] for d in record["safety"]} == {
        "input_safety", "interception", "adaptation", "translation", "output_safety",
        "media_check",
    }  # fmt: skip
    vision = [r for r in rig.llm_requests() if r["model"] == "qwen2.5vl:7b"]
    assert len(vision) == 1  # the one image was shown to the vision model
    media = record["media"][0]
    data = (rig.store.folder(session.run_id) / media["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == media["sha256"]


@pytest.mark.asyncio
async def test_config_llm_parameters_reach_the_model(make_rig: RigFactory) -> None:
    rig = await make_rig()
    config = CONTENT.interceptions["bauhaus"]
    await collect(rig.session(config_id="bauhaus"), until=Stage.interception)
    chat = [r for r in rig.llm_requests() if r["model"] == "qwen3:8b"][-1]
    assert chat["options"]["temperature"] == pytest.approx(config.llm.temperature)
    assert chat["options"]["top_p"] == pytest.approx(config.llm.top_p)
    assert chat["options"]["num_predict"] == config.llm.max_tokens
    assert chat["think"] is False


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("output_id", "mime"),
    [("stable_audio", "audio/flac"), ("ace_step", "audio/flac"), ("sdxl", "image/png")],
)
async def test_audio_music_and_sdxl_outputs_produce_files(
    make_rig: RigFactory, output_id: str, mime: str
) -> None:
    rig = await make_rig()
    session = rig.session(config_id="dada", output_id=output_id, level="adult")
    events = await collect(session)
    result = events[-1]
    assert isinstance(result, RunResult), events[-1]
    assert [m.mime for m in result.media] == [mime]
    assert result.media[0].path.stat().st_size > 0
    record = rig.run_json(session)
    assert record["status"] == "done"
    if output_id == "ace_step":
        assert "tags" not in record["parameters"]  # the texts live in prompt, not parameters


@pytest.mark.asyncio
@pytest.mark.parametrize(("output_id", "file"), [("p5js", "sketch.js"), ("tonejs", "piece.js")])
async def test_code_outputs_save_checked_code(
    make_rig: RigFactory, output_id: str, file: str
) -> None:
    rig = await make_rig()
    session = rig.session(output_id=output_id, level="kids")
    events = await collect(session)
    result = events[-1]
    assert isinstance(result, RunResult), events[-1]
    assert "```" not in result.code
    assert result.code.strip()
    assert result.media[0].path.name == file
    assert result.media[0].path.read_text("utf-8") == result.code
    record = rig.run_json(session)
    checks = [(d["check"], d["result"]) for d in record["safety"] if d["stage"] == "output_safety"]
    assert ("code_scan", "pass") in checks
    assert ("llm", "pass") in checks
    assert record["seed"] is None
    assert "translation" not in [s["stage"] for s in record["stages"]]


# ------------------------------------------------------------------ stop, edit, continue


@pytest.mark.asyncio
async def test_edit_after_interception_is_used_and_recorded(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    first = await collect(session, until=Stage.interception)
    assert isinstance(first[-2], StageCompleted)
    assert first[-2].stage is Stage.interception
    assert first[-1] == RunStopped(session.run_id, Stage.interception)
    assert rig.run_json(session)["status"] == "stopped"  # nothing runs while the student edits

    session.edit(Stage.interception, "Ein roter Kreis auf blauem Grund")
    rest = await collect(session)
    assert isinstance(rest[-1], RunResult)
    adaptation_request = [r for r in rig.llm_requests() if r["kind"] == "chat"]
    assert len(adaptation_request) >= 2
    record = rig.run_json(session)
    interception = next(s for s in record["stages"] if s["stage"] == "interception")
    assert interception["edited_text"] == "Ein roter Kreis auf blauem Grund"
    assert interception["text"] != interception["edited_text"]
    assert record["status"] == "done"


@pytest.mark.asyncio
async def test_edited_prompt_keeps_the_seed_and_a_new_run_gets_a_new_one(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="adult", output_id="sd15")
    await collect(session)
    seed = rig.run_json(session)["seed"]
    session.edit(Stage.adaptation, "a red circle, bauhaus poster")
    await collect(session)
    assert rig.run_json(session)["seed"] == seed
    assert len(rig.run_json(session)["media"]) == 2

    other = rig.session(level="adult", output_id="sd15", idea="Ein Haus am Meer")
    await collect(other)
    assert rig.run_json(other)["seed"] != seed


@pytest.mark.asyncio
async def test_config_and_cli_loras_are_injected_and_recorded(make_rig: RigFactory) -> None:
    rig = await make_rig()
    (rig.comfy.models_dir / "loras").mkdir(parents=True, exist_ok=True)
    (rig.comfy.models_dir / "loras" / "paper_cut.safetensors").write_bytes(b"lora")
    lora = LoraSpec("paper_cut.safetensors", 0.7, 0.7, trigger="papercut")
    session = rig.session(level="adult", output_id="sd15", loras=(lora,))
    events = await collect(session)
    assert completed(events)[Stage.generation].badge == "LoRA applied"
    record = rig.run_json(session)
    assert record["loras_applied"][0]["file"] == "paper_cut.safetensors"
    assert record["loras_applied"][0]["strength"] == pytest.approx(0.7)
    assert record["prompt"].startswith("papercut")


@pytest.mark.asyncio
async def test_missing_lora_fails_with_a_clear_message(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(
        level="adult", output_id="sd15", loras=(LoraSpec("nowhere.safetensors", 0.5, 0.5),)
    )
    events = await collect(session)
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert failed.stage is Stage.generation
    assert "nowhere.safetensors" in failed.message
    record = rig.run_json(session)
    assert record["status"] == "failed"
    assert "nowhere" in record["error"]["message"]


# ------------------------------------------------------------------ safety and routing


@pytest.mark.asyncio
@pytest.mark.parametrize("where", ["idea", "rules"])
async def test_blocked_idea_or_rules_ends_the_run_before_any_llm_call(
    make_rig: RigFactory, where: str
) -> None:
    rig = await make_rig()
    bad = "Wie man eine Rohrbombe baut"
    request = {"idea": bad} if where == "idea" else {"rules": bad}
    session = rig.session(level="adult", **request)
    events = await collect(session)
    blocked = events[-1]
    assert isinstance(blocked, RunBlocked)
    assert blocked.stage is Stage.input_safety
    assert blocked.reason
    assert rig.llm_requests() == []
    record = rig.run_json(session)
    assert record["status"] == "blocked"
    block = next(d for d in record["safety"] if d["result"] == "block")
    assert where in block["detail"]


@pytest.mark.asyncio
async def test_kids_judge_sees_the_idea_with_deterministic_options(make_rig: RigFactory) -> None:
    rig = await make_rig()
    session = rig.session(level="kids")
    events = await collect(session, until=Stage.input_safety)
    assert completed(events)[Stage.input_safety].badge == "safety passed"
    (guard,) = rig.llm_requests()  # kids: the judge sees even a harmless idea
    assert guard["model"] == "llama-guard3:1b"
    assert guard["options"]["temperature"] == 0


@pytest.mark.asyncio
async def test_kids_fail_closed_when_the_safety_model_is_down(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.ollama.fault("http500", count=5)
    session = rig.session(level="kids")
    events = await collect(session)
    blocked = events[-1]
    assert isinstance(blocked, RunBlocked)
    assert rig.run_json(session)["safety"][-1]["result"] == "unavailable"


@pytest.mark.asyncio
async def test_research_level_without_confirmation_is_blocked(make_rig: RigFactory) -> None:
    rig = await make_rig()
    events = await collect(rig.session(level="research"))
    assert isinstance(events[-1], RunBlocked)
    confirmed = await make_rig(research_confirmed=True)
    events = await collect(confirmed.session(level="research", output_id="p5js"))
    assert isinstance(events[-1], RunResult)
    assert completed(events)[Stage.input_safety].badge == "not checked"


@pytest.mark.asyncio
async def test_local_only_refuses_a_cloud_model_before_any_request(
    make_rig: RigFactory,
) -> None:
    roles = dataclasses.replace(ModelRoles(), interception="mistral/mistral-large-latest")
    rig = await make_rig(roles=roles)
    session, failed = await run_to_failure(rig, Stage.interception, level="adult")
    assert "local-only" in failed.message
    assert rig.run_json(session)["status"] == "failed"


# ------------------------------------------------------------------ failures and cancel


@pytest.mark.asyncio
async def test_llm_error_mid_stream_fails_the_stage_and_keeps_the_record(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    rig.ollama.fault("error_midstream")
    session, _ = await run_to_failure(rig, Stage.interception, level="adult")
    record = rig.run_json(session)
    assert record["status"] == "failed"
    assert record["error"]["message"]


@pytest.mark.asyncio
async def test_comfy_execution_error_is_reported(make_rig: RigFactory) -> None:
    rig = await make_rig()
    rig.comfy.fault("execution_error")
    await run_to_failure(rig, Stage.generation, level="adult")


def _shows_work(event: RunEvent, target: Stage) -> bool:
    """True once ``target`` is busy: a safety check asked, text streaming, steps running."""
    if target is Stage.generation:
        return isinstance(event, RunProgress)
    if target in (Stage.input_safety, Stage.output_safety):
        return isinstance(event, StageStarted) and event.stage is target
    return isinstance(event, StageText) and event.stage is target


async def _cancel_in(session: RunSession, target: Stage) -> list[RunEvent]:
    """Run until ``target`` shows work in progress, then cancel the consuming task."""
    seen: list[RunEvent] = []
    working = asyncio.Event()

    async def consume() -> None:
        async with aclosing(session.advance()) as events:
            async for event in events:
                seen.append(event)
                if _shows_work(event, target):
                    working.set()

    task = asyncio.create_task(consume())
    waiter = asyncio.create_task(working.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    assert working.is_set(), f"never reached {target}: {seen[-1:]}"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return seen


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("target", "level"),
    [
        (Stage.input_safety, "kids"),
        (Stage.interception, "adult"),
        (Stage.adaptation, "adult"),
        (Stage.translation, "youth"),
        (Stage.output_safety, "kids"),
        (Stage.generation, "adult"),
    ],
)
async def test_cancel_at_each_stage_leaves_a_cancelled_record(
    make_rig: RigFactory, target: Stage, level: str
) -> None:
    rig = await make_rig(
        ollama_env={"FAKE_OLLAMA_TOKEN_MS": "40"}, comfy_env={"FAKE_COMFY_STEP_MS": "100"}
    )
    idea = "Ein Ritter mit einer Pistole" if target is Stage.input_safety else IDEA
    session = rig.session(idea=idea, level=level)
    seen = await _cancel_in(session, target)
    cancelled = seen[-1]
    assert isinstance(cancelled, RunCancelled)
    assert cancelled.stage is target
    assert rig.run_json(session)["status"] == "cancelled"
    if target is Stage.generation:
        async with httpx.AsyncClient(base_url=rig.comfy.base_url, trust_env=False) as http:
            for _ in range(100):  # the interrupt reaches the sampler at its next step
                queue = (await http.get("/queue")).json()
                if not queue["queue_running"] and not queue["queue_pending"]:
                    break
                await asyncio.sleep(0.05)
        assert queue == {"queue_running": [], "queue_pending": []}
    elif target in (Stage.interception, Stage.adaptation, Stage.translation):
        # The server notices the closed stream when it writes the next token.
        for _ in range(100):
            if rig.ollama.stats()["disconnects"] >= 1:
                break
            await asyncio.sleep(0.05)
        assert rig.ollama.stats()["disconnects"] >= 1


@pytest.mark.asyncio
async def test_a_reopened_run_continues_with_its_texts_and_seed(make_rig: RigFactory) -> None:
    rig = await make_rig()
    first = rig.session(level="adult", output_id="sd15")
    await collect(first)
    saved = rig.store.load(first.run_id)
    seed = saved.seed

    reopened = RunSession.resume(rig.services, saved)
    assert reopened.next_stage is None
    assert reopened.text(Stage.adaptation) == first.text(Stage.adaptation)
    reopened.edit(Stage.adaptation, "a red circle on a blue ground, bauhaus poster")
    events = await collect(reopened)
    started = [e.stage for e in events if isinstance(e, StageStarted)]
    # The edited prompt is English already: no translation, but it is checked again.
    assert started == [Stage.output_safety, Stage.generation]
    record = rig.run_json(reopened)
    assert record["seed"] == seed
    assert record["prompt"] == "a red circle on a blue ground, bauhaus poster"
    assert len(record["media"]) == 2
    assert record["status"] == "done"


@pytest.mark.asyncio
async def test_a_run_stopped_after_the_interception_resumes_with_the_adaptation(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    first = rig.session(level="adult", output_id="p5js")
    await collect(first, until=Stage.interception)
    reopened = RunSession.resume(rig.services, rig.store.load(first.run_id))
    assert reopened.next_stage is Stage.adaptation
    events = await collect(reopened)
    assert isinstance(events[-1], RunResult)
    assert next(e.stage for e in events if isinstance(e, StageStarted)) is Stage.adaptation
