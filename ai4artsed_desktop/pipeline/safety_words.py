"""Bilingual safety word lists per level with fuzzy matching (``resources/safety``).

The term syntax and the folding rules are documented in ``resources/safety/README.md``
and :mod:`.safety_normalize`. A level has two kinds of entries:

* *terms* that hit on their own (``erschießen``, ``Amoklauf``, ``porn*``);
* *rules* that hit only when words of several *concepts* occur near each other (a weapon
  word with an attack word: "stabs … with a knife"), unless a word of an ``unless``
  concept is there too (a photo context for "shoot"). A cooking knife, a knight's sword
  or "the striker shoots" therefore pass while "he stabs his brother with a knife" hits.

:func:`match` returns every hit with the span of the original text it covers; hits that
lie completely inside an allow-listed word or phrase (``Schwertwal``, ``Blutorange``,
``killer whale``) are dropped, for terms and concept words alike.
"""

from __future__ import annotations

import functools
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
FUZZY_MIN = 7
#: Endings a whole-word term may carry (after repeated letters are collapsed).
ENDINGS = frozenset(
    ("s", "es", "e", "en", "n", "er", "ern", "em", "ed", "d", "ing", "ings", "ers", "t", "st", "te")
)


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


@dataclass(frozen=True)
class Rule:
    """Words of every concept in ``all`` within ``window`` words of each other.

    ``window`` 0 means anywhere in the text. A word of any ``unless`` concept anywhere in
    the text cancels the rule (benign context: "photo shoot", "Fotoshooting").
    """

    name: str
    category: str
    all: tuple[str, ...]
    unless: tuple[str, ...] = ()
    window: int = 0


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


def _keys(word: str) -> set[str]:
    """``word`` and every string one deletion away: two words within one edit share one."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class _Text:
    """One text prepared once for every list: its words, merged views and their stems."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.views = self.tokens + merged_views(self.tokens)
        self.letters = "\n".join(view.text for view in self.views)  # letters never hold "\n"
        self.starts = [t.span[0] for t in self.tokens]
        self._fuzzy_keys: list[tuple[int, str, str]] | None = None
        self._candidates: list[list[str]] | None = None
        self._trigrams: set[str] | None = None

    def candidates(self) -> list[list[str]]:
        """Per view: the word and the word without each ending it has."""
        if self._candidates is None:
            self._candidates = [_word_candidates(view.text) for view in self.views]
        return self._candidates

    def trigrams(self) -> set[str]:
        """Every three letters in a row of the text (scan terms are looked up by theirs)."""
        if self._trigrams is None:
            letters = self.letters
            self._trigrams = {letters[i : i + 3] for i in range(len(letters) - 2)}
        return self._trigrams

    def fuzzy_keys(self) -> list[tuple[int, str, str]]:
        """``(view index, stem, key)`` for every stem (:func:`_stems`) of every view."""
        if self._fuzzy_keys is None:
            self._fuzzy_keys = [
                (index, stem, key)
                for index, view in enumerate(self.views)
                for stem in dict.fromkeys(_stems(view.text))
                for key in _keys(stem)
            ]
        return self._fuzzy_keys

    def word_index(self, span: tuple[int, int]) -> int:
        """The index of the word a span starts in (merged views: their first word)."""
        return max(bisect_right(self.starts, span[0]) - 1, 0)


