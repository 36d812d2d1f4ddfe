r"""The kohya log parser on random output: never raises, and splitting never changes events.

Complements tests/unit/training/test_progress.py (which re-chunks one realistic session):
here the bytes are random, the bars carry random (also absurd) numbers, and one real tqdm
line is split at every byte position, ``\r`` and ``\n`` included.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.training.events import TrainingProgress
from ai4artsed_desktop.training.progress import ParsedEvent, ProgressParser

FUZZ = settings(max_examples=150)

TQDM = "\rsteps:  25%|██▌       | 80/320 [04:21<13:03,  3.27s/it, avr_loss=0.142]"
FRAGMENTS = [
    "steps:", "  25%|", "██▌", "| 80/320 ", "[04:21<13:03, ", " 3.27s/it", ", avr_loss=0.142]",
    "epoch 1/4", "saving checkpoint: /o/x.safetensors", "model saved.", "\r", "\n", "\r\n",
    "  total optimization steps / 学習ステップ数: 320", "  num epochs / epoch数: 4",
    "CUDA out of memory", "No data found.", "Traceback (most recent call last):", "?",
    "0/0", "nan", "inf", "99999999999999999999", "-1", ":", "=", ",",
]  # fmt: skip


def parse(chunks: list[bytes]) -> list[ParsedEvent]:
    parser = ProgressParser()
    events: list[ParsedEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.finish()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


@FUZZ
@given(
    pieces=st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=30),
    noise=st.binary(max_size=20),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_random_output_never_raises_and_any_split_parses_the_same(
    pieces: list[str], noise: bytes, cuts: list[int]
) -> None:
    data = "".join(pieces).encode("utf-8") + noise
    whole = parse([data])
    assert parse(split(data, cuts)) == whole
    for event in whole:
        if isinstance(event, TrainingProgress):
            assert event.step >= 0
            assert event.total >= 0


number = st.integers(0, 10**12).map(str) | st.sampled_from(["?", "0", "00", "1e309", "."])


@FUZZ
@given(
    pct=number, done=number, total=number, elapsed=number, eta=number, rate=number,
    unit=st.sampled_from(["it/s", "s/it"]), postfix=st.text(alphabet="avr_los=0.1,e-", max_size=20),
)  # fmt: skip
def test_bars_with_absurd_numbers_never_raise(
    pct: str, done: str, total: str, elapsed: str, eta: str, rate: str, unit: str, postfix: str
) -> None:
    line = f"steps: {pct}%|██| {done}/{total} [{elapsed}:{eta}<{eta}, {rate}{unit}, {postfix}]"
    events = parse([f"  total optimization steps / x: {total}\n{line}\r".encode()])
    for event in events:
        if isinstance(event, TrainingProgress):
            assert 0.0 <= event.fraction <= 1.0 or event.total == 0


def test_a_real_tqdm_line_split_at_every_byte_parses_the_same() -> None:
    data = ("epoch 1/4\n" + TQDM + TQDM.replace("80/320", "81/320") + "\n").encode("utf-8")
    whole = parse([data])
    assert [e.step for e in whole if isinstance(e, TrainingProgress)] == [80, 81]
    for cut in range(len(data) + 1):
        assert parse([data[:cut], data[cut:]]) == whole, cut
    assert parse([data[i : i + 1] for i in range(len(data))]) == whole
