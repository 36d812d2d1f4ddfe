"""Record what a ComfyUI server (the real one or the simulator) says during a job.

The same recorder writes the golden transcripts from the real ComfyUI 0.8.0
(tests/contract/record_golden.py) and records the simulator in the fast drift test
(tests/integration/test_golden_drift.py), so that both are compared like for like. Only
httpx and websockets: no Qt, no app code, nothing of the app's parsing.
"""

from __future__ import annotations

import asyncio
import json
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

#: Binary websocket frames: 4-byte event type, then (for previews) a 4-byte image format.
PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4


@dataclass
class Transcript:
    """One job: the websocket messages in order, and the ``/history`` entry at the end."""

    prompt_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"prompt_id": self.prompt_id, "messages": self.messages, "history": self.history}


def binary_summary(frame: bytes) -> dict[str, Any]:
    """A binary frame as its header (the image bytes are noise and not kept)."""
    kind = struct.unpack(">I", frame[:4])[0] if len(frame) >= 4 else -1
    summary: dict[str, Any] = {"binary": kind, "bytes": len(frame)}
    if kind == PREVIEW_IMAGE and len(frame) >= 8:
        summary["format"] = struct.unpack(">I", frame[4:8])[0]
        summary["magic"] = frame[8:12].hex()
    elif kind == PREVIEW_IMAGE_WITH_METADATA and len(frame) >= 8:
        size = struct.unpack(">I", frame[4:8])[0]
        summary["metadata"] = json.loads(frame[8 : 8 + size])
        summary["magic"] = frame[8 + size : 12 + size].hex()
    return summary


def _ours(message: dict[str, Any], prompt_id: str) -> bool:
    data = message.get("data")
    return isinstance(data, dict) and data.get("prompt_id") == prompt_id


async def record_job(
    url: str,
    graph: dict[str, Any],
    *,
    interrupt_after_progress: bool = False,
    timeout_s: float = 600.0,
) -> Transcript:
    """Queue ``graph``, record every frame until the job has ended, then its history.

    The job has ended with ``executing`` for node ``null`` (success, error) or after an
    ``execution_interrupted`` (then one more ``status`` frame is awaited briefly).
    """
    client_id = uuid.uuid4().hex
    prompt_id = str(uuid.uuid4())
    ws_url = url.replace("http", "ws", 1) + f"/ws?clientId={client_id}"
    transcript = Transcript(prompt_id)
    async with (
        websockets.connect(ws_url, max_size=None, proxy=None) as ws,
        httpx.AsyncClient(base_url=url, timeout=60, trust_env=False) as http,
    ):
        first = json.loads(await ws.recv())  # the greeting: status with our session id
        transcript.messages.append(first)
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        answer = await http.post("/prompt", json=body)
        answer.raise_for_status()
        interrupted = False
        async with asyncio.timeout(timeout_s):
            while True:
                frame = await ws.recv()
                if isinstance(frame, bytes):
                    transcript.messages.append(binary_summary(frame))
                    continue
                message = json.loads(frame)
                transcript.messages.append(message)
                kind, data = message.get("type"), message.get("data", {})
                if kind == "progress" and interrupt_after_progress and not interrupted:
                    interrupted = True
                    await http.post("/interrupt", json={"prompt_id": prompt_id})
                if kind == "executing" and data.get("node") is None and _ours(message, prompt_id):
                    break
                if kind == "execution_interrupted" and _ours(message, prompt_id):
                    try:
                        async with asyncio.timeout(5):
                            while True:
                                more = await ws.recv()
                                if isinstance(more, str):
                                    transcript.messages.append(json.loads(more))
                                    if json.loads(more).get("type") == "status":
                                        break
                    except TimeoutError:
                        pass
                    break
        for _ in range(50):
            history = (await http.get(f"/history/{prompt_id}")).json()
            if history:
                transcript.history = history[prompt_id]
                break
            await asyncio.sleep(0.1)
    return transcript


# ------------------------------------------------------------------ shapes (for drift tests)


def shape(message: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """A message as (type, its data's field names): what a client relies on."""
    if "binary" in message:
        return (f"binary:{message['binary']}", ())
    data = message.get("data", {})
    return (str(message.get("type")), tuple(sorted(data)) if isinstance(data, dict) else ())


def shape_sequence(messages: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """The shapes in order, each run of repeats (progress, previews) folded into one."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for message in messages:
        item = shape(message)
        if not out or out[-1] != item:
            out.append(item)
    return out


def key_tree(value: Any) -> Any:
    """The nested field names of a JSON value (lists by their first element)."""
    if isinstance(value, dict):
        return {k: key_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [key_tree(value[0])] if value else []
    return type(value).__name__
