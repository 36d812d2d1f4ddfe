"""Before a run: kids with the media check on and no vision model get no picture outputs."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from ai4artsed_desktop import settings as s
from ai4artsed_desktop.backends.ollama_parse import ModelInfo
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.errors import BackendUnavailable
from ai4artsed_desktop.events import BackendState, BackendStateChanged
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.model_status import ModelStatusBoard
from ai4artsed_desktop.pipeline.safety_media import (
    FALLBACK_PULL,
    MediaGate,
    VisionState,
    images_unavailable,
)
from ai4artsed_desktop.pipeline.services import vision_source

CONTENT = load_content(resources_dir() / "configs")
MISSING = VisionState("qwen2.5vl:7b", "qwen2.5vl:7b is not installed", "ollama pull qwen2.5vl:7b")
READY = VisionState("qwen2.5vl:7b")
LEVELS = ("kids", "youth", "adult", "research")


class Ollama:
    """Answers /api/tags with the installed models; ``down`` makes it unreachable."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.down = False
        self.asked = 0

    async def tags(self) -> list[ModelInfo]:
        self.asked += 1
        if self.down:
            raise BackendUnavailable("Ollama is not reachable.", detail="connection refused")
        return [ModelInfo(name) for name in self.names]


class Backends:
    def __init__(self, ollama: Ollama) -> None:
        self._ollama = ollama

    async def ollama(self) -> Any:
        if self._ollama.down:
            raise BackendUnavailable("Ollama is not reachable.", detail="connection refused")
        return self._ollama

    async def comfy(self) -> Any:
        raise AssertionError("not used")

    async def swarm(self) -> Any:
        raise AssertionError("not used")


def settings(vision: str = "ollama/qwen2.5vl:7b", **safety: Any) -> s.Settings:
    base = s.Settings()
    return dataclasses.replace(
        base,
        roles=dataclasses.replace(base.roles, vision=vision),
        safety=dataclasses.replace(base.safety, **safety),
    )


def media(ollama: Ollama, current: list[s.Settings]) -> MediaGate:
    source = vision_source(lambda: current[0], CONTENT, Backends(ollama))
    return MediaGate(source, enabled=lambda: current[0].safety.media_check)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("state", [None, READY, MISSING])
def test_only_kids_with_the_check_on_and_a_known_missing_model_lose_pictures(
    level: str, enabled: bool, state: VisionState | None
) -> None:
    expected = level == "kids" and enabled and state is MISSING
    assert images_unavailable(level, enabled=enabled, vision=state) is expected


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth", "adult"])
@pytest.mark.parametrize("enabled", [True, False])
async def test_greying_and_the_run_time_refusal_agree(level: str, enabled: bool) -> None:
    current = [settings(media_check=enabled)]
    gate = media(Ollama("llama3.2:3b"), current)  # the vision model is not installed
    state = await gate.vision_state()
    refused = not (await gate.precheck(level, "en")).allowed
    assert images_unavailable(level, enabled=enabled, vision=state) is refused


@pytest.mark.asyncio
async def test_vision_state_names_the_pull_command() -> None:
    current = [settings()]
    ollama = Ollama("llama3.2:3b")
    gate = media(ollama, current)
    assert await gate.vision_state() == VisionState(
        "qwen2.5vl:7b", "qwen2.5vl:7b is not installed", "ollama pull qwen2.5vl:7b"
    )
    ollama.names.append("qwen2.5vl:7b")
    assert await gate.vision_state() == READY
    current[0] = settings(vision="")  # no role: Ollama is not even asked
    asked = ollama.asked
    unset = await gate.vision_state()
    assert unset is not None
    assert not unset.ready
    assert unset.pull == FALLBACK_PULL
    assert ollama.asked == asked
    assert await MediaGate(None).vision_state() == VisionState("", "no vision model is set",
                                                               FALLBACK_PULL)  # fmt: skip


@pytest.mark.asyncio
async def test_an_unreachable_ollama_is_not_known_and_greys_nothing() -> None:
    ollama = Ollama()
    ollama.down = True
    assert await media(ollama, [settings()]).vision_state() is None


@pytest.mark.asyncio
async def test_board_records_the_vision_model_and_tells_listeners_on_change() -> None:
    current = [settings(level="kids")]
    ollama = Ollama("llama3.2:3b")
    board = ModelStatusBoard(CONTENT, vision=media(ollama, current).vision_state)
    told: list[int] = []
    board.add_listener(lambda: told.append(1))
    assert board.images_unavailable("kids", media_check=True) is None  # not known yet
    await board.check_vision()
    assert board.images_unavailable("kids", media_check=True) == MISSING
    assert board.images_unavailable("kids", media_check=False) is None
    assert board.images_unavailable("youth", media_check=True) is None
    await board.check_vision()
    assert told == [1]  # the same answer again tells nobody
    ollama.down = True
    await board.check_vision()
    assert board.vision == MISSING  # unreachable: the last known state stays
    ollama.down = False
    ollama.names.append("qwen2.5vl:7b")
    await board.check_vision()
    assert board.vision == READY
    assert board.images_unavailable("kids", media_check=True) is None
    assert told == [1, 1]


@pytest.mark.asyncio
async def test_board_looks_the_vision_model_up_only_while_ollama_is_ready() -> None:
    ollama = Ollama()
    board = ModelStatusBoard(CONTENT, vision=media(ollama, [settings()]).vision_state)
    told = asyncio.Event()
    board.add_listener(told.set)
    assert not board.recheck_vision()  # Ollama never started: nothing starts it
    on_state = board.watch_vision()
    on_state(BackendStateChanged("comfyui", BackendState.ready))
    assert ollama.asked == 0
    on_state(BackendStateChanged("ollama", BackendState.ready))
    await asyncio.wait_for(told.wait(), 5)
    assert board.vision is not None
    assert board.vision.pull == "ollama pull qwen2.5vl:7b"
    on_state(BackendStateChanged("ollama", BackendState.stopped))
    assert not board.recheck_vision()
    await board.aclose()
