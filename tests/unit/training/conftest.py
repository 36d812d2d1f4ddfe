"""Fixtures of the training unit tests."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import VramPreset
from ai4artsed_desktop.paths import resources_dir


@pytest.fixture(scope="session")
def presets() -> dict[int, VramPreset]:
    return dict(load_content(resources_dir() / "configs").presets)
