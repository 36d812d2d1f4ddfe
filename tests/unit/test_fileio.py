from __future__ import annotations

import json
from pathlib import Path

from ai4artsed_desktop.fileio import atomic_write_json, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": "ü"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "ü"}
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_atomic_write_text(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    atomic_write_text(target, "hallo")
    assert target.read_text(encoding="utf-8") == "hallo"
