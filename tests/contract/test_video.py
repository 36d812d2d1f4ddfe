"""Video against the real ComfyUI 0.8.0: its video nodes and SaveVideo's file, as the
simulator imitates them.

Wan 2.2 itself cannot run here (a 5B model on two CPU cores); its template's validation is in
test_templates.py. What can run is the end of every video graph: frames -> CreateVideo ->
SaveVideo. The real server's history entry and MP4 are compared with the simulator's for
the same graph, so the demo hands the app the same kind of answer and file.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from typing import Any

import av
import httpx
import pytest

from tests.contract.peers import ComfyServer
from tests.integration.comfy_fixtures import ComfySim, comfy_sim, comfy_sim_factory  # noqa: F401

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(600)]

#: The node classes the video template adds to those the golden object_info covers.
VIDEO_CLASSES = ("UNETLoader", "Wan22ImageToVideoLatent", "CreateVideo", "SaveVideo")
FRAMES = 5


def frames_to_video(prefix: str) -> dict[str, Any]:
    """Five solid 64x48 frames made into an MP4 at 24 fps, saved as the template saves."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 64, "height": 48, "batch_size": FRAMES, "color": 0x3366CC},
        },
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 24.0}},
        "3": {
            "class_type": "SaveVideo",
            "inputs": {
                "video": ["2", 0],
                "filename_prefix": f"video/{prefix}",
                "format": "mp4",
                "codec": "h264",
            },
        },
    }


def history_of(url: str, graph: dict[str, Any], within_s: float = 240) -> dict[str, Any]:
    """Queue ``graph`` and wait for its ``/history`` entry."""
    prompt_id = str(uuid.uuid4())
    body = {"prompt": graph, "client_id": "contract-video", "prompt_id": prompt_id}
    answer = httpx.post(f"{url}/prompt", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        entry = httpx.get(f"{url}/history/{prompt_id}", timeout=10).json().get(prompt_id)
        if entry is not None and entry["status"].get("completed"):
            return dict(entry)
        assert entry is None or entry["status"].get("status_str") != "error", entry
        time.sleep(0.2)
    raise AssertionError(f"no history for {prompt_id} after {within_s:.0f} s")


def fetch(url: str, item: dict[str, str]) -> bytes:
    answer = httpx.get(f"{url}/view", params=item, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.content


def describe_mp4(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        frames = sum(1 for _ in container.decode(stream))
        return {
            "format": container.format.name,
            "codec": context.name,
            "pix_fmt": context.pix_fmt,
            "size": (context.width, context.height),
            "rate": stream.average_rate,
            "frames": frames,
            "prompt_tag": "prompt" in container.metadata,
        }


def test_save_video_gives_the_same_answer_and_file_as_the_simulator(
    comfy: ComfyServer,
    comfy_sim: ComfySim,  # noqa: F811
) -> None:
    answers = {}
    for name, url in (("real", comfy.url), ("sim", comfy_sim.base_url)):
        entry = history_of(url, frames_to_video(f"contract_{name}"))
        [(node_id, ui)] = entry["outputs"].items()
        assert node_id == "3"
        [item] = ui["images"]
        answers[name] = {
            "keys": sorted(ui),
            "animated": ui["animated"],
            "item_keys": sorted(item),
            "subfolder": item["subfolder"],
            "type": item["type"],
            "name": re.sub(r"contract_(real|sim)", "P", item["filename"]),
            "file": describe_mp4(fetch(url, item)),
        }
    assert answers["sim"] == answers["real"]
    assert answers["real"]["keys"] == ["animated", "images"]
    assert answers["real"]["name"] == "P_00001_.mp4"
    assert answers["real"]["file"]["frames"] == FRAMES


def test_the_simulators_video_nodes_take_the_real_inputs(
    comfy: ComfyServer,
    comfy_sim: ComfySim,  # noqa: F811
) -> None:
    for name in VIDEO_CLASSES:
        real = httpx.get(f"{comfy.url}/object_info/{name}", timeout=30).json()[name]
        sim = httpx.get(f"{comfy_sim.base_url}/object_info/{name}", timeout=30).json()[name]
        for section in ("required", "optional"):
            real_inputs = real["input"].get(section, {})
            sim_inputs = sim["input"].get(section, {})
            assert set(sim_inputs) == set(real_inputs), (name, section)
            for key, spec in real_inputs.items():
                assert sim_inputs[key][0] == spec[0] or isinstance(spec[0], list), (name, key)
        assert sim["output"] == real["output"], name
        assert sim["output_node"] == real["output_node"], name
