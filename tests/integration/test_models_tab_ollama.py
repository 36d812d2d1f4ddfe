"""The Models tab's Ollama rows against the Ollama simulator: listed from the model roles,
never started just to look, pulled with the licence asked first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.ollama import OllamaClient
from tests.fakes.file_server import FileHost, file_host
from tests.ui.helpers import run
from tests.ui.test_models_panel import DATA, SD15, _panel, _vm


@pytest.fixture
def host() -> Iterator[FileHost]:
    with file_host({SD15: DATA}) as served:
        yield served


class _Ollama:
    """Ollama for the tab: the real client on the simulator, 'running' as the test says."""

    def __init__(self, client: Any, running: bool) -> None:
        self._client = client
        self.running = running
        self.started = 0

    def ready(self) -> bool:
        return self.running

    async def client(self) -> Any:
        self.started += 1
        self.running = True
        return self._client


def test_ollama_models_of_the_roles_are_listed_and_pulled_with_progress(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost, ollama_sim_factory: Any
) -> None:
    sim = ollama_sim_factory(env={"FAKE_OLLAMA_PULL_MS": "250"})
    client = OllamaClient(sim.base_url)
    access = _Ollama(client, running=False)
    roles = {"interception": "ollama/gemma3:4b", "safety": "ollama/gemma3:4b", "x": "openai/gpt"}
    vm = _vm(host, tmp_path / "ComfyUI", [], ollama=access, roles=lambda: roles)
    panel, asked = _panel(qtbot, vm, answers=[True])
    row = vm.row("ollama/gemma3:4b")
    assert row is not None
    assert row.state == "unknown"  # the tab never starts Ollama just to look
    assert row.roles == ("interception", "safety")
    card = panel.cards["ollama/gemma3:4b"]
    assert "ollama pull gemma3:4b" in card.folder.text()
    assert card.state.text() == "Ollama läuft nicht"
    assert not card.get_button.isHidden()
    with qtbot.waitSignal(vm.downloaded, timeout=15000):
        card.get_button.click()  # the Gemma terms ask to be accepted first
    assert asked[0].licences[0].licence == "Gemma Terms of Use"
    assert access.started >= 1
    qtbot.waitUntil(lambda: vm.row("ollama/gemma3:4b").state == "ok", timeout=10000)  # type: ignore[union-attr]
    assert vm.row("ollama/gemma3:4b").files[0].state == "ok"  # type: ignore[union-attr]
    run(qtbot, vm.shutdown())
    run(qtbot, client.aclose())
