from __future__ import annotations

from collections.abc import Iterator

import pytest

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.store import index as index_mod
from ai4artsed_desktop.store.runs import RunStore


@pytest.fixture(params=["fts5", "plain"])
def search_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the FTS5 index and with the LIKE fallback."""
    if request.param == "plain":
        monkeypatch.setattr(index_mod, "fts5_available", lambda: False)
    elif not index_mod.fts5_available():
        pytest.skip("this Python's SQLite has no FTS5 trigram tokenizer")
    return str(request.param)


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[RunStore]:
    with RunStore(app_paths.runs_dir) as opened:
        yield opened
