from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.training.events import (
    CheckpointSaved,
    TrainingDone,
    TrainingEpoch,
    TrainingLog,
    TrainingProblem,
    TrainingProgress,
)
from ai4artsed_desktop.training.progress import ProgressParser, parse_duration

SESSION = (
    "Loading settings from /data/p/train_config.toml...\n"
    "prepare images.\n"
    "found directory /data/p/images/20_lmnx contains 8 image files\n"
    "caching latents...\n"
    "  0%|          | 0/8 [00:00<?, ?it/s]\r 50%|█████     | 4/8 [00:03<00:03,  1.31it/s]\r"
    "100%|██████████| 8/8 [00:06<00:00,  1.31it/s]\n"
    "override steps. steps for 4 epochs is / 指定エポックまでのステップ数: 320\n"
    "running training / 学習開始\n"
    "  num epochs / epoch数: 4\n"
    "  total optimization steps / 学習ステップ数: 320\n"
    "steps:   0%|          | 0/320 [00:00<?, ?it/s]"
    "\nepoch 1/4\n"
    "\rsteps:   0%|          | 1/320 [00:03<19:08,  3.60s/it, avr_loss=0.417]"
    "\rsteps:  25%|██▌       | 80/320 [04:21<13:03,  3.27s/it, avr_loss=0.142]"
    "\nvalidation steps:  50%|█████     | 1/2 [00:01<00:01,  1.00it/s]\r"
    "epoch validation steps: 100%|██████████| 2/2 [00:02<00:00,  1.00it/s]\n"
    "\nepoch 2/4\n"
    "\rsteps:  50%|█████     | 160/320 [1:08:42<08:42,  3.27s/it, avr_loss=1.2e-5]"
    "\nsaving checkpoint: /data/out/clay-000002.safetensors\n"
    "\rsteps: 100%|██████████| 320/320 [17:25<00:00, 18.36it/s, loss=0.0987]\n"
    "\nsaving checkpoint: /data/out/clay.safetensors\n"
    "model saved.\n"
)


def parse_all(chunks: list[str | bytes]) -> tuple[ProgressParser, list[object]]:
    parser = ProgressParser()
    events: list[object] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.finish()
    return parser, events


def test_realistic_session() -> None:
    parser, events = parse_all([SESSION])
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert [p.step for p in progress] == [0, 1, 80, 160, 320]
    assert all(p.total == 320 for p in progress)
    first, second, _, fourth, last = progress
    assert first.rate is None
    assert first.eta_s is None
    assert first.loss is None
    assert second.rate == pytest.approx(1 / 3.6)
    assert second.eta_s == 19 * 60 + 8
    assert second.loss == pytest.approx(0.417)
    assert second.epoch == 1
    assert second.epochs == 4
    assert fourth.elapsed_s == 3600 + 8 * 60 + 42
    assert fourth.loss == pytest.approx(1.2e-5)
    assert last.rate == pytest.approx(18.36)
    assert last.loss == pytest.approx(0.0987)
    assert last.fraction == 1.0
    assert [e for e in events if isinstance(e, TrainingEpoch)] == [
        TrainingEpoch(1, 4),
        TrainingEpoch(2, 4),
    ]
    assert [e.path for e in events if isinstance(e, CheckpointSaved)] == [
        Path("/data/out/clay-000002.safetensors"),
        Path("/data/out/clay.safetensors"),
    ]
    assert events[-1] == TrainingDone()
    assert parser.done
    logs = [e.line for e in events if isinstance(e, TrainingLog)]
    assert not any("%|" in line for line in logs), "no bar may leak into the log"
    assert not any(isinstance(e, TrainingProblem) for e in events)


def test_total_falls_back_to_the_bar() -> None:
    _, events = parse_all(["steps:  10%|█         | 5/50 [00:05<00:45,  1.00it/s, avr_loss=0.3]\n"])
    assert events == [TrainingProgress(5, 50, 0, 0, 0.3, 1.0, 45.0, 5.0)]


def test_bytes_with_split_multibyte_characters() -> None:
    data = SESSION.encode("utf-8")
    _, whole = parse_all([SESSION])
    _, split = parse_all([data[i : i + 1] for i in range(len(data))])
    assert split == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SESSION)), max_size=25))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks: list[str | bytes] = [
        SESSION[a:b] for a, b in zip([0, *points], [*points, len(SESSION)], strict=True)
    ]
    assert parse_all(chunks)[1] == parse_all([SESSION])[1]


@pytest.mark.parametrize(
    ("lines", "kind"),
    [
        (["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.50 GiB."], "oom"),
        (["No data found. Please verify arguments / ..."], "no_data"),
        (
            ["AssertionError: caption file is empty / キャプションファイルが空です: /x/1.txt"],
            "empty_caption",
        ),
        (
            ["FileNotFoundError: [Errno 2] No such file or directory: '/models/base.safetensors'"],
            "missing_model",
        ),
        (["Traceback (most recent call last):", "ValueError: bad value"], "error"),
    ],
)
def test_problems(lines: list[str], kind: str) -> None:
    parser, events = parse_all(["\n".join(lines) + "\n"])
    problems = [e for e in events if isinstance(e, TrainingProblem)]
    assert [p.kind for p in problems] == [kind]
    assert parser.problem() == problems[0]


def test_twenty_thousand_lines() -> None:
    total = 20_000
    lines = ["  total optimization steps / 学習ステップ数: 20000"]
    lines += [
        f"steps: {100 * n // total:3d}%|██        | {n}/{total} "
        f"[00:{n % 60:02d}<1:00:00,  2.00it/s, avr_loss=0.{n % 1000:03d}]"
        for n in range(1, total + 1)
    ]
    parser = ProgressParser()
    events = parser.feed("\r".join(lines) + "\n")
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert len(progress) == total
    assert progress[-1].step == total
    assert progress[-1].total == total
    assert parser.last is not None
    assert parser.last.loss == pytest.approx(0.0)


def test_durations() -> None:
    assert parse_duration("01:05") == 65
    assert parse_duration("2:00:01") == 7201
    assert parse_duration("?") is None
