"""Contract tests against a real OpenAI-compatible server: llama.cpp with SmolLM2-135M.

What a lab's own text server (llama.cpp's server, LM Studio, vLLM) must do for the app:
list its models, stream answers with a stop reason, honour token limits and seeds,
report errors the app can explain, and carry a whole headless run to the interception.
The model is tiny (135 M parameters), so no exact text is asserted.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from ai4artsed_desktop.content.schema import DataProtection, Provider, Text
from ai4artsed_desktop.errors import BackendRequestError
from ai4artsed_desktop.events import TextDelta, TextDone
from ai4artsed_desktop.pipeline.prompts import Message, build_interception
from ai4artsed_desktop.pipeline.providers import OpenAICompatibleProvider, ProviderRegistry
from ai4artsed_desktop.settings import Settings, replace_path, to_dict
from tests.contract_llm.conftest import MODEL_ALIAS, N_CTX, LlamaServer

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[2]


def lab(server: LlamaServer) -> Provider:
    name = Text("Schulserver", "School server")
    return Provider("lab", name, DataProtection.local, True, server.base_url)


async def _no_ollama() -> object:
    raise AssertionError("Ollama is not used here")


@pytest_asyncio.fixture
async def provider(llama_server: LlamaServer) -> AsyncIterator[OpenAICompatibleProvider]:
    registry = ProviderRegistry(_no_ollama, env={}, local_only=lambda: True)  # type: ignore[arg-type]
    try:
        found = registry.get(lab(llama_server))
        assert isinstance(found, OpenAICompatibleProvider)
        yield found
    finally:
        await registry.aclose()


HELLO = [Message("system", "You are brief."), Message("user", "Say hello to a class of children.")]


@pytest.mark.asyncio
async def test_model_list(provider: OpenAICompatibleProvider) -> None:
    assert await provider.models() == [MODEL_ALIAS]


@pytest.mark.asyncio
async def test_streaming_ends_with_a_stop_reason(provider: OpenAICompatibleProvider) -> None:
    events = []
    options = {"temperature": 0.2, "num_predict": 64, "seed": 7}
    async with contextlib.aclosing(provider.stream_chat(MODEL_ALIAS, HELLO, options=options)) as s:
        async for event in s:
            events.append(event)
    done = events[-1]
    assert isinstance(done, TextDone)
    deltas = [e for e in events[:-1] if isinstance(e, TextDelta)]
    assert len(deltas) >= 2  # really streamed
    assert "".join(d.text for d in deltas if not d.thinking) == done.text
    assert done.text.strip()
    assert done.done_reason in ("stop", "length")


@pytest.mark.asyncio
async def test_token_limit_reports_truncated(provider: OpenAICompatibleProvider) -> None:
    done = await provider.chat_once(MODEL_ALIAS, HELLO, options={"num_predict": 3, "seed": 1})
    assert (done.done_reason, done.truncated) == ("length", True)
    assert done.eval_count in (0, 3)  # usage is optional in streamed answers


@pytest.mark.asyncio
async def test_same_seed_same_answer(provider: OpenAICompatibleProvider) -> None:
    options = {"temperature": 0.8, "num_predict": 24, "seed": 1234}
    first = await provider.chat_once(MODEL_ALIAS, HELLO, options=options)
    second = await provider.chat_once(MODEL_ALIAS, HELLO, options=options)
    assert first.text == second.text


@pytest.mark.asyncio
async def test_stop_sequences_are_honoured(provider: OpenAICompatibleProvider) -> None:
    count = [Message("user", "Count from 1 to 20, separated by commas.")]
    options = {"temperature": 0.0, "num_predict": 80, "seed": 3, "stop": [","]}
    done = await provider.chat_once(MODEL_ALIAS, count, options=options)
    assert "," not in done.text
    assert done.done_reason == "stop"


@pytest.mark.asyncio
async def test_a_prompt_beyond_the_context_is_a_clear_error(
    provider: OpenAICompatibleProvider,
) -> None:
    huge = [Message("user", "word " * (N_CTX * 2))]
    with pytest.raises(BackendRequestError) as info:
        await provider.chat_once(MODEL_ALIAS, huge, options={"num_predict": 8})
    assert info.value.status == 400
    assert "School server refused the request" in info.value.user_message
    assert "context" in info.value.detail.lower()


@pytest.mark.asyncio
async def test_the_interception_prompt_gets_an_answer(provider: OpenAICompatibleProvider) -> None:
    messages = build_interception("Ein Fuchs im Schnee", "Erzähle es als Märchen.", lang="de")
    done = await provider.chat_once(MODEL_ALIAS, messages, options={"num_predict": 120, "seed": 5})
    assert done.text.strip()


def test_headless_run_stops_after_the_interception(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    """``run --stop-after interception`` with the lab server as the interception model."""
    config = tmp_path / "config"
    (config / "configs").mkdir(parents=True)
    builtin = json.loads((REPO / "resources" / "configs" / "providers.json").read_text("utf-8"))
    entry = {
        "id": "lab",
        "name": {"de": "Schulserver", "en": "School server"},
        "data_protection": "local",
        "base_url": llama_server.base_url,
    }
    (config / "configs" / "providers.json").write_text(json.dumps([*builtin, entry]), "utf-8")
    # a short token limit keeps the run quick on 2 busy cores (a cut-off answer is retried
    # once with more room, as with any model)
    tale = json.loads(
        (REPO / "resources" / "configs" / "interception" / "fairy_tale.json").read_text("utf-8")
    )
    tale.update(id="contract_tale", llm={**tale.get("llm", {}), "max_tokens": 48})
    (config / "configs" / "interception").mkdir()
    (config / "configs" / "interception" / "contract_tale.json").write_text(json.dumps(tale))
    settings = replace_path(Settings(), "roles.interception", f"lab/{MODEL_ALIAS}")
    (config / "settings.json").write_text(json.dumps(to_dict(settings)), "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ai4artsed_desktop", "run", "--json", "--data-dir", str(tmp_path),
         "--idea", "Ein Fuchs im Schnee", "--config", "contract_tale", "--output", "sd15",
         "--level", "adult", "--stop-after", "interception"],
        capture_output=True, text=True, timeout=600, cwd=REPO, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    completed = [e for e in events if e["event"] == "stage_completed"]
    assert completed[-1]["stage"] == "interception"
    assert completed[-1]["text"].strip()
    final = events[-1]
    record = json.loads((Path(final["folder"]) / "run.json").read_text("utf-8"))
    assert record["status"] == "stopped"
    assert record["models"]["interception"] == f"lab/{MODEL_ALIAS}"
    (stage,) = [s for s in record["stages"] if s["stage"] == "interception"]
    assert stage["params"]["checks"]["attempts"] in (1, 2)
    assert isinstance(stage["params"]["seed"], int)
