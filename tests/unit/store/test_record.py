from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.store.record import (
    RecordError,
    RunRecord,
    StageRecord,
    is_run_id,
    new_run_id,
    parse_timestamp,
    run_id_time,
    utc_now,
)

from .helpers import full_record, inputs


def test_full_record_round_trips_through_json_text() -> None:
    record = full_record()
    text = json.dumps(record.to_json())
    assert RunRecord.from_json(json.loads(text)) == record


def test_json_stores_enums_by_name_and_a_schema_version() -> None:
    data = full_record().to_json()
    assert data["schema_version"] == 1
    assert data["stages"][0]["stage"] == "interception"
    assert data["safety"][1] == {
        "stage": "output_safety",
        "check": "llm",
        "result": "unavailable",
        "reason": "timeout",
        "detail": "30 s",
    }


def test_unknown_keys_are_ignored_at_every_level() -> None:
    data = full_record().to_json()
    data["from_the_future"] = {"x": 1}
    data["inputs"]["mood"] = "happy"
    data["stages"][0]["tokens"] = 512
    data["media"][0]["width"] = 1024
    data["loras_applied"][0]["hash"] = "abc"
    assert RunRecord.from_json(data) == full_record()


def test_missing_optional_keys_get_defaults() -> None:
    record = RunRecord.from_json({"id": "20260101-000000-000000", "created_at": "2026-01-01"})
    assert record.status == "failed"
    assert record.updated_at == "2026-01-01"
    assert record.inputs.idea == ""
    assert record.stages == []
    assert record.media == []
    assert record.error is None
    assert record.seed is None
    assert record.favourite is False


def _broken(key: str, value: Any) -> dict[str, Any]:
    data = full_record().to_json()
    data[key] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        [],
        "run",
        _broken("id", "../../etc"),
        _broken("id", 5),
        _broken("created_at", "yesterday"),
        _broken("status", "exploded"),
        _broken("seed", "42"),
        _broken("seed", True),
        _broken("favourite", "yes"),
        _broken("stages", {"a": 1}),
        _broken("stages", [{"stage": "dreaming", "started_at": ""}]),
        _broken("timings", {"a": "fast"}),
        _broken("models", {"gen": 3}),
        _broken("media", [{"path": "a.png", "kind": "hologram"}]),
        _broken("inputs", "idea"),
        _broken("error", "boom"),
    ],
)
def test_wrong_shapes_raise_record_error(data: Any) -> None:
    with pytest.raises(RecordError):
        RunRecord.from_json(data)


def test_record_error_is_a_value_error() -> None:
    assert issubclass(RecordError, ValueError)


def test_run_ids_are_sortable_by_time_and_safe() -> None:
    early = new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = new_run_id(datetime(2026, 11, 24, 13, 45, 12, tzinfo=UTC))
    assert early.startswith("20260102-030405-")
    assert early < late
    assert is_run_id(late)
    assert not is_run_id("../20261124-134512-ab12cd")
    assert not is_run_id("20261124-134512-ab12cd\n")


def test_timestamps_are_utc_iso_and_parse_back() -> None:
    stamp = utc_now()
    assert stamp.endswith("+00:00")
    assert parse_timestamp(stamp).tzinfo is not None
    assert parse_timestamp("2026-01-01T00:00:00").tzinfo is UTC


def test_final_text_prefers_the_edit() -> None:
    stage = StageRecord(Stage.translation, "t", text="Katze")
    assert stage.final_text == "Katze"
    assert StageRecord(Stage.translation, "t", text="Katze", edited_text="").final_text == ""


def test_created_is_an_aware_datetime() -> None:
    record = RunRecord("20260101-000000-000000", "2026-01-01T10:00:00+00:00", "", "done", inputs())
    assert record.created == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_run_id_time_reads_the_creation_second() -> None:
    assert run_id_time("20261124-134512-ab12cd") == datetime(2026, 11, 24, 13, 45, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a run id"):
        run_id_time("2026-11-24")
