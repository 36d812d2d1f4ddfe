"""The lab protocol's frames and validation: refuse everything that is not exactly right."""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.content.schema import ContentProblem
from ai4artsed_desktop.lab import protocol
from ai4artsed_desktop.lab.protocol import (
    _OPTIONAL,
    _SCHEMAS,
    ACTIONS,
    MAX_FRAME,
    MAX_PROBLEMS,
    FrameTooLarge,
    ProtocolError,
    encode,
    error_fields,
    make,
    problems_from,
    read_message,
    validate,
)
from ai4artsed_desktop.ui.i18n import load_catalogue

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


def _command(action: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "type": "command", "id": "a", "ts": 1.0, "action": action, "args": args}


def test_every_action_with_its_arguments_is_accepted() -> None:
    samples: dict[str, dict[str, Any]] = {
        "status": {},
        "apply_profile": {"profile": {"name": "x"}},
        "prepare_lesson": {},
        "set_paused": {"paused": True, "message": "Augen nach vorn"},
        "blocked_attempts": {"limit": 10},
        "export_portfolio": {"max_bytes": 1000},
        "wipe": {},
    }
    assert set(samples) == set(ACTIONS)
    for action, args in samples.items():
        assert validate(_command(action, args))["action"] == action


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ([], "JSON object"),
        ({"type": "ping"}, "version"),
        ({"v": 2, "type": "ping"}, "version"),
        ({"v": True, "type": "ping"}, "version"),
        ({"v": 1, "type": "exec"}, "unknown message type"),
        ({"v": 1, "type": "ping", "extra": 1}, "unknown field"),
        ({"v": 1, "type": "auth", "seat_id": "a", "nonce": "b"}, "missing field"),
        ({"v": 1, "type": "auth", "seat_id": 1, "nonce": "b", "mac": "c"}, "must be str"),
        (_command("read_file", {}), "unknown action"),
        (_command("wipe", {"force": True}), "unknown field"),
        (_command("blocked_attempts", {"limit": True}), "must be int"),
        (_command("blocked_attempts", {"limit": 0}), "between"),
        (_command("blocked_attempts", {"limit": 501}), "between"),
        (_command("set_paused", {"paused": 1, "message": ""}), "must be bool"),
        (_command("set_paused", {"paused": True, "message": "x" * 501}), "longer"),
        ({**_command("wipe", {}), "ts": "now"}, "must be num"),
    ],
)
def test_wrong_messages_are_refused(message: object, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        validate(message)


def test_a_type_is_refused_where_it_is_not_expected() -> None:
    with pytest.raises(ProtocolError, match="not expected"):
        validate(make("ping"), allowed=frozenset({"auth"}))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_is_either_valid_or_a_protocol_error(value: object) -> None:
    """Only ProtocolError escapes; what passes is a message of a known type."""
    try:
        result = validate(value)
    except ProtocolError:
        return
    assert result["v"] == 1
    fields = set(result) - {"v", "type"}
    schema = set(_SCHEMAS[result["type"]])
    assert schema <= fields <= schema | set(_OPTIONAL.get(result["type"], {}))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["v", "type", "id", "ts", "action", "args"]), json_values))
def test_command_shaped_json_is_either_valid_or_a_protocol_error(value: dict[str, Any]) -> None:
    """Only ProtocolError escapes (no KeyError, TypeError); what passes names a known action."""
    try:
        result = validate({"v": 1, "type": "command", **value})
    except ProtocolError:
        return
    assert result["action"] in ACTIONS
    assert set(result["args"]) == set(ACTIONS[result["action"]])


async def _read(data: bytes) -> dict[str, Any]:
    reader = asyncio.StreamReader(limit=MAX_FRAME + 64)
    reader.feed_data(data)
    reader.feed_eof()
    return await read_message(reader)


@pytest.mark.asyncio
async def test_a_frame_round_trips() -> None:
    message = make("progress", id="x", fraction=0.5, message="Modelle laden")
    assert await _read(encode(message)) == message


@pytest.mark.asyncio
async def test_an_http_request_reads_as_an_oversized_frame() -> None:
    with pytest.raises(FrameTooLarge):
        await _read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [b"\xff\xfe", b"{", b'{"v": NaN}', b'{"v": Infinity}'])
