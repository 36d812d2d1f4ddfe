"""Checks of real model answers: cut-off, untranslated, prose instead of code, echoes."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.answer_checks import (
    Review,
    code_problem,
    larger_limit,
    retry_request,
    review,
    strip_echoes,
    untranslated_reason,
    with_stops,
)
from ai4artsed_desktop.pipeline.checked_stage import llm_seed
from ai4artsed_desktop.pipeline.prompts import Message

P5 = """
const palette = ['#f00', '#0f0'];
let t = 0;
function setup() { createCanvas(400, 400); }
function draw() {
  background(palette[0] ?? 'white');
  const r = palette?.[1];
  t += 0.01;
  circle(width / 2, height / 2, 50 + 20 * sin(t));
}
"""
TONE = """
const synth = new Tone.Synth().toDestination();
function play() { synth.triggerAttackRelease('C4', '8n'); }
function stop() { Tone.getTransport().stop(); }
"""
PROSE = (
    "Here's a possible solution for your sketch. The sketch draws colourful circles that "
    "move slowly around the middle of the canvas."
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Text: A fox in the snow.", "A fox in the snow."),
        ("**Translation:** A fox in the snow.", "A fox in the snow."),
        ("Sure! Here is the text:\nText: A fox in the snow.", "A fox in the snow."),
        ("Here's the translation:\n\nA fox in the snow.", "A fox in the snow."),
        ("Hier ist die Übersetzung:\nA fox in the snow.", "A fox in the snow."),
        ("Here is a fox in the snow.", "Here is a fox in the snow."),  # one sentence: kept
        ("A fox.\nHere is more.", "A fox.\nHere is more."),  # only the start is touched
        ("Text:", "Text:"),  # nothing after the label: kept
        ("This is a quiet lake.\nAt dawn.", "This is a quiet lake.\nAt dawn."),
    ],
)
def test_strip_echoes(answer: str, expected: str) -> None:
    assert strip_echoes(answer) == expected


def test_translation_check() -> None:
    source = "Ein Fuchs läuft durch den Schnee und die Sonne scheint"
    assert untranslated_reason(source, "A fox runs through the snow and the sun shines") == ""
    assert "German" in untranslated_reason(source, source)
    assert untranslated_reason(source, "") == "the translation is empty"
    # tag lists without function words pass unless they are still the German text
    assert untranslated_reason("roter Fuchs", "red fox, snow, watercolour") == ""


@pytest.mark.parametrize(
    ("code", "framework", "ok"),
    [
        (P5, "p5", True),
        (TONE, "tone", True),
        ("const setup = () => createCanvas(10, 10);\nlet draw = () => {};", "p5", True),
        (PROSE, "p5", False),
        ("The sketch draws a circle", "p5", False),
        ("function setup() { createCanvas(10, 10); }", "p5", False),  # no draw
        ("function play() {}", "tone", False),  # never uses Tone
        ("function setup() { createCanvas(10, 10);\nfunction draw() {", "p5", False),
        ("", "p5", False),
    ],
)
def test_code_check(code: str, framework: str, ok: bool) -> None:
    assert (code_problem(code, framework) == "") is ok


def test_review_order_and_retry_requests() -> None:
    cut = review("code", "function setup(", truncated=True, framework="p5")
    assert cut.problem == "cut_off"
    messages = [Message("system", "Write p5.js"), Message("user", "Text:\nA fox")]
    again, options = retry_request(cut, messages, {"num_predict": 3000, "seed": 5}, "x")
    assert again == messages
    assert options == {"num_predict": 6000, "seed": 5}
    prose = review("code", PROSE, truncated=False, framework="p5")
    assert prose.problem == "not_code"
    again, options = retry_request(prose, messages, {"num_predict": 3000}, PROSE, framework="p5")
    assert again[:2] == messages
    assert again[2] == Message("assistant", PROSE)
    assert "setup() and draw()" in again[3].content
    assert options == {"num_predict": 3000}
    assert review("translation", "A fox", truncated=False, source="Ein Fuchs") == Review("A fox")


def test_limits_and_stops() -> None:
    assert larger_limit({"num_predict": 100})["num_predict"] == 356
    assert larger_limit({"num_predict": 5000})["num_predict"] == 6144
    assert with_stops({"seed": 1}, "text")["stop"] == [
        "\n\nIdea:",
        "\n\nIdee:",
        "\n\nRules:",
        "\n\nRegeln:",
    ]
    assert "stop" not in with_stops({}, "code")  # code may contain anything
    assert "stop" not in with_stops({}, "translation")  # an echoed "Text:" line comes first
    assert len(with_stops({}, "text")["stop"]) <= 4  # OpenAI-style servers allow four


def test_llm_seed_repeats_for_unchanged_inputs() -> None:
    first = llm_seed("interception", None, "Ein Fuchs", "Bauhaus", "bauhaus")
    assert first == llm_seed("interception", None, "Ein Fuchs", "Bauhaus", "bauhaus")
    assert first != llm_seed("interception", None, "Ein Fuchs!", "Bauhaus", "bauhaus")
    assert first != llm_seed("adaptation", None, "Ein Fuchs", "Bauhaus", "bauhaus")
    assert llm_seed("interception", 42, "x") == 42
    assert 0 <= first < 2**31
