"""Async ComfyUI client (httpx + websockets, no Qt): queue graphs, follow them, fetch files.

A job runs like this (protocols.md §2.12, §2.17): the websocket is opened first, the graph is
posted with our ``client_id`` and a client-chosen ``prompt_id``, events are mapped to
``events.py`` objects, and completion is ``executing`` with ``node: null`` and our id,
followed by exactly one ``/history`` read (retried briefly on ``{}``). After a dropped socket
the client reconnects with the same id and reconciles through ``/queue`` first, then
``/history``. Works directly against ComfyUI or through SwarmUI's ``/ComfyBackendDirect``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from ..errors import AppError, BackendProtocolError, BackendRequestError, BackendUnavailable
from ..events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    JobQueued,
    JobStarted,
    NodeExecuting,
    OutputFile,
)
from ..fileio import atomic_write_bytes
from .comfyui_parsing import (
    HistoryEntry,
    NodeInfo,
    QueueState,
    SystemStats,
    WsMessage,
    WsPreview,
    check_output_file,
    combo_options,
    describe_rejection,
    parse_history,
    parse_object_info,
    parse_prompt_answer,
    parse_queue,
    parse_system_stats,
)
from .comfyui_tracker import RunTracker, failure_from
from .comfyui_ws import WsChannel, WsItem, WsLost, WsReconnected
from .http import (
    LONG_TIMEOUT,
    MAX_JSON_BYTES,
    MAX_MEDIA_BYTES,
    json_object,
    make_client,
    parse_json,
    request_capped,
    translate_errors,
)

log = logging.getLogger(__name__)
BACKEND = "ComfyUI"
#: Everything :meth:`ComfyClient.run` yields.
RunEvent = (
    JobQueued | JobStarted | NodeExecuting | JobProgress | JobPreview | JobFinished | JobFailed
    | JobInterrupted
)  # fmt: skip


@dataclass(frozen=True)
class MissingModel:
    """A model file a graph needs that ComfyUI does not list (``reason`` says why)."""

    node_class: str
    input_name: str
    filename: str
    reason: str = "not installed"


def _same_name(a: str, b: str) -> bool:
    return a.replace("\\", "/") == b.replace("\\", "/")


class ComfyClient:
    """Client of one ComfyUI server.

    Args:
        base_url: ``http://127.0.0.1:8188`` (or SwarmUI's address with ``path_prefix``).
        client_id: the websocket ``clientId``; a fresh one by default.
        path_prefix: ``""`` for ComfyUI itself, ``"/ComfyBackendDirect"`` through SwarmUI.
        history_wait: how long to retry ``/history`` after completion (seconds).
        silence: the inactivity watchdog. After this many seconds without a message about
            a running job, ComfyUI is asked (``/queue``, then ``/history``) whether the job
            is still there: a server that does not answer ends the run; a job that is still
            queued or running is waited for again (a long model load is silent). No limit
            on the whole job.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        path_prefix: str = "",
        history_wait: float = 5.0,
        silence: float = 30.0,
    ) -> None:
        self.client_id = client_id or uuid.uuid4().hex
        self.prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.history_wait = history_wait
        self.silence = silence
        self._active: set[str] = set()  # prompts whose run() is still waiting
        self._http = make_client(base_url)
        ws_base = str(self._http.base_url).rstrip("/").replace("http", "ws", 1)
        self._ws = WsChannel(f"{ws_base}{self.prefix}/ws?clientId={self.client_id}")
        self._object_info: dict[str, NodeInfo] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the websocket and the HTTP connection pool.

        Jobs of this client that still run are interrupted (or dequeued) first, and every
        run waiting for its events wakes with ``BackendUnavailable``: closing happens when
        the image engine or a backend setting changes mid-run.
        """
        for prompt_id in list(self._active):
            await self._abandon(prompt_id)
        await self._ws.aclose()
        await self._http.aclose()

    # ------------------------------------------------------------ HTTP plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        limits: httpx.Timeout | None = None,
        max_bytes: int = MAX_JSON_BYTES,
        **kwargs: Any,
    ) -> httpx.Response:
        async with translate_errors(BACKEND):
            if limits is not None:
                kwargs["timeout"] = limits
            response = await request_capped(
                self._http, method, self.prefix + path, backend=BACKEND, what=path,
                limit=max_bytes, **kwargs,
            )  # fmt: skip
        if response.status_code >= 400:
            raise BackendRequestError(
                f"ComfyUI refused the request {path} (HTTP {response.status_code}).",
                detail=response.text[:500],
                key="error.backend_refused_http",
                params={"backend": "ComfyUI", "status": response.status_code},
                status=response.status_code,
            )
        return response

    async def _get_json(self, path: str, **kwargs: Any) -> Any:
        response = await self._request("GET", path, **kwargs)
        return parse_json(response.content, BACKEND, path)

    # ------------------------------------------------------------ server info

    async def system_stats(self) -> SystemStats:
        """``/system_stats``: versions, RAM and VRAM."""
        return parse_system_stats(await self._get_json("/system_stats"))

    async def health(self) -> bool:
        """True if ComfyUI answers ``/system_stats`` sensibly."""
        try:
            await self.system_stats()
        except AppError:
            return False
        return True

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        """Node schemas: the whole (cached) document, or one class fetched fresh.

        An unknown class gives an empty map.
        """
        if node_class is None:
            if self._object_info is None:
                raw = await self._get_json("/object_info", limits=LONG_TIMEOUT)
                self._object_info = parse_object_info(raw)
            return self._object_info
        return parse_object_info(await self._get_json(f"/object_info/{node_class}"))

    async def model_files(self, node_class: str, input_name: str) -> list[str]:
        """The options of a combo input (model files), in either combo encoding.

        Empty when the class or input is unknown or the input is not a combo.
        """
        info = (await self.object_info(node_class)).get(node_class)
        if info is None:
            return []
        return combo_options(info.input_spec(input_name)) or []

    async def missing_models(self, required: Sequence[tuple[str, str, str]]) -> list[MissingModel]:
        """The ``(class, input, file)`` triples ComfyUI cannot serve right now."""
        infos: dict[str, NodeInfo | None] = {}
        missing: list[MissingModel] = []
        for node_class, input_name, filename in required:
            if node_class not in infos:
                infos[node_class] = (await self.object_info(node_class)).get(node_class)
            info = infos[node_class]
            if info is None:
                missing.append(MissingModel(node_class, input_name, filename, "node not installed"))
                continue
            options = combo_options(info.input_spec(input_name))
            if options is None:
                missing.append(MissingModel(node_class, input_name, filename, "no such input"))
            elif not any(_same_name(filename, option) for option in options):
                missing.append(MissingModel(node_class, input_name, filename))
        return missing

    # ------------------------------------------------------------ queue and history

    async def queue(self) -> QueueState:
        """Running and pending prompt ids."""
        return parse_queue(await self._get_json("/queue"))

    async def history(self, prompt_id: str) -> HistoryEntry | None:
        """The history entry of a finished prompt, or None (still queued, running or unknown)."""
        return parse_history(await self._get_json(f"/history/{prompt_id}"), prompt_id)

    async def free(self, *, unload_models: bool = True, free_memory: bool = False) -> None:
        """Ask ComfyUI to unload models / free memory (takes effect when it is idle)."""
        body = {"unload_models": unload_models, "free_memory": free_memory}
        await self._request("POST", "/free", json=body)

    async def interrupt(self, prompt_id: str | None = None) -> None:
        """Interrupt the running prompt (only ``prompt_id`` if given)."""
        await self._request(
            "POST", "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {}
        )

    async def delete_queued(self, prompt_ids: Sequence[str]) -> None:
        """Remove pending prompts from the queue (running ones need :meth:`interrupt`)."""
        await self._request("POST", "/queue", json={"delete": list(prompt_ids)})

    # ------------------------------------------------------------ files

    async def view(self, file: OutputFile) -> bytes:
        """The bytes of an output file.

        Raises:
            BackendProtocolError: the name could reach outside ComfyUI's folders (checked
                before any request is made).
        """
        check_output_file(file)
        params = {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}
        response = await self._request(
            "GET", "/view", params=params, limits=LONG_TIMEOUT, max_bytes=MAX_MEDIA_BYTES
        )
        return response.content

    async def download(self, file: OutputFile, dest_dir: Path) -> Path:
        """Fetch an output file into ``dest_dir`` (atomic write); returns the path."""
        check_output_file(file)
        data = await self.view(file)
        target = dest_dir / os.path.basename(file.filename)
        await asyncio.to_thread(atomic_write_bytes, target, data)
        return target

    async def upload_image(self, data: bytes, filename: str, *, overwrite: bool = False) -> str:
        """Upload an input image; returns the name ComfyUI stored it under (use that one)."""
        files = {"image": (filename, data, "application/octet-stream")}
        form = {"overwrite": "true" if overwrite else "false", "type": "input"}
        response = await self._request("POST", "/upload/image", files=files, data=form)
        body = json_object(response.content, BACKEND, "upload/image")
        name, subfolder = body.get("name"), body.get("subfolder", "")
        if not isinstance(name, str) or not name or not isinstance(subfolder, str):
            raise BackendProtocolError(
                "ComfyUI sent an unexpected upload answer.",
                detail=repr(body),
                key="error.backend_protocol",
                params={"backend": "ComfyUI"},
            )
        return f"{subfolder}/{name}" if subfolder else name

    # ------------------------------------------------------------ jobs

    async def _submit(self, graph: dict[str, Any], prompt_id: str) -> str:
        body = {"prompt": graph, "client_id": self.client_id, "prompt_id": prompt_id}
        async with translate_errors(BACKEND):
            response = await request_capped(
                self._http, "POST", self.prefix + "/prompt", backend=BACKEND, what="/prompt",
                json=body,
            )  # fmt: skip
        if response.status_code == 400:
            try:
                answer: Any = response.json()
            except ValueError:
                answer = None
            raise BackendRequestError(
                describe_rejection(answer),
                detail=f"{describe_rejection(answer)}\n{response.text[:4000]}",
                status=400,
                key="error.comfyui_rejected",
            )
        if response.status_code != 200:
            raise BackendRequestError(
                f"ComfyUI could not accept the job (HTTP {response.status_code}).",
                detail=response.text[:1000],
                key="error.backend_refused_http",
                params={"backend": "ComfyUI", "status": response.status_code},
                status=response.status_code,
            )
        accepted_id, node_errors = parse_prompt_answer(
            parse_json(response.content, BACKEND, "prompt")
        )
        if node_errors:
            log.info(
                "ComfyUI dropped some outputs: %s", describe_rejection({"node_errors": node_errors})
            )
        return accepted_id

    async def run(
        self, graph: dict[str, Any], *, prompt_id: str | None = None
    ) -> AsyncGenerator[RunEvent, None]:
        """Queue ``graph`` and stream its events until it ends.

        Yields ``JobQueued``, ``JobStarted``, ``NodeExecuting``, ``JobProgress``,
        ``JobPreview`` and finally one of ``JobFinished``, ``JobFailed``, ``JobInterrupted``.
        Closing the stream early interrupts the prompt (or removes it from the queue).

        Raises:
            BackendRequestError: the graph was rejected (message built from node_errors).
            BackendUnavailable: ComfyUI is unreachable, or the live connection was lost.
            BackendProtocolError: ComfyUI sent something malformed.
        """
        await self._ws.open()
        inbox = self._ws.subscribe()
        submitted: str | None = None
        finished = False
        chosen = prompt_id or str(uuid.uuid4())
        try:
            try:
                submitted = await self._submit(graph, chosen)
            except BackendProtocolError:
                submitted = chosen  # the answer broke off; the job may be queued all the same
                self._active.add(submitted)  # so the finally below takes it back
                raise
            self._active.add(submitted)
            yield JobQueued(submitted)
            tracker = RunTracker(submitted)
            while not tracker.done:
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancel that arrives as the queue hands over an item (Stop is lost).
                    async with asyncio.timeout(self.silence):
                        item = await inbox.get()
                except TimeoutError:
                    await self._watchdog(tracker)
                    continue
                for event in await self._handle(tracker, item):
                    yield event
            final = await self._final_event(tracker)
            finished = True
            yield final
        finally:
            self._ws.unsubscribe(inbox)
            if submitted is not None and not finished and submitted in self._active:
                await self._abandon(submitted)
            if submitted is not None:
                self._active.discard(submitted)

    async def _handle(self, tracker: RunTracker, item: WsItem) -> list[RunEvent]:
        if isinstance(item, WsMessage):
            return list(tracker.feed(item))
        if isinstance(item, WsPreview):
            return list(tracker.feed_preview(item))
        if isinstance(item, BackendProtocolError):
            raise item
        if isinstance(item, WsLost):
            raise item.error
        assert isinstance(item, WsReconnected)
        await self._reconcile(tracker)
        return []

    async def _watchdog(self, tracker: RunTracker) -> None:
        """The server was silent for ``silence`` s: is it alive, and is the job still there?

        Raises:
            BackendUnavailable: ComfyUI does not answer any more.
        """
        log.info("ComfyUI silent for %.0f s about %s; asking it", self.silence, tracker.prompt_id)
        try:
            await self._reconcile(tracker)
        except BackendUnavailable as exc:
            raise BackendUnavailable(
                f"ComfyUI stopped answering while it worked on the picture (nothing for "
                f"{self.silence:.0f} seconds, and it does not reply). It may have crashed; "
                "restart it in Settings and try again.",
                detail=exc.detail or exc.user_message,
                key="error.image_server_silent",
                params={"seconds": f"{self.silence:.0f}"},
            ) from exc

    async def _reconcile(self, tracker: RunTracker) -> None:
        """After a reconnect: still queued or running? Else its history decides (§2.17)."""
        if tracker.prompt_id in await self.queue():
            return
        entry = await self._history_with_retry(tracker.prompt_id, 1.0)
        tracker.done, tracker.running = True, False
        if entry is None:
            tracker.outcome = "error"
            tracker.failure = JobFailed(
                tracker.prompt_id,
                "The job disappeared from ComfyUI's queue without a result (it was probably "
                "removed from the queue, or ComfyUI restarted).",
            )
            return
        tracker.outcome = "history"
        tracker.entry = entry

    async def _history_with_retry(self, prompt_id: str, wait: float) -> HistoryEntry | None:
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            entry = await self.history(prompt_id)
            if entry is not None or time.monotonic() >= deadline:
                return entry
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    async def _final_event(self, tracker: RunTracker) -> RunEvent:
        pid = tracker.prompt_id
        if tracker.outcome == "interrupted":
            return JobInterrupted(pid)
        if tracker.outcome == "error" and tracker.failure is not None:
            return tracker.failure
        entry = tracker.entry
        if entry is None:
            entry = await self._history_with_retry(pid, self.history_wait)
        if entry is None:
            if tracker.seen_outputs:
                return JobFinished(pid, tracker.seen_outputs)
            raise BackendProtocolError(
                "ComfyUI finished the job but kept no record of its results.",
                detail=pid,
                key="error.comfyui_no_record",
            )
        return self._from_history(entry)

    @staticmethod
    def _from_history(entry: HistoryEntry) -> RunEvent:
        if entry.status == "success" or entry.completed:
            return JobFinished(entry.prompt_id, entry.outputs)
        if entry.message("execution_interrupted") is not None:
            return JobInterrupted(entry.prompt_id)
        error = entry.message("execution_error")
        if error is not None:
            return failure_from(entry.prompt_id, error)
        return JobFailed(entry.prompt_id, f"ComfyUI reported the job as '{entry.status}'.")

    async def _abandon(self, prompt_id: str) -> None:
        """The consumer left early: drop the prompt from the queue, or interrupt it."""
        self._active.discard(prompt_id)
        try:
            async with asyncio.timeout(5.0):
                await self.delete_queued([prompt_id])
                await self.interrupt(prompt_id)
        except (AppError, TimeoutError) as exc:
            log.info("Could not cancel ComfyUI prompt %s: %s", prompt_id, exc)
