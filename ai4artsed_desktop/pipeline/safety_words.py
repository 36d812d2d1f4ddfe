"""Bilingual safety word lists per level with fuzzy matching (``resources/safety``).

The term syntax and the folding rules are documented in ``resources/safety/README.md``
and :mod:`.safety_normalize`. :func:`match` returns every hit with the span of the
original text it covers; hits that lie completely inside an allow-listed word or phrase
(``Schwertwal``, ``Waffel``, ``password``) are dropped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..paths import resources_dir
from .safety_normalize import Token, fold_term, merged_views, tokenize, within_one_edit

Mode = Literal["substring", "word", "exact", "prefix", "phrase"]

CATEGORIES = ("violence", "sexual", "self_harm", "drugs", "hate")
LIST_LEVELS = ("adult", "youth", "kids")
#: Folded length from which a plain term also matches inside words (German compounds).
SUBSTRING_MIN = 5
#: Folded length from which a term tolerates one wrong, missing or extra letter.
FUZZY_MIN = 6
#: Endings a whole-word term may carry (after repeated letters are collapsed).
ENDINGS = frozenset(("s", "es", "e", "en", "n", "er", "ern", "em", "ed", "d", "ing", "ings", "ers"))


@dataclass(frozen=True)
class Hit:
    """One word-list match: the list term, its category and the span in the text."""

    term: str
    category: str
    span: tuple[int, int]


@dataclass(frozen=True)
class Term:
    """A parsed list term."""

    raw: str
    category: str
    words: tuple[str, ...]  # folded, repeated letters collapsed
    counts: tuple[tuple[int, ...], ...]  # run length of every letter of every word
    mode: Mode
    fuzzy: bool


def parse_term(raw: str, category: str) -> Term:
    """Parse one list entry (markers ``=``, ``==``, ``*``, ``!``; see the README).

    Raises:
        ValueError: the entry has no letters or combines markers that cannot go together.
    """
    text = raw.strip()
    fuzzy_allowed = not text.endswith("!")
    text = text.rstrip("!")
    mode: Mode | None = None
    if text.startswith("=="):
        mode, text = "exact", text[2:]
    elif text.startswith("="):
        mode, text = "word", text[1:]
    if text.endswith("*"):
        if mode is not None:
            raise ValueError(f"{raw!r}: '*' cannot be combined with '='")
        mode, text = "prefix", text[:-1]
    tokens = fold_term(text)
    words = tuple(t.text for t in tokens)
    length = sum(sum(t.counts) for t in tokens)
    if not words:
        raise ValueError(f"{raw!r}: no letters")
    if len(words) > 1:
        if mode is not None:
            raise ValueError(f"{raw!r}: markers are not allowed in phrases")
        mode = "phrase"
    elif mode is None:
        mode = "substring" if length >= SUBSTRING_MIN else "word"
    fuzzy = fuzzy_allowed and mode in ("substring", "word") and length >= FUZZY_MIN
    return Term(raw, category, words, tuple(tuple(t.counts) for t in tokens), mode, fuzzy)


# ------------------------------------------------------------------ matching one word


def _word_match(word: str, counts: tuple[int, ...], token: Token) -> bool:
    """``token`` is ``word`` plus an optional ending (``kill`` → ``killing``)."""
    text = token.text
    if not (text == word or (text.startswith(word) and text[len(word) :] in ENDINGS)):
        return False
    return token.covers(0, counts)


def _stems(token: str) -> Iterator[str]:
    yield token
    for ending in ENDINGS:
        if token.endswith(ending) and len(token) - len(ending) >= FUZZY_MIN - 2:
            yield token[: -len(ending)]


class _Views:
    """The words of one text (plus merged views), prepared once for all terms of a list.

    Most terms occur nowhere in a text, so :meth:`spans` first rules them out cheaply:
    every mode but fuzzy needs the term's word inside a view's letters (one ``in`` over
    all of them), and a fuzzy match needs a stem within one letter of the word's length
    that shares its first or its last letter (one edit cannot change both ends of
    words of two or more letters). Only the views left are checked term by term.
    """

    def __init__(self, views: list[Token]) -> None:
        self.views = views
        self._letters = "\n".join(view.text for view in views)  # letters never hold "\n"
        self._by_first: dict[tuple[int, str], list[tuple[str, int]]] = {}
        self._by_last: dict[tuple[int, str], list[tuple[str, int]]] = {}
        self._by_length: dict[int, list[tuple[str, int]]] = {}
        for index, view in enumerate(views):
            for stem in dict.fromkeys(_stems(view.text)):
                entry = (stem, index)
                self._by_first.setdefault((len(stem), stem[0]), []).append(entry)
                self._by_last.setdefault((len(stem), stem[-1]), []).append(entry)
                self._by_length.setdefault(len(stem), []).append(entry)

    def near(self, word: str) -> set[int]:
        """Indexes of the views with a stem (:func:`_stems`) within one edit of ``word``."""
        size = len(word)
        found: set[int] = set()
        for length in (size - 1, size, size + 1):
            if size >= 2:
                pool = self._by_first.get((length, word[0]), [])
                pool = pool + self._by_last.get((length, word[-1]), [])
            else:  # one letter: a substitution changes both ends
                pool = self._by_length.get(length, [])
            for stem, index in pool:
                if index not in found and within_one_edit(stem, word):
                    found.add(index)
        return found

    def spans(self, term: Term) -> list[tuple[int, int]]:
        """Original-text spans where a one-word ``term`` matches any view."""
        word = term.words[0]
        near = self.near(word) if term.fuzzy else set()
        if not near and word not in self._letters:
            return []
        return [
            span
            for index, token in enumerate(self.views)
            if index in near or word in token.text
            for span in _token_spans(term, token, fuzzy=index in near)
        ]


def _token_spans(term: Term, token: Token, *, fuzzy: bool) -> list[tuple[int, int]]:
    """Original-text spans where a one-word ``term`` matches ``token``.

    ``fuzzy``: a stem of the token is within one edit of the term (see :class:`_Views`);
    it counts for fuzzy terms when nothing else matched.
    """
    word, counts, text = term.words[0], term.counts[0], token.text
    spans: list[tuple[int, int]] = []
    if term.mode == "substring":
        spans = _find_all(word, counts, token)
    elif term.mode == "exact":
        if text == word and token.covers(0, counts):
            spans.append(token.span)
    elif term.mode == "prefix":
        if text.startswith(word) and token.covers(0, counts):
            spans.append(token.span)
    elif _word_match(word, counts, token):
        spans.append(token.span)
    if not spans and term.fuzzy and fuzzy:
        spans.append(token.span)
    return spans


def _find_all(word: str, counts: tuple[int, ...], token: Token) -> list[tuple[int, int]]:
    """Spans of every occurrence of ``word`` inside ``token``."""
    spans = []
    start = token.text.find(word)
    while start >= 0:
        if token.covers(start, counts):
            spans.append(token.span_of(start, start + len(word)))
        start = token.text.find(word, start + 1)
    return spans


def _phrase_spans(
    words: tuple[str, ...], counts: tuple[tuple[int, ...], ...], tokens: list[Token]
) -> list[tuple[int, int]]:
    """Spans where the words follow each other (endings allowed on the last one)."""
    spans = []
    size = len(words)
    for i in range(len(tokens) - size + 1):
        if size > 1 and tokens[i].text != words[0]:  # cheap test of the first word first
            continue
        window = tokens[i : i + size]
        head_ok = all(
            t.text == w and t.covers(0, c)
            for t, w, c in zip(window[:-1], words[:-1], counts[:-1], strict=True)
        )
        if head_ok and _word_match(words[-1], counts[-1], window[-1]):
            spans.append((window[0].span[0], window[-1].span[1]))
    return spans


# ------------------------------------------------------------------ the lists


class WordLists:
    """The parsed lists of every level plus the allow-list."""

    def __init__(self, levels: Mapping[str, tuple[Term, ...]], allow: Iterable[str]) -> None:
        self._levels = dict(levels)
        self._allow = tuple(
            (tuple(t.text for t in tokens), tuple(tuple(t.counts) for t in tokens))
            for tokens in (fold_term(a) for a in allow)
            if tokens
        )

    @classmethod
    def load(cls, folder: Path) -> WordLists:
        """Load ``adult.json``, ``youth.json``, ``kids.json`` and ``allow.json``.

        Raises:
            ConfigError: a file is missing or broken (the checks cannot run without it).
        """
        raw = {level: _read(folder / f"{level}.json") for level in LIST_LEVELS}
        levels: dict[str, tuple[Term, ...]] = {}
        for level in LIST_LEVELS:
            levels[level] = tuple(_resolve(level, raw, folder))
        allow = _read(folder / "allow.json").get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise _broken(folder / "allow.json", "'allow' must be a list of texts")
        return cls(levels, allow)

    def terms(self, level: str) -> tuple[Term, ...]:
        """The terms checked at ``level`` (none at ``research``).

        Raises:
            ValueError: unknown level.
        """
        if level == "research":
            return ()
        if level not in self._levels:
            raise ValueError(f"unknown safety level {level!r}")
        return self._levels[level]

    def match(self, text: str, level: str) -> list[Hit]:
        """Every hit of the ``level`` list in ``text``, ordered by position."""
        terms = self.terms(level)
        if not terms or not text:
            return []
        tokens = tokenize(text)
        views = tokens + merged_views(tokens)
        prepared = _Views(views)
        found: dict[tuple[str, tuple[int, int]], Hit] = {}
        for term in terms:
            if term.mode == "phrase":
                spans = _phrase_spans(term.words, term.counts, tokens)
            else:
                spans = prepared.spans(term)
            for span in spans:
                found.setdefault((term.raw, span), Hit(term.raw, term.category, span))
        if not found:
            return []
        allowed = self._allowed_spans(tokens, views)
        hits = [h for h in found.values() if not _inside_any(h.span, allowed)]
        return sorted(hits, key=lambda h: (h.span, h.term))

    def _allowed_spans(self, tokens: list[Token], views: list[Token]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for words, counts in self._allow:
            if len(words) > 1:
                spans += _phrase_spans(words, counts, tokens)
                continue
            for token in views:
                spans += _find_all(words[0], counts[0], token)
        return spans


def _inside_any(span: tuple[int, int], regions: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in regions)


def _broken(path: Path, problem: str) -> ConfigError:
    return ConfigError(
        "The safety word lists are damaged, so the safety check cannot run. "
        "Reinstall the app or ask your teacher.",
        detail=f"{path}: {problem}",
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _broken(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise _broken(path, "expected a JSON object")
    return data


def _own_terms(level: str, data: dict[str, Any], path: Path) -> list[Term]:
    categories = data.get("categories")
    if not isinstance(categories, dict):
        raise _broken(path, "'categories' must be an object")
    terms = []
    for category, by_lang in categories.items():
        if category not in CATEGORIES or not isinstance(by_lang, dict):
            raise _broken(path, f"unknown or malformed category {category!r}")
        for lang, entries in by_lang.items():
            if not isinstance(entries, list):
                raise _broken(path, f"{category}.{lang} must be a list")
            for entry in entries:
                try:
                    terms.append(parse_term(str(entry), category))
                except ValueError as exc:
                    raise _broken(path, f"{category}.{lang}: {exc}") from exc
    return terms


def _resolve(level: str, raw: dict[str, dict[str, Any]], folder: Path) -> list[Term]:
    """The level's own terms plus those of the level it extends (and so on)."""
    terms: list[Term] = []
    seen: set[str] = set()
    current = level
    while current:
        if current in seen or current not in raw:
            raise _broken(folder / f"{level}.json", f"bad 'extends' chain at {current!r}")
        seen.add(current)
        terms += _own_terms(current, raw[current], folder / f"{current}.json")
        parent = raw[current].get("extends", "")
        current = parent if isinstance(parent, str) else ""
    return terms


@functools.lru_cache(maxsize=4)
def load_lists(folder: Path | None = None) -> WordLists:
    """The word lists from ``folder`` (default ``resources/safety``), cached."""
    return WordLists.load(folder or resources_dir() / "safety")


def match(text: str, level: str) -> list[Hit]:
    """Hits of the built-in word list for ``level`` in ``text`` (none at ``research``)."""
    return load_lists().match(text, level)
