"""Verdict parsing: plain words, Llama Guard, JSON, think blocks, garbage."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.safety_verdict import (
    Unreadable,
    Verdict,
    parse_verdict,
    strip_think,
)

S, U, X = Verdict.safe, Verdict.unsafe, Verdict.unknown

TABLE = [
    ("SAFE", S),
    ("safe", S),
    ("Safe.", S),
    ("  SAFE!  ", S),
    ("**SAFE**", S),
    ("Verdict: SAFE", S),
    ("SAFE\nThe text describes a fairy tale.", S),
    ("UNSAFE", U),
    ("unsafe.", U),
    ("UNSAFE: the text mentions “bomb”.", U),
    ("**UNSAFE** - weapons", U),
    ("Urteil: UNSICHER", U),
    ("SICHER", S),
    ("unbedenklich", S),
    ("bedenklich", U),
    ("safe\n", S),
    ("unsafe\nS9", U),
    ("unsafe\nS1,S10", U),
    ('{"safe": true}', S),
    ('{"safe": false, "reason": "mentions a weapon"}', U),
    ('{"verdict": "unsafe"}', U),
    ('{"verdict": "SAFE"}', S),
    ('{"flagged": true}', U),
    ('```json\n{"safe": false}\n```', U),
    ("<think>The user wants a bomb... hmm</think>\nUNSAFE", U),
    ("<think>\nA knight.\n</think>\n\nSAFE", S),
    ("<think>never closed", X),
    ("", X),
    ("   ", X),
    ("I cannot decide.", X),
    ("SAFE or UNSAFE", X),
    ("Safe, although some would say unsafe", X),
    ("Not safe", U),
    ("The text is fine", X),
    # a verdict word anywhere in the first line, as small models answer
    ("The text is SAFE.", S),
    ("I would say this is unsafe because of the blood.", U),
    ("Answer: **Unsafe** (violence)", U),
    ("This text is not safe for children.", U),
    ("Das ist nicht sicher.", U),
    ("Der Text ist unbedenklich.", S),
    ("Der Text ist bedenklich: Gewalt", U),
    ("Ich bin mir sicher, dass das ein Bild ist", X),
    ("It is not unsafe", X),
    ("UNSAFE? No, SAFE", X),
    ("The text describes a fox in the snow, which seems fine for children.", X),
    ('{"safe": false, "category": "violence"}', U),
    ('{"safe": true, "context": "fairy tale"}', S),
    ('{"verdict": "unsicher"}', U),
    ('{"verdict": "maybe"}', X),
    ('{"safe": "yes"}', X),
    ("[1, 2]", X),
    ("{broken json", X),
    ('["safe"]', X),
    ("🙂", X),
]


@pytest.mark.parametrize(("raw", "expected"), TABLE)
def test_verdict_table(raw: str, expected: Verdict) -> None:
    assert parse_verdict(raw).verdict is expected


def test_llama_guard_codes_become_readable_reasons() -> None:
    parsed = parse_verdict("unsafe\nS1,S10")
    assert parsed.codes == ("S1", "S10")
    assert parsed.reason == "violent crimes, hate"


def test_reasons_are_kept() -> None:
    assert parse_verdict("UNSAFE: mentions a gun").reason == "mentions a gun"
    assert parse_verdict('{"safe": false, "reason": "weapon"}').reason == "weapon"
    assert parse_verdict("SAFE").reason == ""


def test_strip_think() -> None:
    assert strip_think("<think>x</think>SAFE") == "SAFE"
    assert strip_think("<THINK>x</THINK> SAFE") == "SAFE"
    assert strip_think("<think>x") is None


def test_a_cut_off_answer_is_unreadable_whatever_it_says() -> None:
    parsed = parse_verdict("SAFE\nThe text describes", truncated=True)
    assert parsed.verdict is X
    assert parsed.unreadable is Unreadable.cut_off
    assert parsed.reason.startswith("SAFE")  # the raw answer is kept for the record


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", Unreadable.empty),
        ("The picture is colourful.", Unreadable.prose),
        ("SAFE or UNSAFE", Unreadable.contradictory),
        ("<think>hmm", Unreadable.unfinished_think),
    ],
)
def test_unreadable_answers_say_why(raw: str, why: Unreadable) -> None:
    assert parse_verdict(raw).unreadable is why


@pytest.mark.parametrize(
    ("raw", "category"),
    [
        ('{"safe": false, "category": "violence"}', "violence"),
        ('{"safe": false, "category": "Self-harm"}', "self_harm"),
        ("UNSAFE: sexual content", "sexual"),
        ("UNSAFE: Gewalt gegen Menschen", "violence"),
        ("unsafe\nS11", "self_harm"),
        ("UNSAFE", ""),
    ],
)
def test_categories_are_recognised(raw: str, category: str) -> None:
    assert parse_verdict(raw).category == category


@pytest.mark.parametrize(
    ("raw", "context"),
    [
        ("SAFE: fairy tale", "fairy tale"),
        ("SAFE - context: history lesson", "history lesson"),
        ('{"safe": true, "context": "sport"}', "sport"),
        ("SICHER: Märchen", "Märchen"),
        ("SAFE", ""),
        ("SAFE.", ""),
    ],
)
def test_a_safe_answer_names_its_context(raw: str, context: str) -> None:
    parsed = parse_verdict(raw)
    assert parsed.verdict is S
    assert parsed.context == context
