"""Pure parsing of Ollama answers: think splitting, chunks, errors, lists, pull progress."""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai4artsed_desktop.backends.ollama_parse import (
    PullTracker,
    TextAssembler,
    ThinkSplitter,
    error_for_line,
    error_for_status,
    normalize_model_name,
    parse_datetime,
    parse_ps,
    parse_show,
    parse_tags,
    same_model,
)
from ai4artsed_desktop.errors import (
    AppError,
    BackendProtocolError,
    BackendRequestError,
    InsufficientResources,
)
from ai4artsed_desktop.events import TextDelta, TextDone, normalize_done_reason

RAW = "<think>\nweigh the colours\n</think>\n\nA blue kite <b>flies</b>."


def run_splitter(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    deltas: list[TextDelta] = []
    for piece in pieces:
        deltas += splitter.feed(piece)
    deltas += splitter.flush()
    thinking = "".join(d.text for d in deltas if d.thinking)
    text = "".join(d.text for d in deltas if not d.thinking)
    return thinking, text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen3", "qwen3:latest"),
        ("qwen3:8b", "qwen3:8b"),
        (" llama3.2 ", "llama3.2:latest"),
        ("hf.co/org/model", "hf.co/org/model:latest"),
        ("registry:5000/org/model", "registry:5000/org/model:latest"),
        ("registry:5000/org/model:q4", "registry:5000/org/model:q4"),
    ],
)
def test_normalize_model_name(name: str, expected: str) -> None:
    assert normalize_model_name(name) == expected


# ------------------------------------------------------------------ think splitting


def test_think_split_in_one_piece() -> None:
    assert run_splitter([RAW]) == ("weigh the colours\n", "A blue kite <b>flies</b>.")


@pytest.mark.parametrize("cut", range(1, len(RAW)))
def test_think_split_at_every_border(cut: int) -> None:
    assert run_splitter([RAW[:cut], RAW[cut:]]) == run_splitter([RAW])


def test_think_split_character_by_character() -> None:
    assert run_splitter(list(RAW)) == run_splitter([RAW])


def test_text_without_tags_passes_through() -> None:
    assert run_splitter(["a < b", " and c <", "thin"]) == ("", "a < b and c <thin")


@given(st.lists(st.integers(min_value=1, max_value=len(RAW) - 1), max_size=8))
def test_think_split_any_chunking(cuts: list[int]) -> None:
    points = [0, *sorted(set(cuts)), len(RAW)]
    pieces = [RAW[a:b] for a, b in itertools.pairwise(points)]
    assert run_splitter(pieces) == ("weigh the colours\n", "A blue kite <b>flies</b>.")


# ------------------------------------------------------------------ text assembly


def test_assembler_with_thinking_field_and_metrics() -> None:
    asm = TextAssembler("qwen3:8b", chat=True)
    events: list[TextDelta | TextDone] = []
    for obj in [
        {"message": {"role": "assistant", "content": "", "thinking": "hmm "}, "done": False},
        {"message": {"role": "assistant", "content": "Hello"}, "done": False},
        {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length",
            "load_duration": 2_000_000,
            "total_duration": 9_000_000,
            "eval_count": 2,
        },
    ]:
        events += asm.feed(obj)
    assert events[:2] == [TextDelta("hmm ", thinking=True), TextDelta("Hello")]
    assert events[-1] == TextDone(
        text="Hello",
        thinking="hmm",
        done_reason="length",
        load_ms=2.0,
        total_ms=9.0,
        eval_count=2,
    )


def test_assembler_final_without_metrics() -> None:
    (done,) = TextAssembler("m", chat=False).feed({"response": "", "done": True})
    assert done == TextDone(text="", done_reason="stop")


@pytest.mark.parametrize(
    "obj",
    [
        {"response": 5, "done": False},
        {"response": "x", "done": "yes"},
        {"message": "text", "done": False},
        {"response": "", "done": True, "total_duration": "long"},
        {"response": "", "done": True, "done_reason": 3},
        {"response": "", "done": True, "eval_count": float("inf")},
    ],
)
def test_assembler_rejects_malformed_chunks(obj: dict[str, Any]) -> None:
    chat = "message" in obj
    with pytest.raises(BackendProtocolError):
        TextAssembler("m", chat=chat).feed(obj)


def test_error_line_becomes_request_error() -> None:
    with pytest.raises(BackendRequestError) as info:
        TextAssembler("m:latest", chat=False).feed({"error": "unexpected EOF"})
    assert info.value.status == 0
    assert "unexpected EOF" in info.value.user_message


