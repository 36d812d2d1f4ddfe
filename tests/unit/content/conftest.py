"""Fixtures for the content tests: copies of the built-in resources that tests may break."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.paths import resources_dir

RESOURCES = resources_dir()
BUILTIN_CONFIGS = RESOURCES / "configs"
BUILTIN_WORKFLOWS = RESOURCES / "workflows"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")


@pytest.fixture
def configs_copy(tmp_path: Path) -> Path:
    """A writable copy of resources/configs, with resources/workflows next to it."""
    shutil.copytree(BUILTIN_CONFIGS, tmp_path / "res" / "configs")
    shutil.copytree(BUILTIN_WORKFLOWS, tmp_path / "res" / "workflows")
    return tmp_path / "res" / "configs"


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """An empty user content folder."""
    path = tmp_path / "user" / "configs"
    path.mkdir(parents=True)
    return path
