"""Transfer progress: speed, time left, throttling; pause and cancel; the token's hosts."""

from __future__ import annotations

import asyncio

import pytest

from ai4artsed_desktop.errors import UserCancelled
from ai4artsed_desktop.models.download import TOKEN_ENV, token_header
from ai4artsed_desktop.models.progress import Meter, Phase, TransferControl, TransferProgress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_meter_computes_speed_and_time_left_and_throttles_events() -> None:
    clock = _Clock()
    events: list[TransferProgress] = []
    meter = Meter("f", events.append, clock)
    meter.update(Phase.downloading, 0, 1000)
    clock.now += 1.0
    event = meter.update(Phase.downloading, 100, 1000)
    assert event.speed == pytest.approx(100.0)
    assert event.eta == pytest.approx(9.0)
    assert event.fraction == pytest.approx(0.1)
    clock.now += 0.05  # too soon for another event
    meter.update(Phase.downloading, 105, 1000)
    assert len(events) == 2
    meter.update(Phase.done, 1000, 1000, force=True)
    assert events[-1].phase is Phase.done
    assert len(events) == 3


def test_unknown_totals_have_no_time_left() -> None:
    clock = _Clock()
    meter = Meter("f", None, clock)
    meter.update(Phase.downloading, 0, None)
    clock.now += 1
    event = meter.update(Phase.downloading, 50, None)
    assert event.eta is None
    assert event.fraction is None


@pytest.mark.asyncio
async def test_pause_waits_until_resume_and_cancel_wakes_a_paused_transfer() -> None:
    control = TransferControl()
    control.pause()
    waiter = asyncio.ensure_future(control.wait_running())
    await asyncio.sleep(0)
    assert not waiter.done()
    control.resume()
    await waiter
    control.pause()
    waiter = asyncio.ensure_future(control.wait_running())
    await asyncio.sleep(0)
    control.cancel()
    with pytest.raises(UserCancelled):
        await waiter
    with pytest.raises(UserCancelled):
        await control.sleep(10)


def test_the_token_goes_to_hugging_face_only() -> None:
    assert token_header("https://huggingface.co/org/m/resolve/main/f", "hf_x") == {
        "Authorization": "Bearer hf_x"
    }
    assert token_header("https://cdn-lfs.huggingface.co/f", "hf_x") != {}
    assert token_header("https://cdn-lfs.example.org/f", "hf_x") == {}
    assert token_header("http://127.0.0.1:9/f", "hf_x") == {}
    assert token_header("https://huggingface.co/f", None) == {}
    assert TOKEN_ENV == "HF_TOKEN"