def test_oom_error_line_is_insufficient_resources() -> None:
    assert isinstance(error_for_line("CUDA error: out of memory", "m"), InsufficientResources)


@pytest.mark.parametrize(
    "message",
    [
        # today's texts (scheduler, runner start, ggml allocation), as the server sends them
        "model requires more system memory (12.0 GiB) than is available (3.1 GiB)",
        "insufficient memory - required allocations: {InputWeights:1.2 GiB CPU:[...] GPU0:[...]}",
        "llama runner process has terminated: out-of-memory during startup",
        "failed to allocate buffer for kv cache",
        "llama runner process has terminated: cudaMalloc failed: out of memory",
    ],
)
def test_current_oom_texts_give_a_friendly_memory_message(message: str) -> None:
    body = json.dumps({"error": message}).encode()
    error = error_for_status(500, body, "qwen3:8b", "/api/chat")
    assert isinstance(error, InsufficientResources)
    assert "not enough memory" in error.user_message
    assert "{" not in error.user_message  # no struct dump for the student
    assert message in error.detail
    assert isinstance(error_for_line(message, "qwen3:8b"), InsufficientResources)


def test_unrelated_500_is_not_oom() -> None:
    error = error_for_status(500, b'{"error":"llama runner exited"}', "m", "/api/chat")
    assert not isinstance(error, InsufficientResources)


def test_cloud_remote_host_is_read_from_show_and_tags() -> None:
    show = parse_show("gpt:latest", {"remote_host": "https://ollama.com:443"})
    assert show.remote_host == "https://ollama.com:443"
    (tag,) = parse_tags({"models": [{"name": "x", "details": {"remote_host": "h"}}]})
    assert tag.remote_host == "h"
    assert parse_show("local:latest", {}).remote_host == ""


def test_model_names_compare_without_case() -> None:
    assert same_model("Qwen3:8B", "qwen3:8b")
    assert same_model("Llama3.2", "llama3.2:latest")
    assert not same_model("qwen3:8b", "qwen3:4b")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
chunk_keys = st.sampled_from(
    [
        "response",
        "thinking",
        "message",
        "done",
        "done_reason",
        "error",
        "eval_count",
        "total_duration",
        "load_duration",
        "status",
        "digest",
        "total",
        "completed",
        "models",
        "capabilities",
        "details",
        "model_info",
        "name",
        "size",
        "context_length",
        "expires_at",
    ]
)


@given(st.dictionaries(chunk_keys, json_values, max_size=6), st.booleans())
def test_fuzzed_objects_raise_only_app_errors(obj: dict[str, Any], chat: bool) -> None:
    for parse in (
        lambda: TextAssembler("m", chat=chat).feed(obj),
        lambda: PullTracker("m").feed(obj),
        lambda: parse_tags(obj),
        lambda: parse_ps(obj),
        lambda: parse_show("m", obj),
        lambda: parse_tags({"models": [obj]}),
        lambda: parse_ps({"models": [obj]}),
    ):
        with contextlib.suppress(AppError):
            parse()


# ------------------------------------------------------------------ HTTP errors


def test_404_json_names_model_and_pull_advice() -> None:
    err = error_for_status(404, b'{"error":"model \'x:latest\' not found"}', "x:latest")
    assert isinstance(err, BackendRequestError)
    assert err.status == 404
    assert "ollama pull x:latest" in err.user_message


def test_404_plain_text_means_missing_route() -> None:
    err = error_for_status(404, b"404 page not found", "x", "/api/chat")
    assert isinstance(err, BackendProtocolError)
    assert "/api/chat" in err.user_message


def test_503_is_busy() -> None:
    err = error_for_status(503, b'{"error":"server busy"}')
    assert isinstance(err, BackendRequestError)
    assert err.status == 503
    assert "busy" in err.user_message


def test_500_includes_server_text() -> None:
    err = error_for_status(500, b'{"error":"llama-server process has terminated"}', "m")
    assert isinstance(err, BackendRequestError)
    assert err.status == 500
    assert "llama-server process has terminated" in err.user_message


def test_500_out_of_memory() -> None:
    body = b'{"error":"model requires more system memory (9 GiB) than is available"}'
    assert isinstance(error_for_status(500, body, "m"), InsufficientResources)


