"""The parser on bytes the real tqdm wrote, the way sd-scripts drives its ``steps`` bar.

``tests/data/sd_scripts_tqdm_*.bin`` were recorded with ``scripts/record_tqdm_transcript.py``
(real tqdm 4.70.1, the calls of sd-scripts' train_network.py, stdout and stderr in one pipe).
Real tqdm draws each step twice: ``update(1)`` with the previous step's loss, then
``set_postfix`` with its own; a crash's traceback follows the last draw without a newline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.process_output import split_lines
from ai4artsed_desktop.backends.process_types import ProcessOutcome
from ai4artsed_desktop.training.events import TrainingLog, TrainingProgress
from ai4artsed_desktop.training.outcome import failure
from ai4artsed_desktop.training.progress import ParsedEvent, ProgressParser

DATA = Path(__file__).resolve().parents[2] / "data"
STEPS = (DATA / "sd_scripts_tqdm_steps.bin").read_bytes()
CRASH = (DATA / "sd_scripts_tqdm_crash.bin").read_bytes()


def by_chunks(data: bytes, size: int) -> tuple[ProgressParser, list[ParsedEvent]]:
    """Raw output in chunks that split lines and UTF-8 characters anywhere."""
    parser = ProgressParser()
    events: list[ParsedEvent] = []
    for start in range(0, len(data), size):
        events += parser.feed(data[start : start + size])
    return parser, events + parser.finish()


def as_the_service_reads_it(data: bytes) -> tuple[ProgressParser, list[ParsedEvent]]:
    """Lines as the process supervisor splits them (on \\r and \\n), one feed_line each."""
    parser = ProgressParser()
    lines, rest = split_lines(b"", data)
    events: list[ParsedEvent] = []
    for line in [*lines, rest]:
        events += parser.feed_line(line.decode("utf-8"))
    return parser, events


def first_loss_per_step(events: list[ParsedEvent]) -> list[tuple[int, float]]:
    """What the loss chart keeps: the first known loss of each step."""
    points: list[tuple[int, float]] = []
    for event in events:
        if not isinstance(event, TrainingProgress) or event.loss is None:
            continue
        if not points or points[-1][0] != event.step:
            points.append((event.step, event.loss))
    return points


def test_the_recording_shows_the_double_draw() -> None:
    # update(1) of step 2 still shows step 1's loss; set_postfix then shows step 2's own.
    draws = re.findall(r"\| (\d)/4 \[[^,]*, +[\d.?]+it/s(?:, avr_loss=([\d.]+))?\]", STEPS.decode())
    assert draws[:5] == [("0", ""), ("1", ""), ("1", "0.213"), ("2", "0.213"), ("2", "0.187")]


@pytest.mark.parametrize("reader", [lambda d: by_chunks(d, 7), as_the_service_reads_it])
def test_each_loss_is_shown_with_its_own_step(reader: object) -> None:
    parser, events = reader(STEPS)  # type: ignore[operator]
    progress = [(e.step, e.loss) for e in events if isinstance(e, TrainingProgress)]
    assert progress[:5] == [(0, None), (1, None), (1, 0.213), (2, None), (2, 0.187)]
    assert first_loss_per_step(events) == [(1, 0.213), (2, 0.187), (3, 0.17), (4, 0.166)]
    assert all(e.total == 4 for e in events if isinstance(e, TrainingProgress))
    assert parser.done
    assert parser.problems == []


@pytest.mark.parametrize("reader", [lambda d: by_chunks(d, 5), as_the_service_reads_it])
def test_a_traceback_glued_to_the_bar_is_kept_and_the_fatal_line_quoted(reader: object) -> None:
    parser, events = reader(CRASH)  # type: ignore[operator]
    logs = [e.line for e in events if isinstance(e, TrainingLog)]
    assert logs.count("Traceback (most recent call last):") == 2
    fatal = "RuntimeError: CUDA error: an illegal memory access was encountered"
    assert fatal in logs
    first = parser.problem("error")
    assert first is not None
    assert first.line.startswith("FileNotFoundError:")
    last = parser.last_problem("error")
    assert last is not None
    assert last.line == fatal
    # The step bar that carried the traceback still counts.
    assert max(e.step for e in events if isinstance(e, TrainingProgress)) == 3
    verdict = failure(ProcessOutcome("kohya sd-scripts", 1), parser, logs, None)
    assert verdict.message.endswith(f"Last error: {fatal}")
    assert "Traceback (most recent call last):" in verdict.log_tail


def test_accelerates_own_last_line_is_not_the_fatal_error() -> None:
    parser = ProgressParser()
    for line in (
        "RuntimeError: CUDA error: an illegal memory access was encountered",
        "Traceback (most recent call last):",
        "subprocess.CalledProcessError: Command '['/venv/bin/python', 'train_network.py']' "
        "returned non-zero exit status 1.",
    ):
        parser.feed_line(line)
    last = parser.last_problem("error")
    assert last is not None
    assert last.line.startswith("RuntimeError:")


def test_a_bar_whose_loss_repeats_after_a_step_without_an_update_draw() -> None:
    # A step faster than tqdm's mininterval draws only once (set_postfix): its loss is new.
    parser = ProgressParser()
    bars = [
        "steps:  25%|██▌       | 1/4 [00:00<00:00,  9.1it/s, avr_loss=0.5]",
        "steps:  50%|█████     | 2/4 [00:00<00:00,  9.2it/s, avr_loss=0.4]",
    ]
    events = [event for bar in bars for event in parser.feed_line(bar)]
    assert [(e.step, e.loss) for e in events if isinstance(e, TrainingProgress)] == [
        (1, 0.5),
        (2, 0.4),
    ]
