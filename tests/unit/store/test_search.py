from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.store import index as index_mod
from ai4artsed_desktop.store.record import RunRecord, StageRecord
from ai4artsed_desktop.store.runs import RunStore

from .helpers import inputs, local_noon_utc


def _run(
    store: RunStore,
    idea: str,
    *,
    day: tuple[int, int, int] = (2026, 3, 10),
    stage_text: str = "",
    edited: str | None = None,
    model: str = "",
    **kw: str,
) -> RunRecord:
    record = store.new_run(inputs(idea, **kw))
    record.created_at = local_noon_utc(*day)
    if stage_text or model:
        record.stages.append(StageRecord(Stage.interception, "t", model=model, text=stage_text,
                                         edited_text=edited))  # fmt: skip
    if model:
        record.models["interception"] = model
    record.status = "done"
    store.save(record)
    return record


@pytest.fixture
def mstore(app_paths: AppPaths, search_mode: str) -> Iterator[RunStore]:
    with RunStore(app_paths.runs_dir) as opened:
        yield opened


def _ids(runs: list[RunRecord]) -> list[str]:
    return [r.id for r in runs]


def test_text_matches_substrings_case_insensitively(mstore: RunStore) -> None:
    cat = _run(mstore, "Eine HAUSKATZE auf dem Dach")
    _run(mstore, "Ein Hund")
    assert [s.id for s in mstore.search(text="katze")] == [cat.id]
    assert [s.id for s in mstore.search(text="hauskatze dach")] == [cat.id]
    assert mstore.search(text="katze hund") == []


def test_umlauts_fold_case(mstore: RunStore) -> None:
    run = _run(mstore, "ÜBER den Wolken")
    assert [s.id for s in mstore.search(text="über")] == [run.id]


def test_short_words_use_substring_search(mstore: RunStore) -> None:
    run = _run(mstore, "Zoo im Regen")
    _run(mstore, "Meer")
    assert [s.id for s in mstore.search(text="zo")] == [run.id]
    assert [s.id for s in mstore.search(text="z")] == [run.id]


def test_stage_texts_edits_rules_and_prompt_are_searched(mstore: RunStore) -> None:
    edited = _run(mstore, "a", stage_text="Kreise", edited="Dreiecke")
    rules = _run(mstore, "b", rules="Nur Pastellfarben")
    assert _ids([edited]) == [s.id for s in mstore.search(text="kreise")]
    assert _ids([edited]) == [s.id for s in mstore.search(text="dreiecke")]
    assert _ids([rules]) == [s.id for s in mstore.search(text="pastell")]


@pytest.mark.parametrize("query", ['"', "100%", "a_b", "\\", "NOT", "*", "(", "katze OR"])
def test_special_characters_are_literal(mstore: RunStore, query: str) -> None:
    hit = _run(mstore, f"x {query} y")
    _run(mstore, "nothing here")
    assert hit.id in [s.id for s in mstore.search(text=query)]
    assert mstore.count(text=query) <= 2


def test_literal_percent_does_not_match_everything(mstore: RunStore) -> None:
    _run(mstore, "plain")
    assert mstore.search(text="%") == []
    assert mstore.search(text="_") == []


def test_filters_by_config_output_model_and_favourites(mstore: RunStore) -> None:
    a = _run(mstore, "a", config_id="bauhaus", output_id="sd35", model="llama3.2")
    b = _run(mstore, "b", config_id="haiku", output_id="p5js", model="qwen3:4b")
    mstore.set_favourite(b.id, True)
    assert [s.id for s in mstore.search(config_id="bauhaus")] == [a.id]
    assert [s.id for s in mstore.search(output_id="p5js")] == [b.id]
    assert [s.id for s in mstore.search(model="qwen3:4b")] == [b.id]
    assert [s.id for s in mstore.search(model="llama3.2", config_id="haiku")] == []
    assert [s.id for s in mstore.search(favourites_only=True)] == [b.id]
    assert mstore.count(config_id="bauhaus") == 1
    assert mstore.search(model="llama") == []  # models match exactly


def test_date_range_is_inclusive_local_days(mstore: RunStore) -> None:
    d9 = _run(mstore, "a", day=(2026, 3, 9))
    d10 = _run(mstore, "b", day=(2026, 3, 10))
    d11 = _run(mstore, "c", day=(2026, 3, 11))
    found = mstore.search(date_from=date(2026, 3, 10), date_to=date(2026, 3, 11))
    assert [s.id for s in found] == [d11.id, d10.id]
    assert [s.id for s in mstore.search(date_to=date(2026, 3, 9))] == [d9.id]
    assert mstore.count(date_from=date(2026, 3, 12)) == 0
    exact = mstore.search(date_from=datetime(2026, 3, 10, 11), date_to=datetime(2026, 3, 10, 13))
    assert [s.id for s in exact] == [d10.id]


def test_newest_first_with_limit_and_offset(mstore: RunStore) -> None:
    runs = [_run(mstore, f"idea {n}", day=(2026, 1, n + 1)) for n in range(5)]
    newest_first = [r.id for r in reversed(runs)]
    assert [s.id for s in mstore.search()] == newest_first
    assert [s.id for s in mstore.search(limit=2, offset=1)] == newest_first[1:3]
    assert mstore.search(limit=0) == []
    assert mstore.count() == 5


def test_summary_fields(mstore: RunStore) -> None:
    run = _run(mstore, "Idee", config_id="c1", output_id="o1")
    (summary,) = mstore.search()
    assert (summary.id, summary.idea, summary.config_id, summary.output_id) == (
        run.id, "Idee", "c1", "o1",
    )  # fmt: skip
    assert summary.created_at == run.created_at
    assert summary.thumbnail is None
    assert summary.media_kind == ""
    assert summary.favourite is False


def test_switching_search_mode_rebuilds_the_index(
    app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RunStore(app_paths.runs_dir) as first:
        run = _run(first, "Schmetterling")
    monkeypatch.setattr(index_mod, "fts5_available", lambda: False)
    with RunStore(app_paths.runs_dir) as plain:
        assert plain._index.use_fts is False
        assert [s.id for s in plain.search(text="schmetter")] == [run.id]
