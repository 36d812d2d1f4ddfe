"""SafetyGate policy per level, with scripted safety-model callables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ai4artsed_desktop.content.schema import MediaType, OutputConfig, Route, Text
from ai4artsed_desktop.errors import BackendProtocolError, BackendUnavailable
from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.safety import (
    SafetyDecision,
    SafetyError,
    SafetyGate,
    needs_translation,
)
from ai4artsed_desktop.pipeline.safety_reasons import UNAVAILABLE

HARMLESS_P5 = "function setup() {\n  createCanvas(400, 400);\n}\nfunction draw() {}\n"


@dataclass
class Scripted:
    """A safety model that answers from a script and records what it was asked."""

    answers: list[str | Exception]
    calls: list[list[Message]] = field(default_factory=list)

    async def __call__(self, messages: list[Message]) -> str:
        self.calls.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def judged(self, index: int = 0) -> str:
        return self.calls[index][-1].content


def results(decisions: list[SafetyDecision]) -> list[tuple[str, str]]:
    return [(d.check, d.result) for d in decisions]


@pytest.mark.asyncio
async def test_harmless_input_passes_without_asking_the_model() -> None:
    judge = Scripted([])
    gate = SafetyGate(judge, model="qwen3:8b")
    outcome = await gate.check_input(
        "Eine Katze im Garten", "Male es wie Bauhaus", level="kids", lang="de"
    )
    assert outcome.allowed
    assert outcome.reason == ""
    assert results(outcome.decisions) == [("wordlist", "pass")]
    assert outcome.decisions[0].stage is Stage.input_safety
    assert judge.calls == []


@pytest.mark.asyncio
async def test_context_check_flips_a_word_list_hit_to_pass() -> None:
    judge = Scripted(["SAFE"])
    gate = SafetyGate(judge, model="qwen3:8b")
    outcome = await gate.check_input(
        "Ein Ritter mit Pistole", "Erzähle es als Märchen", level="kids", lang="de"
    )
    assert outcome.allowed
    assert results(outcome.decisions) == [("wordlist", "block"), ("llm", "pass")]
    assert "Pistole" in outcome.decisions[0].detail
    # the model saw the idea as the judged text and the rules as context
    user = judge.judged()
    assert user.endswith("Text:\nEin Ritter mit Pistole")
    assert "Erzähle es als Märchen" in user.split("Text:")[0]
    assert "children aged 8 to 12" in judge.calls[0][0].content


@pytest.mark.asyncio
async def test_context_check_confirms_a_block_without_naming_the_word_for_kids() -> None:
    judge = Scripted(["UNSAFE: violence against people"])
    gate = SafetyGate(judge, model="qwen3:8b")
    outcome = await gate.check_input(
        "Ein Ritter tötet mit dem Schwert", "", level="kids", lang="de"
    )
    assert not outcome.allowed
    assert results(outcome.decisions) == [("wordlist", "block"), ("llm", "block")]
    assert "Gewalt oder Waffen" in outcome.reason
    assert "Schwert" not in outcome.reason
    assert outcome.decisions[-1].reason == outcome.reason


@pytest.mark.asyncio
async def test_youth_reason_names_the_word_but_never_a_slur() -> None:
    gate = SafetyGate(Scripted(["UNSAFE", "UNSAFE"]), model="qwen3:8b")
    outcome = await gate.check_input("a massacre", "", level="youth", lang="en")
    assert "“massacre”" in outcome.reason
    slur = await gate.check_input("du Schwuchtel", "", level="youth", lang="de")
    assert not slur.allowed
    assert "Schwuchtel" not in slur.reason
    assert "Schwuchtel" not in slur.decisions[0].detail


@pytest.mark.asyncio
async def test_rules_are_checked_even_when_the_idea_is_harmless() -> None:
    judge = Scripted(["UNSAFE"])
    gate = SafetyGate(judge, model="qwen3:8b")
    outcome = await gate.check_input(
        "A cat in the garden", "Add a gun to every picture", level="kids", lang="en"
    )
    assert not outcome.allowed
    assert outcome.reason.startswith("Your rules")
    assert judge.judged().endswith("Text:\nAdd a gun to every picture")
    adult = await SafetyGate(None).check_input(
        "A cat", "and then heil hitler", level="adult", lang="en"
    )
    assert not adult.allowed
    assert adult.reason.startswith("Your rules")


@pytest.mark.asyncio
async def test_both_texts_with_hits_are_judged_separately() -> None:
    judge = Scripted(["SAFE", "SAFE"])
    gate = SafetyGate(judge, model="qwen3:8b")
    outcome = await gate.check_input("eine Pistole", "mit einem Gewehr", level="kids", lang="de")
    assert outcome.allowed
    assert len(judge.calls) == 2
    assert judge.judged(0).endswith("eine Pistole")
    assert judge.judged(1).endswith("mit einem Gewehr")


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
@pytest.mark.parametrize(
    "failure",
    [
        BackendUnavailable("Ollama is not reachable.", detail="connect refused"),
        BackendProtocolError("broken", detail="x"),
        "I would rather not say.",
        "<think>hmm",
    ],
)
async def test_kids_and_youth_fail_closed(level: str, failure: Exception | str) -> None:
    gate = SafetyGate(Scripted([failure]), model="qwen3:8b")
    outcome = await gate.check_input("b0mb", "", level=level, lang="en")
    assert not outcome.allowed
    assert outcome.reason == UNAVAILABLE["en"]
    assert results(outcome.decisions) == [("wordlist", "block"), ("llm", "unavailable")]
    prompt = await SafetyGate(Scripted([failure]), model="m").check_prompt(
        "a calm sea", level=level, lang="de"
    )
    assert not prompt.allowed
    assert prompt.reason == UNAVAILABLE["de"]


@pytest.mark.asyncio
async def test_without_a_safety_model_kids_fail_closed_on_a_hit() -> None:
    outcome = await SafetyGate(None).check_input("a gun", "", level="kids", lang="en")
    assert not outcome.allowed
    assert outcome.decisions[-1].detail == "no safety model set"


@pytest.mark.asyncio
async def test_adult_uses_the_word_list_only() -> None:
    judge = Scripted([])
    gate = SafetyGate(judge, model="qwen3:8b")
    sword = await gate.check_input("a sword and a massacre", "", level="adult", lang="en")
    assert sword.allowed
    hard = await gate.check_input("kinderporno", "", level="adult", lang="de")
    assert not hard.allowed
    assert results(hard.decisions) == [("wordlist", "block")]
    prompt = await gate.check_prompt("anything at all", level="adult", lang="en")
    assert prompt.allowed
    assert prompt.decisions == []
    assert judge.calls == []


@pytest.mark.asyncio
async def test_research_needs_the_teachers_confirmation() -> None:
    judge = Scripted([])
    gate = SafetyGate(judge)
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
async def test_unknown_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown safety level"):
        await SafetyGate(None).check_input("x", "", level="toddlers", lang="en")


@pytest.mark.asyncio
async def test_output_prompt_is_judged_for_kids_and_youth() -> None:
    judge = Scripted(["SAFE", "unsafe\nS1"])
    gate = SafetyGate(judge, model="qwen3:8b")
    ok = await gate.check_prompt("a quiet lake at dawn", level="youth", lang="en")
    assert ok.allowed
    assert results(ok.decisions) == [("llm", "pass")]
    assert ok.decisions[0].stage is Stage.output_safety
    assert "teenagers aged 13 to 17" in judge.calls[0][0].content
    assert "final prompt" in judge.calls[0][0].content
    blocked = await gate.check_prompt("something", level="kids", lang="en")
    assert not blocked.allowed
    assert blocked.reason.startswith("The final text is about violence or weapons")


@pytest.mark.asyncio
async def test_llama_guard_gets_the_bare_text() -> None:
    judge = Scripted(["safe"])
    gate = SafetyGate(judge, model="llama-guard3:1b")
    outcome = await gate.check_input("a gun", "", level="kids", lang="en")
    assert outcome.allowed
    assert [m.as_dict() for m in judge.calls[0]] == [{"role": "user", "content": "a gun"}]


@pytest.mark.asyncio
async def test_code_scan_blocks_with_line_and_category() -> None:
    judge = Scripted([])
    gate = SafetyGate(judge, model="qwen3:8b")
    code = "function setup() {\n  createCanvas(400, 400);\n  localStorage.setItem('a', 1);\n}\n"
    outcome = await gate.check_code(code, "p5", level="adult", lang="de")
    assert not outcome.allowed
    assert results(outcome.decisions) == [("code_scan", "block")]
    assert "Zeile 3" in outcome.reason
    assert "speichern" in outcome.reason
    assert "line 3" in outcome.decisions[0].detail
    assert judge.calls == []


@pytest.mark.asyncio
async def test_clean_code_gets_the_model_verdict_for_kids() -> None:
    judge = Scripted(["SAFE", "UNSAFE"])
    gate = SafetyGate(judge, model="qwen3:8b")
    ok = await gate.check_code(HARMLESS_P5, "p5", level="kids", lang="en")
    assert ok.allowed
    assert results(ok.decisions) == [("code_scan", "pass"), ("llm", "pass")]
    assert judge.judged().endswith(HARMLESS_P5.strip())
    bad = await gate.check_code(HARMLESS_P5, "p5", level="youth", lang="en")
    assert not bad.allowed
    assert bad.reason.startswith("The code contains")
    adult = await gate.check_code(HARMLESS_P5, "p5", level="adult", lang="en")
    assert adult.allowed
    assert len(judge.calls) == 2


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
    ],
)
def test_needs_translation(level: str, needs_english: bool, text: str, expected: bool) -> None:
    assert needs_translation(level, _output(needs_english=needs_english), text) is expected


def test_code_is_never_translated() -> None:
    output = _output(needs_english=True, media=MediaType.code)
    assert not needs_translation("kids", output, "Eine Katze")
