"""SafetyGate: the policy table carried out per level, with a recording judge and tiny lists."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.content.schema import MediaType, OutputConfig, Route, Text
from ai4artsed_desktop.errors import BackendProtocolError, BackendUnavailable
from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.pipeline.safety import (
    BoundJudge,
    JudgeReply,
    SafetyDecision,
    SafetyError,
    SafetyGate,
    needs_translation,
)
from ai4artsed_desktop.pipeline.safety_reasons import UNAVAILABLE, UNREADABLE
from tests.unit.pipeline.safety_fakes import HARMLESS_P5, Lists, Scripted


def results(decisions: list[SafetyDecision]) -> list[tuple[str, str]]:
    return [(d.check, d.result) for d in decisions]


def gate_for(judge: Scripted | None, model: str = "qwen3:8b") -> SafetyGate:
    return SafetyGate(judge, model=model, lists=Lists())


# ------------------------------------------------------------------ kids


@pytest.mark.asyncio
async def test_kids_word_list_hit_blocks_and_the_judge_cannot_clear_it() -> None:
    judge = Scripted(["SAFE: fairy tale"])
    outcome = await gate_for(judge).check_input(
        "Ein Ritter mit Schwert", "Erzähle es als Märchen", level="kids", lang="de"
    )
    assert not outcome.allowed
    assert outcome.cause == "wordlist"
    assert results(outcome.decisions) == [("wordlist", "block")]
    assert "Gewalt oder Waffen" in outcome.reason
    assert "Schwert" not in outcome.reason  # kids never see the word
    assert judge.calls == []  # nobody asked: a kids hit cannot be cleared


@pytest.mark.asyncio
async def test_kids_judge_adds_a_block_the_lists_missed() -> None:
    judge = Scripted(["UNSAFE: violence, a person is shot"])
    outcome = await gate_for(judge).check_input(
        "Ein Soldat zielt auf einen Mann", "", level="kids", lang="de"
    )
    assert not outcome.allowed
    assert outcome.cause == "llm"
    assert results(outcome.decisions) == [("wordlist", "pass"), ("llm", "block")]
    assert "Gewalt oder Waffen" in outcome.reason
    assert judge.judged().endswith("Text:\nEin Soldat zielt auf einen Mann")
    assert "children aged 8 to 12" in judge.system()
    assert "a person is shot" in outcome.decisions[-1].detail  # the model's answer is kept


@pytest.mark.asyncio
async def test_kids_harmless_idea_and_rules_are_both_judged() -> None:
    judge = Scripted(["SAFE", "SAFE"])
    outcome = await gate_for(judge).check_input(
        "Eine Katze im Garten", "Male es wie Bauhaus", level="kids", lang="de"
    )
    assert outcome.allowed
    assert results(outcome.decisions) == [("wordlist", "pass"), ("llm", "pass")] * 2
    assert judge.judged(0).endswith("Eine Katze im Garten")
    assert "Male es wie Bauhaus" in judge.judged(0).split("Text:")[0]  # rules as context
    assert judge.judged(1).endswith("Male es wie Bauhaus")


@pytest.mark.asyncio
async def test_rules_are_checked_even_when_the_idea_is_harmless() -> None:
    judge = Scripted(["SAFE", "UNSAFE: violence"])
    outcome = await gate_for(judge).check_input(
        "A cat in the garden", "Add a gun to every picture", level="kids", lang="en"
    )
    assert not outcome.allowed
    assert outcome.reason.startswith("Your rules")
    adult = await gate_for(None).check_input("A cat", "and a slurword", level="adult", lang="en")
    assert not adult.allowed
    assert adult.reason.startswith("Your rules")


# ------------------------------------------------------------------ youth


@pytest.mark.asyncio
async def test_youth_judge_clears_a_hit_only_with_a_stated_context() -> None:
    judge = Scripted(["SAFE: fairy tale"])
    outcome = await gate_for(judge).check_input(
        "Ein Ritter mit Schwert", "Erzähle es als Märchen", level="youth", lang="de"
    )
    assert outcome.allowed
    assert results(outcome.decisions) == [
        ("wordlist", "block"),
        ("llm", "pass"),
        ("wordlist", "pass"),
    ]
    assert "context: fairy tale" in outcome.decisions[1].detail  # recorded in the run
    assert "Schwert" in judge.system()  # the judge was told which word to weigh
    assert "name that context" in judge.system()


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", ["SAFE", "safe", '{"safe": true}'])
async def test_youth_a_safe_without_context_leaves_the_hit_standing(answer: str) -> None:
    outcome = await gate_for(Scripted([answer])).check_input(
        "a sword", "", level="youth", lang="en"
    )
    assert not outcome.allowed
    assert outcome.cause == "llm"
    assert "“sword”" in outcome.reason  # youth see the word
    assert "without naming a context" in outcome.decisions[-1].detail


@pytest.mark.asyncio
async def test_youth_llama_guard_cannot_name_a_context_so_a_hit_stays_blocked() -> None:
    judge = Scripted(["safe"])
    outcome = await gate_for(judge, "llama-guard3:1b").check_input(
        "a sword", "", level="youth", lang="en"
    )
    assert not outcome.allowed
    assert [m.as_dict() for m in judge.calls[0]] == [{"role": "user", "content": "a sword"}]


@pytest.mark.asyncio
async def test_youth_harmless_input_is_not_sent_to_the_judge() -> None:
    judge = Scripted([])
    outcome = await gate_for(judge).check_input("a cat", "", level="youth", lang="en")
    assert outcome.allowed
    assert judge.calls == []


@pytest.mark.asyncio
async def test_youth_reason_names_the_word_but_never_a_slur() -> None:
    gate = gate_for(Scripted(["UNSAFE", "UNSAFE"]))
    outcome = await gate.check_input("a sword", "", level="youth", lang="en")
    assert "“sword”" in outcome.reason
    slur = await gate.check_input("du slurword", "", level="youth", lang="de")
    assert not slur.allowed
    assert "slurword" not in slur.reason
    assert "slurword" not in slur.decisions[0].detail


# ------------------------------------------------------------------ fail closed


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("I would rather not say.", "prose"),
        (JudgeReply("SAFE\nThe picture shows a", truncated=True), "cut off"),
        ("<think>hmm", "unfinished think"),
        ("SAFE or UNSAFE", "contradictory"),
    ],
)
async def test_an_unreadable_verdict_fails_closed_with_the_true_message(
    level: str, answer: str | JudgeReply, why: str
) -> None:
    gate = gate_for(Scripted([answer]))
    outcome = await gate.check_prompt("a calm sea", level=level, lang="en")
    assert not outcome.allowed
    assert outcome.cause == "unreadable"
    assert outcome.reason == UNREADABLE["en"]
    detail = outcome.decisions[-1].detail
    assert why in detail
    raw = answer.text if isinstance(answer, JudgeReply) else answer
    assert repr(raw.strip()) in detail or raw.strip()[:20] in detail  # the raw answer is kept


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
@pytest.mark.parametrize(
    "failure",
    [
        BackendUnavailable("Ollama is not reachable.", detail="connect refused"),
        BackendProtocolError("broken", detail="x"),
    ],
)
async def test_an_unreachable_judge_fails_closed_as_not_available(
    level: str, failure: Exception
) -> None:
    outcome = await gate_for(Scripted([failure])).check_prompt("a calm sea", level=level, lang="de")
    assert not outcome.allowed
    assert outcome.cause == "unavailable"
    assert outcome.reason == UNAVAILABLE["de"]


@pytest.mark.asyncio
async def test_without_a_safety_model_kids_and_youth_fail_closed() -> None:
    kids = await gate_for(None).check_input("a cat", "", level="kids", lang="en")
    assert not kids.allowed
    assert kids.decisions[-1].detail == "no safety model set"
    youth = await gate_for(None).check_input("a sword", "", level="youth", lang="en")
    assert not youth.allowed
    assert youth.cause == "unavailable"


# ------------------------------------------------------------------ adult, research, unknown


@pytest.mark.asyncio
async def test_adult_uses_word_lists_at_input_and_final_prompt_only() -> None:
    judge = Scripted([])
    gate = gate_for(judge)
    sword = await gate.check_input("a sword", "", level="adult", lang="en")
    assert sword.allowed
    hard = await gate.check_input("kinderporno", "", level="adult", lang="de")
    assert not hard.allowed
    assert results(hard.decisions) == [("wordlist", "block")]
    prompt = await gate.check_prompt("a slurword on a wall", level="adult", lang="en")
    assert not prompt.allowed
    assert prompt.decisions[0].stage is Stage.output_safety
    fine = await gate.check_prompt("anything else", level="adult", lang="en")
    assert fine.allowed
    stage = await gate.check_stage_text(Stage.interception, "kinderporno", level="adult", lang="en")
    assert stage.allowed
    assert stage.decisions == []
    assert judge.calls == []


@pytest.mark.asyncio
async def test_research_needs_the_teachers_confirmation() -> None:
    judge = Scripted([])
    gate = gate_for(judge)
    with pytest.raises(SafetyError) as info:
        await gate.check_input("kinderporno", "", level="research", lang="en")
    assert "teacher" in info.value.user_message
    with pytest.raises(SafetyError):
        await gate.check_prompt("x", level="research", lang="de")
    gate.confirm_research()
    outcome = await gate.check_input("b0mb", "kill", level="research", lang="en")
    assert outcome.allowed
    assert outcome.decisions == []
    code = await gate.check_code("fetch('https://x')", "p5", level="research", lang="en")
    assert code.allowed
    assert judge.calls == []


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["toddlers", "", "KIDS ", "Youth\x00"])
async def test_an_unreadable_level_gets_the_kids_policy(level: str) -> None:
    judge = Scripted(["SAFE: fairy tale"])
    outcome = await gate_for(judge).check_input("a sword", "", level=level, lang="en")
    assert not outcome.allowed  # a kids hit blocks; the judge is not even asked
    assert judge.calls == []


# ------------------------------------------------------------------ stage texts, final prompt


@pytest.mark.asyncio
async def test_stage_texts_are_judged_at_kids_and_youth() -> None:
    judge = Scripted(["SAFE", "UNSAFE: violence, an animal is hurt"])
    gate = gate_for(judge)
    ok = await gate.check_stage_text(
        Stage.interception, "a lion in the sun", level="kids", lang="en"
    )
    assert ok.allowed
    assert "written by a language model" in judge.system(0)
    bad = await gate.check_stage_text(
        Stage.adaptation, "a lion who was skinned and roasted", level="youth", lang="en"
    )
    assert not bad.allowed
    assert bad.reason.startswith("The adapted text")
    assert judge.judged(1).endswith("a lion who was skinned and roasted")
    kids = await gate_for(Scripted(["UNSAFE: violence"])).check_stage_text(
        Stage.interception, "a lion who was skinned", level="kids", lang="de"
    )
    assert kids.reason.startswith("Die KI hat aus deiner Idee einen Text")  # not the child's
    assert "siehst du ihn nicht" in kids.reason
    hit = await gate.check_stage_text(Stage.translation, "blood", level="kids", lang="en")
    assert not hit.allowed
    assert hit.cause == "wordlist"


@pytest.mark.asyncio
async def test_the_final_prompt_itself_reaches_the_judge() -> None:
    judge = Scripted(["SAFE", "unsafe\nS1"])
    gate = gate_for(judge)
    ok = await gate.check_prompt("a quiet lake at dawn", level="youth", lang="en")
    assert ok.allowed
    assert results(ok.decisions) == [("wordlist", "pass"), ("llm", "pass")]
    assert judge.judged(0).endswith("Text:\na quiet lake at dawn")
    assert "teenagers aged 13 to 17" in judge.system(0)
    assert "final prompt" in judge.system(0)
    blocked = await gate.check_prompt("something", level="kids", lang="en")
    assert not blocked.allowed
    assert blocked.reason.startswith("The final text is about violence or weapons")


@pytest.mark.asyncio
async def test_a_new_safety_model_applies_at_the_next_check() -> None:
    first, second = Scripted(["SAFE"]), Scripted(["UNSAFE: violence"])
    bound = {"now": BoundJudge(first, "qwen3:8b")}
    gate = SafetyGate(source=lambda: bound["now"], lists=Lists())
    assert (await gate.check_prompt("a boat", level="kids", lang="en")).allowed
    bound["now"] = BoundJudge(second, "gemma3:4b")
    assert not (await gate.check_prompt("a boat", level="kids", lang="en")).allowed
    assert len(first.calls) == 1
    assert len(second.calls) == 1


# ------------------------------------------------------------------ code


@pytest.mark.asyncio
async def test_code_scan_blocks_with_line_and_category() -> None:
    judge = Scripted([])
    code = "function setup() {\n  createCanvas(400, 400);\n  localStorage.setItem('a', 1);\n}\n"
    outcome = await gate_for(judge).check_code(code, "p5", level="adult", lang="de")
    assert not outcome.allowed
    assert results(outcome.decisions) == [("code_scan", "block")]
    assert "Zeile 3" in outcome.reason
    assert "speichern" in outcome.reason
    assert "line 3" in outcome.decisions[0].detail
    assert judge.calls == []


@pytest.mark.asyncio
async def test_clean_code_gets_the_model_verdict_for_kids_and_youth() -> None:
    judge = Scripted(["SAFE", "UNSAFE"])
    gate = gate_for(judge)
    ok = await gate.check_code(HARMLESS_P5, "p5", level="kids", lang="en")
    assert ok.allowed
    assert results(ok.decisions) == [("code_scan", "pass"), ("wordlist", "pass"), ("llm", "pass")]
    assert judge.judged().endswith(HARMLESS_P5.strip())
    bad = await gate.check_code(HARMLESS_P5, "p5", level="youth", lang="en")
    assert not bad.allowed
    assert bad.reason.startswith("The code contains")
    adult = await gate.check_code(HARMLESS_P5, "p5", level="adult", lang="en")
    assert adult.allowed
    assert len(judge.calls) == 2


# ------------------------------------------------------------------ translation


def _output(*, needs_english: bool, media: MediaType = MediaType.image) -> OutputConfig:
    text = Text("x", "x")
    return OutputConfig(
        id="o", name=text, description=text, media=media, route=Route.comfyui, order=1,
        needs_english=needs_english,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("level", "needs_english", "text", "expected"),
    [
        ("kids", False, "Eine Katze sitzt auf dem Dach", True),
        ("kids", False, "A cat sits on the roof", False),
        ("kids", False, "Sonnenuntergang", True),  # unsure: translate for kids
        ("youth", False, "Eine Katze sitzt auf dem Dach", False),
        ("youth", True, "Eine Katze sitzt auf dem Dach", True),
        ("youth", True, "A cat sits on the roof", False),
        ("adult", True, "Der Hund und die Katze", True),
        ("research", False, "Der Hund und die Katze", False),
        ("nonsense", False, "Der Hund und die Katze", True),  # unknown level: as kids
    ],
)
def test_needs_translation(level: str, needs_english: bool, text: str, expected: bool) -> None:
    assert needs_translation(level, _output(needs_english=needs_english), text) is expected


def test_code_is_never_translated() -> None:
    output = _output(needs_english=True, media=MediaType.code)
    assert not needs_translation("kids", output, "Eine Katze")
