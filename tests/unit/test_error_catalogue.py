"""Every error the core can raise has its text in German and English.

The core raises ``AppError`` (and subclasses) with an English message for the log and the
CLI, plus a catalogue key and parameters (``key=``, ``params=``) that the window shows in
the UI language. This test reads the core's source: every construction of an error class
must name a key that both catalogues hold, and fill each ``{placeholder}`` of both texts.
A new error without a key, or a key without a German or English text, fails here.

Modules the window never shows (command line, simulators) are left out. No module raises
an error without a key any more: :data:`ENGLISH_ONLY` (how many each file may have, and the
test also fails when a file has fewer than listed) is empty and stays so.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import ai4artsed_desktop
from ai4artsed_desktop.ui.i18n import load_catalogue

PACKAGE = Path(ai4artsed_desktop.__file__).parent
BASE_ERRORS = {"AppError"}
#: Not shown by the window: the command line (English by design; also every
#: ``<name>_cmd.py``) and the simulators.
NOT_IN_THE_WINDOW = (
    "ui/",
    "app.py",
    "cli.py",
    "headless.py",
    "profile_cmd.py",
    "doctor.py",
    "sim_entry.py",
    "simulators/",
)
#: Errors still raised without a catalogue key (English in the German UI too), per file:
#: none are left. Give a new error a key instead of listing it here.
ENGLISH_ONLY: dict[str, int] = {}
#: Error classes the window never shows as they are: it says its own catalogue text for
#: each (the class, where, why). A new class here needs that same care.
SHOWN_BY_THE_WINDOW = {
    "LockError": "ui/viewmodels/lock_vm.py turns every LockError into a lock.* text",
    "LockThrottled": "ui/viewmodels/lock_vm.py says lock.wait with the seconds",
    "BundleUntrusted": "ui/viewmodels/bundle_vm.py asks to compare the fingerprint "
    "(bundle.trust_question) instead",
}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Raise:
    """One construction of an error class in the core's source."""

    where: str
    cls: str  # the error class's name
    keys: tuple[str, ...]  # () without key=; the literal key(s) otherwise
    params: frozenset[str] | None  # the literal params' names; None when not a literal
    passes_key_on: bool  # key=<expression> (re-raising another error's key)
    prefix: str = ""  # key=f"error.x_{...}": the fixed start of the built key


def _core_files() -> list[Path]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(NOT_IN_THE_WINDOW) and not relative.endswith("_cmd.py"):
            files.append(path)
    return files


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


