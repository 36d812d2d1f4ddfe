"""Verdict parsing: plain words, Llama Guard, JSON, think blocks, garbage."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.safety_verdict import Verdict, parse_verdict, strip_think

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
    ("Not safe", X),
    ("The text is fine", X),
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
