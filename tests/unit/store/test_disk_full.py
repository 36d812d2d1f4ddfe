from __future__ import annotations

import errno
import os
from typing import Any

import pytest

from ai4artsed_desktop.errors import ConfigError, InsufficientResources
from ai4artsed_desktop.store.record import RunStatus
from ai4artsed_desktop.store.runs import RunStore

from .helpers import inputs, png_bytes


def _disk_full(*_args: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _armer(call: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    def arm() -> None:
        monkeypatch.setattr(os, call, _disk_full)

    return arm


@pytest.fixture(params=["write", "fsync", "replace"])
def full_disk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each step of a durable write (final saves, media files) fails in turn."""
    return _armer(request.param, monkeypatch)


@pytest.fixture(params=["write", "replace"])
def full_disk_mid_run(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each step of a save in the middle of a run fails in turn (those skip the fsync)."""
    return _armer(request.param, monkeypatch)


@pytest.fixture(params=["fsync", "replace"])
def full_disk_export(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    return _armer(request.param, monkeypatch)


def _leftovers(store: RunStore, run_id: str) -> list[str]:
    return sorted(p.name for p in store.folder(run_id).iterdir())


@pytest.mark.parametrize(
    ("status", "call"),
    [
        ("running", "write"),  # a save in the middle of a run skips the fsync
        ("running", "replace"),
        ("done", "write"),
        ("done", "fsync"),
        ("done", "replace"),
    ],
)
def test_save_on_full_disk_keeps_the_previous_run_json(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, status: RunStatus, call: str
) -> None:
    record = store.new_run(inputs("vorher"))
    path = store.folder(record.id) / "run.json"
    before = path.read_bytes()
    stamp = record.updated_at
    record.prompt = "nachher"
    record.status = status
    _armer(call, monkeypatch)()
    with pytest.raises(InsufficientResources) as caught:
        store.save(record)
    assert "disk is full" in caught.value.user_message
    assert "No space left" in caught.value.detail
    assert path.read_bytes() == before
    assert record.updated_at == stamp
    assert _leftovers(store, record.id) == ["run.json"]  # no temp file left behind


def test_add_media_on_full_disk_changes_nothing(store: RunStore, full_disk: Any) -> None:
    record = store.new_run(inputs())
    before = (store.folder(record.id) / "run.json").read_bytes()
    full_disk()
    with pytest.raises(InsufficientResources):
        store.add_media(record, png_bytes(), filename="a.png", mime="image/png", kind="image")
    assert record.media == []
    assert _leftovers(store, record.id) == ["run.json"]
    assert (store.folder(record.id) / "run.json").read_bytes() == before


def test_new_run_on_full_disk_leaves_no_folder(store: RunStore, full_disk_mid_run: Any) -> None:
    full_disk_mid_run()
    with pytest.raises(InsufficientResources):
        store.new_run(inputs())
    assert [p.name for p in store.runs_dir.iterdir() if not p.name.startswith("index")] == []


def test_other_write_errors_are_config_errors(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = store.new_run(inputs())

    def denied(*_args: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(ConfigError, match="writable"):
        store.save(record)


def test_export_on_full_disk_leaves_no_partial_zip(
    store: RunStore, full_disk_export: Any, tmp_path: Any
) -> None:
    record = store.new_run(inputs())
    dest = tmp_path / "portfolio.zip"
    full_disk_export()
    with pytest.raises(InsufficientResources, match="portfolio"):
        store.export_portfolio([record.id], dest)
    assert list(tmp_path.glob("*.zip*")) == []
