"""The safety policy inside a real run: a block at every stage, for every cause, per level.

The LLM stages run against the Ollama simulator and images against the ComfyUI simulator;
where a test needs a judge that blocks one particular text, the gate gets an in-process
judge that records exactly what it was asked (:class:`KindJudge`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from ai4artsed_desktop.events import (
    RunBlocked,
    RunPreview,
    RunProgress,
    RunResult,
    Stage,
    StageChecking,
    StageCompleted,
    StageText,
)
from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.runner import RunEvent
from ai4artsed_desktop.pipeline.safety import JudgeReply, SafetyGate
from ai4artsed_desktop.pipeline.safety_reasons import UNAVAILABLE, UNREADABLE
from tests.integration.run_rig import Rig, RigFactory, collect

KINDS = {
    "written by a student": "input",
    "written by a language model": "stage",
    "final prompt": "prompt",
    "creative-coding": "code",
}


@dataclass
class KindJudge:
    """An in-process judge: ``rule(kind, text, seen)`` gives the answer; every call is kept."""

    rule: Callable[[str, str, list[tuple[str, str]]], str | JudgeReply]
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, messages: list[Message]) -> JudgeReply:
        system, user = messages[0].content, messages[-1].content
        kind = next(k for marker, k in KINDS.items() if marker in system)
        text = user.rpartition("Text:\n")[2]
        answer = self.rule(kind, text, self.seen)
        self.seen.append((kind, text))
        return answer if isinstance(answer, JudgeReply) else JudgeReply(answer)

    def texts(self, kind: str) -> list[str]:
        return [t for k, t in self.seen if k == kind]


def use_judge(rig: Rig, judge: KindJudge) -> None:
    rig.services.gate = SafetyGate(judge, model="qwen3:8b")


def blocked_at(events: list[RunEvent]) -> RunBlocked:
    last = events[-1]
    assert isinstance(last, RunBlocked), last
    return last


def stages_completed(events: list[RunEvent]) -> list[Stage]:
    return [e.stage for e in events if isinstance(e, StageCompleted)]


# ------------------------------------------------------------------ LLM stage texts


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("nth", "stage"), [(1, Stage.interception), (2, Stage.adaptation), (3, Stage.translation)]
)
async def test_kids_a_blocked_stage_text_is_never_shown_nor_kept(
    make_rig: RigFactory, nth: int, stage: Stage
) -> None:
    rig = await make_rig()

    def rule(kind: str, _text: str, seen: list[tuple[str, str]]) -> str:
        stage_calls = sum(k == "stage" for k, _ in seen) + (kind == "stage")
        return (
            "UNSAFE: violence, an animal is hurt"
            if kind == "stage" and stage_calls == nth
            else "SAFE"
        )

    judge = KindJudge(rule)
    use_judge(rig, judge)
    session = rig.session(level="kids", output_id="sd15")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is stage
    assert not any(isinstance(e, StageText) for e in events)  # nothing streamed at kids
    assert stage not in stages_completed(events)
    checking = [e.stage for e in events if isinstance(e, StageChecking)]
    assert checking[-1] is stage  # the stage said "checking" before it blocked
    blocked_text = judge.texts("stage")[-1]
    record = rig.run_json(session)
    assert record["status"] == "blocked"
    assert stage.value not in [s["stage"] for s in record["stages"]]
    assert blocked_text not in str(record["stages"])
    assert "an animal is hurt" in record["error"]["detail"]  # the judge's answer is kept
    (entry,) = rig.review_log.entries()
    assert (entry.stage, entry.level, entry.cause) == (stage.value, "kids", "llm")
    assert entry.text == blocked_text
    assert entry.reason == block.reason


@pytest.mark.asyncio
async def test_youth_stage_text_streams_then_is_judged_before_the_next_stage(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    judge = KindJudge(lambda kind, _t, _s: "UNSAFE: violence" if kind == "stage" else "SAFE")
    use_judge(rig, judge)
    session = rig.session(level="youth")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.interception
    assert any(isinstance(e, StageText) for e in events)  # youth see the text stream
    assert Stage.interception not in stages_completed(events)  # ... but may not use it
    assert not [r for r in rig.llm_requests() if r["options"].get("num_predict") == 400]


@pytest.mark.asyncio
async def test_a_students_edit_is_checked_before_anything_uses_it(make_rig: RigFactory) -> None:
    rig = await make_rig()
    edited = "ein Löwe liegt gebraten auf dem Teller"  # no list word: only the judge sees it
    judge = KindJudge(lambda _k, text, _s: "UNSAFE: violence" if "Teller" in text else "SAFE")
    use_judge(rig, judge)
    session = rig.session(level="kids")
    await collect(session, until=Stage.interception)
    session.edit(Stage.interception, edited)
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.interception
    assert judge.seen[-1] == ("input", edited)
    assert rig.review_log.entries()[0].text == edited


# ------------------------------------------------------------------ the final prompt


@pytest.mark.asyncio
async def test_stage4_judges_the_final_prompt_itself(make_rig: RigFactory) -> None:
    """Blocks only when the exact final prompt reaches the judge (a constant would pass)."""
    rig = await make_rig()

    def rule(kind: str, text: str, seen: list[tuple[str, str]]) -> str:
        stage_texts = [t for k, t in seen if k == "stage"]
        final = kind == "prompt" and bool(stage_texts) and text == stage_texts[-1]
        return "UNSAFE: violence" if final else "SAFE"

    judge = KindJudge(rule)
    use_judge(rig, judge)
    session = rig.session(level="youth", output_id="sd15")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.output_safety
    assert judge.texts("prompt") == [session.final_prompt]
    assert session.final_prompt == session.text(Stage.translation)
    assert not any(isinstance(e, RunProgress) for e in events)  # nothing was generated
    assert rig.review_log.entries()[0].text == session.final_prompt


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
@pytest.mark.parametrize(
    ("answer", "cause", "message"),
    [
        ("The prompt describes a calm lake.", "unreadable", UNREADABLE["de"]),
        (JudgeReply("SAFE\nThe prompt is", truncated=True), "unreadable", UNREADABLE["de"]),
        (RuntimeError, "unavailable", UNAVAILABLE["de"]),
    ],
)
async def test_final_prompt_fails_closed_for_every_cause(
    make_rig: RigFactory, level: str, answer: object, cause: str, message: str
) -> None:
    rig = await make_rig()

    async def broken(_messages: list[Message]) -> JudgeReply:
        from ai4artsed_desktop.errors import BackendUnavailable

        raise BackendUnavailable("Ollama is not reachable.", detail="connect refused")

    judge = KindJudge(lambda kind, _t, _s: answer if kind == "prompt" else "SAFE")  # type: ignore[arg-type,return-value]
    rig.services.gate = SafetyGate(broken if answer is RuntimeError else judge, model="qwen3:8b")
    if answer is RuntimeError:  # unreachable from the start: blocks at the first judge call
        events = await collect(rig.session(level=level))
        assert blocked_at(events).reason == message
        return
    session = rig.session(level=level)
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.output_safety
    assert block.reason == message
    assert rig.review_log.entries()[0].cause == cause
    raw = answer.text if isinstance(answer, JudgeReply) else str(answer)
    assert repr(raw.strip()) in rig.run_json(session)["error"]["detail"]


@pytest.mark.asyncio
async def test_adult_final_prompt_gets_word_lists_and_no_judge(make_rig: RigFactory) -> None:
    rig = await make_rig()
    judge = KindJudge(lambda _k, _t, _s: "UNSAFE")
    use_judge(rig, judge)
    session = rig.session(level="adult", output_id="p5js")
    events = await collect(session)
    assert isinstance(events[-1], RunResult)
    assert judge.seen == []


# ------------------------------------------------------------------ the image (stage 6)


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
async def test_an_unsafe_image_is_hidden_and_never_saved(make_rig: RigFactory, level: str) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_VISION_SEES": "a soldier shoots people"})
    session = rig.session(level=level, output_id="sd15")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.media_check
    assert not any(isinstance(e, RunResult) for e in events)
    record = rig.run_json(session)
    assert record["media"] == []
    assert list(rig.store.folder(session.run_id).glob("*.png")) == []
    assert record["safety"][-1]["check"] == "vision"
    (entry,) = rig.review_log.entries()
    assert (entry.stage, entry.cause, entry.level) == ("media_check", "vision", level)
    vision = [r for r in rig.llm_requests() if r["model"] == "qwen2.5vl:7b"]
    assert len(vision) == 1


NO_VISION = {"FAKE_OLLAMA_MODELS": "qwen3:8b,llama-guard3:1b,qwen2.5-coder:7b"}


@pytest.mark.asyncio
async def test_kids_without_a_vision_model_get_no_image_and_the_fix(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env=NO_VISION)
    session = rig.session(level="kids", output_id="sd15", lang="en")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.media_check
    assert "ollama pull qwen2.5vl:7b" in block.reason
    assert "not installed" in block.reason
    assert not any(isinstance(e, RunProgress) for e in events)  # nothing was generated
    assert rig.review_log.entries()[0].cause == "unavailable"


@pytest.mark.asyncio
async def test_youth_without_a_vision_model_see_the_image_marked_not_checked(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(ollama_env=NO_VISION)
    events = await collect(rig.session(level="youth", output_id="sd15", lang="en"))
    assert isinstance(events[-1], RunResult)
    media = next(
        e for e in events if isinstance(e, StageCompleted) and e.stage is Stage.media_check
    )
    assert media.badge == "not checked"
    assert media.text.startswith("Not checked")
    assert "qwen2.5vl:7b is not installed" in media.text


@pytest.mark.asyncio
async def test_a_teacher_can_switch_the_media_check_off_for_kids(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env=NO_VISION)
    settings = rig.settings[0]
    rig.settings[0] = dataclasses.replace(
        settings, safety=dataclasses.replace(settings.safety, media_check=False)
    )
    events = await collect(rig.session(level="kids", output_id="sd15", lang="de"))
    assert isinstance(events[-1], RunResult)
    media = next(
        e for e in events if isinstance(e, StageCompleted) and e.stage is Stage.media_check
    )
    assert media.badge == "not checked"
    assert "Lehrkraft" in media.text


@pytest.mark.asyncio
async def test_sound_is_not_sent_to_the_vision_model(make_rig: RigFactory) -> None:
    rig = await make_rig()
    events = await collect(rig.session(level="kids", output_id="stable_audio"))
    assert isinstance(events[-1], RunResult)
    assert not [r for r in rig.llm_requests() if r["model"] == "qwen2.5vl:7b"]


SMALL_FILM = {"seconds": 1.0, "width": 128, "height": 96, "steps": 2}


@pytest.mark.asyncio
async def test_kids_a_film_is_judged_frame_by_frame_before_it_is_shown(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    session = rig.session(level="kids", output_id="wan22_video", values=SMALL_FILM)
    events = await collect(session)
    assert isinstance(events[-1], RunResult)
    assert [m.path.suffix for m in events[-1].media] == [".mp4"]
    assert not any(isinstance(e, RunPreview) for e in events)  # no frame before the check
    media = next(
        e for e in events if isinstance(e, StageCompleted) and e.stage is Stage.media_check
    )
    assert media.badge == "safety passed"
    vision = [r for r in rig.llm_requests() if r["model"] == "qwen2.5vl:7b"]
    assert len(vision) == 4  # first, two between, last
    checks = [d for d in rig.run_json(session)["safety"] if d["stage"] == "media_check"]
    assert [d["result"] for d in checks] == ["pass"] * 4


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
async def test_an_unsafe_film_is_hidden_and_never_saved(make_rig: RigFactory, level: str) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_VISION_SEES": "a soldier shoots people"})
    session = rig.session(level=level, output_id="wan22_video", values=SMALL_FILM)
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.media_check
    assert not any(isinstance(e, RunResult) for e in events)
    assert rig.run_json(session)["media"] == []
    assert list(rig.store.folder(session.run_id).glob("*.mp4")) == []
    (entry,) = rig.review_log.entries()
    assert (entry.stage, entry.cause) == ("media_check", "vision")


@pytest.mark.asyncio
async def test_kids_without_a_vision_model_get_no_film_and_the_fix(make_rig: RigFactory) -> None:
    rig = await make_rig(ollama_env=NO_VISION)
    session = rig.session(level="kids", output_id="wan22_video", lang="en", values=SMALL_FILM)
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.media_check
    assert "ollama pull qwen2.5vl:7b" in block.reason
    assert not any(isinstance(e, RunProgress) for e in events)  # nothing was generated


# ------------------------------------------------------------------ settings apply at once


@pytest.mark.asyncio
async def test_a_new_safety_model_applies_to_the_next_check(make_rig: RigFactory) -> None:
    rig = await make_rig()
    await collect(rig.session(level="kids"), until=Stage.input_safety)
    settings = rig.settings[0]
    rig.settings[0] = dataclasses.replace(
        settings, roles=dataclasses.replace(settings.roles, safety="ollama/qwen3:8b")
    )
    before = len(rig.llm_requests())
    await collect(rig.session(level="kids"), until=Stage.input_safety)
    models = [r["model"] for r in rig.llm_requests()[before:]]
    assert models == ["qwen3:8b"]


@pytest.mark.asyncio
@pytest.mark.parametrize("style", ["prose", "cutoff"])
async def test_small_model_answers_fail_closed_at_kids(make_rig: RigFactory, style: str) -> None:
    rig = await make_rig(ollama_env={"FAKE_OLLAMA_JUDGE": style})
    session = rig.session(level="kids", lang="en")
    events = await collect(session)
    block = blocked_at(events)
    assert block.stage is Stage.input_safety
    assert block.reason == UNREADABLE["en"]
    detail = rig.run_json(session)["error"]["detail"]
    assert ("cut off" if style == "cutoff" else "prose") in detail
    assert "llama-guard3:1b answered" in detail
