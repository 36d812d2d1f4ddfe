"""Pattern scan of generated p5.js / Tone.js code before it reaches the sandbox.

The sandbox blocks network and file access anyway (product.md §6); this scan explains
to the student *why* a piece of code will not run, and keeps code that tries to reach
out, store data, run strings as code or rewrite the page out of the classroom. Comments
are ignored (``// no fetch here`` is fine); strings are scanned, because URLs live in
strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_CATEGORIES = ("network", "storage", "eval", "dom")


@dataclass(frozen=True)
class CodeFinding:
    """One blocked pattern: its category, a short name, and where it is (1-based)."""

    category: str
    name: str
    line: int
    column: int
    snippet: str


_NOT_PROP = r"(?<![\w$.])"  # not a property of something else (obj.fetch is not fetch)
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    # network
    ("network", "fetch", _NOT_PROP + r"(?:window\.|self\.|globalThis\.)?fetch\s*\("),
    ("network", "XMLHttpRequest", r"\bXMLHttpRequest\b"),
    ("network", "WebSocket", r"\bWebSocket\b"),
    ("network", "EventSource", r"\bEventSource\b"),
    ("network", "import()", _NOT_PROP + r"import\s*\("),
    ("network", "import", r"^\s*import\s+[\w{*'\"]"),
    ("network", "importScripts", r"\bimportScripts\s*\("),
    ("network", "sendBeacon", r"\bnavigator\s*\.\s*sendBeacon\b"),
    ("network", "Worker", r"\bnew\s+(?:Shared)?Worker\s*\("),
    ("network", "RTCPeerConnection", r"\bRTCPeerConnection\b"),
    ("network", "URL", r"\b(?:https?|wss?|ftp)://"),
    ("network", "URL", r"[\"'`]//[\w-]+(?:\.[\w-]+)+"),
    ("network", "httpGet", r"\bhttp(?:Get|Post|Do)\s*\("),
    # storage
    ("storage", "localStorage", r"\blocalStorage\b"),
    ("storage", "sessionStorage", r"\bsessionStorage\b"),
    ("storage", "indexedDB", r"\bindexedDB\b"),
    ("storage", "document.cookie", r"\bdocument\s*\.\s*cookie\b"),
    ("storage", "storeItem", _NOT_PROP + r"(?:storeItem|clearStorage)\s*\("),
    # running strings as code
    ("eval", "eval", _NOT_PROP + r"eval\s*\("),
    ("eval", "new Function", r"\bnew\s+Function\s*\("),
    ("eval", "Function()", _NOT_PROP + r"Function\s*\(\s*[\"'`]"),
    ("eval", "setTimeout with a string", r"\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"),
    # changing the page or leaving it
    ("dom", "innerHTML", r"\.\s*(?:inner|outer)HTML\b"),
    ("dom", "document.write", r"\bdocument\s*\.\s*write(?:ln)?\s*\("),
    ("dom", "insertAdjacentHTML", r"\binsertAdjacentHTML\b"),
    ("dom", "script element", r"\bcreateElement\s*\(\s*[\"'`]\s*script"),
    ("dom", "window.open", r"\bwindow\s*\.\s*open\s*\("),
    (
        "dom",
        "location",
        _NOT_PROP + r"(?:(?:window|document|self|top|parent)\s*\.\s*)?location"
        r"(?:\s*\.\s*href)?\s*=(?!=)",
    ),
    ("dom", "location", r"\blocation\s*\.\s*(?:assign|replace|reload)\s*\("),
    ("dom", "parent window", r"\bwindow\s*\.\s*(?:parent|top|opener|frameElement)\b"),
    (
        "dom",
        "parent window",
        _NOT_PROP + r"(?:parent|top|opener)\s*\.\s*(?:document|location|window|postMessage)\b",
    ),
)
_COMPILED = tuple((cat, name, re.compile(rx)) for cat, name, rx in _PATTERNS)


def strip_comments(code: str) -> str:
    """``code`` with ``//`` and ``/* */`` comments blanked out (lines and columns kept).

    A small scanner that knows string literals ('...', "...", `...`), so ``"http://x"``
    is not taken for a comment. Regular-expression literals are not recognised.
    """
    out: list[str] = []
    i, size = 0, len(code)
    quote = ""
    while i < size:
        char = code[i]
        pair = code[i : i + 2]
        if quote:
            out.append(char)
            if char == "\\" and i + 1 < size:
                out.append(code[i + 1])
                i += 1
            elif char == quote or (char == "\n" and quote != "`"):
                quote = ""
        elif pair == "//":
            end = code.find("\n", i)
            end = size if end < 0 else end
            out.append(" " * (end - i))
            i = end
            continue
        elif pair == "/*":
            end = code.find("*/", i + 2)
            end = size if end < 0 else end + 2
            out.append("".join(c if c == "\n" else " " for c in code[i:end]))
            i = end
            continue
        else:
            if char in "'\"`":
                quote = char
            out.append(char)
        i += 1
    return "".join(out)


def scan_code(code: str) -> list[CodeFinding]:
    """Every blocked pattern in ``code``, in line order (comments ignored)."""
    findings: list[CodeFinding] = []
    original = code.splitlines()
    for number, line in enumerate(strip_comments(code).splitlines(), start=1):
        for category, name, pattern in _COMPILED:
            found = pattern.search(line)
            if found is None:
                continue
            source = original[number - 1] if number <= len(original) else line
            findings.append(
                CodeFinding(category, name, number, found.start() + 1, source.strip()[:120])
            )
    return _dedupe(findings)


def _dedupe(findings: list[CodeFinding]) -> list[CodeFinding]:
    seen: set[tuple[str, str, int]] = set()
    out = []
    for finding in findings:
        key = (finding.category, finding.name, finding.line)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out
