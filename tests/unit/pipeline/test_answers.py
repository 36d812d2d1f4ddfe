"""Reading LLM answers: code out of fences, ACE-Step fields, quotes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai4artsed_desktop.pipeline.answers import INSTRUMENTAL, clean_text, extract_code, split_music

SKETCH = "function setup() {\n  createCanvas(400, 400);\n}\n"


def test_code_inside_fences_is_taken_without_the_chatter() -> None:
    answer = f"Here is your sketch:\n\n```javascript\n{SKETCH}```\n\nHave fun!"
    assert extract_code(answer) == SKETCH


def test_the_longest_fenced_block_wins() -> None:
    answer = f"```\nnpm i p5\n```\nand the code:\n```js\n{SKETCH}```"
    assert extract_code(answer) == SKETCH


def test_code_without_fences_stays_as_it_is_and_stray_fences_go() -> None:
    assert extract_code(SKETCH) == SKETCH
    assert extract_code(f"```js\n{SKETCH}") == SKETCH


@given(st.text(alphabet=st.characters(blacklist_characters="`\r"), min_size=1))
def test_unfenced_code_is_never_lost(code: str) -> None:
    if code.strip():
        assert extract_code(code).strip() == "\n".join(code.strip().splitlines()).strip()


def test_music_answer_in_the_asked_format() -> None:
    answer = "TAGS: indie pop, hopeful, 104 bpm\n\n[verse]\nSchnee fällt leis\n[chorus]\nFuchs"
    assert split_music(answer) == (
        "indie pop, hopeful, 104 bpm",
        "[verse]\nSchnee fällt leis\n[chorus]\nFuchs",
    )


def test_music_answer_with_markdown_labels() -> None:
    answer = "**Tags:** ambient, piano\n**Lyrics:**\n[instrumental]"
    assert split_music(answer) == ("ambient, piano", "[instrumental]")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("lo-fi, rhodes piano", ("lo-fi, rhodes piano", INSTRUMENTAL)),
        ("", ("", INSTRUMENTAL)),
        ("folk, guitar\n[verse]\nla la", ("folk, guitar", "[verse]\nla la")),
    ],
)
def test_music_answer_without_tags_line_uses_the_first_line(
    answer: str, expected: tuple[str, str]
) -> None:
    assert split_music(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('  "a red fox"  ', "a red fox"),
        ("„ein roter Fuchs“", "ein roter Fuchs"),
        ('"one" and "two"', '"one" and "two"'),
        ("plain", "plain"),
    ],
)
def test_clean_text_drops_one_pair_of_surrounding_quotes(answer: str, expected: str) -> None:
    assert clean_text(answer) == expected
