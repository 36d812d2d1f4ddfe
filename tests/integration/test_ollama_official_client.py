"""The official ``ollama`` Python client against our Ollama simulator.

If the real client can talk to the simulator, the simulator speaks the protocol and not
just what our own client expects (protocols.md §1).
"""

from __future__ import annotations

from collections.abc import Iterator

import ollama
import pytest

from tests.integration.conftest import OllamaSim

MESSAGES = [{"role": "user", "content": "Ein Fuchs im Schnee, als Bauhaus-Plakat"}]


@pytest.fixture
def client(ollama_sim: OllamaSim) -> Iterator[ollama.Client]:
    with ollama.Client(host=ollama_sim.base_url) as official:
        yield official


def test_list_ps_and_show(client: ollama.Client) -> None:
    names = [m.model for m in client.list().models]
    assert "qwen3:8b" in names
    client.generate(model="llama3.2:3b", prompt="hi", keep_alive="5m")
    running = client.ps().models
    assert [m.model for m in running] == ["llama3.2:3b"]
    assert running[0].size_vram is not None
    info = client.show("qwen3:8b")
    assert info.details is not None
    assert info.details.family == "qwen3"
    assert "thinking" in (info.capabilities or [])


def test_chat_and_generate_streaming(client: ollama.Client) -> None:
    parts = list(client.chat(model="llama3.2:3b", messages=MESSAGES, stream=True))
    assert parts[-1].done
    assert parts[-1].eval_count
    text = "".join(p.message.content or "" for p in parts)
    assert text.strip()
    gen = list(client.generate(model="llama3.2:3b", prompt="Ein Haus am Meer", stream=True))
    assert gen[-1].done
    assert "".join(g.response for g in gen).strip()


def test_chat_with_thinking_and_options(client: ollama.Client) -> None:
    answer = client.chat(
        model="qwen3:8b", messages=MESSAGES, think=True, options={"temperature": 0, "seed": 1}
    )
    assert answer.message.thinking
    assert answer.message.content
    again = client.chat(
        model="qwen3:8b", messages=MESSAGES, think=True, options={"temperature": 0, "seed": 1}
    )
    assert again.message.content == answer.message.content


def test_pull_reports_progress(client: ollama.Client) -> None:
    updates = list(client.pull("smollm2:135m", stream=True))
    assert updates[-1].status == "success"
    assert any(u.total and u.completed is not None for u in updates)
    assert "smollm2:135m" in [m.model for m in client.list().models]


def test_unknown_model_is_a_404(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="no-such-model:1b", messages=MESSAGES)
    assert info.value.status_code == 404
    assert "not found" in info.value.error
