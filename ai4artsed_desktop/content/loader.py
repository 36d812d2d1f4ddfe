"""Load built-in and user content; skip broken files with a problem that names file and field.

Layout of a content folder (built-in ``resources/configs`` and the user's config folder alike)::

    interception/<id>.json   one interception config per file
    outputs/<id>.json        one output config per file
    categories.json, providers.json, roles.json, vram_presets.json   lists of records

A user record whose id equals a built-in one replaces it; new ids extend the library.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import specs
from .fields import FieldError, child, collect_unknown_keys
from .schema import ContentLibrary, ContentProblem, InterceptionConfig, OutputConfig, Route
from .workflows import check_output_workflow, load_workflow

__all__ = ["load_content", "load_workflow"]

log = logging.getLogger(__name__)

Records = dict[Any, Any]
#: The problem text of a key no record knows (the record is used; the key is ignored).
UNKNOWN_KEY = "Unknown key, ignored (is it misspelt?). The rest of the entry is used."


@dataclass(frozen=True)
class _Context:
    """What later checks may look at: the records accepted so far, by kind."""

    accepted: dict[str, Records]
    workflows_dir: Path


@dataclass(frozen=True)
class _Ref:
    """A reference from a record to ids of an earlier kind."""

    target: str  # kind name, e.g. "outputs"
    what: str  # plain name for messages, e.g. "output"
    ids: Callable[[Any], list[tuple[str, str]]]  # record -> [(field, referenced id)]


@dataclass(frozen=True)
class _Kind:
    """One kind of record, where it lives and how it is checked."""

    name: str
    location: str  # folder name or list-file name
    folder: bool
    convert: Callable[[Any, str], Any]
    key_field: str = "id"
    refs: tuple[_Ref, ...] = ()
    check: Callable[[Any, _Context], None] | None = None


@dataclass(frozen=True)
class _Entry:
    """One raw record found in a file, before conversion."""

    rel: str  # file name relative to its content folder, e.g. "interception/dada.json"
    prefix: str  # field prefix inside the file: "" for one-record files, "[3]" in lists
    raw: Any
    path: Path


def _one(field: str, value: str) -> list[tuple[str, str]]:
    return [(field, value)]


def _each(field: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(child(field, index), value) for index, value in enumerate(values)]


def _check_output(output: OutputConfig, context: _Context) -> None:
    if output.route is Route.code and not output.framework:
        raise FieldError("framework", "A code output needs a framework (p5 or tone).")
    if output.video is not None and "frames" not in output.mapping:
        raise FieldError("mapping", "A video output needs a 'frames' mapping for its length.")
    if output.video is not None and "fps" not in output.defaults:
        raise FieldError("defaults", "A video output needs a default frame rate ('fps').")
    check_output_workflow(output, context.workflows_dir)


def _check_interception(config: InterceptionConfig, context: _Context) -> None:
    if not config.supports(config.default_output):
        raise FieldError("default_output", "The default output must be one of 'outputs'.")


def _provider_refs(roles: dict[str, str]) -> list[tuple[str, str]]:
    return [(child("roles", role), ref.split("/", 1)[0]) for role, ref in roles.items()]


KINDS: tuple[_Kind, ...] = (
    _Kind("categories", "categories.json", folder=False, convert=specs.CATEGORY),
    _Kind("providers", "providers.json", folder=False, convert=specs.PROVIDER),
    _Kind("roles", "roles.json", folder=False, convert=specs.ROLE),
    _Kind(
        "outputs",
        "outputs",
        folder=True,
        convert=specs.OUTPUT,
        refs=(_Ref("roles", "model role", lambda o: _one("adaptation_role", o.adaptation_role)),),
        check=_check_output,
    ),
    _Kind(
        "interceptions",
        "interception",
        folder=True,
        convert=specs.INTERCEPTION,
        refs=(
            _Ref("categories", "category", lambda c: _one("category", c.category)),
            _Ref("outputs", "output", lambda c: _each("outputs", c.outputs)),
            _Ref("outputs", "output", lambda c: _one("default_output", c.default_output)),
        ),
        check=_check_interception,
    ),
    _Kind(
        "presets",
        "vram_presets.json",
        folder=False,
        convert=specs.PRESET,
        key_field="tier_gb",
        refs=(
            _Ref("roles", "model role", lambda p: [(child("roles", r), r) for r in p.roles]),
            _Ref("providers", "provider", lambda p: _provider_refs(p.roles)),
            _Ref("outputs", "output", lambda p: _each("outputs", p.outputs)),
        ),
    ),
)


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldError("", f"The file cannot be read ({exc}).") from exc
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FieldError(
            "", f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None


def _folder_entries(kind: _Kind, base: Path) -> Iterator[_Entry | ContentProblem]:
    folder = base / kind.location
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue  # editor and atomic-write temp files
        rel = f"{kind.location}/{path.name}"
        try:
            raw = _read_json(path)
        except FieldError as exc:
            yield ContentProblem(rel, exc.field, exc.problem)
            continue
        if not isinstance(raw, dict):
            yield ContentProblem(rel, "", "The file must contain one JSON object {...}.")
            continue
        yield _Entry(rel, "", raw, path)


def _list_entries(kind: _Kind, base: Path, builtin: bool) -> Iterator[_Entry | ContentProblem]:
    path = base / kind.location
    if not path.exists():
        if builtin:
            yield ContentProblem(kind.location, "", "The built-in file is missing.")
        return
    try:
        raw = _read_json(path)
    except FieldError as exc:
        yield ContentProblem(kind.location, exc.field, exc.problem)
        return
    if not isinstance(raw, list):
        yield ContentProblem(kind.location, "", "The file must contain a JSON list [...].")
        return
    for index, item in enumerate(raw):
        yield _Entry(kind.location, f"[{index}]", item, path)


def _check_refs(kind: _Kind, record: Any, context: _Context) -> None:
    for ref in kind.refs:
        known = context.accepted[ref.target]
        for field, ident in ref.ids(record):
            if ident not in known:
                raise FieldError(field, f"There is no {ref.what} '{ident}'.")


def _accept(kind: _Kind, entry: _Entry, builtin: bool, context: _Context) -> Any:
    """The record of ``entry``, converted and checked.

    Raises:
        FieldError: with the field path relative to the record.
    """
    record = kind.convert(entry.raw, "")
    if kind.folder:
        record = dataclasses.replace(record, source=entry.path, builtin=builtin)
    _check_refs(kind, record, context)
    if kind.check is not None:
        kind.check(record, context)
    return record


def _load_source(
    kind: _Kind, base: Path, builtin: bool, context: _Context, problems: list[ContentProblem]
) -> Records:
    """Every usable record of ``kind`` in one content folder, keyed by id."""
    found: Records = {}
    first_file: dict[Any, str] = {}
    entries = _folder_entries(kind, base) if kind.folder else _list_entries(kind, base, builtin)
    for entry in entries:
        if isinstance(entry, ContentProblem):
            problems.append(entry)
            continue
        try:
            with collect_unknown_keys() as unknown:
                record = _accept(kind, entry, builtin, context)
        except FieldError as exc:
            problems.append(ContentProblem(entry.rel, child(entry.prefix, exc.field), exc.problem))
            continue
        problems += [
            ContentProblem(entry.rel, child(entry.prefix, key), UNKNOWN_KEY, used=True)
            for key in unknown
        ]
        key = getattr(record, kind.key_field)
        if key in first_file:
            text = f"The {kind.key_field} '{key}' is already used in {first_file[key]}."
            problems.append(ContentProblem(entry.rel, child(entry.prefix, kind.key_field), text))
            continue
        first_file[key] = entry.rel if kind.folder else f"entry {entry.prefix} of {entry.rel}"
        found[key] = record
    return found


def load_content(
    builtin_dir: Path, user_dir: Path | None = None, *, workflows_dir: Path | None = None
) -> ContentLibrary:
    """Load the built-in content and the user's additions and overrides.

    Never raises for content problems: a broken file or list entry is skipped and reported in
    ``ContentLibrary.problems``; everything else loads.

    Args:
        builtin_dir: The built-in content folder (``resources/configs``).
        user_dir: The user's content folder; may be ``None`` or missing.
        workflows_dir: ComfyUI templates; defaults to ``builtin_dir.parent / "workflows"``.

    Returns:
        The library with every usable record.
    """
    context = _Context(accepted={}, workflows_dir=workflows_dir or builtin_dir.parent / "workflows")
    sources = [(builtin_dir, True)]
    if user_dir is not None and user_dir.is_dir():
        sources.append((user_dir, False))
    problems: list[ContentProblem] = []
    for kind in KINDS:
        merged: Records = {}
        for base, builtin in sources:
            merged.update(_load_source(kind, base, builtin, context, problems))
        context.accepted[kind.name] = merged
    for problem in problems:
        log.debug("Content problem: %s", problem)
    accepted = context.accepted
    log.info(
        "Content: %d interception configs, %d outputs, %d skipped",
        len(accepted["interceptions"]),
        len(accepted["outputs"]),
        len(problems),
    )
    return ContentLibrary(
        interceptions=accepted["interceptions"],
        outputs=accepted["outputs"],
        categories=accepted["categories"],
        providers=accepted["providers"],
        roles=accepted["roles"],
        presets=accepted["presets"],
        problems=tuple(problems),
    )
