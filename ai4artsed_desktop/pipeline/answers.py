"""Turn an LLM's answer into what the next stage needs: plain text, code, music fields.

Models wrap code in Markdown fences, put quotes around a prompt or label the ACE-Step
answer slightly differently than asked. These functions are lenient in what they read
and exact in what they return; they never throw away the model's text silently (when no
structure is found the whole answer is used).
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w.+-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_TAGS = re.compile(r"^\s*\**\s*(?:tags|style|stil)\s*\**\s*:\s*\**\s*(.*)$", re.I)
_LYRICS_LABEL = re.compile(r"^\s*\**\s*(?:lyrics|songtext|text)\s*\**\s*:\s*\**\s*(.*)$", re.I)
_QUOTES = {('"', '"'), ("'", "'"), ("“", "”"), ("„", "“"), ("«", "»"), ("»", "«")}

INSTRUMENTAL = "[instrumental]"


def clean_text(answer: str) -> str:
    """Trim whitespace and one pair of quotes around the whole answer."""
    text = answer.strip()
    if len(text) >= 2 and (text[0], text[-1]) in _QUOTES and text.count(text[0]) <= 2:
        text = text[1:-1].strip()
    return text


def extract_code(answer: str) -> str:
    """The code in ``answer``: the longest fenced block, or the whole answer without fences.

    Models often add a sentence before or after the code; a fenced block is the code
    itself. Without fences the answer is taken as it is (stray fence lines dropped).
    """
    blocks = [m.group(3) for m in _FENCE.finditer(answer)]
    if blocks:
        return max(blocks, key=len).strip("\n").rstrip() + "\n"
    lines = [line for line in answer.strip().splitlines() if not line.strip().startswith("```")]
    return "\n".join(lines).strip() + "\n" if lines else ""


def split_music(answer: str) -> tuple[str, str]:
    """ACE-Step fields from the adaptation answer: ``(tags, lyrics)``.

    Reads ``TAGS: a, b, c`` (also ``Tags:``, ``**Style:**``), then the lyrics after it
    (an optional ``Lyrics:`` label is dropped). Without a tags line the first line is the
    tags and the rest the lyrics; no lyrics means an instrumental piece.
    """
    lines = clean_text(answer).splitlines()
    tags_at = next((i for i, line in enumerate(lines) if _TAGS.match(line)), None)
    if tags_at is None:
        if not lines:
            return "", INSTRUMENTAL
        tags, rest = lines[0].strip(), lines[1:]
    else:
        match = _TAGS.match(lines[tags_at])
        tags = match.group(1).strip() if match else ""
        rest = lines[:tags_at] + lines[tags_at + 1 :]
    body: list[str] = []
    for line in rest:
        label = _LYRICS_LABEL.match(line)
        if label and not body:
            if label.group(1).strip():
                body.append(label.group(1).strip())
            continue
        body.append(line.rstrip())
    lyrics = "\n".join(body).strip()
    return tags.strip().strip(","), lyrics or INSTRUMENTAL
