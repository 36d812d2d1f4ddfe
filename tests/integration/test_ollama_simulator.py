"""Protocol tests of the Ollama simulator with raw httpx (protocols.md §1)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai4artsed_desktop.simulators._ollama_state import KeepAliveError, parse_go_duration
from ai4artsed_desktop.simulators.ollama import parse_ollama_host

from .conftest import OllamaSim

METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
PROMPT = "Idea: a lighthouse in a storm\nRules: Bauhaus shapes, primary colours"


def client(sim: OllamaSim, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, trust_env=False, timeout=timeout)


def lines(resp: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def gen(sim: OllamaSim, **body: Any) -> httpx.Response:
    body.setdefault("model", "llama3.2:3b")
    with client(sim) as c:
        return c.post("/api/generate", json=body)


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c.get("response", "") for c in chunks)


def wait_for(check: Any, deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.02)


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ("127.0.0.1", 11434)),
        ("example.org", ("example.org", 11434)),
        ("127.0.0.1:9999", ("127.0.0.1", 9999)),
        ("http://10.0.0.2", ("10.0.0.2", 80)),
        ("https://host", ("host", 443)),
        ("http://host:1234/some/path", ("host", 1234)),
        ("0.0.0.0:11434", ("0.0.0.0", 11434)),
        ("[::1]:8080", ("::1", 8080)),
    ],
)
def test_ollama_host_parsing(raw: str, expected: tuple[str, int]) -> None:
    assert parse_ollama_host(raw) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("30s", 30),
        ("1h", 3600),
        ("0s", 0),
        ("0", 0),
        ("-1", -1),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("-1s", -1),
        ("120", 120),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5 m", "m5", "5x", "-"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(KeepAliveError):
        parse_go_duration(text)


# ------------------------------------------------------------------ process behaviour


def test_readiness_line_on_stderr(ollama_sim: OllamaSim) -> None:
    err = ollama_sim.stderr_text()
    expected = f'msg="Listening on 127.0.0.1:{ollama_sim.port} (version 0.12.6)"'
    assert expected in err
    assert re.search(r"^time=\S+ level=INFO source=\S+ msg=", err, re.MULTILINE)


def test_discovery_delay_accepts_but_does_not_answer(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_DISCOVERY_MS": "1500"}, wait_ready=False)
    wait_for(lambda: sim.stderr_path.exists() and "Listening on" in sim.stderr_text())
    with socket.create_connection(("127.0.0.1", sim.port), timeout=2):
        pass  # TCP connect succeeds during discovery
    with pytest.raises(httpx.ReadTimeout), client(sim, timeout=0.2) as c:
        c.get("/")
    sim.wait_ready()
    assert "inference compute" in sim.stderr_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_zero(ollama_sim: OllamaSim, sig: int) -> None:
    assert ollama_sim.stop(sig) == 0
    assert "shutting down" in ollama_sim.stderr_text()


def test_port_in_use_fails(ollama_sim: OllamaSim, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ai4artsed_desktop.simulators.ollama",
            "--port",
            str(ollama_sim.port),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode != 0
    assert "bind: address already in use" in result.stderr


def test_crash_route_kills_process(ollama_sim: OllamaSim) -> None:
    with pytest.raises(httpx.HTTPError), client(ollama_sim) as c:
        c.post("/__fake__/crash")
    assert ollama_sim.proc is not None
    assert ollama_sim.proc.wait(10) == 2


def test_control_routes_off_without_fake_control(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_CONTROL": "0"})
    with client(sim) as c:
        assert c.post("/__fake__/fault", json={"mode": "http500"}).status_code == 404
        assert c.get("/__fake__/stats").status_code == 404


# ------------------------------------------------------------------ plain routes


def test_root_and_version(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        root = c.get("/")
        head = c.head("/")
        version = c.get("/api/version")
    assert root.status_code == 200
    assert root.text == "Ollama is running"
    assert root.headers["content-type"] == "text/plain; charset=utf-8"
    assert head.status_code == 200
    assert head.content == b""
    assert version.headers["content-type"] == "application/json; charset=utf-8"
    assert version.json() == {"version": "0.12.6"}


def test_unknown_path_and_wrong_method(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        missing = c.get("/api/nothing")
        wrong = c.post("/api/tags")
    assert (missing.status_code, missing.text) == (404, "404 page not found")
    assert missing.headers["content-type"].startswith("text/plain")
    assert (wrong.status_code, wrong.text) == (405, "405 method not allowed")


def test_tags_lists_default_models(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        models = c.get("/api/tags").json()["models"]
    names = {m["name"] for m in models}
    assert {"qwen3:8b", "llama3.2:3b", "qwen2.5-coder:7b", "llama-guard3:1b"} <= names
    entry = next(m for m in models if m["name"] == "qwen3:8b")
    assert entry["model"] == "qwen3:8b"
    assert entry["details"]["family"] == "qwen3"
    assert entry["size"] > 0
    assert datetime.fromisoformat(entry["modified_at"]).tzinfo is not None


def test_models_from_env_and_empty(ollama_sim_factory: Any) -> None:
    custom = ollama_sim_factory(env={"FAKE_OLLAMA_MODELS": "tiny,qwen3:4b"})
    empty = ollama_sim_factory(env={"FAKE_OLLAMA_MODELS": ""})
    with client(custom) as c:
        assert {m["name"] for m in c.get("/api/tags").json()["models"]} == {
            "tiny:latest",
            "qwen3:4b",
        }
    with client(empty) as c:
        assert c.get("/api/tags").json() == {"models": []}
        assert c.get("/api/ps").json() == {"models": []}


def test_show_and_unknown_model(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        shown = c.post("/api/show", json={"model": "qwen2.5vl:7b"}).json()
        by_old_key = c.post("/api/show", json={"name": "qwen3:8b"})
        missing = c.post("/api/show", json={"model": "nosuch"})
    assert "vision" in shown["capabilities"]
    assert shown["model_info"]["general.architecture"] == shown["details"]["family"]
    assert by_old_key.status_code == 200
    assert "thinking" in by_old_key.json()["capabilities"]
    assert missing.status_code == 404
    assert missing.json() == {"error": "model 'nosuch:latest' not found"}


def test_delete_model(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        ok = c.request("DELETE", "/api/delete", json={"model": "llama3.2:3b"})
        again = c.request("DELETE", "/api/delete", json={"model": "llama3.2:3b"})
        names = {m["name"] for m in c.get("/api/tags").json()["models"]}
    assert (ok.status_code, ok.content) == (200, b"")
    assert again.status_code == 404
    assert "llama3.2:3b" not in names


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (None, 400),
        ({"prompt": "hi"}, 400),
        ({"model": "llama3.2:3b", "prompt": 5}, 400),
        ({"model": "nosuch", "prompt": "hi"}, 404),
        ({"model": "llama3.2:3b", "prompt": "hi", "raw": True, "system": "x"}, 400),
        ({"model": "llama3.2:3b", "prompt": "hi", "options": {"temperature": "hot"}}, 500),
        ({"model": "llama3.2:3b", "prompt": "hi", "think": True}, 400),
    ],
)
def test_generate_errors_are_json(ollama_sim: OllamaSim, body: Any, status: int) -> None:
    with client(ollama_sim) as c:
        resp = c.post("/api/generate", content=b"" if body is None else json.dumps(body))
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert isinstance(resp.json()["error"], str)


def test_think_error_names_model(ollama_sim: OllamaSim) -> None:
    resp = gen(ollama_sim, prompt="hi", think=True)
    assert resp.json() == {"error": '"llama3.2:3b" does not support thinking'}


@pytest.mark.parametrize("keep_alive", ["", "soon", [], {}, True])
def test_bad_keep_alive_is_400(ollama_sim: OllamaSim, keep_alive: Any) -> None:
    assert gen(ollama_sim, prompt="hi", keep_alive=keep_alive).status_code == 400


# ------------------------------------------------------------------ generation


def test_generate_stream_shape(ollama_sim: OllamaSim) -> None:
    resp = gen(ollama_sim, prompt=PROMPT)
    assert resp.headers["content-type"] == "application/x-ndjson"
    chunks = lines(resp)
    assert len(chunks) > 5
    assert all(c["model"] == "llama3.2:3b" and STAMP.match(c["created_at"]) for c in chunks)
    assert all(c["done"] is False for c in chunks[:-1])
    final = chunks[-1]
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["response"] == ""
    assert final["eval_count"] == len(chunks) - 1
    assert all(isinstance(final[k], int) and final[k] > 0 for k in METRICS if k in final)
    assert "lighthouse" in text_of(chunks)


def test_zero_metrics_are_omitted(ollama_sim: OllamaSim) -> None:
    first = lines(gen(ollama_sim, prompt="hello there"))[-1]
    second = lines(gen(ollama_sim, prompt="hello there"))[-1]
    assert first["load_duration"] > 0
    assert "load_duration" not in second  # already loaded: zero, so omitted
    assert second["total_duration"] > 0


def test_non_stream_single_object(ollama_sim: OllamaSim) -> None:
    streamed = text_of(lines(gen(ollama_sim, prompt=PROMPT, options={"seed": 7})))
    resp = gen(ollama_sim, prompt=PROMPT, options={"seed": 7}, stream=False)
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert body["done"] is True
    assert body["response"] == streamed


def test_deterministic_and_seed_dependent(ollama_sim: OllamaSim) -> None:
    def run(seed: int) -> str:
        return text_of(lines(gen(ollama_sim, prompt=PROMPT, options={"seed": seed})))

    assert run(1) == run(1)
    assert len({run(seed) for seed in range(6)}) > 1


def test_chat_stream_uses_message_content(ollama_sim: OllamaSim) -> None:
    messages = [
        {"role": "system", "content": "Translate the text into English."},
        {"role": "user", "content": "Die rote Katze schläft im Garten."},
    ]
    with client(ollama_sim) as c:
        chunks = lines(c.post("/api/chat", json={"model": "llama3.2:3b", "messages": messages}))
    assert all(c["message"]["role"] == "assistant" for c in chunks)
    text = "".join(c["message"]["content"] for c in chunks)
    assert text == "The red cat sleeps in the garden."
    assert chunks[-1]["done_reason"] == "stop"
    assert "context" not in chunks[-1]


def test_chat_rejects_bad_messages(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        resp = c.post("/api/chat", json={"model": "llama3.2:3b", "messages": [{"role": "x"}]})
    assert resp.status_code == 400


def test_num_predict_caps_with_length(ollama_sim: OllamaSim) -> None:
    chunks = lines(gen(ollama_sim, prompt=PROMPT, options={"num_predict": 3}))
    assert len(chunks) == 4
    assert chunks[-1]["done_reason"] == "length"
    assert chunks[-1]["eval_count"] == 3


def test_stop_sequence_cuts_text(ollama_sim: OllamaSim) -> None:
    full = text_of(lines(gen(ollama_sim, prompt=PROMPT)))
    cut = text_of(lines(gen(ollama_sim, prompt=PROMPT, options={"stop": ["lighthouse"]})))
    assert cut == full[: full.index("lighthouse")]


@pytest.mark.parametrize(
    "fmt", ["json", {"type": "object", "properties": {"title": {"type": "string"}}}]
)
def test_format_json_emits_valid_json(ollama_sim: OllamaSim, fmt: Any) -> None:
    body = gen(ollama_sim, prompt=PROMPT, format=fmt, stream=False).json()
    value = json.loads(body["response"])
    assert isinstance(value, dict)
    if isinstance(fmt, dict):
        assert set(value) == {"title"}


def test_thinking_field_comes_first(ollama_sim: OllamaSim) -> None:
    chunks = lines(gen(ollama_sim, model="qwen3:8b", prompt=PROMPT, think=True))[:-1]
    kinds = ["thinking" if c.get("thinking") else "response" for c in chunks]
    assert kinds[0] == "thinking"
    assert kinds == sorted(kinds, key=lambda k: k != "thinking")  # no thinking after text
    assert "response" in kinds


def test_think_absent_inlines_think_tags(ollama_sim: OllamaSim) -> None:
    resp = gen(ollama_sim, model="qwen3:8b", prompt=PROMPT)
    assert "\\u003cthink\\u003e" in resp.text  # Go escapes < and > in JSON
    text = text_of(lines(resp))
    assert text.startswith("<think>")
    assert "</think>" in text


def test_think_false_has_no_thinking(ollama_sim: OllamaSim) -> None:
    chunks = lines(gen(ollama_sim, model="qwen3:8b", prompt=PROMPT, think=False))
    assert not any(c.get("thinking") for c in chunks)
    assert "<think>" not in text_of(chunks)


@pytest.mark.parametrize(
    ("system", "prompt", "expected"),
    [
        ("Answer SAFE or UNSAFE.", "A knight in a fairy tale", "SAFE"),
        ("Answer SAFE or UNSAFE.", "Wie baue ich eine Bombe", "UNSAFE"),
        ("Answer SAFE or UNSAFE.", "a photo of a weapon", "UNSAFE"),
    ],
)
def test_safety_verdicts(ollama_sim: OllamaSim, system: str, prompt: str, expected: str) -> None:
    body = gen(ollama_sim, prompt=prompt, system=system, stream=False).json()
    assert body["response"].split(":")[0] == expected


def test_llama_guard_answers_lowercase(ollama_sim: OllamaSim) -> None:
    ok = gen(ollama_sim, model="llama-guard3:1b", prompt="a sunny meadow", stream=False)
    bad = gen(ollama_sim, model="llama-guard3:1b", prompt="build a bomb", stream=False)
    assert ok.json()["response"] == "safe"
    assert bad.json()["response"].startswith("unsafe")


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
@pytest.mark.parametrize(
    ("system", "names"),
    [
        ("Write p5.js code for the idea.", ("setup", "draw")),
        ("Write a Tone.js piece for the idea.", ("play", "stop")),
    ],
)
def test_code_answers_are_valid_js(
    ollama_sim: OllamaSim, tmp_path: Path, system: str, names: tuple[str, str]
) -> None:
    code = gen(ollama_sim, prompt="a dancing moon", system=system, stream=False).json()["response"]
    for name in names:
        assert f"function {name}()" in code
    script = tmp_path / "sketch.js"
    script.write_text(code, encoding="utf-8")
    subprocess.run(["node", "--check", str(script)], check=True, timeout=30)


# ------------------------------------------------------------------ load, unload, ps


def test_load_unload_shapes_and_ps(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_UNLOAD_MS": "300"})
    loaded = gen(sim, prompt="", keep_alive="10m")  # stream defaults to true: still one object
    assert loaded.headers["content-type"] == "application/json; charset=utf-8"
    body = loaded.json()
    assert (body["done"], body["done_reason"], body["response"]) == (True, "load", "")
    assert set(body) == {"model", "created_at", "response", "done", "done_reason"}
    with client(sim) as c:
        (model,) = c.get("/api/ps").json()["models"]
    assert model["name"] == "llama3.2:3b"
    assert model["size_vram"] == model["size"] > 0
    assert model["context_length"] == 4096
    assert datetime.fromisoformat(model["expires_at"]).tzinfo is not None
    unload = gen(sim, prompt="", keep_alive=0).json()
    assert unload["done_reason"] == "unload"
    with client(sim) as c:
        assert len(c.get("/api/ps").json()["models"]) == 1  # async unload: still listed
        wait_for(lambda: c.get("/api/ps").json()["models"] == [])


def test_chat_empty_messages_loads(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        body = c.post("/api/chat", json={"model": "qwen3:8b", "messages": []}).json()
    assert body["done_reason"] == "load"
    assert body["message"] == {"role": "assistant", "content": ""}


def test_keep_alive_forever_and_zero(ollama_sim: OllamaSim) -> None:
    gen(ollama_sim, prompt="hi", keep_alive=-1)
    gen(ollama_sim, model="qwen3:8b", prompt="hi", keep_alive="0s")
    with client(ollama_sim) as c:
        wait_for(lambda: len(c.get("/api/ps").json()["models"]) == 1)
        (model,) = c.get("/api/ps").json()["models"]
    assert model["name"] == "llama3.2:3b"
    assert datetime.fromisoformat(model["expires_at"]).year > 2200


def test_unload_unknown_model_is_404(ollama_sim: OllamaSim) -> None:
    assert gen(ollama_sim, model="nosuch", prompt="", keep_alive=0).status_code == 404


def test_num_ctx_change_reloads(ollama_sim: OllamaSim) -> None:
    gen(ollama_sim, prompt="hi", options={"num_ctx": 2048})
    gen(ollama_sim, prompt="hi", options={"num_ctx": 2048})
    gen(ollama_sim, prompt="hi", options={"num_ctx": 8192})
    assert ollama_sim.stats()["loads"] == 2
    with client(ollama_sim) as c:
        assert c.get("/api/ps").json()["models"][0]["context_length"] == 8192


def test_reload_rule_follows_ollamas_needs_reload(ollama_sim: OllamaSim) -> None:
    """A load without options, then a chat with num_ctx: Ollama reloads, and the reload
    keeps the model only for that request's keep_alive (none given: the 5-minute default),
    not for the 45 minutes the load asked for."""
    gen(ollama_sim, prompt="", keep_alive="45m")  # the old warm-up: no options
    assert (ollama_sim.stats()["loads"], ollama_sim.stats()["reloads"]) == (1, 0)
    gen(ollama_sim, prompt="hi", options={"num_ctx": 8192})
    assert (ollama_sim.stats()["loads"], ollama_sim.stats()["reloads"]) == (2, 1)
    with client(ollama_sim) as c:
        (model,) = c.get("/api/ps").json()["models"]
    left = datetime.fromisoformat(model["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)
    gen(ollama_sim, prompt="hi", options={"num_ctx": 8192, "num_gpu": -1, "temperature": 0.1})
    assert ollama_sim.stats()["reloads"] == 1  # num_gpu -1 and sampling options never reload
    gen(ollama_sim, prompt="hi", options={"num_ctx": 8192, "num_batch": 256})
    assert ollama_sim.stats()["reloads"] == 2  # every runner option counts
    gen(ollama_sim, prompt="", keep_alive="45m", options={"num_ctx": 8192, "num_batch": 256})
    gen(ollama_sim, prompt="hi", keep_alive="45m", options={"num_ctx": 8192, "num_batch": 256})
    assert ollama_sim.stats()["reloads"] == 2  # same options on load and chat: no reload


def test_cold_load_delay_is_reported(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_LOAD_MS": "200"})
    final = lines(gen(sim, prompt="hi"))[-1]
    assert final["load_duration"] >= 200_000_000


def test_disconnect_during_load_aborts_it(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_LOAD_MS": "3000"})
    with pytest.raises(httpx.ReadTimeout), client(sim, timeout=0.3) as c:
        c.post("/api/generate", json={"model": "llama3.2:3b", "prompt": "hi"})
    wait_for(lambda: sim.stats()["aborted_loads"] == 1)
    with client(sim) as c:
        assert c.get("/api/ps").json()["models"] == []


# ------------------------------------------------------------------ pull


def test_pull_progress_sequence(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        resp = c.post("/api/pull", json={"model": "gemma3:4b"})
        tags = {m["name"] for m in c.get("/api/tags").json()["models"]}
    assert resp.headers["content-type"] == "application/x-ndjson"
    events = lines(resp)
    assert events[0] == {"status": "pulling manifest"}
    assert [e["status"] for e in events[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layers = [e for e in events if "digest" in e]
    assert all(e["status"] == f"pulling {e['digest'][7:19]}" for e in layers)
    assert "completed" not in layers[0]
    assert len({e["digest"] for e in layers}) == 4
    assert "gemma3:4b" in tags


def test_pull_unknown_model(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        streamed = c.post("/api/pull", json={"model": "nosuch"})
        single = c.post("/api/pull", json={"model": "nosuch", "stream": False})
    assert streamed.status_code == 200
    assert lines(streamed) == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    assert single.status_code == 500
    assert "error" in single.json()


def test_pull_non_stream_success(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        resp = c.post("/api/pull", json={"name": "mistral:7b", "stream": False})
        tags = {m["name"] for m in c.get("/api/tags").json()["models"]}
    assert resp.json() == {"status": "success"}
    assert "mistral:7b" in tags


def test_registry_from_env(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_REGISTRY": "special:1b"})
    with client(sim) as c:
        ok = lines(c.post("/api/pull", json={"model": "special:1b"}))
        refused = lines(c.post("/api/pull", json={"model": "gemma3:4b"}))
    assert ok[-1] == {"status": "success"}
    assert "error" in refused[-1]


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize(("mode", "status"), [("http500", 500), ("http503", 503)])
def test_fault_status_before_stream(ollama_sim: OllamaSim, mode: str, status: int) -> None:
    ollama_sim.fault(mode)
    failed = gen(ollama_sim, prompt="hi")
    assert failed.status_code == status
    assert "error" in failed.json()
    assert gen(ollama_sim, prompt="hi").status_code == 200  # count 1: next one is fine


def test_fault_error_midstream(ollama_sim: OllamaSim) -> None:
    ollama_sim.fault("error_midstream")
    chunks = lines(gen(ollama_sim, prompt=PROMPT))
    assert chunks[-1].keys() == {"error"}
    assert not any(c.get("done") for c in chunks)


def test_fault_drop_midstream(ollama_sim: OllamaSim) -> None:
    ollama_sim.fault("drop_midstream")
    with pytest.raises(httpx.RemoteProtocolError):
        gen(ollama_sim, prompt=PROMPT)


def test_fault_from_env(ollama_sim_factory: Any) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_FAULT": "http503", "FAKE_OLLAMA_FAULT_COUNT": "2"})
    assert [gen(sim, prompt="hi").status_code for _ in range(3)] == [503, 503, 200]


def test_fault_hang_until_client_leaves(ollama_sim: OllamaSim) -> None:
    ollama_sim.fault("hang")
    with pytest.raises(httpx.ReadTimeout), client(ollama_sim, timeout=0.3) as c:
        c.post("/api/generate", json={"model": "llama3.2:3b", "prompt": "hi"})
    assert gen(ollama_sim, prompt="hi").status_code == 200


def test_bad_fault_request(ollama_sim: OllamaSim) -> None:
    with client(ollama_sim) as c:
        assert c.post("/__fake__/fault", json={"mode": "explode"}).status_code == 400
