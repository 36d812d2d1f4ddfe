"""The content loader on random and randomly damaged user files.

It never raises; every user file either yields its record or at least one
``ContentProblem`` that names the file (and, for list files, the entry); a broken user
file never removes built-in content.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.content.loader import KINDS, load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import resources_dir

BUILTIN = resources_dir() / "configs"
WORKFLOWS = resources_dir() / "workflows"
FUZZ = settings(max_examples=80)

FOLDERS = {kind.location: kind.name for kind in KINDS if kind.folder}
LISTS = {kind.location: kind for kind in KINDS if not kind.folder}
BUILTIN_RECORDS = {
    folder: [json.loads(p.read_text("utf-8")) for p in sorted((BUILTIN / folder).glob("*.json"))]
    for folder in FOLDERS
}
BUILTIN_LISTS = {name: json.loads((BUILTIN / name).read_text("utf-8")) for name in LISTS}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10)
    | st.sampled_from(["sd15", "p5js", "bauhaus", "interception", "ollama/x", "", " "]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, record: Any) -> Any:
    """``record`` with one value somewhere inside replaced, deleted or retyped."""
    if not isinstance(record, dict | list) or not record or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    copy: Any = json.loads(json.dumps(record))
    keys = list(copy) if isinstance(copy, dict) else list(range(len(copy)))
    key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["replace", "recurse", "recurse", "delete"]))
    if action == "delete":
        del copy[key]
    elif action == "recurse":
        copy[key] = draw(mutated(copy[key]))
    else:
        copy[key] = draw(json_values)
    return copy


@st.composite
def folder_file(draw: st.DrawFn) -> tuple[str, bytes]:
    folder = draw(st.sampled_from(sorted(FOLDERS)))
    name = draw(st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True))
    how = draw(
        st.sampled_from(["copy", "mutate", "mutate", "mutate", "random", "bytes", "truncate"])
    )
    record = draw(st.sampled_from(BUILTIN_RECORDS[folder]))
    if how == "copy":  # a valid new record (or, keeping the id, an override)
        new_id = draw(st.sampled_from([record["id"], f"user_{name}"]))
        text = json.dumps({**record, "id": new_id})
    elif how == "mutate":
        text = json.dumps(draw(mutated(record)), allow_nan=True)
    elif how == "random":
        text = json.dumps(draw(json_values), allow_nan=True)
    elif how == "truncate":
        full = json.dumps(record)
        text = full[: draw(st.integers(0, len(full) - 1))]
    else:
        return f"{folder}/{name}.json", draw(st.binary(max_size=40))
    return f"{folder}/{name}.json", text.encode("utf-8")


@st.composite
def list_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(LISTS)))
    entries = BUILTIN_LISTS[name]
    how = draw(st.sampled_from(["mutate", "mutate", "random", "bytes"]))
    if how == "bytes":
        return name, draw(st.binary(max_size=40))
    if how == "random":
        value = draw(json_values)
    else:
        value = [
            draw(mutated(entry))
            for entry in draw(st.lists(st.sampled_from(entries), min_size=1, max_size=3))
        ]
    return name, json.dumps(value, allow_nan=True).encode("utf-8")


def _ids(library: ContentLibrary) -> dict[str, set[Any]]:
    return {kind.name: set(getattr(library, kind.name)) for kind in KINDS}


BUILTIN_IDS = _ids(load_content(BUILTIN))


def _check_list_file(library: ContentLibrary, name: str, data: bytes) -> None:
    named = [p for p in library.problems if p.file == name]
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        assert named, name
        return
    if not isinstance(value, list):
        assert [p.field for p in named] == [""], named
        return
    kind = LISTS[name]
    records = getattr(library, kind.name)
    for index, entry in enumerate(value):
        if any(p.field.startswith(f"[{index}]") for p in named):
            continue
        assert isinstance(entry, dict), (name, index, entry)
        assert entry[kind.key_field] in records, (name, index)


@FUZZ
@given(
    folder_files=st.lists(folder_file(), max_size=4, unique_by=lambda f: f[0]),
    list_files=st.lists(list_file(), max_size=2, unique_by=lambda f: f[0]),
)
def test_random_user_files_never_break_the_loader(
    folder_files: list[tuple[str, bytes]], list_files: list[tuple[str, bytes]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        user = Path(tmp)
        for rel, data in [*folder_files, *list_files]:
            (user / rel).parent.mkdir(parents=True, exist_ok=True)
            (user / rel).write_bytes(data)
        library = load_content(BUILTIN, user, workflows_dir=WORKFLOWS)
        written = {rel for rel, _data in [*folder_files, *list_files]}
        for problem in library.problems:
            assert problem.file in written, problem  # built-ins are never blamed
            assert problem.problem.strip().endswith("."), problem
            assert problem.file in str(problem)
        sources = {
            record.source
            for records in (library.interceptions, library.outputs)
            for record in records.values()
        }
        for rel, _data in folder_files:
            accepted = (user / rel) in sources
            # Warnings about an entry that is still used (an unknown key) are not blame.
            blamed = any(p.file == rel and not p.used for p in library.problems)
            assert accepted != blamed, (rel, library.problems)
        for rel, data in list_files:
            _check_list_file(library, rel, data)
    ids = _ids(library)
    for kind, builtin_ids in BUILTIN_IDS.items():
        assert builtin_ids <= ids[kind], kind  # a broken user file never removes built-ins
