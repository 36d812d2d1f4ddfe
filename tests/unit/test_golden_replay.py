"""The app's parsers on what the real ComfyUI 0.8.0 and the real sd-scripts said.

tests/data/golden/ was recorded by tests/contract/record_golden.py from the real programs
(a tiny SD 1.5 job with a LoRA, an interrupted job, /object_info, a rejected graph,
/system_stats, and the raw output bytes of a real LoRA training).
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

from PIL import Image

from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.comfyui_parsing import (
    combo_options,
    describe_rejection,
    parse_history,
    parse_object_info,
    parse_system_stats,
    parse_ws_binary,
    parse_ws_text,
)
from ai4artsed_desktop.backends.comfyui_tracker import RunTracker
from ai4artsed_desktop.backends.process_output import split_lines
from ai4artsed_desktop.events import (
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobStarted,
    NodeExecuting,
    OutputFile,
)
from ai4artsed_desktop.training.events import (
    CheckpointSaved,
    TrainingDone,
    TrainingEpoch,
    TrainingProblem,
    TrainingProgress,
)
from ai4artsed_desktop.training.progress import ParsedEvent, ProgressParser

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text("utf-8"))


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def replay(transcript: dict[str, Any]) -> tuple[RunTracker, list[object]]:
    """Feed the recorded frames to the tracker as the client does."""
    tracker = RunTracker(transcript["prompt_id"])
    events: list[object] = []
    for message in transcript["messages"]:
        if "binary" in message:
            assert message["binary"] == 1  # a preview
            assert message["format"] == 1  # JPEG
            frame = struct.pack(">II", 1, message["format"]) + jpeg()
            preview = parse_ws_binary(frame)
            assert preview is not None
            events += tracker.feed_preview(preview)
        else:
            events += tracker.feed(parse_ws_text(json.dumps(message)))
    return tracker, events


def test_real_run_is_followed_to_the_end() -> None:
    run = golden("comfyui_run.json")
    tracker, events = replay(run)
    assert tracker.done
    assert tracker.outcome == "success"
    assert isinstance(events[0], JobStarted)
    nodes = [e.node for e in events if isinstance(e, NodeExecuting)]
    assert nodes[-3:] == ["5", "6", "7"]  # sampler, decode, save
    assert [(e.step, e.total, e.node) for e in events if isinstance(e, JobProgress)] == [
        (1, 2, "5"),
        (2, 2, "5"),
    ]
    assert len([e for e in events if isinstance(e, JobPreview)]) == 2
    entry = parse_history({run["prompt_id"]: run["history"]}, run["prompt_id"])
    assert entry is not None
    assert entry.status == "success"
    (file,) = entry.outputs
    assert file == OutputFile("contract_sd15_00001_.png", "", "output", "images")
    assert tracker.seen_outputs == entry.outputs


def test_real_interrupt_is_seen_as_interrupted() -> None:
    stopped = golden("comfyui_interrupted.json")
    tracker, events = replay(stopped)
    assert tracker.done
    assert tracker.outcome == "interrupted"
    assert [e.step for e in events if isinstance(e, JobProgress)] == [1]
    entry = parse_history({stopped["prompt_id"]: stopped["history"]}, stopped["prompt_id"])
    assert entry is not None
    assert isinstance(ComfyClient._from_history(entry), JobInterrupted)


def test_real_object_info_gives_the_model_and_lora_lists() -> None:
    infos = parse_object_info(golden("comfyui_object_info.json"))
    assert {"CheckpointLoaderSimple", "KSampler", "LoraLoader", "SaveImage"} <= set(infos)
    checkpoints = combo_options(infos["CheckpointLoaderSimple"].input_spec("ckpt_name"))
    assert checkpoints is not None
    assert "v1-5-pruned-emaonly-fp16.safetensors" in checkpoints
    loras = combo_options(infos["LoraLoader"].input_spec("lora_name"))
    assert loras == ["contract_style.safetensors"]
    samplers = combo_options(infos["KSampler"].input_spec("sampler_name"))
    assert samplers is not None
    assert "dpmpp_2m" in samplers


def test_real_rejection_names_the_missing_lora() -> None:
    rejected = golden("comfyui_prompt_rejected.json")
    assert rejected["status"] == 400
    message = describe_rejection(rejected["body"])
    assert "not_installed.safetensors" in message
    assert "LoraLoader" in message


def test_real_system_stats() -> None:
    stats = parse_system_stats(golden("comfyui_system_stats.json"))
    assert stats.comfyui_version == "0.8.0"
    (device,) = stats.devices
    assert device.type == "cpu"


def kohya_events() -> tuple[ProgressParser, list[ParsedEvent]]:
    """The recorded bytes split into lines as the process supervisor does."""
    parser = ProgressParser()
    lines, rest = split_lines(b"", (GOLDEN / "kohya_sd15_train.bin").read_bytes())
    events: list[ParsedEvent] = []
    for line in [*lines, rest]:
        events += parser.feed_line(line.decode("utf-8"))
    return parser, events


def test_real_training_output_is_parsed() -> None:
    parser, events = kohya_events()
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert progress[-1].step == progress[-1].total == 4
    assert progress[-1].epoch == progress[-1].epochs == 2
    assert progress[-1].loss == 1.15
    assert [(e.n, e.total) for e in events if isinstance(e, TrainingEpoch)] == [(1, 2), (2, 2)]
    saved = [e.path.name for e in events if isinstance(e, CheckpointSaved)]
    assert saved == ["golden-000001.safetensors", "golden.safetensors"]
    assert any(isinstance(e, TrainingDone) for e in events)
    assert parser.done
    assert not [e for e in events if isinstance(e, TrainingProblem)]
