"""The ComfyUI simulator as a real child process, spoken to over raw HTTP and websocket."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngImageFile
from websockets.sync.client import ClientConnection, connect

from tests.integration.comfy_fixtures import ComfySim, ace_graph, sd35_graph, stable_audio_graph

Frame = tuple[str, Any]


@pytest.fixture
def http(comfy_sim: ComfySim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=comfy_sim.base_url, trust_env=False, timeout=10.0) as client:
        yield client


def open_ws(sim: ComfySim, client_id: str) -> ClientConnection:
    ws = connect(
        f"ws://127.0.0.1:{sim.port}/ws?clientId={client_id}", max_size=None, proxy=None, legacy=True
    )
    first = json.loads(ws.recv(timeout=5))
    assert first["type"] == "status"
    assert first["data"]["sid"] == client_id
    return ws


def collect(ws: ClientConnection, prompt_id: str, deadline_s: float = 20.0) -> list[Frame]:
    """Frames until ``executing`` with node null for ``prompt_id``."""
    frames: list[Frame] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        raw = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(raw, bytes):
            frames.append(("binary", raw))
            continue
        message = json.loads(raw)
        frames.append((message["type"], message["data"]))
        data = message["data"]
        if (
            message["type"] == "executing"
            and data["node"] is None
            and data["prompt_id"] == prompt_id
        ):
            return frames
    raise AssertionError(f"no completion for {prompt_id}: {[f[0] for f in frames]}")


def submit(http: httpx.Client, graph: dict[str, Any], client_id: str = "", **extra: Any) -> str:
    body: dict[str, Any] = {"prompt": graph, **extra}
    if client_id:
        body["client_id"] = client_id
    resp = http.post("/prompt", json=body)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["prompt_id"])


def wait_for(check: Callable[[], bool], deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


# ---------------------------------------------------------------- start-up and info


def test_startup_lines_and_sigterm_exit_zero(comfy_sim: ComfySim) -> None:
    text = comfy_sim.log_text()
    assert "ComfyUI version: 0.3.64" in text
    assert "Total VRAM " in text
    starting = text.index("Starting server")
    assert text.index(f"To see the GUI go to: http://127.0.0.1:{comfy_sim.port}") > starting
    assert comfy_sim.stop(signal.SIGINT) == 0


def test_system_stats_shape_and_api_prefix(http: httpx.Client) -> None:
    stats = http.get("/system_stats").json()
    assert stats["system"]["comfyui_version"] == "0.3.64"
    assert isinstance(stats["system"]["ram_total"], int)
    (device,) = stats["devices"]
    assert device["type"] == "cuda"
    assert 0 < device["vram_free"] <= device["vram_total"]
    assert http.get("/api/system_stats").json()["system"]["os"] == stats["system"]["os"]
    assert http.get("/api/prompt").json() == {"exec_info": {"queue_remaining": 0}}


def test_object_info_combo_encodings_and_unknown_class(http: httpx.Client) -> None:
    classic = http.get("/object_info/CheckpointLoaderSimple").json()["CheckpointLoaderSimple"]
    options = classic["input"]["required"]["ckpt_name"][0]
    assert "sd3.5_large.safetensors" in options
    assert classic["output"] == ["MODEL", "CLIP", "VAE"]
    v3 = http.get("/api/object_info/TripleCLIPLoader").json()["TripleCLIPLoader"]
    spec = v3["input"]["required"]["clip_name3"]
    assert spec[0] == "COMBO"
    assert "t5xxl_fp16.safetensors" in spec[1]["options"]
    assert http.get("/object_info/NoSuchNode").json() == {}
    everything = http.get("/object_info").json()
    for name in ("SaveAudioOpus", "UNETLoader", "LoraLoaderModelOnly", "EmptyImage", "LoadImage"):
        assert name in everything
    assert everything["SaveImage"]["output_node"] is True
    assert everything["KSampler"]["input"]["required"]["steps"][1]["default"] == 20


def test_lora_copied_in_appears_without_restart(comfy_sim: ComfySim, http: httpx.Client) -> None:
    def loras() -> list[str]:
        info = http.get("/object_info/LoraLoader").json()["LoraLoader"]
        return list(info["input"]["required"]["lora_name"][0])

    assert loras() == []
    (comfy_sim.models_dir / "loras" / "sd35_myproject.safetensors").write_bytes(b"x")
    assert loras() == ["sd35_myproject.safetensors"]
    assert http.get("/models/loras").json() == ["sd35_myproject.safetensors"]
    assert "checkpoints" in http.get("/models").json()
    assert http.get("/models/nope").status_code == 404


# ---------------------------------------------------------------- validation


def test_unknown_class_anywhere_is_invalid_prompt(http: httpx.Client) -> None:
    graph = sd35_graph()
    graph["99"] = {"class_type": "SomeCustomNodePack", "inputs": {}}
    resp = http.post("/prompt", json={"prompt": graph})
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"]["type"] == "invalid_prompt"
    assert body["error"]["details"] == "Node ID '#99'"
    assert body["node_errors"] == {}
    resp = http.post("/prompt", json={"prompt": {"1": {"inputs": {}}}})
    assert "missing the class_type" in resp.json()["error"]["message"]


def test_no_outputs_no_prompt_and_non_json(http: httpx.Client) -> None:
    graph = sd35_graph()
    del graph["9"]
    assert (
        http.post("/prompt", json={"prompt": graph}).json()["error"]["type"] == "prompt_no_outputs"
    )
    resp = http.post("/prompt", json={"client_id": "x"})
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "no_prompt"
    resp = http.post("/prompt", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("text/plain")


def test_failed_validation_fills_node_errors(http: httpx.Client) -> None:
    graph = sd35_graph()
    graph["1"]["inputs"]["ckpt_name"] = "sd3.5_larg.safetensors"
    graph["7"]["inputs"]["steps"] = 0
    graph["7"]["inputs"]["cfg"] = "lots"
    del graph["6"]["inputs"]["width"]
    graph["7"]["inputs"]["extra_unknown_input"] = 5
    body = http.post("/prompt", json={"prompt": graph}).json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    errors = body["node_errors"]
    (ckpt,) = errors["1"]["errors"]
    assert ckpt["type"] == "value_not_in_list"
    assert ckpt["extra_info"]["received_value"] == "sd3.5_larg.safetensors"
    assert "['ace_step_v1_3.5b.safetensors'" in ckpt["details"]  # short lists are echoed
    assert errors["1"]["dependent_outputs"] == ["9"]
    assert errors["1"]["class_type"] == "CheckpointLoaderSimple"
    kinds = {e["type"] for e in errors["7"]["errors"]}
    assert kinds == {"value_smaller_than_min", "invalid_input_type"}
    assert errors["6"]["errors"][0]["type"] == "required_input_missing"


def test_long_combo_lists_are_not_echoed(comfy_sim: ComfySim, http: httpx.Client) -> None:
    for index in range(25):
        (comfy_sim.models_dir / "checkpoints" / f"extra_{index:02d}.safetensors").write_bytes(b"")
    graph = sd35_graph()
    graph["1"]["inputs"]["ckpt_name"] = "missing.safetensors"
    error = http.post("/prompt", json={"prompt": graph}).json()["node_errors"]["1"]["errors"][0]
    assert error["details"] == "ckpt_name: 'missing.safetensors' not in (list of length 30)"
    assert error["extra_info"]["input_config"] is None


def test_link_errors_and_partial_success(http: httpx.Client) -> None:
    graph = sd35_graph()
    graph["8"]["inputs"]["vae"] = ["1", 0]  # MODEL into a VAE input
    graph["8"]["inputs"]["samples"] = ["7"]  # not a 2-element link
    body = http.post("/prompt", json={"prompt": graph}).json()
    kinds = [e["type"] for e in body["node_errors"]["8"]["errors"]]
    assert sorted(kinds) == ["bad_linked_input", "return_type_mismatch"]
    good = sd35_graph()
    good["20"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "broken"}}
    resp = http.post("/prompt", json={"prompt": good})
    assert resp.status_code == 200
    assert resp.json()["node_errors"]["20"]["errors"][0]["type"] == "required_input_missing"


# ---------------------------------------------------------------- execution


def test_event_order_for_one_run(comfy_sim: ComfySim, http: httpx.Client) -> None:
    ws = open_ws(comfy_sim, "order")
    with ws:
        pid = submit(http, sd35_graph(steps=3), "order", prompt_id="my-own-id")
        assert pid == "my-own-id"
        frames = collect(ws, pid)
    kinds = [k for k, _d in frames if k not in ("progress_state", "binary")]
    executing = ["executing"] * 9
    expected = [
        "status", "status", "execution_start", "execution_cached",
        *executing[:7], "progress", "progress", "progress", *executing[7:],
        "executed", "execution_success", "status", "executing",
    ]  # fmt: skip
    assert kinds == expected
    statuses = [d["status"]["exec_info"]["queue_remaining"] for k, d in frames if k == "status"]
    assert statuses == [1, 1, 0]
    assert sum(1 for k, _d in frames if k == "binary") == 3
    assert frames[-1] == ("executing", {"node": None, "prompt_id": pid})
    binary = next(d for k, d in frames if k == "binary")
    assert struct.unpack(">II", binary[:8]) == (1, 1)
    assert Image.open(io.BytesIO(binary[8:])).format == "JPEG"


def test_no_previews_without_preview_method(comfy_sim_factory: Callable[..., ComfySim]) -> None:
    sim = comfy_sim_factory(args=[])
    with httpx.Client(base_url=sim.base_url, trust_env=False) as http, open_ws(sim, "np") as ws:
        frames = collect(ws, submit(http, sd35_graph(steps=2), "np"))
    assert [k for k, _d in frames].count("progress") == 2
    assert all(k != "binary" for k, _d in frames)


def test_history_file_png_metadata_and_cache(comfy_sim: ComfySim, http: httpx.Client) -> None:
    graph = sd35_graph(steps=2, size=320)
    with open_ws(comfy_sim, "cache") as ws:
        first = submit(http, graph, "cache", extra_data={"extra_pnginfo": {"app": "demo"}})
        collect(ws, first)
        second = submit(http, graph, "cache")
        frames = collect(ws, second)
    entry = http.get(f"/history/{first}").json()[first]
    assert entry["status"]["status_str"] == "success"
    assert entry["prompt"][1] == first
    assert len(entry["prompt"]) == 5
    (image,) = entry["outputs"]["9"]["images"]
    assert image == {"filename": "app_sd35_00001_.png", "subfolder": "", "type": "output"}
    with Image.open(comfy_sim.output_dir / image["filename"]) as png:
        assert isinstance(png, PngImageFile)
        assert png.size == (320, 320)
        assert json.loads(png.text["prompt"])["7"]["inputs"]["seed"] == 424242
        assert json.loads(png.text["app"]) == "demo"
    cached = next(d for k, d in frames if k == "execution_cached")
    assert sorted(cached["nodes"], key=int) == [str(i) for i in range(1, 10)]
    assert all(k != "progress" for k, _d in frames)
    executed = next(d for k, d in frames if k == "executed")
    assert executed["output"]["images"] == [image]
    assert sorted(p.name for p in comfy_sim.output_dir.iterdir()) == ["app_sd35_00001_.png"]


def test_counter_continues_and_prefix_subfolder(comfy_sim: ComfySim, http: httpx.Client) -> None:
    folder = comfy_sim.output_dir / "shots"
    folder.mkdir(parents=True)
    (folder / "pic_00041_.png").write_bytes(b"old")
    with open_ws(comfy_sim, "count") as ws:
        pid = submit(http, sd35_graph(steps=1, prefix="shots/pic"), "count")
        collect(ws, pid)
    (image,) = http.get(f"/history/{pid}").json()[pid]["outputs"]["9"]["images"]
    assert image == {"filename": "pic_00042_.png", "subfolder": "shots", "type": "output"}
    view = http.get("/view", params=image)
    assert view.status_code == 200
    assert view.headers["content-type"] == "image/png"


def test_same_request_gives_identical_bytes(comfy_sim_factory: Callable[..., ComfySim]) -> None:
    digests = []
    for _ in range(2):
        sim = comfy_sim_factory(args=[])
        with httpx.Client(base_url=sim.base_url, trust_env=False) as http, open_ws(sim, "d") as ws:
            collect(ws, submit(http, sd35_graph(steps=1, size=128), "d"))
        digests.append(hashlib.sha256((sim.output_dir / "app_sd35_00001_.png").read_bytes()))
    assert digests[0].hexdigest() == digests[1].hexdigest()


def _check_flac(data: bytes) -> tuple[int, int, int]:
    """Independent FLAC check: STREAMINFO, per-frame CRC-16 (bitwise), sample MD5."""
    assert data[:4] == b"fLaC"
    pos, info = 4, b""
    while True:
        header = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        if header & 0x7F == 0:
            info = data[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if header & 0x80:
            break
    packed = int.from_bytes(info[10:18], "big")
    rate, channels, total = packed >> 44, ((packed >> 41) & 7) + 1, packed & ((1 << 36) - 1)
    samples: list[list[int]] = [[] for _ in range(channels)]
    while pos < len(data):
        assert data[pos : pos + 2] == b"\xff\xf8"
        size_code = data[pos + 2] >> 4
        head = 5 + (2 if size_code == 0b0111 else 0)  # frame numbers stay below 128 here
        count = 4096 if size_code == 0b1100 else int.from_bytes(data[pos + 5 : pos + 7], "big") + 1
        end = pos + head + 1 + channels * (1 + 2 * count) + 2
        crc = 0
        for byte in data[pos : end - 2]:
            crc ^= byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        assert crc == int.from_bytes(data[end - 2 : end], "big")
        sub = pos + head + 1
        for channel in range(channels):
            assert data[sub] == 0x02
            samples[channel] += list(
                struct.unpack(f">{count}h", data[sub + 1 : sub + 1 + 2 * count])
            )
            sub += 1 + 2 * count
        pos = end
    interleaved = [samples[c][i] for i in range(total) for c in range(channels)]
    assert hashlib.md5(struct.pack(f"<{len(interleaved)}h", *interleaved)).digest() == info[18:34]
    return rate, channels, total


@pytest.mark.parametrize(
    ("graph", "node", "prefix"),
    [(stable_audio_graph(), "9", "app_sao"), (ace_graph(), "8", "app_ace")],
)
def test_audio_runs_write_valid_flac(
    comfy_sim: ComfySim, http: httpx.Client, graph: dict[str, Any], node: str, prefix: str
) -> None:
    with open_ws(comfy_sim, "audio") as ws:
        frames = collect(ws, submit(http, graph, "audio"))
    assert [k for k, _d in frames].count("progress") == 4
    assert all(k != "binary" for k, _d in frames)  # no image previews for audio
    executed = next(d for k, d in frames if k == "executed")
    (entry,) = executed["output"]["audio"]
    assert entry == {"filename": f"{prefix}_00001_.flac", "subfolder": "audio", "type": "output"}
    data = (comfy_sim.output_dir / "audio" / entry["filename"]).read_bytes()
    assert _check_flac(data) == (44100, 2, 88200)
    view = http.get("/view", params=entry)
    assert view.headers["content-type"] == "audio/flac"
    assert view.content == data


@pytest.mark.parametrize("variant", ["latent", "clip"])
def test_sd3_runtime_errors_are_execution_errors(
    comfy_sim: ComfySim, http: httpx.Client, variant: str
) -> None:
    graph = sd35_graph(latent="EmptyLatentImage") if variant == "latent" else sd35_graph()
    if variant == "clip":
        graph["4"]["inputs"]["clip"] = ["1", 1]
    with open_ws(comfy_sim, "rt") as ws:
        pid = submit(http, graph, "rt")
        frames = collect(ws, pid)
    error = next(d for k, d in frames if k == "execution_error")
    assert error["node_id"] == ("7" if variant == "latent" else "4")
    assert ("channels" if variant == "latent" else "clip input is invalid") in error[
        "exception_message"
    ]
    kinds = [k for k, _d in frames]
    assert kinds[-3:] == ["execution_error", "status", "executing"]
    status = http.get(f"/history/{pid}").json()[pid]["status"]
    assert (status["status_str"], status["completed"]) == ("error", False)
    assert status["messages"][-1][0] == "execution_error"


def test_interrupt_history_empty_while_running_and_queue(
    comfy_sim_factory: Callable[..., ComfySim],
) -> None:
    sim = comfy_sim_factory(env={"FAKE_COMFY_STEP_MS": "20"}, args=[])
    with httpx.Client(base_url=sim.base_url, trust_env=False) as http, open_ws(sim, "int") as ws:
        first = submit(http, sd35_graph(steps=500), "int")
        second = submit(http, sd35_graph(steps=500, seed=1), "int")
        wait_for(lambda: http.get("/queue").json()["queue_running"] != [])
        queue = http.get("/queue").json()
        assert [item[1] for item in queue["queue_running"]] == [first]
        assert [item[1] for item in queue["queue_pending"]] == [second]
        assert len(queue["queue_pending"][0]) == 5
        assert http.get("/prompt").json()["exec_info"]["queue_remaining"] == 2
        assert http.get(f"/history/{first}").json() == {}
        http.post("/interrupt", json={"prompt_id": second})  # not running: no effect
        http.post("/queue", json={"delete": [second]})
        assert http.get("/queue").json()["queue_pending"] == []
        http.post("/interrupt", json={"prompt_id": first})
        frames = collect(ws, first)
        status = http.get(f"/history/{first}").json()[first]["status"]
        assert http.get(f"/history/{second}").json() == {}
    interrupted = next(d for k, d in frames if k == "execution_interrupted")
    assert interrupted["node_id"] == "7"
    assert status["status_str"] == "error"
    assert status["messages"][-1][0] == "execution_interrupted"


def test_history_listing_and_clearing(comfy_sim: ComfySim, http: httpx.Client) -> None:
    ids = []
    with open_ws(comfy_sim, "hist") as ws:
        for seed in range(3):
            ids.append(submit(http, sd35_graph(steps=1, seed=seed, size=64), "hist"))
            collect(ws, ids[-1])
    assert list(http.get("/history").json()) == ids
    assert list(http.get("/history", params={"max_items": 2}).json()) == ids[1:]
    assert list(http.get("/history", params={"max_items": 1, "offset": 0}).json()) == ids[:1]
    http.post("/history", json={"delete": [ids[0]]})
    assert list(http.get("/api/history").json()) == ids[1:]
    http.post("/history", json={"clear": True})
    assert http.get("/history").json() == {}


def test_free_empty_body_500_and_vram_numbers(comfy_sim: ComfySim, http: httpx.Client) -> None:
    def vram_free() -> int:
        return int(http.get("/system_stats").json()["devices"][0]["vram_free"])

    idle = vram_free()
    with open_ws(comfy_sim, "vram") as ws:
        collect(ws, submit(http, sd35_graph(steps=1, size=64), "vram"))
    assert vram_free() < idle
    assert http.post("/free", content=b"").status_code == 500
    assert http.post("/free", json={"unload_models": True}).status_code == 200
    wait_for(lambda: vram_free() == idle)


def test_view_status_codes(comfy_sim: ComfySim, http: httpx.Client) -> None:
    (comfy_sim.output_dir / "page.html").write_text("<html></html>")
    assert http.get("/view", params={"filename": "nope.png"}).status_code == 404
    assert http.get("/view").status_code == 404
    assert http.get("/view", params={"filename": "../x.png"}).status_code == 400
    assert http.get("/view", params={"filename": "/etc/passwd"}).status_code == 400
    assert http.get("/view", params={"filename": "a.png", "type": "weird"}).status_code == 400
    escape = {"filename": "passwd", "subfolder": "../../../etc"}
    assert http.get("/view", params=escape).status_code == 403
    page = http.get("/view", params={"filename": "page.html"})
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/octet-stream"
    annotated = http.get("/view", params={"filename": "page.html [output]", "type": "temp"})
    assert annotated.status_code == 200


def test_upload_renames_reuses_and_rejects(comfy_sim: ComfySim, http: httpx.Client) -> None:
    def upload(data: bytes, name: str = "mask.png", **form: str) -> httpx.Response:
        return http.post("/upload/image", files={"image": (name, data)}, data=form)

    assert upload(b"one").json() == {"name": "mask.png", "subfolder": "", "type": "input"}
    assert upload(b"one").json()["name"] == "mask.png"
    assert upload(b"two").json()["name"] == "mask (1).png"
    assert upload(b"three", overwrite="true").json()["name"] == "mask.png"
    assert (comfy_sim.input_dir / "mask.png").read_bytes() == b"three"
    assert upload(b"x", name="../evil.png").status_code == 400
    assert (
        http.post("/upload/image", data={"overwrite": "1"}, files={"other": ("a", b"")}).status_code
        == 400
    )
    info = http.get("/object_info/LoadImage").json()["LoadImage"]
    assert info["input"]["required"]["image"][0] == ["mask (1).png", "mask.png"]


def test_origin_mismatch_is_forbidden(http: httpx.Client) -> None:
    assert http.get("/system_stats", headers={"Origin": "http://evil.example"}).status_code == 403
    same = http.get("/system_stats", headers={"Origin": str(http.base_url).rstrip("/")})
    assert same.status_code == 200


def test_socket_replacement_and_dropped_messages(comfy_sim: ComfySim, http: httpx.Client) -> None:
    old = open_ws(comfy_sim, "twin")
    new = open_ws(comfy_sim, "twin")
    pid = submit(http, sd35_graph(steps=1, size=64), "twin")
    frames = collect(new, pid)
    assert any(k == "execution_success" for k, _d in frames)
    old_types = []
    while True:
        try:
            old_types.append(json.loads(old.recv(timeout=0.2))["type"])
        except TimeoutError:
            break
    assert "execution_start" not in old_types  # the replaced socket gets only broadcasts
    old.close()
    new.close()


def test_faults_http500_and_crash(comfy_sim: ComfySim, http: httpx.Client) -> None:
    comfy_sim.fault("http500", path="/queue")
    assert http.get("/system_stats").status_code == 200
    assert http.get("/queue").status_code == 500
    assert http.get("/queue").status_code == 200
    comfy_sim.control("/__fake__/crash")
    assert comfy_sim.proc.wait(10) == 2


def test_fault_routes_need_fake_control(comfy_sim_factory: Callable[..., ComfySim]) -> None:
    sim = comfy_sim_factory(env={"FAKE_CONTROL": "0"}, args=[])
    with httpx.Client(base_url=sim.base_url, trust_env=False) as http:
        assert http.post("/__fake__/crash").status_code in (404, 405)
        assert http.get("/features").json()["supports_preview_metadata"] is True


def test_unique_ids_for_default_prompt_ids(http: httpx.Client) -> None:
    graph = sd35_graph(steps=1, size=64)
    first, second = submit(http, graph), submit(http, graph, front=True)
    assert first != second
    uuid.UUID(first)


def test_link_to_missing_node_is_exception_during_validation(http: httpx.Client) -> None:
    graph = sd35_graph()
    graph["8"]["inputs"]["vae"] = ["77", 2]
    body = http.post("/prompt", json={"prompt": graph}).json()
    (error,) = body["node_errors"]["9"]["errors"]
    assert error["type"] == "exception_during_validation"
    assert error["details"] == "'77'"


def test_hang_fault_until_interrupt(comfy_sim: ComfySim, http: httpx.Client) -> None:
    comfy_sim.fault("hang", node="8")
    with open_ws(comfy_sim, "hang") as ws:
        pid = submit(http, sd35_graph(steps=1, size=64), "hang")
        wait_for(lambda: [i[1] for i in http.get("/queue").json()["queue_running"]] == [pid])
        assert http.get(f"/history/{pid}").json() == {}
        http.post("/interrupt")  # global: empty JSON body
        frames = collect(ws, pid)
    assert next(d for k, d in frames if k == "execution_interrupted")["node_id"] == "8"


def test_start_delay_and_port_in_use(comfy_sim_factory: Callable[..., ComfySim]) -> None:
    started = time.monotonic()
    sim = comfy_sim_factory(env={"FAKE_COMFY_START_DELAY_MS": "400"}, args=[])
    assert time.monotonic() - started >= 0.4
    clash = comfy_sim_factory(args=["--port", str(sim.port)], wait_ready=False)
    assert clash.proc.wait(20) == 1
    assert "error while attempting to bind" in clash.log_text()


def test_front_and_number_priorities(comfy_sim: ComfySim, http: httpx.Client) -> None:
    comfy_sim.fault("hang", node="8")
    blocker = submit(http, sd35_graph(steps=1, size=64))
    wait_for(lambda: http.get("/queue").json()["queue_running"] != [])
    late = submit(http, sd35_graph(steps=1, size=64, seed=1))
    urgent = submit(http, sd35_graph(steps=1, size=64, seed=2), front=True)
    first = submit(http, sd35_graph(steps=1, size=64, seed=3), number=-1000)
    http.post("/interrupt", json={})
    wait_for(lambda: len(http.get("/history").json()) == 4)
    assert list(http.get("/history").json()) == [blocker, first, urgent, late]


def test_preview_metadata_frames_after_feature_flags(
    comfy_sim: ComfySim, http: httpx.Client
) -> None:
    with open_ws(comfy_sim, "meta") as ws:
        ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        reply = json.loads(ws.recv(timeout=5))
        assert reply["type"] == "feature_flags"
        pid = submit(http, sd35_graph(steps=2, size=64), "meta")
        frames = collect(ws, pid)
    binary = [d for k, d in frames if k == "binary"]
    assert len(binary) == 2
    kind, length = struct.unpack(">II", binary[0][:8])
    meta = json.loads(binary[0][8 : 8 + length])
    assert kind == 4
    assert (meta["prompt_id"], meta["node_id"], meta["image_type"]) == (pid, "7", "image/jpeg")
    assert Image.open(io.BytesIO(binary[0][8 + length :])).format == "JPEG"