async def test_bytes_that_are_not_strict_json_are_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        await _read(len(payload).to_bytes(4, "big") + payload)


@pytest.mark.asyncio
async def test_a_truncated_frame_is_a_closed_connection() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        await _read(encode(make("ping"))[:-1])


def test_encode_refuses_what_json_cannot_carry_and_oversized_messages() -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode({"v": 1, "x": math.nan})
    with pytest.raises(ProtocolError, match="exceeds"):
        encode({"v": 1, "x": "a" * MAX_FRAME})
    assert json.loads(encode(make("ping"))[4:]) == {"v": 1, "type": "ping"}


def _result(**extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "result",
        "id": "c",
        "ok": False,
        "value": None,
        "error": "No.",
        **extra,
    }


def test_a_result_as_earlier_versions_sent_it_stays_valid() -> None:
    assert validate(_result()) == _result()


def test_a_result_may_name_its_errors_key_params_and_problems() -> None:
    problem = ContentProblem(
        "console",
        "safety_level",
        "'x' is not one of kids, youth.",
        key="profile.problem.not_one_of",
        params={"value": "x", "choices": "kids, youth"},
    )
    fields = error_fields("error.lab.profile_refused", {}, [problem])
    message = validate(_result(**fields))
    assert message["error_key"] == "error.lab.profile_refused"
    (back,) = problems_from(message)
    assert (back.file, back.field, back.problem, back.key) == (
        problem.file,
        problem.field,
        problem.problem,
        problem.key,
    )
    assert dict(back.params) == dict(problem.params)
    assert problems_from(_result()) == ()


_PROBLEM = {"file": "f", "field": "", "text": "t", "key": "", "params": {}}


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"error_key": 5}, "must be str"),
        ({"error_key": "Error Key"}, "not a catalogue key"),
        ({"error_key": "e" * 101}, "not a catalogue key"),
        ({"error_params": []}, "must be obj"),
        ({"error_params": {"reason": 3}}, "short text"),
        ({"error_params": {"reason": "x" * 501}}, "short text"),
        ({"error_params": {"Bad-Name": "x"}}, "lower-case"),
        ({"error_params": {f"p{n}": "x" for n in range(21)}}, "more than 20"),
        ({"error_problems": {}}, "must be list"),
        ({"error_problems": ["text"]}, "must be obj"),
        ({"error_problems": [{**_PROBLEM, "path": "/etc"}]}, "unknown field"),
        ({"error_problems": [{"file": "f"}]}, "missing field"),
        ({"error_problems": [{**_PROBLEM, "key": "NO"}]}, "not a catalogue key"),
        ({"error_problems": [_PROBLEM] * (MAX_PROBLEMS + 1)}, "more than"),
        ({"error_hint": "x"}, "unknown field"),
    ],
)
def test_a_results_error_fields_are_checked(extra: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        validate(_result(**extra))


def test_error_fields_leave_out_what_the_protocol_would_refuse() -> None:
    """A seat can always answer: a bad key or parameter falls back to the English text."""
    assert error_fields("Not a key", {}) == {}
    assert error_fields("error.x", {"Bad Name": 1}) == {}
    assert error_fields("error.x", {"n": 3}) == {"error_key": "error.x", "error_params": {"n": "3"}}
    long = error_fields("error.x", {"reason": "y" * 900})
    assert len(long["error_params"]["reason"]) == 500
    many = [ContentProblem("f", "", "t", key="BAD", params={}) for _ in range(MAX_PROBLEMS + 9)]
    fields = error_fields("", {}, many)
    assert "error_key" not in fields
    assert len(fields["error_problems"]) == MAX_PROBLEMS
    assert all(p["key"] == "" for p in fields["error_problems"])
    validate(_result(**fields))


def test_every_answer_key_the_lab_core_names_has_a_german_and_an_english_text() -> None:
    """The console's own refusals and the seat's keyed answers (lab.answer.*)."""
    source = Path(protocol.__file__).parent
    keys = {
        key
        for path in source.glob("*.py")
        for key in re.findall(r'"(lab\.answer\.[a-z_.]+)"', path.read_text(encoding="utf-8"))
    }
    assert len(keys) >= 10
    for language in ("de", "en"):
        catalogue = load_catalogue(language)
        assert sorted(k for k in keys if not catalogue.get(k)) == [], language