def test_400_refusal() -> None:
    err = error_for_status(400, b'{"error":"\\"m\\" does not support thinking"}', "m")
    assert isinstance(err, BackendRequestError)
    assert (err.status, err.user_message) == (
        400,
        'Ollama refused the request: "m" does not support thinking',
    )


# ------------------------------------------------------------------ lists and details


def test_parse_tags_tolerates_unknown_and_missing_keys() -> None:
    body = {
        "models": [
            {"name": "qwen3:8b", "size": 5, "details": {"family": "qwen3", "new": 1}, "x": []},
            {"model": "tiny"},
        ],
        "extra": True,
    }
    first, second = parse_tags(body)
    assert (first.name, first.size, first.meta.family) == ("qwen3:8b", 5, "qwen3")
    assert (second.name, second.size, second.modified_at) == ("tiny:latest", 0, None)
    assert parse_tags({"models": None}) == []


@pytest.mark.parametrize("body", [{"models": {}}, {"models": [{"size": 1}]}, {"models": ["qwen3"]}])
def test_parse_tags_rejects_bad_shapes(body: dict[str, Any]) -> None:
    with pytest.raises(BackendProtocolError):
        parse_tags(body)


def test_parse_ps() -> None:
    body = json.loads(
        '{"models":[{"name":"qwen3:8b","size":100,"size_vram":60,'
        '"expires_at":"2026-03-02T10:09:41.203110123+01:00","context_length":8192},'
        '{"name":"old:1b","size":10,"size_vram":10}]}'
    )
    partial, old = parse_ps(body)
    assert not partial.fully_on_gpu
    assert partial.context_length == 8192
    assert partial.expires_at is not None
    assert partial.expires_at.astimezone(UTC) == datetime(2026, 3, 2, 9, 9, 41, 203110, UTC)
    assert old.context_length is None
    assert old.fully_on_gpu


def test_parse_show() -> None:
    details = parse_show(
        "qwen3",
        {"capabilities": ["completion", "thinking"], "model_info": {"qwen3.context_length": 40960}},
    )
    assert details.name == "qwen3:latest"
    assert details.supports_thinking
    assert details.context_length == 40960
    assert parse_show("old", {}).capabilities == ()


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-03-02T09:01:12.004811Z", True),
        ("2318-01-01T00:00:00.123456789-05:00", True),
        ("2026-03-02T09:01:12Z", True),
        ("yesterday", False),
        (None, False),
        (5, False),
    ],
)
def test_parse_datetime(text: object, ok: bool) -> None:
    parsed = parse_datetime(text)
    assert (parsed is not None) is ok
    if parsed is not None:
        assert parsed.tzinfo is not None


# ------------------------------------------------------------------ pull


def test_pull_tracker_sums_interleaved_layers() -> None:
    tracker = PullTracker("m:latest")
    steps: list[dict[str, Any]] = [
        {"status": "pulling manifest"},
        {"status": "pulling aaa", "digest": "sha256:aaa", "total": 100},
        {"status": "pulling aaa", "digest": "sha256:aaa", "total": 100, "completed": 40},
        {"status": "pulling bbb", "digest": "sha256:bbb", "total": 10, "completed": 10},
        {"status": "pulling aaa", "digest": "sha256:aaa", "total": 100, "completed": 100},
        {"status": "success"},
    ]
    progress = [tracker.feed(step) for step in steps]
    assert [(p.completed, p.total) for p in progress] == [
        (0, 0),
        (0, 100),
        (40, 100),
        (50, 110),
        (110, 110),
        (110, 110),
    ]
    assert progress[-1].status == "success"
    assert tracker.succeeded


def test_pull_tracker_error_line() -> None:
    with pytest.raises(BackendRequestError) as info:
        PullTracker("nosuch:latest").feed({"error": "pull model manifest: file does not exist"})
    assert "nosuch:latest" in info.value.user_message


@pytest.mark.parametrize(
    ("raw", "reason", "truncated"),
    [
        ("length", "length", True),
        ("LENGTH", "length", True),
        ("model_length", "length", True),
        ("max_tokens", "length", True),
        ("max_output_tokens", "length", True),
        ("stop", "stop", False),
        ("", "stop", False),
        ("content_filter", "content_filter", False),
        ("load", "load", False),
    ],
)
def test_done_reason_is_normalised(raw: str, reason: str, truncated: bool) -> None:
    done = TextDone(text="x", done_reason=raw)
    assert (done.done_reason, done.truncated) == (reason, truncated)
    assert normalize_done_reason(raw) == reason
