"""Small-model answers through the whole runner (Ollama simulator quirks, real processes).

Each quirk reproduces what SmolLM2-135M did through llama.cpp: cut-off answers, German
that came back untranslated, prose instead of p5.js code, echoed labels and preambles.
"""

from __future__ import annotations

from typing import Any

import pytest

from ai4artsed_desktop.events import (
    RunFailed,
    RunResult,
    Stage,
    StageCompleted,
    StageStarted,
)
from ai4artsed_desktop.pipeline.checked_stage import CUT_OFF
from ai4artsed_desktop.pipeline.runner import RunEvent, replay_events
from tests.integration.run_rig import RigFactory, collect


def completed(events: list[RunEvent]) -> dict[Stage, StageCompleted]:
    return {e.stage: e for e in events if isinstance(e, StageCompleted)}


def starts(events: list[RunEvent], stage: Stage) -> int:
    return sum(1 for e in events if isinstance(e, StageStarted) and e.stage is stage)


def chats(rig: Any, model: str) -> list[dict[str, Any]]:
    return [r for r in rig.llm_requests() if r["model"] == model and r["kind"] == "chat"]


def stage_record(rig: Any, session: Any, stage: Stage) -> dict[str, Any]:
    record = rig.run_json(session)
    found: dict[str, Any] = next(s for s in record["stages"] if s["stage"] == stage.value)
    return found


@pytest.mark.asyncio
async def test_a_cut_off_answer_is_retried_once_with_a_larger_limit(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "cutoff:1"})
    session = rig.session(config_id="bauhaus", level="adult")
    events = await collect(session, until=Stage.interception)
    assert starts(events, Stage.interception) == 2  # the screen started over
    done = completed(events)[Stage.interception]
    assert done.badge == ""
    first, second = chats(rig, "qwen3:8b")[-2:]
    assert second["options"]["num_predict"] == 2 * first["options"]["num_predict"]
    checks = stage_record(rig, session, Stage.interception)["params"]["checks"]
    assert checks == {"attempts": 2, "retried_because": "cut_off"}


@pytest.mark.asyncio
async def test_still_cut_off_after_the_retry_tells_the_student(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "cutoff"})
    session = rig.session(config_id="bauhaus", level="adult")
    events = await collect(session, until=Stage.interception)
    done = completed(events)[Stage.interception]
    assert done.badge == CUT_OFF
    assert done.text  # the student can read and edit what came
    checks = stage_record(rig, session, Stage.interception)["params"]["checks"]
    assert checks["problem"] == "cut_off"


GERMAN = "Ein roter Fuchs läuft durch den tiefen Schnee und die Sonne scheint über dem Wald"


async def _translate_german(rig: Any) -> tuple[Any, list[RunEvent]]:
    """A kids run whose prompt before the translation is plainly German."""
    session = rig.session(config_id="bauhaus", level="kids")
    await collect(session, until=Stage.adaptation)
    session.edit(Stage.adaptation, GERMAN)
    return session, await collect(session)


@pytest.mark.asyncio
async def test_untranslated_text_is_retried_once(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "untranslated:1"})
    _session, events = await _translate_german(rig)
    assert isinstance(events[-1], RunResult), events[-1]
    assert starts(events, Stage.translation) == 2
    done = completed(events)[Stage.translation]
    assert done.badge == "translated"
    assert "snow" in done.text.lower()


@pytest.mark.asyncio
async def test_untranslated_twice_is_could_not_translate(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "untranslated"})
    session, events = await _translate_german(rig)
    failed = events[-1]
    assert isinstance(failed, RunFailed), failed
    assert failed.stage is Stage.translation
    assert failed.message.startswith("Could not translate")
    assert failed.key == "error.untranslated"  # the window says it in its own language
    reopened = replay_events(rig.store.load(session.run_id), rig.store.folder(session.run_id))
    assert isinstance(reopened[-1], RunFailed)  # ... and so does a run reopened from History
    assert (reopened[-1].key, reopened[-1].message) == (failed.key, failed.message)
    assert "German" in failed.detail
    assert Stage.translation not in completed(events)  # never badged "translated"
    assert rig.run_json(session)["status"] == "failed"
    correction = chats(rig, "qwen3:8b")[-1]
    assert "stop" not in correction["options"]  # an echoed "Text:" line must not end it


@pytest.mark.asyncio
async def test_prose_instead_of_code_gets_one_corrective_retry(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "prose_code:1"})
    events = await collect(rig.session(output_id="p5js", level="adult"))
    result = events[-1]
    assert isinstance(result, RunResult), result
    assert "function setup" in result.code
    assert "possible solution" not in result.code
    retry = chats(rig, "qwen2.5-coder:7b")[-1]
    assert "stop" not in retry["options"]  # no stop sequences for code


@pytest.mark.asyncio
async def test_prose_twice_saves_no_sketch(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "prose_code"})
    session = rig.session(output_id="p5js", level="adult")
    events = await collect(session)
    failed = events[-1]
    assert isinstance(failed, RunFailed)
    assert failed.stage is Stage.adaptation
    assert "working p5.js sketch" in failed.message
    assert failed.key == "error.no_code_p5"
    assert "not valid JavaScript" in failed.detail
    assert rig.run_json(session)["media"] == []


@pytest.mark.asyncio
async def test_echoed_labels_and_preambles_are_stripped(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_QUIRKS": "echo"})
    events = await collect(rig.session(config_id="bauhaus", level="kids"))
    assert isinstance(events[-1], RunResult), events[-1]
    done = completed(events)
    for stage in (Stage.interception, Stage.adaptation, Stage.translation):
        text = done[stage].text
        assert not text.startswith(("Sure", "Text:", "Here")), (stage, text)


@pytest.mark.asyncio
async def test_an_unchanged_run_sends_the_same_seed_and_repeats_its_text(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    first = rig.session(config_id="bauhaus", level="adult")
    second = rig.session(config_id="bauhaus", level="adult")
    await collect(first, until=Stage.interception)
    await collect(second, until=Stage.interception)
    a, b = chats(rig, "qwen3:8b")[-2:]
    assert a["options"]["seed"] == b["options"]["seed"]
    assert a["options"]["stop"] == ["\n\nIdea:", "\n\nIdee:", "\n\nRules:", "\n\nRegeln:"]
    assert first.text(Stage.interception) == second.text(Stage.interception)
    other = rig.session(config_id="bauhaus", level="adult", idea="Eine Katze im Regen")
    await collect(other, until=Stage.interception)
    assert chats(rig, "qwen3:8b")[-1]["options"]["seed"] != a["options"]["seed"]
