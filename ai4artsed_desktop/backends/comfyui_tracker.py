"""Turns ComfyUI websocket messages for one prompt into job events (a pure state machine).

Completion is ``executing`` with ``node: null`` **and our prompt_id** (protocols.md §2.12,
§2.17); ``execution_error`` and ``execution_interrupted`` end the job at once. Messages of
other prompts are ignored. Type-1 preview frames carry no prompt id; they are ours only while
our prompt is the one running (the server runs one prompt at a time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BackendProtocolError
from ..events import (
    JobFailed,
    JobPreview,
    JobProgress,
    JobStarted,
    NodeExecuting,
    OutputFile,
)
from .comfyui_parsing import HistoryEntry, WsMessage, WsPreview, parse_output_files

Event = JobStarted | NodeExecuting | JobProgress | JobPreview


def _bad(kind: str, data: Mapping[str, Any]) -> BackendProtocolError:
    return BackendProtocolError(
        f"ComfyUI sent an unexpected '{kind}' message.",
        detail=repr(dict(data))[:300],
        key="error.backend_protocol",
        params={"backend": "ComfyUI"},
    )


def failure_from(prompt_id: str, data: Mapping[str, Any]) -> JobFailed:
    """A ``JobFailed`` from ``execution_error`` data (websocket or history message)."""
    node = str(data.get("node_id") or "")
    node_type = str(data.get("node_type") or "")
    message = str(data.get("exception_message") or "unknown error").strip()
    where = f" in node {node} ({node_type})" if node else ""
    trace = data.get("traceback")
    detail_lines = [f"{data.get('exception_type', 'Exception')}: {message}"]
    if isinstance(trace, list):
        detail_lines += [str(line).rstrip() for line in trace]
    return JobFailed(
        job_id=prompt_id,
        message=f"ComfyUI stopped with an error{where}: {message}",
        detail="\n".join(detail_lines),
        node=node,
    )


class RunTracker:
    """Follows one prompt through the message stream.

    After :meth:`feed` returns, ``done`` tells whether the prompt has ended; ``outcome`` is
    ``"success"``, ``"error"`` (with ``failure``) or ``"interrupted"``.
    """

    def __init__(self, prompt_id: str) -> None:
        self.prompt_id = prompt_id
        self.running = False
        self.announced = False
        self.done = False
        self.outcome = "success"
        self.failure: JobFailed | None = None
        #: Set by reconciliation after a reconnect: the history that decided the outcome.
        self.entry: HistoryEntry | None = None
        self._outputs: dict[str, Any] = {}

    @property
    def seen_outputs(self) -> tuple[OutputFile, ...]:
        """Files announced by ``executed`` messages (a fallback when history is gone)."""
        return parse_output_files(self._outputs)

    def _start(self, cached: tuple[str, ...] = ()) -> list[Event]:
        self.running = True
        if self.announced:
            return []
        self.announced = True
        return [JobStarted(self.prompt_id, cached)]

    def feed(self, message: WsMessage) -> list[Event]:
        """Events for one text message (empty for other prompts' messages)."""
        data = message.data
        if data.get("prompt_id") != self.prompt_id or self.done:
            return []
        kind = message.type
        if kind == "execution_start":
            self.running = True
            return []
        if kind == "execution_cached":
            nodes = data.get("nodes", [])
            if not isinstance(nodes, list):
                raise _bad(kind, data)
            return self._start(tuple(str(n) for n in nodes))
        if kind == "executing":
            return self._executing(data)
        if kind == "progress":
            return self._progress(data)
        if kind == "executed":
            output = data.get("output")
            if isinstance(output, dict):
                self._outputs[str(data.get("node", len(self._outputs)))] = output
            return []
        if kind in ("execution_error", "execution_interrupted"):
            self.done, self.running = True, False
            self.outcome = "error" if kind == "execution_error" else "interrupted"
            if kind == "execution_error":
                self.failure = failure_from(self.prompt_id, data)
        return []

    def _executing(self, data: Mapping[str, Any]) -> list[Event]:
        if "node" not in data:
            raise _bad("executing", data)
        node = data["node"]
        if node is None:
            self.done, self.running = True, False
            return []
        return [*self._start(), NodeExecuting(self.prompt_id, str(node))]

    def _progress(self, data: Mapping[str, Any]) -> list[Event]:
        value, total = data.get("value"), data.get("max")
        if not isinstance(value, int) or not isinstance(total, int):
            raise _bad("progress", data)
        node = data.get("node")
        return [JobProgress(self.prompt_id, value, total, str(node) if node is not None else "")]

    def feed_preview(self, preview: WsPreview) -> list[Event]:
        """A preview event if the frame belongs to our running prompt."""
        if preview.prompt_id is not None:
            ours = preview.prompt_id == self.prompt_id and not self.done
        else:
            ours = self.running and not self.done
        return [JobPreview(self.prompt_id, preview.image, preview.mime)] if ours else []
