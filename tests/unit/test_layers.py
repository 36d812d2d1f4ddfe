"""Layer rules import-linter cannot express (sub-modules of an external package)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
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


def test_any_new_core_module_that_imports_qt_breaks_lint_imports(tmp_path: Path) -> None:
    """The Qt contracts cover whole packages: a module nobody listed is caught as well."""
    root = PACKAGE.parent
    copy = tmp_path / "ai4artsed_desktop"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    (copy / "pipeline" / "brand_new_stage.py").write_text(
        '"""A new pipeline module."""\n\nfrom PySide6.QtCore import QObject\n\nBase = QObject\n'
    )
    (copy / "brand_new_core.py").write_text('"""A new core module."""\n\nimport qasync\n')
    (copy / "store" / "brand_new_view.py").write_text(
        '"""Store code that reaches into the UI."""\n\nfrom ..ui import i18n\n'
    )
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 1, out
    assert "Only ui and app.py import Qt, qasync or shiboken BROKEN" in out
    assert "ai4artsed_desktop.pipeline.brand_new_stage -> PySide6" in out
    assert "ai4artsed_desktop.brand_new_core -> qasync" in out
    assert "ai4artsed_desktop.store.brand_new_view -> ai4artsed_desktop.ui" in out
    # Nothing else is broken: the real package keeps every contract.
    assert out.count(" -> ") == 3, out
