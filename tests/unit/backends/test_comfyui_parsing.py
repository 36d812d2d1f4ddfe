"""Pure ComfyUI parsers and the run tracker: good shapes, malformed shapes, fuzzing."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.backends.comfyui_parsing import (
    WsMessage,
    WsPreview,
    check_output_file,
    combo_options,
    describe_rejection,
    parse_history,
    parse_object_info,
    parse_prompt_answer,
    parse_queue,
    parse_system_stats,
    parse_ws_binary,
    parse_ws_text,
)
from ai4artsed_desktop.backends.comfyui_tracker import RunTracker
from ai4artsed_desktop.errors import BackendProtocolError
from ai4artsed_desktop.events import (
    JobPreview,
    JobProgress,
    JobStarted,
    NodeExecuting,
    OutputFile,
)

STATS = {
    "system": {"os": "posix", "ram_total": 10, "ram_free": 5, "comfyui_version": "0.3.64",
               "python_version": "3.12", "pytorch_version": "2.8.0"},
    "devices": [{"name": "cuda:0 X", "type": "cuda", "index": 0, "vram_total": 100,
                 "vram_free": 60, "torch_vram_total": 0, "torch_vram_free": 0}],
}  # fmt: skip


def test_system_stats_parses_and_cpu_index_may_be_null() -> None:
    stats = parse_system_stats(STATS)
    assert stats.comfyui_version == "0.3.64"
    assert stats.devices[0].vram_free == 60
    cpu = json.loads(json.dumps(STATS))
    cpu["devices"][0].update(type="cpu", index=None)
    assert parse_system_stats(cpu).devices[0].index is None


@pytest.mark.parametrize(
    "bad",
    [[], {"devices": []}, {"system": {"ram_total": "lots"}}, {"system": {}, "devices": [1]},
     {"system": {}, "devices": [{"vram_total": None}]}, {"system": {}, "devices": {}}],
)  # fmt: skip
def test_system_stats_malformed(bad: Any) -> None:
    with pytest.raises(BackendProtocolError):
        parse_system_stats(bad)


def test_combo_options_both_encodings() -> None:
    assert combo_options([["a.safetensors", "b.safetensors"], {"tooltip": "x"}]) == [
        "a.safetensors",
        "b.safetensors",
    ]
    assert combo_options([["only"]]) == ["only"]
    assert combo_options(["COMBO", {"options": ["c", "d"], "multiselect": False}]) == ["c", "d"]
    assert combo_options(["COMBO"]) == []
    assert combo_options(["INT", {"default": 1}]) is None
    assert combo_options("STRING") is None
    with pytest.raises(BackendProtocolError):
        combo_options(["COMBO", {"options": "abc"}])


def test_object_info_and_malformed_entries() -> None:
    info = parse_object_info(
        {"X": {"input": {"required": {"a": [["1"]]}, "optional": {"b": ["INT"]}},
               "output": ["MODEL"], "output_node": False}}
    )  # fmt: skip
    node = info["X"]
    assert node.input_spec("a") == [["1"]]
    assert node.input_spec("b") == ["INT"]
    assert node.input_spec("c") is None
    assert node.outputs == ("MODEL",)
    assert parse_object_info({}) == {}
    bad: Any
    for bad in ([], {"X": []}, {"X": {"input": []}}, {"X": {"input": {"required": []}}},
                {"X": {"output": "MODEL"}}):  # fmt: skip
        with pytest.raises(BackendProtocolError):
            parse_object_info(bad)


def test_prompt_answer_and_queue() -> None:
    assert parse_prompt_answer({"prompt_id": "p", "number": 3, "node_errors": {}}) == ("p", {})
    bad: Any
    for bad in ({}, {"prompt_id": 5}, {"prompt_id": "p", "node_errors": "bad"}, "x"):
        with pytest.raises(BackendProtocolError):
            parse_prompt_answer(bad)
    queue = parse_queue(
        {"queue_running": [[1, "a", {}, {}, ["9"]]], "queue_pending": [[2, "b", {}, {}, []]]}
    )
    assert queue.running == ("a",)
    assert "b" in queue
    assert "c" not in queue
    for bad in ([], {"queue_running": [[1]]}, {"queue_pending": [[1, 2]]}, {"queue_running": 1}):
        with pytest.raises(BackendProtocolError):
            parse_queue(bad)


def _history(status: dict[str, Any], outputs: Any) -> dict[str, Any]:
    return {"p": {"prompt": [], "outputs": outputs, "status": status}}


def test_history_entry_outputs_and_messages() -> None:
    outputs = {
        "9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]},
        "8": {"audio": [{"filename": "b.flac", "subfolder": "audio", "type": "output"}],
              "text": ["ignored"]},
    }  # fmt: skip
    status = {
        "status_str": "error",
        "completed": False,
        "messages": [["execution_start", {}], ["execution_error", {"node_id": "4"}]],
    }
    entry = parse_history(_history(status, outputs), "p")
    assert entry is not None
    assert entry.outputs == (
        OutputFile("a.png", "", "output", "images"),
        OutputFile("b.flac", "audio", "output", "audio"),
    )
    assert entry.message("execution_error") == {"node_id": "4"}
    assert entry.message("execution_success") is None
    assert parse_history({}, "p") is None


@pytest.mark.parametrize(
    "bad",
    [[], {"p": []}, _history({"messages": [["a"]]}, {}), _history({"messages": [[1, {}]]}, {}),
     _history({}, {"9": {"images": [{"subfolder": ""}]}}), _history({}, {"9": {"images": {}}}),
     _history({}, []), _history({"messages": {}}, {})],
)  # fmt: skip
def test_history_malformed(bad: Any) -> None:
    with pytest.raises(BackendProtocolError):
        parse_history(bad, "p")


def test_describe_rejection_lines() -> None:
    body = {
        "error": {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
            "details": "",
        },
        "node_errors": {
            "1": {
                "class_type": "CheckpointLoaderSimple",
                "errors": [
                    {
                        "type": "value_not_in_list",
                        "message": "Value not in list",
                        "details": "ckpt_name: ...",
                        "extra_info": {
                            "input_name": "ckpt_name",
                            "received_value": "x.safetensors",
                        },
                    }
                ],
            },
            "4": {
                "class_type": "LoadImage",
                "errors": [
                    {
                        "type": "value_not_in_list",
                        "extra_info": {"input_name": "image", "received_value": "a.png"},
                    }
                ],
            },
            "6": {
                "class_type": "EmptyLatentImage",
                "errors": [
                    {
                        "type": "required_input_missing",
                        "details": "width",
                        "extra_info": {"input_name": "width"},
                    }
                ],
            },
            "7": {
                "class_type": "KSampler",
                "errors": [
                    {
                        "type": "value_smaller_than_min",
                        "message": "Value 0 smaller than min of 1",
                        "extra_info": {"input_name": "steps"},
                    },
                    "garbage",
                ],
            },
        },
    }
    text = describe_rejection(body)
    assert "Model file 'x.safetensors' is missing (node 1 CheckpointLoaderSimple.ckpt_name)" in text
    assert "Input image 'a.png' is missing (node 4 LoadImage.image)" in text
    assert "Required input 'width' is missing (node 6 EmptyLatentImage.width)" in text
    assert "Value 0 smaller than min of 1 (node 7 KSampler.steps)" in text
    invalid = {
        "error": {
            "type": "invalid_prompt",
            "message": "Cannot execute because node Foo does not exist.",
            "details": "Node ID '#3'",
        },
        "node_errors": {},
    }
    assert describe_rejection(invalid).endswith("does not exist. (Node ID '#3')")
    assert describe_rejection({"error": "no prompt", "node_errors": []}).endswith("no prompt")
    assert describe_rejection(None) == "ComfyUI rejected the workflow."
    assert describe_rejection({"node_errors": {"1": {"errors": [{}]}}}).startswith("ComfyUI")


def test_ws_text_and_malformed() -> None:
    message = parse_ws_text('{"type": "executing", "data": {"node": null, "prompt_id": "p"}}')
    assert message == WsMessage("executing", {"node": None, "prompt_id": "p"})
    assert parse_ws_text('{"type": "x"}').data == {}
    for bad in (
        '{"type": "executing", "data": {"no',
        "[]",
        '{"data": {}}',
        '{"type": "a", "data": 3}',
    ):
        with pytest.raises(BackendProtocolError):
            parse_ws_text(bad)


def test_ws_binary_frames() -> None:
    assert parse_ws_binary(struct.pack(">II", 1, 1) + b"jpeg") == WsPreview(b"jpeg", "image/jpeg")
    png = parse_ws_binary(struct.pack(">II", 1, 2) + b"png")
    assert png is not None
    assert png.mime == "image/png"
    meta = json.dumps({"prompt_id": "p", "node_id": "7", "image_type": "image/png"}).encode()
    frame = struct.pack(">II", 4, len(meta)) + meta + b"img"
    assert parse_ws_binary(frame) == WsPreview(b"img", "image/png", "p")
    text_frame = struct.pack(">II", 3, 1) + b"7hello"
    assert parse_ws_binary(text_frame) is None
    for bad in (b"", b"\x00\x00\x00\x01", struct.pack(">II", 1, 9) + b"x",
                struct.pack(">II", 4, 100) + b"{}", struct.pack(">II", 4, 2) + b"[]",
                struct.pack(">II", 4, 3) + b"{x}"):  # fmt: skip
        with pytest.raises(BackendProtocolError):
            parse_ws_binary(bad)


@pytest.mark.parametrize(
    "file",
    [OutputFile("../a.png"), OutputFile("a.png", "x/../../y"), OutputFile("/abs.png"),
     OutputFile("a.png", "/abs"), OutputFile("a\\b.png"), OutputFile("a.png", "sub\\dir"),
     OutputFile("D:a.png"), OutputFile("a.png", "c:/x"), OutputFile("a/b.png"), OutputFile(""),
     OutputFile("a\x00.png"), OutputFile("a.png", type="secret"), OutputFile("..")],
)  # fmt: skip
def test_unsafe_output_names(file: OutputFile) -> None:
    with pytest.raises(BackendProtocolError):
        check_output_file(file)


def test_safe_output_names() -> None:
    check_output_file(OutputFile("app_00001_.png"))
    check_output_file(OutputFile("a..b.png", "audio/sub", "temp"))


def _msg(kind: str, **data: Any) -> WsMessage:
    return WsMessage(kind, data)


def test_tracker_maps_events_and_ignores_other_prompts() -> None:
    tracker = RunTracker("p")
    assert tracker.feed(_msg("status", status={})) == []
    assert tracker.feed(_msg("execution_start", prompt_id="p")) == []
    assert tracker.feed(_msg("execution_cached", prompt_id="p", nodes=["1"])) == [
        JobStarted("p", ("1",))
    ]
    assert tracker.feed(_msg("executing", node="7", prompt_id="other")) == []
    assert tracker.feed(_msg("executing", node="7", prompt_id="p")) == [NodeExecuting("p", "7")]
    assert tracker.feed(_msg("progress", value=1, max=3, prompt_id="p", node="7")) == [
        JobProgress("p", 1, 3, "7")
    ]
    assert tracker.feed_preview(WsPreview(b"x", "image/jpeg")) == [JobPreview("p", b"x")]
    assert tracker.feed_preview(WsPreview(b"x", "image/jpeg", "other")) == []
    output = {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}
    tracker.feed(_msg("executed", node="9", output=output, prompt_id="p"))
    states = []
    for message in (
        _msg("execution_success", prompt_id="p"),
        _msg("executing", node=None, prompt_id="other"),
        _msg("executing", node=None, prompt_id="p"),
    ):
        tracker.feed(message)
        states.append(tracker.done)
    assert states == [False, False, True]
    assert tracker.outcome == "success"
    assert tracker.seen_outputs == (OutputFile("a.png"),)
    assert tracker.feed_preview(WsPreview(b"x", "image/jpeg")) == []


def test_tracker_error_interrupt_and_malformed() -> None:
    failing = RunTracker("p")
    failing.feed(_msg("execution_error", prompt_id="p", node_id="4", node_type="CLIPTextEncode",
                      exception_message="boom", exception_type="RuntimeError",
                      traceback=["line 1"]))  # fmt: skip
    assert failing.done
    assert failing.failure is not None
    assert failing.failure.node == "4"
    assert "CLIPTextEncode" in failing.failure.message
    assert "line 1" in failing.failure.detail
    stopped = RunTracker("p")
    stopped.feed(_msg("execution_interrupted", prompt_id="p", node_id="7"))
    assert (stopped.done, stopped.outcome) == (True, "interrupted")
    early = RunTracker("p")
    assert early.feed(_msg("executing", node="1", prompt_id="p")) == [
        JobStarted("p"),
        NodeExecuting("p", "1"),
    ]
    for bad in (_msg("progress", prompt_id="p", value="1", max=2),
                _msg("executing", prompt_id="p"),
                _msg("execution_cached", prompt_id="p", nodes="1")):  # fmt: skip
        with pytest.raises(BackendProtocolError):
            RunTracker("p").feed(bad)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=_json)
def test_parsers_never_crash_on_arbitrary_json(value: Any) -> None:
    for parse in (parse_system_stats, parse_object_info, parse_prompt_answer, parse_queue):
        with contextlib.suppress(BackendProtocolError):
            parse(value)
    with contextlib.suppress(BackendProtocolError):
        parse_history({"p": value}, "p")
    describe_rejection(value)
    with contextlib.suppress(BackendProtocolError):
        RunTracker("p").feed(WsMessage("progress", {"prompt_id": "p", "value": value}))


@settings(max_examples=150, deadline=None)
@given(frame=st.binary(max_size=40), text=st.text(max_size=40))
def test_ws_parsers_never_crash(frame: bytes, text: str) -> None:
    with contextlib.suppress(BackendProtocolError):
        parse_ws_binary(frame)
    with contextlib.suppress(BackendProtocolError):
        parse_ws_text(text)