class _Compiled:
    """Terms indexed by their words, so one text is matched in time of its own length.

    Exact, whole-word and phrase terms are dictionary look-ups per word; fuzzy terms are
    found through shared one-deletion keys (:func:`_keys`) and then checked with
    :func:`within_one_edit`; only substring and prefix terms are scanned, substring terms
    with one ``in`` over all letters of the text first.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        self.exact: dict[str, list[Term]] = {}
        self.word: dict[str, list[Term]] = {}
        self.phrase: dict[str, list[Term]] = {}
        self.scan: dict[str, list[Term]] = {}  # by the first three letters
        self.short: list[Term] = []  # scan terms of fewer than three letters
        self.fuzzy: dict[str, list[Term]] = {}
        for term in terms:
            first = term.words[0]
            if term.mode == "exact":
                self.exact.setdefault(first, []).append(term)
            elif term.mode == "word":
                self.word.setdefault(first, []).append(term)
            elif term.mode == "phrase":
                self.phrase.setdefault(first, []).append(term)
            elif len(first) >= 3:
                self.scan.setdefault(first[:3], []).append(term)
            else:
                self.short.append(term)
            if term.fuzzy:
                for key in _keys(first):
                    self.fuzzy.setdefault(key, []).append(term)

    def find(self, text: _Text) -> list[tuple[Term, tuple[int, int]]]:
        """Every ``(term, span)`` of these terms in ``text``."""
        found = _Found()
        self._whole_words(text, found)
        self._scan(text, found)
        if self.fuzzy:
            for index, stem, key in text.fuzzy_keys():
                for term in self.fuzzy.get(key, ()):
                    if not found.has(term, index) and within_one_edit(stem, term.words[0]):
                        found.add(term, index, [text.views[index].span])
        return found.pairs() + self._phrases(text)

    def _whole_words(self, text: _Text, found: _Found) -> None:
        candidates = text.candidates()
        for index, view in enumerate(text.views):
            for term in self.exact.get(view.text, ()):
                if view.covers(0, term.counts[0]):
                    found.add(term, index, [view.span])
            if not self.word:
                continue
            for stem in candidates[index]:
                for term in self.word.get(stem, ()):
                    if view.covers(0, term.counts[0]):
                        found.add(term, index, [view.span])

    def _scan(self, text: _Text, found: _Found) -> None:
        terms = [t for tri in text.trigrams() for t in self.scan.get(tri, ())]
        for term in terms + self.short:
            first = term.words[0]
            if first not in text.letters:
                continue
            for index, view in enumerate(text.views):
                if first in view.text:
                    found.add(term, index, _token_spans(term, view, fuzzy=False))

    def _phrases(self, text: _Text) -> list[tuple[Term, tuple[int, int]]]:
        out = []
        tokens = text.tokens
        for i, token in enumerate(tokens):
            for term in self.phrase.get(token.text, ()):
                size = len(term.words)
                window = tokens[i : i + size]
                if len(window) == size and _phrase_at(term.words, term.counts, window):
                    out.append((term, (window[0].span[0], window[-1].span[1])))
        return out


class _Found:
    """Spans found per (term, view); a fuzzy match counts only where nothing else did."""

    def __init__(self) -> None:
        self._spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._terms: dict[int, Term] = {}

    def has(self, term: Term, index: int) -> bool:
        return (id(term), index) in self._spans

    def add(self, term: Term, index: int, spans: list[tuple[int, int]]) -> None:
        if spans:
            self._terms[id(term)] = term
            self._spans.setdefault((id(term), index), []).extend(spans)

    def pairs(self) -> list[tuple[Term, tuple[int, int]]]:
        return [
            (self._terms[key], span) for (key, _index), spans in self._spans.items()
            for span in spans
        ]  # fmt: skip


_ENDING_SIZES = sorted({len(ending) for ending in ENDINGS})


def _word_candidates(word: str) -> list[str]:
    """The word itself and the word without each ending it has."""
    out = [word]
    for size in _ENDING_SIZES:
        if len(word) > size and word[-size:] in ENDINGS:
            out.append(word[:-size])
    return out


def _phrase_at(
    words: tuple[str, ...], counts: tuple[tuple[int, ...], ...], window: list[Token]
) -> bool:
    head_ok = all(
        t.text == w and t.covers(0, c)
        for t, w, c in zip(window[:-1], words[:-1], counts[:-1], strict=True)
    )
    return head_ok and _word_match(words[-1], counts[-1], window[-1])


def _token_spans(term: Term, token: Token, *, fuzzy: bool) -> list[tuple[int, int]]:
    """Original-text spans where a one-word ``term`` matches ``token``.

    ``fuzzy``: a stem of the token is within one edit of the term (see :class:`_Compiled`);
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
    """The parsed lists of every level, the concepts their rules use, and the allow-list."""

    def __init__(
        self,
        levels: Mapping[str, tuple[Term, ...]],
        allow: Iterable[str],
        *,
        rules: Mapping[str, tuple[Rule, ...]] | None = None,
        concepts: Mapping[str, tuple[Term, ...]] | None = None,
        codes: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
    ) -> None:
        self._levels = dict(levels)
        self._codes = {
            level: tuple((code, category, _code_pattern(code)) for code, category in entries)
            for level, entries in (codes or {}).items()
        }
        self._rules = dict(rules or {})
        self._concepts = dict(concepts or {})
        self._index: dict[str, _Compiled] = {}
        self._concept_index = _Compiled(
            _as_concept(term, name) for name, terms in self._concepts.items() for term in terms
        )
        for level_rules in self._rules.values():
            for rule in level_rules:
                missing = [c for c in (*rule.all, *rule.unless) if c not in self._concepts]
                if missing:
                    raise ValueError(f"rule {rule.name!r}: unknown concepts {missing}")
        self._allow = tuple(
            (tuple(t.text for t in tokens), tuple(tuple(t.counts) for t in tokens))
            for tokens in (fold_term(a) for a in allow)
            if tokens
        )

    @classmethod
    def load(cls, folder: Path) -> WordLists:
        """Load ``adult.json``, ``youth.json``, ``kids.json``, ``allow.json``, ``concepts.json``.

        ``concepts.json`` may be missing when no level has rules.

        Raises:
            ConfigError: a file is missing or broken (the checks cannot run without it).
        """
        raw = {level: _read(folder / f"{level}.json") for level in LIST_LEVELS}
        levels: dict[str, tuple[Term, ...]] = {}
        rules: dict[str, tuple[Rule, ...]] = {}
        codes: dict[str, tuple[tuple[str, str], ...]] = {}
        for level in LIST_LEVELS:
            levels[level] = tuple(_resolve(level, raw, folder))
            rules[level] = tuple(_resolve_rules(level, raw, folder))
            codes[level] = tuple(_resolve_codes(level, raw, folder))
        allow = _read(folder / "allow.json").get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise _broken(folder / "allow.json", "'allow' must be a list of texts")
        concepts: dict[str, tuple[Term, ...]] = {}
        concepts_path = folder / "concepts.json"
        if concepts_path.exists() or any(rules.values()):
            concepts = _read_concepts(concepts_path)
        try:
            return cls(levels, allow, rules=rules, concepts=concepts, codes=codes)
        except ValueError as exc:
            raise _broken(concepts_path, str(exc)) from exc

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

    def rules(self, level: str) -> tuple[Rule, ...]:
        """The co-occurrence rules checked at ``level`` (none at ``research``).

        Raises:
            ValueError: unknown level.
        """
        self.terms(level)  # validates the level
        return self._rules.get(level, ())

    def concept(self, name: str) -> tuple[Term, ...]:
        """The terms of one concept (``KeyError`` for an unknown name)."""
        return self._concepts[name]

    def match(self, text: str, level: str) -> list[Hit]:
        """Every hit of the ``level`` list, rules and codes in ``text``, ordered by position."""
        compiled = self._compiled(level)
        rules = self._rules.get(level, ())
        codes = self._codes.get(level, ())
        if not text or (compiled is None and not rules and not codes):
            return []
        found: dict[tuple[str, tuple[int, int]], Hit] = {}
        for code, category, pattern in codes:
            for m in pattern.finditer(text):
                found.setdefault((f"#{code}", m.span()), Hit(f"#{code}", category, m.span()))
        prepared = _Text(text)
        if not prepared.tokens:
            return sorted(found.values(), key=lambda h: (h.span, h.term))
        if compiled is not None:
            for term, span in compiled.find(prepared):
                found.setdefault((term.raw, span), Hit(term.raw, term.category, span))
        allowed = self._allowed_spans(prepared) if (found or rules) else []
        for hit in self._rule_hits(prepared, rules, allowed):
            found.setdefault((hit.term, hit.span), hit)
        hits = [h for h in found.values() if not _inside_any(h.span, allowed)]
        return sorted(hits, key=lambda h: (h.span, h.term))

    def _rule_hits(
        self, text: _Text, rules: Sequence[Rule], allowed: list[tuple[int, int]]
    ) -> Iterator[Hit]:
        if not rules:
            return
        concepts: dict[str, list[tuple[int, tuple[int, int], str]]] = {}
        for term, span in self._concept_index.find(text):
            if not _inside_any(span, allowed):
                entry = (text.word_index(span), span, term.raw)
                concepts.setdefault(term.category, []).append(entry)
        yield from _rule_hits(rules, concepts)

    def _compiled(self, level: str) -> _Compiled | None:
        terms = self.terms(level)  # validates the level
        if not terms:
            return None
        if level not in self._index:
            self._index[level] = _Compiled(terms)
        return self._index[level]

    def _allowed_spans(self, text: _Text) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for words, counts in self._allow:
            if words[0] not in text.letters:
                continue
            if len(words) > 1:
                spans += _phrase_spans(words, counts, text.tokens)
                continue
            for token in text.views:
                spans += _find_all(words[0], counts[0], token)
        return spans


