"""Pure parsing of SwarmUI answers and websocket frames (no I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.backends.swarmui_frames import (
    WsClose,
    WsDiscard,
    WsError,
    WsImage,
    WsKeepAlive,
    WsProgress,
    WsStatus,
    WsUnknown,
    parse_ws_frame,
)
from ai4artsed_desktop.backends.swarmui_parsing import (
    SwarmStatus,
    Text2ImageParams,
    decode_data_url,
    is_invalid_session,
    parse_backends,
    parse_images,
    parse_models,
    parse_session,
    parse_status,
    raise_for_answer,
    view_url_path,
)
from ai4artsed_desktop.backends.swarmui_ws import WsJobTracker
from ai4artsed_desktop.errors import BackendProtocolError, BackendRequestError
from ai4artsed_desktop.events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    OutputFile,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def _data_url(payload: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


# ------------------------------------------------------------------ errors


def test_invalid_session_detected_on_any_status() -> None:
    body = {"error": "Invalid session ID.", "error_id": "invalid_session_id"}
    assert is_invalid_session(body)
    assert not is_invalid_session({"error": "x"})
    assert not is_invalid_session(["invalid_session_id"])


def test_error_in_200_is_a_request_error() -> None:
    with pytest.raises(BackendRequestError) as info:
        raise_for_answer(200, {"error": "Invalid model value for param Model"}, "Gen")
    assert info.value.status == 0
    assert "Invalid model value" in info.value.user_message


@pytest.mark.parametrize("error_id", ["basic_api", "bad_route", "bad_request_method"])
def test_convention_errors_are_protocol_errors(error_id: str) -> None:
    with pytest.raises(BackendProtocolError):
        raise_for_answer(400, {"error_id": error_id, "error": "x"}, "Route")


def test_permission_error_keeps_status_and_non_200_without_error_is_protocol() -> None:
    with pytest.raises(BackendRequestError) as info:
        raise_for_answer(400, {"error_id": "bad_permissions", "error": "nope"}, "Route")
    assert info.value.status == 400
    with pytest.raises(BackendProtocolError):
        raise_for_answer(500, {"something": 1}, "Route")
    with pytest.raises(BackendProtocolError):
        raise_for_answer(200, [1, 2], "Route")
    assert raise_for_answer(200, {"ok": 1}, "Route") == {"ok": 1}


# ------------------------------------------------------------------ route answers


def test_parse_session_tolerates_extra_keys_and_needs_an_id() -> None:
    info = parse_session(
        {"session_id": "AB", "version": "0.9.8.2", "server_id": "s1", "new_key": {"x": 1}}
    )
    assert (info.session_id, info.version, info.server_id, info.user_id) == (
        "AB",
        "0.9.8.2",
        "s1",
        "local",
    )
    with pytest.raises(BackendProtocolError):
        parse_session({"version": "1"})


def test_parse_images() -> None:
    assert parse_images({"images": ["View/local/raw/a b.png"]}) == ["View/local/raw/a b.png"]
    with pytest.raises(BackendProtocolError):
        parse_images({"images": [1]})
    with pytest.raises(BackendProtocolError):
        parse_images({})


def test_parse_models_skips_garbage() -> None:
    body = {
        "folders": ["A"],
        "files": [
            {"name": "A/m.safetensors", "title": "M", "standard_width": 1024, "loaded": True},
            {"title": "no name"},
            "junk",
            {"name": "b.safetensors", "standard_width": "wide", "trigger_phrase": ""},
        ],
    }
    models = parse_models(body)
    assert [m.name for m in models] == ["A/m.safetensors", "b.safetensors"]
    assert models[0].loaded
    assert models[0].standard_width == 1024
    assert models[1].standard_width == 0
    assert models[1].trigger_phrase is None
    assert parse_models({"files": None}) == []


def test_parse_backends_keys_status_and_port() -> None:
    body = {
        "1": {
            "id": 1,
            "type": "comfyui_api",
            "status": "idle",
            "settings": {"Address": "http://127.0.0.1:7822"},
        },
        "0": {"type": "comfyui_selfstart", "status": "loading", "current_model": "m"},
        "2": {"id": 2, "status": "running", "enabled": False, "port": "7830"},
        "x": "junk",
    }
    backends = parse_backends(body)
    assert [b.id for b in backends] == [0, 1, 2]
    assert backends[0].port is None
    assert backends[0].current_model == "m"
    assert not backends[0].is_ready
    assert backends[1].port == 7822
    assert backends[1].is_ready
    assert backends[2].port == 7830
    assert not backends[2].is_ready, "a disabled backend is not ready"


def test_parse_status() -> None:
    status = parse_status(
        {
            "status": {
                "waiting_gens": 1,
                "loading_models": 0,
                "waiting_backends": 2,
                "live_gens": 0,
            },
            "backend_status": {"status": "loading", "message": "m", "any_loading": True},
            "supported_features": ["a", 3],
        }
    )
    assert status == SwarmStatus(1, 0, 2, 0, "loading", "m", True, ("a",))
    assert parse_status({}) == SwarmStatus()


# ------------------------------------------------------------------ params, paths, data URLs


def test_text2image_body() -> None:
    params = Text2ImageParams(
        prompt="fox",
        model="m",
        images=2,
        negative_prompt="blurry",
        steps=28,
        cfg_scale=4.5,
        seed=7,
        loras=("a", "b"),
        lora_weights=(0.8, 1.0),
        extra={"sigmashift": 3.0},
    )
    body = params.to_body()
    assert body == {
        "sigmashift": 3.0,
        "images": 2,
        "prompt": "fox",
        "model": "m",
        "negativeprompt": "blurry",
        "steps": 28,
        "cfgscale": 4.5,
        "seed": 7,
        "loras": ["a", "b"],
        "loraweights": ["0.8", "1"],
    }
    assert "session_id" not in body


def test_view_url_path_encodes_segments_and_refuses_traversal() -> None:
    path = "View/local/raw/2026-03-02/1021-paper cut-out #1 ü?-sd3.5_large-777.png"
    assert view_url_path(path) == (
        "/View/local/raw/2026-03-02/1021-paper%20cut-out%20%231%20%C3%BC%3F-sd3.5_large-777.png"
    )
    for bad in ("", "View/local/../x.png", "View//x", "View\\..\\x", "/View/./x"):
        with pytest.raises(BackendRequestError):
            view_url_path(bad)


def test_decode_data_url() -> None:
    assert decode_data_url(_data_url(b"abc", "image/png")) == (b"abc", "image/png")
    for bad in ("data:image/png,abc", "http://x", "data:image/png;base64,@@@"):
        with pytest.raises(BackendProtocolError):
            decode_data_url(bad)


# ------------------------------------------------------------------ websocket frames


def test_ws_frames_classified() -> None:
    progress = parse_ws_frame(
        {
            "gen_progress": {
                "batch_index": "1",
                "overall_percent": 0.41,
                "current_percent": "0.5",
                "preview": _data_url(b"\xff\xd8jpeg"),
            }
        }
    )
    assert progress == WsProgress(1, 0.41, 0.5, b"\xff\xd8jpeg", "image/jpeg")
    broken_preview = parse_ws_frame({"gen_progress": {"preview": "data:x;base64,!!"}})
    assert isinstance(broken_preview, WsProgress)
    assert broken_preview.preview is None
    assert parse_ws_frame({"image": "View/a.png", "batch_index": "0"}) == WsImage("View/a.png", 0)
    nested = parse_ws_frame({"image": {"image": "View/b.png", "batch_index": "2"}})
    assert nested == WsImage("View/b.png", 2)
    # SwarmUI's own numbering: negative indices (grid -1, intermediate <= -11) are kept
    assert parse_ws_frame({"discard_indices": [1, "x", -3, "-11"]}) == WsDiscard((1, -3, -11))
    intermediate = parse_ws_frame({"image": "data:image/jpeg;base64,AA", "batch_index": "-11"})
    assert intermediate == WsImage("data:image/jpeg;base64,AA", -11)
    assert isinstance(intermediate, WsImage)
    assert not intermediate.is_result
    assert parse_ws_frame({"socket_intention": "close"}) == WsClose()
    assert parse_ws_frame({"keep_alive": True}) == WsKeepAlive()
    assert parse_ws_frame({"error": "boom"}) == WsError("boom", "")
    session_error = parse_ws_frame({"error_id": "invalid_session_id", "error": "x"})
    assert session_error == WsError("x", "invalid_session_id")
    status = parse_ws_frame({"status": {"live_gens": 1}, "backend_status": {"status": "running"}})
    assert isinstance(status, WsStatus)
    assert status.status.live_gens == 1
    assert parse_ws_frame({"new_kind": 1}) == WsUnknown()
    assert parse_ws_frame([1]) == WsUnknown()


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parsers_never_crash_on_arbitrary_json(value: Any) -> None:
    parse_ws_frame(value)
    parse_ws_frame({"gen_progress": value})
    parse_ws_frame({"image": value, "batch_index": value})
    for parser in (parse_models, parse_backends, parse_status):
        try:
            parser(value)
        except BackendProtocolError:
            assert not isinstance(value, dict)
    json.dumps(value, default=str)


def test_tracker_happy_path_with_discard() -> None:
    tracker = WsJobTracker("j", 3)
    events: list[Any] = []
    frames = [
        WsStatus(SwarmStatus()),
        WsProgress(0, 0.25, 0.5, b"img", "image/jpeg"),
        WsImage("a.png", 0),
        WsKeepAlive(),
        WsImage("b.png", 1),
        WsImage("c.png", 2),
        WsDiscard((1,)),
        WsClose(),
    ]
    done = False
    for frame in frames:
        new, done = tracker.handle(frame)
        events.extend(new)
    assert done
    events.extend(tracker.finish(interrupted=False))
    assert events == [
        JobQueued("j"),
        JobStarted("j"),
        JobProgress("j", 25, 100),
        JobPreview("j", b"img", "image/jpeg"),
        JobFinished("j", (OutputFile("a.png", type="swarm"), OutputFile("c.png", type="swarm"))),
    ]


def test_tracker_error_interrupt_and_early_close() -> None:
    failing = WsJobTracker("j", 1)
    events, done = failing.handle(WsError("Invalid model", ""))
    assert done
    assert isinstance(events[0], JobFailed)
    assert failing.finish(interrupted=False) == []
    interrupted = WsJobTracker("j", 2)
    interrupted.handle(WsImage("a.png", 0))
    interrupted.handle(WsClose())
    assert interrupted.finish(interrupted=True) == [JobInterrupted("j")]
    cut_off = WsJobTracker("j", 1)
    cut_off.handle(WsProgress(0, 0.5, 0.5))
    with pytest.raises(BackendProtocolError):
        cut_off.finish(interrupted=False)


def test_tracker_uses_the_servers_batch_index() -> None:
    """Intermediate images (<= -11) and grids (-1) are no results; discards name indices."""
    tracker = WsJobTracker("j", 2)
    for frame in (
        WsImage("data:image/jpeg;base64,AA", -11),
        WsImage("b.png", 1),  # the server may send image 1 before image 0
        WsImage("a.png", 0),
        WsImage("grid.png", -1),
        WsDiscard((-11, 1)),
        WsClose(),
    ):
        tracker.handle(frame)
    assert tracker.finish(interrupted=False) == [
        JobFinished("j", (OutputFile("a.png", type="swarm"),))
    ]


def test_an_interrupt_error_frame_is_a_cancel_not_a_failure() -> None:
    tracker = WsJobTracker("j", 1)
    tracker.handle(WsProgress(0, 0.1, 0.1))
    events, done = tracker.handle(WsError("Generation session interrupted."))
    assert done
    assert events == [JobInterrupted("j")]
    assert tracker.finish(interrupted=True) == []