@functools.cache
def error_classes() -> frozenset[str]:
    """``AppError`` and every class of the package derived from it (by name)."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")]
    classes = [n for t in trees for n in ast.walk(t) if isinstance(n, ast.ClassDef)]
    names = set(BASE_ERRORS)
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name not in names and any(_base_name(b) in names for b in cls.bases):
                names.add(cls.name)
                grew = True
    return frozenset(names)


def _literal_keys(node: ast.expr) -> tuple[str, ...] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_keys(node.body), _literal_keys(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def _param_names(node: ast.expr | None) -> frozenset[str] | None:
    if node is None:
        return frozenset()
    if isinstance(node, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys
    ):
        names = {str(k.value) for k in node.keys if isinstance(k, ast.Constant)}
        # <name>_de with <name>_en: the window fills {<name>} in its language.
        names |= {n[:-3] for n in names if n.endswith("_de") and f"{n[:-3]}_en" in names}
        return frozenset(names)
    return None


def raises(path: Path, classes: frozenset[str]) -> Iterator[Raise]:
    """Every call of an error class in ``path`` (``raise X(...)``, ``return X(...)``, ...)."""
    relative = path.relative_to(PACKAGE).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _base_name(node.func) not in classes:
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        where = f"{relative}:{node.lineno}"
        key = keywords.get("key")
        if key is None:
            yield Raise(where, _base_name(node.func), (), None, passes_key_on=False)
            continue
        literal = _literal_keys(key)
        params = _param_names(keywords.get("params"))
        yield Raise(
            where,
            _base_name(node.func),
            literal or (),
            params,
            passes_key_on=literal is None,
            prefix=_fstring_prefix(key),
        )


def _fstring_prefix(node: ast.expr) -> str:
    """The fixed start of ``f"error.x_{...}"`` (also inside ``a if c else b``), else ""."""
    if isinstance(node, ast.IfExp):
        return _fstring_prefix(node.body) or _fstring_prefix(node.orelse)
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return ""


@functools.cache
def all_raises() -> tuple[Raise, ...]:
    classes = error_classes()
    return tuple(r for path in _core_files() for r in raises(path, classes))


def test_the_source_walk_finds_the_core_errors() -> None:
    found = all_raises()
    assert "BackendProtocolError" in error_classes()
    assert "LockError" in error_classes()  # derived twice removed, in another module
    assert len(found) > 150
    assert any(r.keys == ("error.backend_protocol",) for r in found)


def test_every_error_key_has_a_german_and_an_english_text() -> None:
    catalogues = {lang: load_catalogue(lang) for lang in ("de", "en")}
    problems = []
    for found in all_raises():
        for key in found.keys:
            for lang, catalogue in catalogues.items():
                text = catalogue.get(key)
                if not text:
                    problems.append(f"{found.where}: {key!r} has no {lang} text")
                    continue
                if found.params is None:
                    continue  # params built at run time: checked where they are tested
                missing = set(PLACEHOLDER.findall(text)) - found.params
                if missing:
                    problems.append(f"{found.where}: {key!r} ({lang}) needs {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_keys_built_at_run_time_have_texts_under_their_start() -> None:
    """``key=f"error.provider_{reason}"``: some text of both languages starts that way."""
    built = [r for r in all_raises() if r.prefix]
    assert any(r.prefix == "error.provider_" for r in built)  # the walk reads f-strings
    for language in ("de", "en"):
        catalogue = load_catalogue(language)
        missing = [r.where for r in built if not any(k.startswith(r.prefix) for k in catalogue)]
        assert missing == [], language


def test_no_new_error_without_a_catalogue_key() -> None:
    unkeyed: dict[str, list[str]] = {}
    for found in all_raises():
        if not found.keys and not found.passes_key_on and found.cls not in SHOWN_BY_THE_WINDOW:
            unkeyed.setdefault(found.where.rsplit(":", 1)[0], []).append(found.where)
    problems = []
    for file in sorted(set(unkeyed) | set(ENGLISH_ONLY)):
        have, allowed = len(unkeyed.get(file, [])), ENGLISH_ONLY.get(file, 0)
        if have > allowed:
            problems.append(
                f"{file}: {have} errors without key= (allowed {allowed}): {unkeyed[file]}"
            )
        elif have < allowed:
            problems.append(
                f"{file}: only {have} errors without key=; lower ENGLISH_ONLY to {have}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["de", "en"])
def test_error_texts_are_not_left_in_the_other_language(language: str) -> None:
    """A German error text is not the English one copied (and the other way round)."""
    mine, theirs = load_catalogue(language), load_catalogue("en" if language == "de" else "de")
    same = [
        key
        for key in mine
        if key.startswith(("error.", "training.error.")) and mine[key] == theirs.get(key)
    ]
    assert same == []


def test_each_program_has_its_not_found_text_with_install_advice() -> None:
    """process_errors picks the key by program name (not a literal the walk can read)."""
    from ai4artsed_desktop.backends.launchers import INSTALL_HINTS
    from ai4artsed_desktop.backends.process_errors import NOT_FOUND_KEYS

    assert set(NOT_FOUND_KEYS) == set(INSTALL_HINTS)
    for language in ("de", "en"):
        catalogue = load_catalogue(language)
        for key in NOT_FOUND_KEYS.values():
            text = catalogue[key]
            assert PLACEHOLDER.findall(text) == ["missing"], key
            assert "→" in text, f"{key} ({language}) names where to enter the path"


def test_classes_the_window_words_itself_are_handled_there() -> None:
    """Each class in SHOWN_BY_THE_WINDOW is caught by the module named for it."""
    for cls, why in SHOWN_BY_THE_WINDOW.items():
        module = PACKAGE / why.split(" ", 1)[0]
        assert cls in module.read_text(encoding="utf-8"), why
