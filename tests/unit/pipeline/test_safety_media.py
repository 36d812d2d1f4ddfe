"""MediaGate (stage 6) per level with a recording vision judge."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from ai4artsed_desktop.errors import BackendRequestError, BackendUnavailable
from ai4artsed_desktop.pipeline.safety import JudgeReply, SafetyError
from ai4artsed_desktop.pipeline.safety_media import MediaGate, Vision, installed
from ai4artsed_desktop.pipeline.safety_reasons import UNAVAILABLE, UNREADABLE_IMAGE
from ai4artsed_desktop.store.video import frames_to_check
from tests.unit.store.helpers import video_bytes

PNG = b"\x89PNG\r\n\x1a\nfake"


@dataclass
class Eyes:
    answers: list[str | JudgeReply | Exception]
    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, messages: list[dict[str, Any]]) -> JudgeReply:
        self.calls.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, JudgeReply) else JudgeReply(answer)


def gate(vision: Vision, *, enabled: bool = True) -> MediaGate:
    async def source() -> Vision:
        return vision

    return MediaGate(source, enabled=lambda: enabled)


MISSING = Vision(None, "qwen2.5vl:7b", "qwen2.5vl:7b is not installed", "ollama pull qwen2.5vl:7b")


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
async def test_every_image_is_shown_to_the_vision_model(level: str) -> None:
    eyes = Eyes(["SAFE", "UNSAFE: violence, a man is shot"])
    outcome = await gate(Vision(eyes, "qwen2.5vl:7b")).check_images(
        [(PNG, "image/png"), (b"second", "image/png")], level=level, lang="en"
    )
    assert not outcome.allowed
    assert outcome.cause == "vision"
    assert "violence" in outcome.reason
    user = eyes.calls[0][-1]
    assert user["images"] == [base64.b64encode(PNG).decode()]
    assert "a man is shot" in outcome.decisions[-1].detail


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
@pytest.mark.parametrize(
    "answer", ["A colourful picture of a fox.", JudgeReply("SAFE\nThe image", truncated=True)]
)
async def test_unreadable_image_verdicts_fail_closed(level: str, answer: str | JudgeReply) -> None:
    outcome = await gate(Vision(Eyes([answer]), "m")).check_images(
        [(PNG, "image/png")], level=level, lang="en"
    )
    assert not outcome.allowed
    assert outcome.cause == "unreadable"
    assert outcome.reason == UNREADABLE_IMAGE["en"]


@pytest.mark.asyncio
async def test_an_unreachable_vision_model_fails_closed() -> None:
    eyes = Eyes([BackendUnavailable("Ollama is not reachable.", detail="refused")])
    outcome = await gate(Vision(eyes, "m")).check_images(
        [(PNG, "image/png")], level="youth", lang="de"
    )
    assert not outcome.allowed
    assert outcome.reason == UNAVAILABLE["de"]


@pytest.mark.asyncio
async def test_kids_without_vision_model_cannot_make_images() -> None:
    pre = await gate(MISSING).precheck("kids", "en")
    assert not pre.allowed
    assert "ollama pull qwen2.5vl:7b" in pre.reason
    assert (await gate(MISSING).precheck("youth", "en")).allowed  # youth: shown, noted


@pytest.mark.asyncio
async def test_youth_without_vision_model_get_a_not_checked_note() -> None:
    outcome = await gate(MISSING).check_images([(PNG, "image/png")], level="youth", lang="en")
    assert outcome.allowed
    assert outcome.note.startswith("Not checked")


@pytest.mark.asyncio
async def test_a_model_removed_since_the_lookup_counts_as_missing() -> None:
    eyes = Eyes([BackendRequestError("model not found", status=404)])
    kids = await gate(Vision(eyes, "qwen2.5vl:7b", pull="ollama pull qwen2.5vl:7b")).check_images(
        [(PNG, "image/png")], level="kids", lang="en"
    )
    assert not kids.allowed
    assert "ollama pull qwen2.5vl:7b" in kids.reason


@pytest.mark.asyncio
async def test_switched_off_by_a_teacher_shows_the_image_with_a_note() -> None:
    outcome = await gate(MISSING, enabled=False).check_images(
        [(PNG, "image/png")], level="kids", lang="de"
    )
    assert outcome.allowed
    assert "Lehrkraft" in outcome.note
    assert outcome.decisions[0].detail.startswith("the media check was switched off")
    assert (await gate(MISSING, enabled=False).precheck("kids", "de")).allowed


@pytest.mark.asyncio
async def test_adult_and_confirmed_research_have_no_media_check() -> None:
    eyes = Eyes([])
    media = MediaGate(lambda: _never(), research_confirmed=lambda: True)
    assert not media.applies("adult", "en")
    assert (await media.check_images([(PNG, "image/png")], level="research", lang="en")).allowed
    assert eyes.calls == []
    with pytest.raises(SafetyError):
        MediaGate(None).applies("research", "en")


async def _never() -> Vision:
    raise AssertionError("the vision model must not be looked up")


def test_installed_names_with_and_without_tag() -> None:
    assert installed(["gemma3:latest"], "gemma3")
    assert installed(["qwen2.5vl:7b"], "qwen2.5vl:7b")
    assert not installed(["qwen2.5vl:3b"], "qwen2.5vl:7b")


@pytest.mark.asyncio
@pytest.mark.parametrize("level", ["kids", "youth"])
async def test_a_film_without_frames_to_judge_fails_closed(level: str) -> None:
    eyes = Eyes([])  # never asked: there is nothing to show it
    outcome = await gate(Vision(eyes, "qwen2.5vl:7b")).check_images(
        [(b"\x00\x00\x00\x18ftypisom broken", "video/mp4")], level=level, lang="en"
    )
    assert not outcome.allowed
    assert outcome.reason == UNREADABLE_IMAGE["en"]
    assert outcome.decisions[-1].result == "unreadable"
    assert "could not be decoded" in outcome.decisions[-1].detail
    assert eyes.calls == []


def test_frames_to_check_spread_over_the_film() -> None:
    colours = tuple((10 * i, 200 - 10 * i, 90) for i in range(10))
    frames = frames_to_check(video_bytes(colours, (64, 48)), count=4)
    assert len(frames) == 4
    firsts = []
    for jpeg in frames:
        with Image.open(io.BytesIO(jpeg)) as image:
            assert image.format == "JPEG"
            assert image.size == (64, 48)
            firsts.append(image.convert("RGB").getpixel((32, 24)))
    reds = [pixel[0] for pixel in firsts]  # type: ignore[index]
    assert reds == sorted(reds)  # in film order
    assert reds[0] < 20  # the first frame
    assert reds[-1] > 70  # the last frame
    assert frames_to_check(b"not a film") == []
