"""Video outputs: seconds become a frame count the model takes, LoRAs go in model-only."""

from __future__ import annotations

import dataclasses

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import VideoSpec
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.generation import GenerationJob, prepare_graph, used_parameters
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.pipeline.workflow import clip_seconds, video_frames

RESOURCES = resources_dir()
WORKFLOWS = RESOURCES / "workflows"
VIDEO = load_content(RESOURCES / "configs").outputs["wan22_video"]
WAN = VideoSpec(frame_step=4, max_frames=121)
LTX = VideoSpec(frame_step=8, max_frames=257)


@pytest.mark.parametrize(
    ("seconds", "fps", "spec", "frames"),
    [
        (5.0, 24.0, WAN, 121),  # Wan 2.2's native clip: 121 frames at 24 fps
        (3.0, 24.0, WAN, 73),
        (2.1, 24.0, WAN, 53),  # 50.4 intervals: the nearest multiple of 4 is 52, so 53 frames
        (1.9, 24.0, WAN, 45),  # 45.6 intervals: 44
        (0.01, 24.0, WAN, 5),  # never fewer than one step of frames
        (60.0, 24.0, WAN, 121),  # cut to the longest clip the model takes
        (4.0, 25.0, LTX, 97),  # LTX-Video: 8n+1
        (3.0, 24.0, VideoSpec(4, 100), 73),
        (9.0, 24.0, VideoSpec(4, 100), 97),  # max 100 rounds down to 4n+1 = 97
    ],
)
def test_seconds_become_a_frame_count_of_the_models_form(
    seconds: float, fps: float, spec: VideoSpec, frames: int
) -> None:
    result = video_frames(seconds, fps, spec)
    assert result == frames
    assert (result - 1) % spec.frame_step == 0


@pytest.mark.parametrize(("seconds", "fps"), [(0.0, 24.0), (-1.0, 24.0), (3.0, 0.0)])
def test_no_clip_without_a_positive_length_and_rate(seconds: float, fps: float) -> None:
    with pytest.raises(ValueError, match="no clip"):
        video_frames(seconds, fps, WAN)


def test_the_graph_gets_frames_fps_size_seed_and_steps() -> None:
    job = GenerationJob(
        "r1",
        VIDEO,
        "a paper boat on a puddle, rain",
        negative="blurry",
        seed=42,
        values={"seconds": 2.0, "steps": 8, "width": 832, "height": 480},
    )
    graph, prompt, applied = prepare_graph(job, WORKFLOWS)
    assert prompt == "a paper boat on a puddle, rain"
    assert applied == ()
    assert graph["5"]["inputs"]["text"] == prompt
    assert graph["6"]["inputs"]["text"] == "blurry"
    latent = graph["7"]["inputs"]
    assert (latent["width"], latent["height"], latent["length"]) == (832, 480, 49)
    assert graph["8"]["inputs"]["seed"] == 42
    assert graph["8"]["inputs"]["steps"] == 8
    assert graph["10"]["inputs"]["fps"] == 24.0
    assert graph["11"]["inputs"]["filename_prefix"].startswith("video/")


def test_defaults_fill_what_the_request_leaves_out() -> None:
    graph, _, _ = prepare_graph(GenerationJob("r1", VIDEO, "waves"), WORKFLOWS)
    assert graph["7"]["inputs"]["length"] == 73  # 3 s at 24 fps
    assert (graph["7"]["inputs"]["width"], graph["7"]["inputs"]["height"]) == (1280, 704)


def test_a_bad_length_is_a_clear_error() -> None:
    job = GenerationJob("r1", VIDEO, "waves", values={"seconds": "long"})
    with pytest.raises(ConfigError, match="positive number of seconds"):
        prepare_graph(job, WORKFLOWS)
    no_fps = dataclasses.replace(VIDEO, defaults={"seconds": 3.0})
    with pytest.raises(ConfigError, match="positive number of seconds"):
        prepare_graph(GenerationJob("r1", no_fps, "waves"), WORKFLOWS)


def test_loras_go_in_model_only_next_to_the_diffusion_model() -> None:
    loras = (LoraSpec("wan_motion.safetensors", 0.8, 0.8, trigger="mtn"),)
    job = GenerationJob("r1", VIDEO, "a kite", loras=loras)
    graph, prompt, applied = prepare_graph(job, WORKFLOWS)
    assert prompt == "mtn, a kite"
    [lora] = applied
    assert lora.model_only
    assert lora.strength_clip == 0.0
    node = graph[lora.node_id]
    assert node["class_type"] == "LoraLoaderModelOnly"
    assert node["inputs"]["model"] == ["1", 0]  # right after the UNETLoader
    assert graph["4"]["inputs"]["model"] == [lora.node_id, 0]  # the shift patch sees it
    assert graph["5"]["inputs"]["clip"] == ["2", 0]  # the text encoder is untouched


def test_used_parameters_record_the_clip_length() -> None:
    job = GenerationJob("r1", VIDEO, "a kite", values={"seconds": 2.0})
    assert used_parameters(job, WORKFLOWS) == {
        "steps": 20,
        "cfg": 5.0,
        "width": 1280,
        "height": 704,
        "frames": 49,
        "fps": 24.0,
        "seconds": 2.0,
    }
    assert clip_seconds(121, 24.0) == 5.0
