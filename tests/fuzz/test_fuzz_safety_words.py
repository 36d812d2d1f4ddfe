"""The safety word matcher against obfuscation: what the folding promises, it must keep.

``safety_normalize`` promises that case, accents (not umlaut dots, which fold to ``ae``),
leetspeak digits and signs, invisible format characters (zero-width space, soft hyphen,
word joiner) and repeated letters do not hide a listed word. Every single-word term of
every level is obfuscated at random with exactly these means and must still be found.
Complements tests/unit/pipeline/test_safety_words.py (random text never raises).
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.pipeline.safety_normalize import merged_views, tokenize, within_one_edit
from ai4artsed_desktop.pipeline.safety_words import (
    LIST_LEVELS,
    _inside_any,
    _phrase_spans,
    _stems,
    _Text,
    _token_spans,
    load_lists,
    match,
)

FUZZ = settings(max_examples=300)

LISTS = load_lists()
#: (level, raw term, plain word) for every single-word term of every level.
TERMS = sorted(
    {
        (level, term.raw, term.raw.strip().strip("=").rstrip("!*"))
        for level in LIST_LEVELS
        for term in LISTS.terms(level)
        if term.mode != "phrase"
    }
)
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff"]
ACCENTS = ["\u0301", "\u0300", "\u0302", "\u0303", "\u030c"]  # no diaeresis: ä means ae
LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"}
LEET_SIGNS = {"a": "@", "s": "$"}


@st.composite
def obfuscated(draw: st.DrawFn, word: str) -> str:
    out = []
    for index, char in enumerate(word):
        piece = char
        if char.isascii() and char.isalpha():
            how = draw(st.sampled_from(["keep", "upper", "accent", "leet", "sign", "repeat"]))
            if how == "upper":
                piece = char.upper()
            elif how == "accent":
                accent = draw(st.sampled_from(ACCENTS))
                piece = char + accent
                if draw(st.booleans()):
                    piece = unicodedata.normalize("NFC", piece)
            elif how == "leet" and char in LEET:
                piece = LEET[char]
            elif how == "sign" and char in LEET_SIGNS:
                piece = LEET_SIGNS[char]
            elif how == "repeat":
                piece = char * draw(st.integers(2, 4))
        if index and draw(st.integers(0, 2)) == 0:
            piece = draw(st.sampled_from(INVISIBLE)) + piece
        out.append(piece)
    return "".join(out)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, str]:
    level, raw, word = draw(st.sampled_from(TERMS))
    return level, raw, draw(obfuscated(word))


@FUZZ
@given(case=cases(), before=st.sampled_from(["", "Ein Bild: ", "I draw a "]))
def test_obfuscated_listed_words_are_still_found(case: tuple[str, str, str], before: str) -> None:
    level, raw, text = case
    hits = match(before + text, level)
    assert raw in {hit.term for hit in hits}, (raw, text, hits)
    for hit in hits:
        if hit.term == raw:
            assert hit.span[0] >= len(before)


def test_every_single_word_term_is_covered() -> None:
    assert len(TERMS) > 50
    for level, raw, word in TERMS:
        assert raw in {hit.term for hit in match(word, level)}, (level, raw)


def test_decomposed_accents_do_not_split_words() -> None:
    # Regression: a combining mark ("o" + U+0301, as NFD text has it) used to end the word.
    for text in ("b\u0301omb", "bo\u0301mb", "\u0301bomb", "bo\u200b\u0301mb"):
        assert {hit.term for hit in match(text, "kids")} == {"=bomb"}, text
    assert [hit.span for hit in match("Eine b\u0301omb", "kids")] == [(5, 10)]


#: (text, rule name): every word obfuscated on its own must leave the rule hit standing.
RULE_CASES = [
    ("er sticht mit dem Messer zu", "weapon used to attack"),
    ("the robber shoots the cashier", "shooting at a person"),
    ("sie schneidet sich", "cutting oneself"),
    ("Crack rauchen", "taking drugs"),
    ("the man beats his son", "hitting a person"),
    ("ich bring mich um", "killing oneself (bringt sich um)"),
    ("Blut überall", "blood and gore"),
]


@st.composite
def obfuscated_sentence(draw: st.DrawFn) -> tuple[str, str]:
    text, rule = draw(st.sampled_from(RULE_CASES))
    words = [draw(obfuscated(word)) for word in text.split(" ")]
    return " ".join(words), rule


@FUZZ
@given(case=obfuscated_sentence())
def test_obfuscated_rule_sentences_still_hit(case: tuple[str, str]) -> None:
    text, rule = case
    hits = match(text, "kids")
    assert any(hit.term.startswith(f"{rule}: ") for hit in hits), (text, hits)


# ------------------------------------------------------------------ the index is exact
# WordLists.match looks terms up per word of the text (dictionaries, one-deletion keys for
# fuzzy terms). The reference below checks every term against every word the slow way;
# both must find the same hits for the level's own terms.

_WORDS = sorted(
    {w for level in LIST_LEVELS for t in LISTS.terms(level) for w in t.raw.strip("=!*").split()}
)


def _reference(text: str, level: str) -> set[tuple[str, tuple[int, int]]]:
    tokens = tokenize(text)
    views = tokens + merged_views(tokens)
    found = set()
    for term in LISTS.terms(level):
        if term.mode == "phrase":
            spans = _phrase_spans(term.words, term.counts, tokens)
        else:
            spans = []
            for view in views:
                near = term.fuzzy and any(
                    within_one_edit(stem, term.words[0]) for stem in _stems(view.text)
                )
                spans += _token_spans(term, view, fuzzy=near)
        found |= {(term.raw, span) for span in spans}
    return found


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(_WORDS),
            st.sampled_from(_WORDS).map(lambda w: w[:-1]),  # one letter short
            st.sampled_from(_WORDS).map(lambda w: w + "en"),  # an ending
            st.text(alphabet="abcdeikmnorstuäöüß", min_size=1, max_size=8),
        ),
        max_size=8,
    ),
    seps=st.lists(st.sampled_from([" ", "-", ".", " ", ", "]), min_size=8, max_size=8),
    level=st.sampled_from(LIST_LEVELS),
)
def test_indexed_match_equals_checking_every_term(
    words: list[str], seps: list[str], level: str
) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    own = {t.raw for t in LISTS.terms(level)}
    got = {(h.term, h.span) for h in match(text, level) if h.term in own}
    expected = _reference(text, level)
    # hits inside allowed words are dropped by match(); drop them from the reference too
    allowed = LISTS._allowed_spans(_Text(text))
    expected = {(raw, span) for raw, span in expected if not _inside_any(span, allowed)}
    assert got == expected, text
