"""The demo judge blocks what the lists and a real judge would, and can answer like small models."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.prompts import build_safety_check
from ai4artsed_desktop.pipeline.safety_verdict import Verdict, parse_verdict
from ai4artsed_desktop.simulators import _judge
from ai4artsed_desktop.simulators._textgen import TextRequest, compose
from tests.unit.pipeline.safety_fakes import Lists


def judge(text: str, level: str = "kids", *, model: str = "qwen3:8b", hit: str = "") -> str:
    messages = build_safety_check(text, level=level, kind="input", hit_terms=(hit,) if hit else ())
    system = messages[0].content if len(messages) > 1 else ""
    return compose(TextRequest(model, system, messages[-1].content)).text


@pytest.mark.parametrize(
    "idea",
    [
        "Ein Soldat erschießt einen Mann, überall ist Blut",
        "a lion who was made to be skinned and roasted",
        "a soldier shoots people in the street",
        "ein Hakenkreuz an der Wand",
    ],
)
def test_harmful_ideas_are_unsafe(idea: str) -> None:
    assert parse_verdict(judge(idea)).verdict is Verdict.unsafe


@pytest.mark.parametrize("idea", ["Ein Fuchs im Schnee", "a quiet lake at dawn", "Blutorange"])
def test_harmless_ideas_are_safe(idea: str) -> None:
    assert parse_verdict(judge(idea)).verdict is Verdict.safe


def test_youth_hit_is_cleared_only_with_a_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_judge, "_lists", Lists)  # a list that surely has "schwert"
    fairy = parse_verdict(judge("Ein Ritter mit dem Schwert im Märchen", "youth", hit="Schwert"))
    assert (fairy.verdict, fairy.context) == (Verdict.safe, "fairy tale")
    bare = parse_verdict(judge("Ein Mann mit dem Schwert", "youth", hit="Schwert"))
    assert bare.verdict is Verdict.unsafe
    assert bare.category == "violence"


def test_llama_guard_answers_like_llama_guard() -> None:
    answer = judge("a soldier shoots people", model="llama-guard3:1b")
    assert answer == "unsafe\nS1"


@pytest.mark.parametrize(("style", "why"), [("prose", "prose")])
def test_small_model_styles(monkeypatch: pytest.MonkeyPatch, style: str, why: str) -> None:
    monkeypatch.setenv("FAKE_OLLAMA_JUDGE", style)
    parsed = parse_verdict(judge("a soldier shoots people"))
    assert parsed.verdict is Verdict.unknown
    assert parsed.unreadable is not None
    assert parsed.unreadable.value == why


def test_cutoff_style_is_longer_than_the_safety_token_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_OLLAMA_JUDGE", "cutoff")
    assert len(judge("a cat").split()) > 256


def test_vision_judge_looks_at_what_it_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    system = "You are the picture check ... Begin the first line with SAFE or UNSAFE."
    request = TextRequest("qwen2.5vl:7b", system, "Is this picture safe?", images=1)
    assert parse_verdict(compose(request).text).verdict is Verdict.safe
    monkeypatch.setenv("FAKE_OLLAMA_VISION_SEES", "blood everywhere, a corpse")
    assert parse_verdict(compose(request).text).verdict is Verdict.unsafe