def _rule_hits(
    rules: Sequence[Rule], concepts: Mapping[str, list[tuple[int, tuple[int, int], str]]]
) -> Iterator[Hit]:
    """Hits of the rules whose concepts all occur (near each other) and no ``unless`` one."""
    for rule in rules:
        groups = [concepts.get(name, []) for name in rule.all]
        if not all(groups) or any(concepts.get(name) for name in rule.unless):
            continue
        hit = _rule_hit(rule, groups)
        if hit is not None:
            yield hit


def _rule_hit(rule: Rule, groups: list[list[tuple[int, tuple[int, int], str]]]) -> Hit | None:
    """The first word of the rule's first concept with every other concept near it."""
    for index, span, raw in groups[0]:
        words = [raw]
        for other in groups[1:]:
            near = [r for i, _s, r in other if not rule.window or abs(i - index) <= rule.window]
            if not near:
                break
            words.append(near[0])
        else:
            return Hit(f"{rule.name}: {' + '.join(words)}", rule.category, span)
    return None


def _as_concept(term: Term, name: str) -> Term:
    """The term with the concept's name as its category (a word may be in two concepts)."""
    return Term(term.raw, name, term.words, term.counts, term.mode, term.fuzzy)


def _inside_any(span: tuple[int, int], regions: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in regions)


