"""Backend answer parsers on random input: a typed result or an app error, nothing else.

Complements the fuzz tests next to each parser's unit tests (tests/unit/backends/): here
the input starts as raw bytes or any JSON value at the top level, goes through the same
decoding the clients use, and reaches the parsers those tests do not fuzz.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.backends import comfyui_parsing as comfy
from ai4artsed_desktop.backends import ollama_parse as ollama
from ai4artsed_desktop.backends import swarmui_parsing as swarm
from ai4artsed_desktop.backends.http import json_object, parse_json
from ai4artsed_desktop.errors import AppError, BackendProtocolError, BackendRequestError
from ai4artsed_desktop.events import OutputFile
from ai4artsed_desktop.pipeline.providers import _ChunkAssembler

FUZZ = settings(max_examples=200)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "data:image/png;base64,iVBORw0K", "..", "x.png", "error"])
)
keys = st.text(max_size=8) | st.sampled_from(
    [
        "error", "error_id", "models", "name", "model", "size", "digest", "details",
        "families", "expires_at", "size_vram", "capabilities", "model_info", "session_id",
        "images", "permissions", "input", "required", "optional", "output", "images",
        "audio", "filename", "subfolder", "type", "backends", "status", "modified_at",
        "choices", "delta", "message", "content", "reasoning", "finish_reason", "usage",
    ]
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=15,
)
# Raw answers: valid JSON of any shape, or damaged bytes.
raw_bodies = json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=30)


def _decoded(raw: bytes) -> Any:
    with contextlib.suppress(BackendProtocolError):
        return parse_json(raw, "Test", "answer")
    return None


@FUZZ
@given(raw=raw_bodies, model=st.text(max_size=8))
def test_ollama_answers_give_results_or_app_errors(raw: bytes, model: str) -> None:
    try:
        body = json_object(raw, "Ollama", "answer")
    except BackendProtocolError:
        return
    for parse in (
        lambda: ollama.parse_tags(body),
        lambda: ollama.parse_ps(body),
        lambda: ollama.parse_show(model, body),
        lambda: ollama.ModelMeta.parse(body.get("details")),
        lambda: ollama.check_line(body, model),
        lambda: ollama.PullTracker(model).feed(body),
        lambda: ollama.TextAssembler(model, chat=True).feed(body),
        lambda: ollama.TextAssembler(model, chat=False).feed(body),
    ):
        with contextlib.suppress(AppError):
            parse()
    ollama.parse_datetime(body.get("expires_at"))


@FUZZ
@given(status=st.integers(100, 599), raw=raw_bodies, model=st.text(max_size=8))
def test_ollama_error_answers_always_become_app_errors(status: int, raw: bytes, model: str) -> None:
    error = ollama.error_for_status(status, raw, model, "/api/chat")
    assert isinstance(error, AppError)
    assert error.user_message.strip()
    message, _is_json = ollama.error_text(raw)
    assert isinstance(ollama.error_for_line(message, model), AppError)
    assert isinstance(ollama.pull_error(message, model), AppError)


@FUZZ
@given(status=st.sampled_from([200, 200, 400, 401, 404, 500]), raw=raw_bodies)
def test_swarm_answers_give_results_or_app_errors(status: int, raw: bytes) -> None:
    body = _decoded(raw)
    swarm.is_invalid_session(body)
    try:
        checked = swarm.raise_for_answer(status, body, "Route")
    except (BackendProtocolError, BackendRequestError):
        checked = body
    for parse in (swarm.parse_session, swarm.parse_images, swarm.parse_models, swarm.parse_status):
        with contextlib.suppress(BackendProtocolError):
            parse(checked)
    if isinstance(body, str):
        with contextlib.suppress(BackendProtocolError):
            swarm.decode_data_url(body)
        with contextlib.suppress(BackendRequestError):
            swarm.view_url_path(body)


@FUZZ
@given(
    head=st.sampled_from(["data:", "data:image/png;base64", "data:;base64", "x"]), tail=st.text()
)
def test_swarm_data_urls_decode_or_raise_protocol_errors(head: str, tail: str) -> None:
    with contextlib.suppress(BackendProtocolError):
        data, mime = swarm.decode_data_url(f"{head},{tail}")
        assert isinstance(data, bytes)
        assert mime


@FUZZ
@given(raw=raw_bodies, name=st.text(max_size=8))
def test_comfy_answers_give_results_or_protocol_errors(raw: bytes, name: str) -> None:
    body = _decoded(raw)
    with contextlib.suppress(BackendProtocolError):
        comfy.parse_node_info(name, body)
    with contextlib.suppress(BackendProtocolError):
        files = comfy.parse_output_files(body)
        for file in files:
            assert isinstance(file, OutputFile)
            with contextlib.suppress(BackendProtocolError):
                comfy.check_output_file(file)
    comfy.combo_options(body)
    if isinstance(body, dict):
        with contextlib.suppress(BackendProtocolError):
            comfy.parse_output_files({"9": body})


@FUZZ
@given(pieces=st.lists(raw_bodies, max_size=4))
def test_openai_compatible_chunks_give_text_or_app_errors(pieces: list[bytes]) -> None:
    assembler = _ChunkAssembler("Cloud", "m")
    for raw in pieces:
        with contextlib.suppress(AppError):
            for delta in assembler.feed(raw.decode("utf-8", "replace")):
                assert isinstance(delta.text, str)
    with contextlib.suppress(BackendProtocolError):
        assembler.finish(1.0)


@FUZZ
@given(choices=json_values, delta=json_values)
def test_openai_compatible_odd_choices_give_text_or_app_errors(choices: Any, delta: Any) -> None:
    for obj in ({"choices": choices}, {"choices": [{"delta": delta}, {"message": delta}]}):
        with contextlib.suppress(AppError):
            _ChunkAssembler("Cloud", "m").feed(json.dumps(obj))
