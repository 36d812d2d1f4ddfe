"""A tiny TOML writer for flat tables of strings, numbers and booleans (sd-scripts configs)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

TomlValue = str | int | float | bool
Tables = Mapping[str, Mapping[str, TomlValue]]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def quote(text: str) -> str:
    """A TOML basic string: quotes, backslashes (Windows paths) and controls escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def value(item: TomlValue) -> str:
    """One value in TOML syntax.

    Raises:
        ValueError: a float that is NaN or infinite, or an unsupported type.
    """
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if not math.isfinite(item):
            raise ValueError(f"TOML value must be finite: {item!r}")
        text = repr(item)
        return text if any(c in text for c in ".eE") else text + ".0"
    if isinstance(item, str):
        return quote(item)
    raise ValueError(f"unsupported TOML value: {item!r}")


def dumps(tables: Tables) -> str:
    """``[table]`` sections with ``key = value`` lines, in the given order.

    Raises:
        ValueError: a table or key name that is not a bare TOML key, or a bad value.
    """
    lines: list[str] = []
    for table, entries in tables.items():
        if not _BARE_KEY.fullmatch(table):
            raise ValueError(f"bad TOML table name: {table!r}")
        if lines:
            lines.append("")
        lines.append(f"[{table}]")
        for key, item in entries.items():
            if not _BARE_KEY.fullmatch(key):
                raise ValueError(f"bad TOML key: {key!r}")
            lines.append(f"{key} = {value(item)}")
    return "\n".join(lines) + "\n"
