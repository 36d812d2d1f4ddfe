"""Ollama model pulls through the Models page's helper, against the Ollama simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.errors import BackendRequestError, UserCancelled
from ai4artsed_desktop.models.ollama_pull import pull_model
from ai4artsed_desktop.models.progress import Phase, TransferControl, TransferProgress

from .conftest import OllamaSim


@pytest.fixture
def slow_sim(ollama_sim_factory: Callable[..., OllamaSim]) -> OllamaSim:
    return ollama_sim_factory(env={"FAKE_OLLAMA_PULL_MS": "250"})


@pytest_asyncio.fixture
async def ollama(slow_sim: OllamaSim) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(slow_sim.base_url) as client:
        yield client


async def _installed(client: OllamaClient) -> set[str]:
    return {m.name for m in await client.tags()}


@pytest.mark.asyncio
async def test_a_pull_reports_progress_and_ends_installed(ollama: OllamaClient) -> None:
    events: list[TransferProgress] = []
    await pull_model(ollama, "gemma3:4b", listener=events.append)
    assert events[-1].phase is Phase.done
    assert events[-1].done == events[-1].total
    assert events[-1].total is not None
    assert events[-1].total > 3_000_000_000
    assert any(e.speed > 0 for e in events if e.phase is Phase.downloading)
    assert "gemma3:4b" in await _installed(ollama)


@pytest.mark.asyncio
async def test_cancel_stops_the_pull_and_nothing_is_installed(ollama: OllamaClient) -> None:
    control = TransferControl()

    def on_progress(event: TransferProgress) -> None:
        if event.done > 0:
            control.cancel()

    with pytest.raises(UserCancelled):
        await pull_model(ollama, "gemma3:4b", control=control, listener=on_progress)
    assert "gemma3:4b" not in await _installed(ollama)


@pytest.mark.asyncio
async def test_pause_closes_the_stream_and_resume_pulls_again(
    ollama: OllamaClient, slow_sim: OllamaSim
) -> None:
    control = TransferControl()
    phases: list[Phase] = []

    def on_progress(event: TransferProgress) -> None:
        phases.append(event.phase)
        if event.done > 0 and Phase.paused not in phases and not control.paused:
            control.pause()
        elif event.phase is Phase.paused:
            control.resume()

    await pull_model(ollama, "gemma3:4b", control=control, listener=on_progress)
    assert Phase.paused in phases
    assert phases[-1] is Phase.done
    assert "gemma3:4b" in await _installed(ollama)


@pytest.mark.asyncio
async def test_an_unknown_model_is_a_clear_error(ollama: OllamaClient) -> None:
    with pytest.raises(BackendRequestError) as caught:
        await pull_model(ollama, "nosuch")
    assert "nosuch" in caught.value.user_message
