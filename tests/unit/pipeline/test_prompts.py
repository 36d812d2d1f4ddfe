"""Prompt builder: exact message structure, options, language heuristic."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.content.schema import LlmParams
from ai4artsed_desktop.pipeline.prompts import (
    NUM_CTX,
    SAFETY_OPTIONS,
    Message,
    as_dicts,
    build_adaptation,
    build_interception,
    build_safety_check,
    build_translation,
    detect_language,
    is_english,
    is_guard_model,
    llm_options,
)
from ai4artsed_desktop.simulators._textgen import TextRequest, detect_task, split_idea_rules


def simulated_task(messages: list[Message], model: str = "qwen3:8b") -> str:
    system = "\n".join(m.content for m in messages if m.role == "system")
    user = [m.content for m in messages if m.role == "user"][-1]
    return detect_task(TextRequest(model=model, system=system, prompt=user))


def sim_split(messages: list[Message]) -> tuple[str, str]:
    system = "\n".join(m.content for m in messages if m.role == "system")
    return split_idea_rules(system, messages[-1].content)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eine Katze sitzt auf dem Dach und schaut in die Sterne", "de"),
        ("A cat sits on the roof and looks at the stars", "en"),
        ("Möwen über grünen Wiesen", "de"),  # umlauts count as German
        ("the dog, der Hund und die Katze", "de"),
        ("Once upon a time there was a king", "en"),
        ("Es war einmal ein König", "de"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text, default="en" if expected == "de" else "de") == expected


def test_detect_language_falls_back_to_the_default_on_a_tie() -> None:
    assert detect_language("Sonnenuntergang", default="en") == "en"
    assert detect_language("Sonnenuntergang", default="de") == "de"
    assert detect_language("", default="en") == "en"
    assert detect_language("xyz", default="fr") == "de"
    assert is_english("a red house")
    assert not is_english("Pizza")


def test_interception_structure_with_rules() -> None:
    messages = build_interception(" A cat on a roof ", "Paint it like Bauhaus.", lang="de")
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[1].content == "Rules:\nPaint it like Bauhaus.\n\nIdea:\nA cat on a roof"
    system = messages[0].content
    assert "Write in English" in system
    assert "no introduction" in system
    assert "no quotation marks" in system
    assert "No rules were given" not in system


def test_interception_answers_in_the_ideas_language() -> None:
    messages = build_interception("Eine Katze auf dem Dach", "Paint it like Bauhaus.", lang="en")
    assert "Schreibe auf Deutsch" in messages[0].content
    assert messages[1].content.startswith("Regeln:\nPaint it like Bauhaus.\n\nIdee:\n")


def test_interception_with_empty_rules_interprets_freely() -> None:
    messages = build_interception("Ein Leuchtturm", "  ", lang="de")
    assert "Deute die Idee frei und lebendig" in messages[0].content
    assert messages[1].content == "Idee:\nEin Leuchtturm"
    english = build_interception("a lighthouse in the fog", "", lang="de")
    assert "Interpret the idea freely and vividly" in english[0].content


def test_interception_is_recognised_by_the_simulator() -> None:
    messages = build_interception("A cat on a roof", "Paint it like Bauhaus.", lang="en")
    assert simulated_task(messages) == "transform"
    assert sim_split(messages) == ("A cat on a roof", "Paint it like Bauhaus.")
    free = build_interception("Eine Katze", "", lang="de")
    assert simulated_task(free) == "transform"


def test_adaptation_structure() -> None:
    messages = build_adaptation("A red house.", "Rewrite as an image prompt.", lang="en")
    assert messages[0].content.startswith("Rewrite as an image prompt.\n\n")
    assert "without any preamble" in messages[0].content
    assert messages[1] == Message("user", "Text:\nA red house.")
    german = build_adaptation("Ein Haus", "Schreibe einen Bildprompt.", lang="de")
    assert "ohne Einleitung" in german[0].content
    assert simulated_task(german) == "image_prompt"


def test_translation_structure() -> None:
    messages = build_translation(" Ein rotes Haus ")
    assert messages[1] == Message("user", "Text:\nEin rotes Haus")
    assert "into natural, fluent English" in messages[0].content
    assert simulated_task(messages) == "translate"
    assert sim_split(messages)[0] == "Ein rotes Haus"


@pytest.mark.parametrize("kind", ["input", "prompt", "code"])
@pytest.mark.parametrize("level", ["kids", "youth", "adult", "research"])
def test_safety_check_structure(kind: str, level: str) -> None:
    messages = build_safety_check("a sword", level=level, kind=kind)  # type: ignore[arg-type]
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[1].content == "Text:\na sword"
    assert "SAFE or UNSAFE" in messages[0].content
    assert simulated_task(messages) == "safety"


def test_safety_check_levels_and_context() -> None:
    kids = build_safety_check("x", level="kids", kind="input")[0].content
    youth = build_safety_check("x", level="youth", kind="input")[0].content
    assert "children aged 8 to 12" in kids
    assert "a knight's sword" in kids
    assert "teenagers aged 13 to 17" in youth
    messages = build_safety_check("ein Schwert", level="kids", kind="input", context="Märchen")
    assert messages[1].content == "Context (do not judge this part):\nMärchen\n\nText:\nein Schwert"
    assert sim_split(messages)[0] == "ein Schwert"


def test_safety_check_for_guard_models() -> None:
    messages = build_safety_check(" a bomb ", level="kids", kind="prompt", guard_model=True)
    assert as_dicts(messages) == [{"role": "user", "content": "a bomb"}]
    assert is_guard_model("llama-guard3:1b")
    assert is_guard_model("LLAMA-GUARD3:8B")
    assert not is_guard_model("qwen3:8b")


def test_llm_options() -> None:
    params = LlmParams(temperature=0.3, top_p=0.8, max_tokens=256)
    assert llm_options(params) == {
        "temperature": 0.3,
        "top_p": 0.8,
        "num_predict": 256,
        "num_ctx": NUM_CTX,
    }
    assert llm_options(params, seed=7)["seed"] == 7
    assert NUM_CTX == 8192
    assert SAFETY_OPTIONS["temperature"] == 0.0
    assert SAFETY_OPTIONS["num_ctx"] == NUM_CTX
