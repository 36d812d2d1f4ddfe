"""The ComfyUI simulator's queue, worker, history, cache and simulated VRAM (§2.6-§2.12).

One worker task runs prompts in priority order and emits the websocket events in exactly
the order of protocols.md §2.12: ``execution_start``, ``execution_cached``, per node
``executing`` (+ ``progress_state``, sampler ``progress`` and preview frames), ``executed``,
then ``execution_success`` / ``execution_error`` / ``execution_interrupted``; the history
entry is written, and only then ``status`` and ``executing {node: null}`` follow.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .comfy_faults import Faults
from .comfy_hub import Hub
from .comfy_media import ImageSpec, preview_jpeg
from .comfy_nodes import NODE_MAP
from .comfy_ops import OPS, NodeFailure
from .comfy_registry import Folders
from .comfy_settings import Settings, log

HISTORY_LIMIT = 10000


class Interrupted(Exception):
    """The running prompt was interrupted (cooperatively, at a step or node boundary)."""


@dataclass
class QueueItem:
    """One queued prompt: ``[number, prompt_id, graph, extra_data, output_node_ids]``."""

    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra: dict[str, Any]
    outputs: list[str]

    def as_list(self) -> list[Any]:
        """The 5-element list form used by ``/queue`` and history."""
        return [self.number, self.prompt_id, self.prompt, self.extra, self.outputs]

    @property
    def client_id(self) -> str | None:
        """The websocket client that gets the per-prompt events."""
        value = self.extra.get("client_id")
        return value if isinstance(value, str) else None


@dataclass
class _Run:
    item: QueueItem
    messages: list[list[Any]] = field(default_factory=list)
    ui: dict[str, Any] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    node: str = ""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Executor:
    """Queue, worker and state of the simulated server."""

    def __init__(self, folders: Folders, hub: Hub, settings: Settings, faults: Faults) -> None:
        self.folders = folders
        self.hub = hub
        self.settings = settings
        self.faults = faults
        self.pending: list[tuple[float, int, QueueItem]] = []
        self.running: QueueItem | None = None
        self.current_node: str | None = None
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        self.loaded: OrderedDict[str, int] = OrderedDict()
        self._seq = 0
        self._wake = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._free: dict[str, bool] = {}
        self._run: _Run | None = None
        hub.queue_remaining = self.queue_remaining
        hub.on_connect = self._on_connect

    # ------------------------------------------------------------ queue API

    def queue_remaining(self) -> int:
        """Running plus pending items."""
        return len(self.pending) + (1 if self.running is not None else 0)

    def put(self, item: QueueItem) -> None:
        """Queue an item and broadcast the new queue size."""
        self._seq += 1
        heapq.heappush(self.pending, (item.number, self._seq, item))
        self.hub.status()
        self._wake.set()

    def known(self, prompt_id: str) -> bool:
        """True if the id is queued, running or in history."""
        if prompt_id in self.history or (self.running and self.running.prompt_id == prompt_id):
            return True
        return any(entry[2].prompt_id == prompt_id for entry in self.pending)

    def delete_pending(self, ids: list[str] | None) -> None:
        """Drop all (``None``) or the named pending items."""
        before = len(self.pending)
        self.pending = [e for e in self.pending if ids is not None and e[2].prompt_id not in ids]
        heapq.heapify(self.pending)
        if len(self.pending) != before:
            self.hub.status()

    def interrupt(self, prompt_id: str | None) -> None:
        """Global interrupt, or targeted: only if ``prompt_id`` is the running one."""
        if prompt_id is None or (self.running and self.running.prompt_id == prompt_id):
            self._interrupt.set()

    def request_free(self, unload: bool, free_memory: bool) -> None:
        """Unload models / drop caches now if idle, else after the running prompt."""
        if unload:
            self._free["unload_models"] = True
        if free_memory:
            self._free["free_memory"] = True
        self._wake.set()

    def vram_free(self) -> int:
        """Simulated free VRAM in bytes."""
        used = self.settings.vram_base_mb + sum(self.loaded.values())
        return max(0, self.settings.vram_mb - used) * 1024 * 1024

    def load(self, name: str, megabytes: int) -> None:
        """Account a model load; evicts the oldest models when the VRAM would overflow."""
        if name in self.loaded:
            self.loaded.move_to_end(name)
            return
        log(f"Requested to load {name}")
        budget = self.settings.vram_mb - self.settings.vram_base_mb
        while self.loaded and sum(self.loaded.values()) + megabytes > budget:
            self.loaded.popitem(last=False)
        self.loaded[name] = min(megabytes, budget)
        log(f"loaded completely; {megabytes:.2f} MB loaded, full load: True")

    def _on_connect(self, sid: str) -> list[tuple[str, dict[str, Any]]]:
        item = self.running
        if item is None or item.client_id != sid or self.current_node is None:
            return []
        node = self.current_node
        return [("executing", {"node": node, "display_node": node, "prompt_id": item.prompt_id})]

    # ------------------------------------------------------------ worker

    async def worker(self) -> None:
        """Run queued prompts forever (cancel to stop)."""
        while True:
            self._apply_free()
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            _number, _seq, item = heapq.heappop(self.pending)
            self.running = item
            self.hub.status()
            started = time.perf_counter()
            try:
                await self._execute(item)
            finally:
                self.running = None
                self.current_node = None
            took = time.perf_counter() - started
            log(f"Prompt executed in {took:.2f} seconds")

    def _apply_free(self) -> None:
        if self._free.get("free_memory"):
            self.cache.clear()
        if self._free:
            self.loaded.clear()
            self._free.clear()

    def _send(self, run: _Run, event: str, data: dict[str, Any], record: bool = False) -> None:
        if record:
            run.messages.append([event, data])
        broadcast = event == "execution_interrupted"
        sid = None if broadcast else run.item.client_id
        if sid is not None or broadcast:
            self.hub.send(event, data, sid)

    async def _execute(self, item: QueueItem) -> None:
        run = _Run(item)
        self._run = run
        self._interrupt.clear()
        pid = item.prompt_id
        self._send(run, "execution_start", {"prompt_id": pid, "timestamp": _now_ms()}, True)
        order = self._order(item)
        signatures: dict[str, str] = {}
        for node_id in order:
            signatures[node_id] = self._signature(item.prompt, node_id, signatures)
        cached = [n for n in item.prompt if n in signatures and signatures[n] in self.cache]
        data = {"nodes": cached, "prompt_id": pid, "timestamp": _now_ms()}
        self._send(run, "execution_cached", data, True)
        outcome = "success"
        try:
            values: dict[str, tuple[Any, ...]] = {}
            for node_id in order:
                await self._node(run, node_id, signatures[node_id], values)
        except Interrupted:
            outcome = "interrupted"
            self._send(run, "execution_interrupted", self._failure_base(run), True)
        except NodeFailure as exc:
            outcome = "error"
            self._send(run, "execution_error", self._error_data(run, exc), True)
        else:
            self._send(run, "execution_success", {"prompt_id": pid, "timestamp": _now_ms()}, True)
        self.cache = {sig: self.cache[sig] for sig in signatures.values() if sig in self.cache}
        self._write_history(run, outcome)
        self.running = None
        self.hub.status()
        if item.client_id is not None:
            self.hub.send("executing", {"node": None, "prompt_id": pid}, item.client_id)

    def _order(self, item: QueueItem) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(node_id: str) -> None:
            if node_id in seen:
                return
            seen.add(node_id)
            for value in item.prompt[node_id].get("inputs", {}).values():
                if isinstance(value, list) and len(value) == 2:
                    visit(str(value[0]))
            order.append(node_id)

        for output in item.outputs:
            visit(output)
        return order

    def _signature(self, prompt: dict[str, Any], node_id: str, known: dict[str, str]) -> str:
        entry = prompt[node_id]
        parts: dict[str, Any] = {"class": entry["class_type"]}
        for name, value in sorted(entry.get("inputs", {}).items()):
            if isinstance(value, list) and len(value) == 2:
                parts[name] = [known.get(str(value[0]), str(value[0])), value[1]]
            else:
                parts[name] = value
        if entry["class_type"] == "LoadImage":
            path = self.folders.input / str(entry["inputs"].get("image", ""))
            parts["file"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        if NODE_MAP[entry["class_type"]].output_node:
            parts["node"] = node_id
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def _node(
        self, run: _Run, node_id: str, signature: str, values: dict[str, tuple[Any, ...]]
    ) -> None:
        entry = run.item.prompt[node_id]
        pid = run.item.prompt_id
        hit = self.cache.get(signature)
        if hit is None:
            if self._interrupt.is_set():
                raise Interrupted
            run.node = self.current_node = node_id
            self._send(
                run, "executing", {"node": node_id, "display_node": node_id, "prompt_id": pid}
            )
            self._progress_state(run, node_id, 0, 1, "running")
            await self._faults_at(run, node_id)
            args = self._resolve(entry, values)
            hit = await OPS[entry["class_type"]](_Context(self, run, node_id), args)
            self.cache[signature] = hit
            run.executed.append(node_id)
            self._progress_state(run, node_id, 1, 1, "finished")
        outputs, ui = hit
        values[node_id] = outputs
        if ui is not None:
            run.ui[node_id] = ui
            data = {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid}
            self._send(run, "executed", data)

    def _resolve(self, entry: dict[str, Any], values: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
        definition = NODE_MAP[entry["class_type"]]
        args: dict[str, Any] = {}
        for name, value in entry.get("inputs", {}).items():
            if definition.input(name) is None:
                continue
            if isinstance(value, list) and len(value) == 2:
                args[name] = values[str(value[0])][int(value[1])]
            else:
                args[name] = value
        return args

    async def _faults_at(self, run: _Run, node_id: str) -> None:
        if self.faults.take("execution_error", node_id) is not None:
            raise NodeFailure("Simulated failure (fault injected through /__fake__/fault)")
        if self.faults.take("hang", node_id) is not None:
            await self._interrupt.wait()
            raise Interrupted

    def _progress_state(self, run: _Run, node_id: str, value: int, total: int, state: str) -> None:
        pid = run.item.prompt_id
        nodes = {
            node_id: {
                "value": value, "max": total, "state": state, "node_id": node_id,
                "prompt_id": pid, "display_node_id": node_id, "parent_node_id": None,
                "real_node_id": node_id,
            }
        }  # fmt: skip
        self._send(run, "progress_state", {"prompt_id": pid, "nodes": nodes})

    async def step(
        self, run: _Run, node_id: str, value: int, total: int, preview: ImageSpec | None
    ) -> None:
        """One sampler step: delay, interrupt check, progress event and preview frame."""
        if self._interrupt.is_set():
            raise Interrupted
        if self.settings.step_s > 0:
            await asyncio.sleep(self.settings.step_s)
        else:
            await asyncio.sleep(0)
        if self._interrupt.is_set():
            raise Interrupted
        pid = run.item.prompt_id
        self._send(
            run, "progress", {"value": value, "max": total, "prompt_id": pid, "node": node_id}
        )
        self._progress_state(run, node_id, value, total, "running")
        sid = run.item.client_id
        if preview is not None and sid is not None and self.settings.previews:
            image = preview_jpeg(preview, value, total, self.settings.preview_size)
            meta = {"node_id": node_id, "prompt_id": pid, "display_node_id": node_id,
                    "parent_node_id": None, "real_node_id": node_id}  # fmt: skip
            self.hub.preview(image, sid, meta)
        if sid is not None and value == max(1, total // 2):
            if self.faults.take("close_ws_midrun", node_id) is not None:
                self.hub.close_socket(sid)
            if self.faults.take("malformed_ws", node_id) is not None:
                self.hub.mangle_next(sid)

    def _failure_base(self, run: _Run) -> dict[str, Any]:
        node = run.node
        class_type = run.item.prompt[node]["class_type"] if node else ""
        return {
            "prompt_id": run.item.prompt_id,
            "node_id": node,
            "node_type": class_type,
            "executed": list(run.executed),
            "timestamp": _now_ms(),
        }

    def _error_data(self, run: _Run, exc: NodeFailure) -> dict[str, Any]:
        data = self._failure_base(run)
        data.update(
            exception_message=str(exc),
            exception_type=exc.kind,
            traceback=[f'  File "comfy/simulated.py", line 1, in {data["node_type"]}\n'],
            current_inputs={},
            current_outputs={},
        )
        log(f"!!! Exception during processing !!! {exc}")
        return data

    def _write_history(self, run: _Run, outcome: str) -> None:
        item = run.item
        meta = {
            node: {"node_id": node, "display_node": node, "parent_node": None, "real_node_id": node}
            for node in run.ui
        }
        self.history[item.prompt_id] = {
            "prompt": item.as_list(),
            "outputs": dict(run.ui),
            "status": {
                "status_str": "success" if outcome == "success" else "error",
                "completed": outcome == "success",
                "messages": run.messages,
            },
            "meta": meta,
        }
        while len(self.history) > HISTORY_LIMIT:
            self.history.popitem(last=False)


class _Context:
    """The :class:`~.comfy_ops.NodeContext` handed to one node."""

    def __init__(self, executor: Executor, run: _Run, node_id: str) -> None:
        self._executor = executor
        self._run = run
        self._node = node_id
        self.folders = executor.folders
        self.max_audio_seconds = executor.settings.max_audio_s
        self.metadata: dict[str, Any] | None = None
        if not executor.settings.disable_metadata:
            extra = run.item.extra.get("extra_pnginfo")
            self.metadata = {"prompt": run.item.prompt}
            if isinstance(extra, dict):
                self.metadata.update(extra)

    async def step(self, value: int, total: int, preview: ImageSpec | None) -> None:
        await self._executor.step(self._run, self._node, value, total, preview)

    def load(self, name: str, megabytes: int) -> None:
        self._executor.load(name, megabytes)
