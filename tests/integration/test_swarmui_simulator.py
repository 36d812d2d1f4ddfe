"""The SwarmUI simulator, exercised with raw HTTP/websocket calls (protocols.md section 3)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import pytest
import websockets
from websockets.asyncio.client import connect

from ai4artsed_desktop.simulators.swarm_models import match_model
from tests.integration.swarm_fixtures import SimFactory, SwarmSim

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SD35 = "OfficialStableDiffusion/sd3.5_large.safetensors"


def _gen(sim: SwarmSim, sid: str, **params: Any) -> dict[str, Any]:
    body = {"session_id": sid, "images": 1, "model": SD35, "prompt": "a red fox", **params}
    response = sim.post("GenerateText2Image", body)
    assert response.status_code == 200
    return dict(response.json())


def _view(sim: SwarmSim, path: str) -> httpx.Response:
    encoded = "/".join(quote(part, safe="") for part in path.split("/"))
    return httpx.get(f"{sim.base_url}/{encoded}", timeout=10, trust_env=False)


def _poll(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ------------------------------------------------------------------ pure helpers


def test_loose_model_matching_prefers_exact_then_shortest_containing() -> None:
    names = [
        "OfficialStableDiffusion/sd3.5_large_turbo.safetensors",
        "OfficialStableDiffusion/sd3.5_large.safetensors",
        "OfficialStableDiffusion/sd3.5_medium.safetensors",
    ]
    assert match_model("officialstablediffusion/SD3.5_Large", names) == names[1]
    assert match_model("sd3.5", names) == names[1]
    assert match_model("medium", names) == names[2]
    assert match_model("sd9", names) is None
    assert match_model("", names) is None


# ------------------------------------------------------------------ start-up and conventions


def test_startup_lines_follow_swarm_console_format(swarm_sim: SwarmSim) -> None:
    banner = swarm_sim.wait_for_line("=== SwarmUI v0.9.8.2 Starting at")
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} \[Init\] === SwarmUI", banner)
    assert swarm_sim.wait_for_line(f"Starting webserver on http://localhost:{swarm_sim.port}")
    assert swarm_sim.wait_for_line("SwarmUI v0.9.8.2 - Local is now running.")


def test_get_on_api_redirects_to_html_page(swarm_sim: SwarmSim) -> None:
    url = f"{swarm_sim.base_url}/API/GetNewSession"
    raw = httpx.get(url, timeout=10, trust_env=False)
    assert raw.status_code == 302
    followed = httpx.get(url, timeout=10, trust_env=False, follow_redirects=True)
    assert followed.status_code == 200
    assert followed.headers["content-type"].startswith("text/html")


def test_body_must_be_json_with_a_length(swarm_sim: SwarmSim) -> None:
    url = f"{swarm_sim.base_url}/API/GetNewSession"
    wrong_type = httpx.post(url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400
    assert wrong_type.json() == {"error_id": "basic_api", "error": "Wrong content type"}

    def chunks() -> Any:
        yield b"{}"

    chunked = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 400
    assert chunked.json()["error"] == "bad content length"
    empty = httpx.post(url, content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400
    assert empty.json()["error_id"] == "basic_api"
    null = httpx.post(url, content=b"null", headers={"Content-Type": "application/json"})
    assert null.json() == {"error_id": "basic_api", "error": "null input"}


def test_session_checks(swarm_sim: SwarmSim) -> None:
    missing = swarm_sim.post("GetCurrentStatus", {})
    assert missing.status_code == 400
    assert missing.json() == {"error_id": "basic_api", "error": "missing session id"}
    bad = swarm_sim.post("GetCurrentStatus", {"session_id": "NOPE"})
    assert bad.status_code == 401
    assert bad.json() == {
        "error": "Invalid session ID. You may need to refresh the page.",
        "error_id": "invalid_session_id",
    }
    sid = swarm_sim.new_session()
    by_header = httpx.post(
        f"{swarm_sim.base_url}/API/GetCurrentStatus",
        json={},
        headers={"X-Session-ID": sid},
        trust_env=False,
    )
    assert by_header.status_code == 200
    assert "status" in by_header.json()


def test_unknown_route_and_case_insensitive_names(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    unknown = swarm_sim.post("NoSuchRoute", {"session_id": sid})
    assert unknown.status_code == 400
    assert unknown.json() == {"error_id": "bad_route", "error": "Unknown API route"}
    mixed = swarm_sim.post("gEtCuRrEnTsTaTuS", {"session_id": sid})
    assert mixed.status_code == 200
    assert mixed.json()["backend_status"]["status"] == "running"
    ws_over_http = swarm_sim.post("GenerateText2ImageWS", {"session_id": sid})
    assert ws_over_http.json()["error_id"] == "bad_request_method"


def test_new_session_shape_and_persistence_across_restart(swarm_sim_factory: SimFactory) -> None:
    first = swarm_sim_factory()
    answer = first.post("GetNewSession", {}).json()
    assert re.fullmatch(r"[0-9A-F]{40}", answer["session_id"])
    assert answer["user_id"] == "local"
    assert answer["version"].startswith("0.9.8.2")
    assert isinstance(answer["permissions"], list)
    assert answer["output_append_user"] is True
    first.stop()
    second = swarm_sim_factory(data_dir=first.data_dir)
    again = second.post("GetNewSession", {}).json()
    assert again["server_id"] != answer["server_id"]
    status = second.post("GetCurrentStatus", {"session_id": answer["session_id"]})
    assert status.status_code == 200, "persisted session should survive a restart"


def test_no_persist_restart_invalidates_sessions(swarm_sim_factory: SimFactory) -> None:
    first = swarm_sim_factory(args=("--no_persist",))
    sid = first.new_session()
    first.stop()
    second = swarm_sim_factory(data_dir=first.data_dir, args=("--no_persist",))
    assert second.post("GetCurrentStatus", {"session_id": sid}).status_code == 401


def test_expire_sessions_hook(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    assert swarm_sim.control("expire_sessions").json()["expired"] >= 1
    assert swarm_sim.post("ListModels", {"session_id": sid}).status_code == 401


# ------------------------------------------------------------------ generation


def test_generate_validates_parameters(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    no_images = swarm_sim.post("GenerateText2Image", {"session_id": sid, "model": SD35})
    assert no_images.status_code == 200
    assert no_images.json() == {"error": "Missing required parameter 'images'"}
    unknown = _gen(swarm_sim, sid, model="sd9")
    assert unknown == {
        "error": "Invalid model value for param Model - 'sd9' - are you sure that model name "
        "is correct?"
    }
    mismatch = _gen(swarm_sim, sid, loras=["sd35_demo_paper_cut"], loraweights=["0.8", "0.5"])
    assert "images" not in mismatch
    assert "loraweights" in mismatch["error"]
    bad_lora = _gen(swarm_sim, sid, loras="no_such_lora", loraweights="1")
    assert "LoRAs" in bad_lora["error"]


def test_generate_writes_deterministic_png_served_by_view(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    params = {"prompt": "paper cut-out of a fox in snow", "seed": 777, "width": 64, "height": 64}
    first = _gen(swarm_sim, sid, model="sd3.5", **params)["images"]
    assert len(first) == 1
    path = first[0]
    assert path.startswith("View/local/raw/")
    assert path.endswith("-paper cut-out of a fox in snow-sd3.5_large-777.png")
    served = _view(swarm_sim, path)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    on_disk = swarm_sim.data_dir / "Output" / path.removeprefix("View/")
    assert served.content == on_disk.read_bytes()
    assert served.content.startswith(PNG_MAGIC)
    second = _gen(swarm_sim, sid, model=SD35, **params)["images"][0]
    assert second != path, "a second file must not overwrite the first"
    assert _view(swarm_sim, second).content == served.content
    other_seed = _gen(swarm_sim, sid, model=SD35, **{**params, "seed": 778})["images"][0]
    assert _view(swarm_sim, other_seed).content != served.content


def test_generate_several_images_increments_seed_and_donotsave(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    paths = _gen(swarm_sim, sid, images=3, seed=10, width=32, height=32)["images"]
    assert [p.rsplit("-", 1)[1] for p in paths] == ["10.png", "11.png", "12.png"]
    fixed = _gen(swarm_sim, sid, images=2, seed=5, noseedincrement=True, width=32, height=32)
    assert all(p.endswith("-5.png") for p in fixed["images"])
    inline = _gen(swarm_sim, sid, donotsave=True, seed=10, width=32, height=32)["images"]
    assert inline[0].startswith("data:image/png;base64,")
    decoded = base64.b64decode(inline[0].split(",", 1)[1])
    assert decoded == _view(swarm_sim, paths[0]).content


def test_view_refuses_traversal_and_other_users(swarm_sim: SwarmSim) -> None:
    base = swarm_sim.base_url
    for raw in (
        "/View/local/%2E%2E/%2E%2E/Sessions/sessions.json",
        "/View/local/..%2F..%2FSessions%2Fsessions.json",
        "/View/other/raw/x.png",
    ):
        response = httpx.get(base + raw, timeout=10, trust_env=False)
        assert response.status_code in (400, 404), raw
    assert httpx.get(base + "/View/local/raw/none.png", trust_env=False).status_code == 404


async def _ws_session(sim: SwarmSim, body: dict[str, Any]) -> list[Any]:
    frames: list[Any] = []
    url = f"ws://127.0.0.1:{sim.port}/API/GenerateText2ImageWS"
    async with connect(url, proxy=None, max_size=None) as ws:
        await ws.send(json.dumps(body))
        async for message in ws:
            frames.append(json.loads(message))
    return frames


@pytest.mark.asyncio
async def test_ws_generation_streams_swarm_frames(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    body = {"session_id": sid, "images": 2, "model": SD35, "prompt": "owl", "steps": 8}
    frames = await _ws_session(swarm_sim, {**body, "width": 32, "height": 32})
    kinds = [next(iter(frame)) for frame in frames]
    assert kinds[0] == "status"
    progress = [f["gen_progress"] for f in frames if "gen_progress" in f]
    assert len(progress) == 16
    assert progress[0]["batch_index"] == "0"
    assert "metadata" in progress[0]
    assert any("preview" in p for p in progress)
    assert progress[-1]["overall_percent"] == 1.0
    images = [f for f in frames if "image" in f]
    assert [f["batch_index"] for f in images] == ["0", "1"]
    assert all(isinstance(f["image"], str) and "request_id" in f for f in images)
    tail = kinds[kinds.index("discard_indices") :]
    assert tail[:2] == ["discard_indices", "socket_intention"]
    assert tail[-1] == "status", "a final status snapshot precedes the close"
    assert frames[-1]["status"]["live_gens"] == 0


@pytest.mark.asyncio
async def test_ws_errors(swarm_sim: SwarmSim) -> None:
    bad_session = await _ws_session(swarm_sim, {"session_id": "NOPE", "images": 1})
    assert bad_session == [
        {
            "error": "Invalid session ID. You may need to refresh the page.",
            "error_id": "invalid_session_id",
        }
    ]
    sid = swarm_sim.new_session()
    unknown = await _ws_session(swarm_sim, {"session_id": sid, "images": 1, "model": "sd9"})
    assert any("sd9" in frame.get("error", "") for frame in unknown)
    url = f"ws://127.0.0.1:{swarm_sim.port}/API/NoSuchRouteWS"
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(url, proxy=None):
            pass
    assert info.value.response.status_code == 404


@pytest.mark.asyncio
async def test_ws_generation_goes_on_after_the_client_leaves(swarm_sim_factory: SimFactory) -> None:
    """As in SwarmUI, closing the socket does not cancel the generation."""
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "20"})
    sid = sim.new_session()
    body = {"session_id": sid, "images": 1, "model": SD35, "prompt": "owl", "steps": 40}
    url = f"ws://127.0.0.1:{sim.port}/API/GenerateText2ImageWS"
    async with connect(url, proxy=None) as ws:
        await ws.send(json.dumps({**body, "width": 32, "height": 32}))
        async for message in ws:
            if "gen_progress" in json.loads(message):
                break  # leave mid-generation
    status = sim.post("GetCurrentStatus", {"session_id": sid}).json()["status"]
    assert status["live_gens"] == 1  # still rendering without anyone listening
    stats = _poll(lambda: _stats_if(sim, "finished_without_client"))
    assert stats["interrupted"] == 0


def _stats_if(sim: SwarmSim, key: str) -> dict[str, Any] | None:
    stats: dict[str, Any] = httpx.get(f"{sim.base_url}/__fake__/stats", timeout=10).json()
    return stats if stats[key] else None


@pytest.mark.asyncio
async def test_interrupt_before_any_image_says_interrupted(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    sid = sim.new_session()
    body = {"session_id": sid, "images": 1, "model": SD35, "prompt": "owl", "steps": 200}
    url = f"ws://127.0.0.1:{sim.port}/API/GenerateText2ImageWS"
    frames: list[dict[str, Any]] = []
    async with connect(url, proxy=None) as ws:
        await ws.send(json.dumps({**body, "width": 32, "height": 32}))
        async for message in ws:
            frames.append(json.loads(message))
            if "gen_progress" in frames[-1] and not any("gen_progress" in f for f in frames[:-1]):
                sim.post("InterruptAll", {"session_id": sid})
    assert {"error": "Generation session interrupted."} in frames
    assert not any("image" in f for f in frames)


def test_interrupt_all_stops_a_running_generation(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_STEP_MS": "50"})
    sid = sim.new_session()
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(_gen(sim, sid, images=3, steps=200, width=32, height=32))
    )
    started = time.monotonic()
    worker.start()
    _poll(lambda: sim.post("GetCurrentStatus", {"session_id": sid}).json()["status"]["live_gens"])
    assert sim.post("InterruptAll", {"session_id": sid}).json() == {"success": True}
    worker.join(20)
    assert not worker.is_alive()
    assert time.monotonic() - started < 25, "3 x 200 steps x 50 ms would take 30 s"
    assert len(result["images"]) < 3


def test_two_stage_readiness_generation_waits(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(env={"FAKE_SWARM_COMFY_DELAY_MS": "60000"})
    sid = sim.new_session()
    backends = sim.post("ListBackends", {"session_id": sid, "full_data": True}).json()
    assert backends["0"]["status"] == "loading"
    free = sim.post("FreeBackendMemory", {"session_id": sid})
    assert free.json() == {"result": False, "count": 0}
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(_gen(sim, sid, width=32, height=32)))
    worker.start()
    status = _poll(
        lambda: (
            (s := sim.post("GetCurrentStatus", {"session_id": sid}).json())["status"][
                "waiting_backends"
            ]
            and s
        )
    )
    assert status["backend_status"]["status"] == "loading"
    assert worker.is_alive()
    sim.control("start_backends")
    worker.join(20)
    assert len(result["images"]) == 1
    backends = sim.post("ListBackends", {"session_id": sid, "full_data": True}).json()
    assert backends["0"]["status"] == "running"
    assert backends["0"]["current_model"] == SD35


def test_models_refresh_loaded_models_and_free_memory(swarm_sim: SwarmSim) -> None:
    sid = swarm_sim.new_session()
    listing = swarm_sim.post("ListModels", {"session_id": sid, "path": "", "depth": 3}).json()
    assert "OfficialStableDiffusion" in listing["folders"]
    names = [f["name"] for f in listing["files"]]
    assert SD35 in names
    entry = next(f for f in listing["files"] if f["name"] == SD35)
    assert entry["architecture"] == "stable-diffusion-v3.5-large"
    assert entry["loaded"] is False
    lora_body = {"session_id": sid, "subtype": "LoRA", "depth": 3}
    loras = [f["name"] for f in swarm_sim.post("ListModels", lora_body).json()["files"]]
    assert "sd35_demo_paper_cut.safetensors" in loras
    new_lora = swarm_sim.data_dir / "Models" / "Lora" / "my_class_style.safetensors"
    new_lora.write_bytes(b"weights")
    assert "my_class_style.safetensors" not in _names(swarm_sim, lora_body)
    assert swarm_sim.post("TriggerRefresh", {"session_id": sid, "strong": True}).status_code == 200
    assert "my_class_style.safetensors" in _names(swarm_sim, lora_body)
    assert swarm_sim.post("SelectModel", {"session_id": sid, "model": "medium"}).json() == {
        "success": True
    }
    loaded = swarm_sim.post("ListLoadedModels", {"session_id": sid}).json()["models"]
    assert [m["name"] for m in loaded] == ["OfficialStableDiffusion/sd3.5_medium.safetensors"]
    freed = swarm_sim.post("FreeBackendMemory", {"session_id": sid, "backend": "all"}).json()
    assert freed == {"result": True, "count": 1}
    assert swarm_sim.post("ListLoadedModels", {"session_id": sid}).json()["models"] == []


def _names(sim: SwarmSim, body: dict[str, Any]) -> list[str]:
    return [f["name"] for f in sim.post("ListModels", body).json()["files"]]


def test_comfy_direct_without_comfy_is_400_html(swarm_sim: SwarmSim) -> None:
    response = httpx.get(f"{swarm_sim.base_url}/ComfyBackendDirect/system_stats", trust_env=False)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "No ComfyUI backend available" in response.text


def test_sigterm_exits_zero(swarm_sim: SwarmSim) -> None:
    swarm_sim.proc.send_signal(signal.SIGTERM)
    assert swarm_sim.proc.wait(15) == 0


# ------------------------------------------------------------------ the ComfyUI child


def test_comfy_child_lines_backends_and_proxy(swarm_sim_comfy: SwarmSim) -> None:
    sim = swarm_sim_comfy
    loading = sim.wait_for_line("is loading...")
    found = re.search(r"on port (\d+) is loading", loading)
    assert found is not None
    port = int(found.group(1))
    assert port >= sim.comfy_start_port
    assert sim.wait_for_line(f"Self-Start ComfyUI-0 on port {port} started.")
    sid = sim.new_session()
    backends = sim.post("ListBackends", {"session_id": sid}).json()
    assert backends["0"]["status"] == "running"
    assert backends["0"]["type"] == "comfyui_selfstart"
    stats = httpx.get(f"{sim.base_url}/ComfyBackendDirect/system_stats", trust_env=False)
    assert stats.status_code == 200
    assert stats.headers["content-type"].startswith("application/json")
    assert "system" in stats.json()
    direct = httpx.get(f"http://127.0.0.1:{port}/system_stats", trust_env=False)
    assert direct.json()["system"]["os"] == stats.json()["system"]["os"]
    freed = sim.post("FreeBackendMemory", {"session_id": sid}).json()
    assert freed == {"result": True, "count": 1}


@pytest.mark.asyncio
async def test_comfy_direct_prompt_and_ws_relay(swarm_sim_comfy: SwarmSim) -> None:
    sim = swarm_sim_comfy
    client_id = uuid.uuid4().hex
    prompt_id = str(uuid.uuid4())
    graph = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "t"}},
    }
    url = f"ws://127.0.0.1:{sim.port}/ComfyBackendDirect/ws?clientId={client_id}"
    async with connect(url, proxy=None, max_size=None) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "status"
        flags = {"type": "feature_flags", "data": {"supports_preview_metadata": False}}
        await ws.send(json.dumps(flags))  # client -> ComfyUI direction of the relay
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["type"] == "feature_flags"
        async with httpx.AsyncClient(trust_env=False) as http:
            answer = await http.post(
                f"{sim.base_url}/ComfyBackendDirect/prompt",
                json={"prompt": graph, "client_id": client_id, "prompt_id": prompt_id},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["prompt_id"] == prompt_id
            invalid = await http.post(f"{sim.base_url}/ComfyBackendDirect/prompt", json={})
            assert invalid.status_code == 400
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = await asyncio.wait_for(ws.recv(), 20)
            if isinstance(message, bytes):
                continue
            event = json.loads(message)
            data = event.get("data", {})
            if event["type"] == "executing" and data.get("node") is None:
                assert data["prompt_id"] == prompt_id
                break
        else:
            raise AssertionError("no executing-null event relayed")


def test_comfy_two_stage_readiness(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(comfy=True, env={"FAKE_SWARM_COMFY_DELAY_MS": "60000"})
    sid = sim.new_session()
    assert sim.post("ListBackends", {"session_id": sid}).json()["0"]["status"] == "loading"
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(_gen(sim, sid, width=32, height=32)))
    worker.start()
    _poll(
        lambda: sim.post("GetCurrentStatus", {"session_id": sid}).json()["status"][
            "waiting_backends"
        ]
    )
    assert sim.children() == [], "the ComfyUI child is not started before the delay ends"
    sim.control("start_backends")
    sim.wait_for_line("is loading...")
    sim.wait_for_line("started.", fail_on="[Error]")
    worker.join(20)
    assert len(result["images"]) == 1
    log_text = (sim.data_dir / "Logs" / "ComfyUI-0.log").read_text("utf-8")
    assert "To see the GUI go to: http://127.0.0.1:" in log_text


def _comfy_child(sim: SwarmSim) -> psutil.Process:
    kids = _poll(sim.children)
    assert len(kids) == 1
    return kids[0]


def test_comfy_child_skips_busy_port_and_dies_on_sigterm(swarm_sim_factory: SimFactory) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        sim = swarm_sim_factory(comfy=True, env={"FAKE_SWARM_COMFY_START_PORT": str(busy)})
        line = sim.wait_for_line("started.", fail_on="[Error]")
        assert f"on port {busy} " not in line
        child = _comfy_child(sim)
        sim.proc.send_signal(signal.SIGTERM)
        assert sim.proc.wait(15) == 0
        _poll(lambda: _gone(child.pid))


def test_comfy_child_dies_when_simulator_is_killed(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(comfy=True)
    sim.wait_for_line("started.", fail_on="[Error]")
    child = _comfy_child(sim)
    sim.proc.send_signal(signal.SIGKILL)
    sim.proc.wait(15)
    _poll(lambda: _gone(child.pid))


def test_crash_hook_takes_the_child_down(swarm_sim_factory: SimFactory) -> None:
    sim = swarm_sim_factory(comfy=True)
    sim.wait_for_line("started.", fail_on="[Error]")
    child = _comfy_child(sim)
    assert sim.control("crash").json() == {"crashing": True}
    assert sim.proc.wait(15) == 1
    _poll(lambda: _gone(child.pid))


def test_data_dir_layout(swarm_sim: SwarmSim) -> None:
    models = swarm_sim.data_dir / "Models"
    assert (models / "Stable-diffusion" / SD35).is_file()
    assert (models / "Lora" / "sd35_demo_paper_cut.safetensors").is_file()
    assert (swarm_sim.data_dir / "Sessions" / "sessions.json").is_file()
