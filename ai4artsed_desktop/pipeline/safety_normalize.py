"""Text folding for the safety word lists: case, umlauts, leetspeak, repeats, separators.

:func:`tokenize` turns any text into folded words that remember where each letter came
from, so a hit can be shown (and tested) as a span of the original text:

* case folding, German umlauts and ß (``ä`` → ``ae``, ``ß`` → ``ss``), accents removed
  (``é`` → ``e``), compatibility forms unfolded (full-width letters, ligatures);
* leetspeak digits and signs (``0`` → o, ``1`` → i, ``3`` → e, ``4`` → a, ``5`` → s,
  ``7`` → t, ``@`` → a, ``$`` → s) and look-alike Cyrillic/Greek letters;
* invisible format characters (zero-width space, soft hyphen) are dropped;
* runs of the same letter collapse to one (``boooomb`` → ``bomb``); each letter keeps
  its run length, so a term with a double letter needs it in the text too (``nigger``
  does not match inside ``weniger``, ``kill`` matches ``kiiill``).

:func:`merged_views` adds the words hidden by separators: letters split by tight
punctuation (``b.o.m.b``, ``Wasser-Pistole``) and runs of single letters split by
spaces (``b o m b``).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

_FOLD = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o"}
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
# Cyrillic and Greek letters that look like Latin ones (a common way around filters).
_CONFUSABLE = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
}  # fmt: skip
#: Separators that glue letters into one word when no whitespace is around them.
_TIGHT = frozenset(".-_*|/~+'`´’·•")
#: Single letters in a row, split by spaces, that are joined back ("b o m b").
_MIN_SPACED_RUN = 3


@dataclass
class Token:
    """A folded, collapsed word; ``starts[i]``/``ends[i]`` locate letter ``i`` in the text."""

    text: str
    starts: list[int]
    ends: list[int]
    counts: list[int]  # run length of each collapsed letter
    tight_before: bool = False  # only tight separators between this and the previous word

    @property
    def span(self) -> tuple[int, int]:
        """The word's span in the original text."""
        return self.starts[0], self.ends[-1]

    def span_of(self, begin: int, end: int) -> tuple[int, int]:
        """The original span of folded letters ``begin:end``."""
        return self.starts[begin], self.ends[end - 1]

    def covers(self, begin: int, counts: tuple[int, ...]) -> bool:
        """Letters from ``begin`` repeat at least as often as ``counts`` asks."""
        own = self.counts[begin : begin + len(counts)]
        return len(own) == len(counts) and all(a >= b for a, b in zip(own, counts, strict=True))

    def add(self, letters: str, start: int, end: int, count: int = 1) -> None:
        """Append folded letters from text[start:end], collapsing repeated letters."""
        for letter in letters:
            if self.text and self.text[-1] == letter:
                self.ends[-1] = end
                self.counts[-1] += count
                continue
            self.text += letter
            self.starts.append(start)
            self.ends.append(end)
            self.counts.append(count)

    def extend(self, other: Token) -> None:
        """Append another token's letters (collapsing at the seam)."""
        for index, letter in enumerate(other.text):
            self.add(letter, other.starts[index], other.ends[index], other.counts[index])


@functools.lru_cache(maxsize=4096)
def fold_char(char: str) -> str | None:
    """The folded letters for one character; ``""`` for a separator, None to ignore it.

    ``char`` may carry combining marks (``"a\u0301"``, see :func:`_clusters`); a mark
    without a letter before it is ignored like an invisible character. Cached: texts
    repeat the same few characters, and the Unicode look-ups are the costly part.
    """
    if unicodedata.category(char[0]) == "Cf" or _is_mark(char[0]):
        return None
    char = unicodedata.normalize("NFC", char)  # "a" + U+0308 -> "ä" -> "ae"
    low = char.lower()
    out = []
    for ch in low:
        if ch in _FOLD:
            out.append(_FOLD[ch])
            continue
        if ch in _LEET:
            out.append(_LEET[ch])
            continue
        if ch in _CONFUSABLE:
            out.append(_CONFUSABLE[ch])
            continue
        for part in unicodedata.normalize("NFKD", ch):
            if unicodedata.category(part) == "Mn":
                continue
            part = part.lower()
            part = _FOLD.get(part) or _LEET.get(part) or _CONFUSABLE.get(part) or part
            if part.isalpha():
                out.append(part)
    return "".join(out)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _clusters(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, characters)``: each character with the combining marks after it.

    Decomposed text (``"a\u0301"``, as macOS and some keyboards produce it) must fold
    like the composed form; a lone mark must not split a word in two.
    """
    clusters: list[tuple[int, int, str]] = []
    for index, char in enumerate(text):
        if clusters and _is_mark(char):
            start, _end, chars = clusters[-1]
            clusters[-1] = (start, index + 1, chars + char)
        else:
            clusters.append((index, index + 1, char))
    return clusters


def tokenize(text: str) -> list[Token]:
    """Folded words of ``text`` with the original position of every letter."""
    tokens: list[Token] = []
    current: Token | None = None
    gap = ""  # separator characters since the last word
    for index, end, char in _clusters(text):
        letters = fold_char(char)
        if letters is None:
            continue
        if not letters:
            if current is not None:
                tokens.append(current)
                current = None
            gap += char
            continue
        if current is None:
            tight = bool(gap) and bool(tokens) and all(c in _TIGHT for c in gap)
            current = Token("", [], [], [], tight_before=tight)
            gap = ""
        current.add(letters, index, end)
    if current is not None:
        tokens.append(current)
    return tokens


def _join(tokens: list[Token]) -> Token:
    merged = Token("", [], [], [])
    for token in tokens:
        merged.extend(token)
    return merged


def merged_views(tokens: list[Token]) -> list[Token]:
    """Extra words formed by joining words split by tight punctuation or spaced letters."""
    views: list[Token] = []
    # Words glued by tight separators: "b.o.m.b", "Schuss-Waffe", "bo_mb".
    group: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and (not group or token.tight_before):
            group.append(token)
            continue
        if len(group) > 1:
            views.append(_join(group))
        group = [token] if token is not None else []
    # Single letters split by whitespace: "b o m b".
    run: list[Token] = []
    for token in [*tokens, None]:
        if token is not None and len(token.text) == 1:
            run.append(token)
            continue
        if len(run) >= _MIN_SPACED_RUN:
            views.append(_join(run))
        run = []
    return views


def fold_term(term: str) -> list[Token]:
    """A list term as folded, collapsed words (with the run length of every letter)."""
    return tokenize(term)


def within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion or substitution."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]
