"""Layer rules import-linter cannot express (sub-modules of an external package)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ai4artsed_desktop"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_viewmodels_import_qtcore_only() -> None:
    files = sorted((PACKAGE / "ui" / "viewmodels").rglob("*.py"))
    assert files
    for path in files:
        qt = {m for m in _imported_modules(path) if m.startswith("PySide6.")}
        bad = {m for m in qt if not m.startswith("PySide6.QtCore")}
        assert not bad, f"{path.name} imports {sorted(bad)}"
