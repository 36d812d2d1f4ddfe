from __future__ import annotations

from pathlib import Path

import pytest

from ai4artsed_desktop.paths import RESOURCES_ENV, AppPaths, resources_dir


def test_data_dir_overrides_every_path(tmp_path: Path) -> None:
    paths = AppPaths.from_cli(str(tmp_path / "portable"))
    base = (tmp_path / "portable").resolve()
    for folder in (
        paths.config_dir,
        paths.data_dir,
        paths.cache_dir,
        paths.log_dir,
        paths.settings_file,
        paths.runs_dir,
        paths.state_dir,
        paths.user_content_dir,
        paths.training_dir,
        paths.loras_dir,
        paths.demo_dir,
    ):
        assert folder.is_relative_to(base), folder


def test_default_paths_are_per_user_and_distinct(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    paths = AppPaths.from_cli(None)
    assert paths.config_dir.is_relative_to(tmp_path / "cfg")
    assert paths.data_dir.is_relative_to(tmp_path / "data")
    assert paths.config_dir != paths.data_dir


def test_ensure_creates_folders(tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "x")
    paths.ensure()
    assert paths.config_dir.is_dir()
    assert paths.log_dir.is_dir()


def test_resources_dir_has_configs_and_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert (resources_dir() / "configs").is_dir()
    monkeypatch.setenv(RESOURCES_ENV, str(tmp_path))
    assert resources_dir() == tmp_path