def _broken(path: Path, problem: str) -> ConfigError:
    return ConfigError(
        "The safety word lists are damaged, so the safety check cannot run. "
        "Reinstall the app or ask your teacher.",
        detail=f"{path}: {problem}",
        key="error.safety_lists_broken",
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


def _code_pattern(code: str) -> re.Pattern[str]:
    """Digits of a number code, optionally split by one separator, not inside a number."""
    return re.compile(
        r"(?<![0-9A-Za-z])" + r"[\s./_-]?".join(map(re.escape, code)) + r"(?![0-9A-Za-z])"
    )


def _resolve_codes(
    level: str, raw: dict[str, dict[str, Any]], folder: Path
) -> list[tuple[str, str]]:
    """``(code, category)`` of the level's number codes (``"codes": {"hate": ["1488"]}``)."""
    codes: list[tuple[str, str]] = []
    current = level
    seen: set[str] = set()
    while current and current not in seen and current in raw:
        seen.add(current)
        entries = raw[current].get("codes", {})
        path = folder / f"{current}.json"
        if not isinstance(entries, dict):
            raise _broken(path, "'codes' must be an object")
        for category, items in entries.items():
            ok = isinstance(items, list) and all(
                isinstance(i, str) and i.isascii() and i.isdigit() for i in items
            )
            if category not in CATEGORIES or not ok:
                raise _broken(path, f"codes.{category} must be a list of digit strings")
            codes += [(item, category) for item in items]
        parent = raw[current].get("extends", "")
        current = parent if isinstance(parent, str) else ""
    return codes


def _parse_rule(entry: Any, path: Path) -> Rule:
    if not isinstance(entry, dict):
        raise _broken(path, f"rule {entry!r} must be an object")
    name, category = entry.get("name"), entry.get("category")
    all_, unless = entry.get("all"), entry.get("unless", [])
    window = entry.get("window", 0)
    if not isinstance(name, str) or category not in CATEGORIES:
        raise _broken(path, f"rule {entry!r}: needs a name and a known category")
    if not (isinstance(all_, list) and all_ and all(isinstance(c, str) for c in all_)):
        raise _broken(path, f"rule {name!r}: 'all' must be a non-empty list of concepts")
    if not (isinstance(unless, list) and all(isinstance(c, str) for c in unless)):
        raise _broken(path, f"rule {name!r}: 'unless' must be a list of concepts")
    if not isinstance(window, int) or window < 0:
        raise _broken(path, f"rule {name!r}: 'window' must be a whole number >= 0")
    return Rule(name, str(category), tuple(all_), tuple(unless), window)


def _resolve_rules(level: str, raw: dict[str, dict[str, Any]], folder: Path) -> list[Rule]:
    """The level's own rules plus those of the levels it extends."""
    rules: list[Rule] = []
    current = level
    seen: set[str] = set()
    while current and current not in seen and current in raw:
        seen.add(current)
        entries = raw[current].get("rules", [])
        if not isinstance(entries, list):
            raise _broken(folder / f"{current}.json", "'rules' must be a list")
        rules += [_parse_rule(e, folder / f"{current}.json") for e in entries]
        parent = raw[current].get("extends", "")
        current = parent if isinstance(parent, str) else ""
    return rules


def _read_concepts(path: Path) -> dict[str, tuple[Term, ...]]:
    """``concepts.json``: ``{"concepts": {name: {"category": ..., "de": [...], "en": [...]}}}``."""
    data = _read(path).get("concepts")
    if not isinstance(data, dict):
        raise _broken(path, "'concepts' must be an object")
    concepts: dict[str, tuple[Term, ...]] = {}
    for name, by_lang in data.items():
        if not isinstance(by_lang, dict):
            raise _broken(path, f"concept {name!r} must be an object")
        terms = []
        for lang, entries in by_lang.items():
            if lang == "note":
                continue
            if not isinstance(entries, list):
                raise _broken(path, f"{name}.{lang} must be a list")
            for entry in entries:
                try:
                    terms.append(parse_term(str(entry), "concept"))
                except ValueError as exc:
                    raise _broken(path, f"{name}.{lang}: {exc}") from exc
        concepts[name] = tuple(terms)
    return concepts


@functools.lru_cache(maxsize=4)
def load_lists(folder: Path | None = None) -> WordLists:
    """The word lists from ``folder`` (default ``resources/safety``), cached."""
    return WordLists.load(folder or resources_dir() / "safety")


def match(text: str, level: str) -> list[Hit]:
    """Hits of the built-in word list for ``level`` in ``text`` (none at ``research``)."""
    return load_lists().match(text, level)
