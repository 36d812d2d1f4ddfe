"""Table-driven JSON-to-record conversion: small converters that name the field that failed."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

from .schema import LANGS, Text

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

Converter = Callable[[Any, str], Any]
"""Turns a JSON value found at a dotted path into a typed value, or raises ``FieldError``."""


class FieldError(ValueError):
    """A JSON value that cannot be used.

    Attributes:
        field: Dotted path to the value, e.g. ``llm.temperature`` or ``loras[0].file``
            (empty when the whole file is meant).
        problem: A plain English sentence saying what is wrong.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def child(path: str, key: str | int) -> str:
    """The path of ``key`` below ``path`` (``llm`` + ``top_p`` -> ``llm.top_p``)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not key:
        return path
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """A short plain-English name of a JSON value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def string(*, pattern: str | None = None, nonempty: bool = False, hint: str = "") -> Converter:
    """A JSON string, optionally non-empty and matching ``pattern`` (``hint`` explains it)."""
    compiled = re.compile(pattern) if pattern else None

    def convert(value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise FieldError(path, f"Expected a text in quotes, found {describe(value)}.")
        if nonempty and not value.strip():
            raise FieldError(path, "This text must not be empty.")
        if compiled and not compiled.fullmatch(value):
            raise FieldError(path, f"'{value}' is not allowed here; use {hint or pattern}.")
        return value

    return convert


def text(*, allow_blank: bool = False) -> Converter:
    """A ``{"de": ..., "en": ...}`` object; both must be non-empty unless ``allow_blank``.

    With ``allow_blank`` both languages may be empty together, but not just one of them.
    """

    def convert(value: Any, path: str) -> Text:
        if not isinstance(value, dict):
            raise FieldError(
                path, f"Expected an object with 'de' and 'en', found {describe(value)}."
            )
        found: dict[str, str] = {}
        for lang in LANGS:
            if lang not in value:
                raise FieldError(child(path, lang), "This language is missing.")
            item = value[lang]
            if not isinstance(item, str):
                raise FieldError(child(path, lang), f"Expected a text, found {describe(item)}.")
            found[lang] = item.strip()
        blank = [lang for lang in LANGS if not found[lang]]
        if blank and not (allow_blank and len(blank) == len(LANGS)):
            other = "as well" if allow_blank else "in every language"
            raise FieldError(child(path, blank[0]), f"The text is empty; write it {other}.")
        return Text(de=found["de"], en=found["en"])

    return convert


def number(low: float, high: float) -> Converter:
    """A finite JSON number in ``[low, high]``, returned as ``float``."""

    def convert(value: Any, path: str) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise FieldError(path, f"Expected a number, found {describe(value)}.")
        if not low <= value <= high:
            raise FieldError(path, f"Expected a number from {low:g} to {high:g}, found {value}.")
        return float(value)

    return convert


def integer(low: int, high: int) -> Converter:
    """A whole JSON number in ``[low, high]``."""

    def convert(value: Any, path: str) -> int:
        if not _is_number(value) or not math.isfinite(value) or value != int(value):
            raise FieldError(path, f"Expected a whole number, found {describe(value)}.")
        if not low <= value <= high:
            raise FieldError(path, f"Expected a whole number from {low} to {high}, found {value}.")
        return int(value)

    return convert


def boolean() -> Converter:
    """A JSON ``true`` or ``false``."""

    def convert(value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise FieldError(path, f"Expected true or false, found {describe(value)}.")
        return value

    return convert


def choice(values: tuple[str, ...]) -> Converter:
    """One of a fixed set of strings."""

    def convert(value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in values:
            shown = f"'{value}'" if isinstance(value, str) else describe(value)
            raise FieldError(path, f"Expected one of {', '.join(values)}; found {shown}.")
        return value

    return convert


def enum_value(cls: type[E]) -> Converter:
    """An enum member given by its value (``"image"`` -> ``MediaType.image``)."""
    by_value = {str(member.value): member for member in cls}
    as_choice = choice(tuple(by_value))

    def convert(value: Any, path: str) -> E:
        return by_value[as_choice(value, path)]

    return convert


def scalar(*, allow_bool: bool) -> Converter:
    """A text or a number (and ``true``/``false`` when ``allow_bool``)."""

    def convert(value: Any, path: str) -> str | int | float | bool:
        if isinstance(value, bool):
            if allow_bool:
                return value
        elif isinstance(value, str) or (_is_number(value) and math.isfinite(value)):
            return value  # type: ignore[no-any-return]
        kinds = "a text, a number or true/false" if allow_bool else "a text or a number"
        raise FieldError(path, f"Expected {kinds}, found {describe(value)}.")

    return convert


def nullable(inner: Converter) -> Converter:
    """``null`` (kept as ``None``) or whatever ``inner`` accepts."""

    def convert(value: Any, path: str) -> Any:
        return None if value is None else inner(value, path)

    return convert


def list_of(item: Converter, *, nonempty: bool = False, unique: bool = False) -> Converter:
    """A JSON list whose items ``item`` converts; returned as a tuple."""

    def convert(value: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise FieldError(path, f"Expected a list [...], found {describe(value)}.")
        if nonempty and not value:
            raise FieldError(path, "The list must not be empty.")
        result = tuple(item(entry, child(path, index)) for index, entry in enumerate(value))
        for index, entry in enumerate(result):
            if unique and entry in result[:index]:
                raise FieldError(child(path, index), f"'{entry}' is listed twice.")
        return result

    return convert


def dict_of(value: Converter, *, key: Converter | None = None) -> Converter:
    """A JSON object whose values ``value`` converts (and keys ``key`` checks)."""

    def convert(raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise FieldError(path, f"Expected an object {{...}}, found {describe(raw)}.")
        result: dict[str, Any] = {}
        for name, entry in raw.items():
            where = child(path, name)
            if key is not None:
                key(name, where)
            result[name] = value(entry, where)
        return result

    return convert


def _required(item: dataclasses.Field[Any]) -> bool:
    missing = dataclasses.MISSING
    return item.default is missing and item.default_factory is missing


_UNKNOWN_KEYS: ContextVar[list[str] | None] = ContextVar("unknown_keys", default=None)


@contextlib.contextmanager
def collect_unknown_keys() -> Iterator[list[str]]:
    """Collect the paths of keys that :func:`record` ignored while this block runs.

    Keys starting with ``_`` or ``$`` (comments, ``$schema``) are not reported.
    """
    found: list[str] = []
    token = _UNKNOWN_KEYS.set(found)
    try:
        yield found
    finally:
        _UNKNOWN_KEYS.reset(token)


def record(cls: type[T], converters: Mapping[str, Converter]) -> Callable[[Any, str], T]:
    """A JSON object that becomes the frozen dataclass ``cls``.

    Each key of ``converters`` is a dataclass field; a field without a default in ``cls`` is
    required. Keys the table does not name are ignored, so newer files still load; inside
    :func:`collect_unknown_keys` they are reported (a typo would otherwise go unnoticed).

    Raises:
        TypeError: ``converters`` names a field ``cls`` does not have (a programming error).
    """
    declared = {item.name: item for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(converters) - set(declared)
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    required = {name for name in converters if _required(declared[name])}

    def convert(value: Any, path: str) -> T:
        if not isinstance(value, dict):
            raise FieldError(path, f"Expected an object {{...}}, found {describe(value)}.")
        sink = _UNKNOWN_KEYS.get()
        if sink is not None:
            sink += [
                child(path, str(key))
                for key in value
                if key not in converters and not str(key).startswith(("_", "$"))
            ]
        kwargs: dict[str, Any] = {}
        for name, conv in converters.items():
            if name in value:
                kwargs[name] = conv(value[name], child(path, name))
            elif name in required:
                raise FieldError(child(path, name), "This field is missing.")
        return cls(**kwargs)

    return convert
