"""``ai4artsed-desktop run``: one pipeline run without a window (scripts, lesson preparation).

Exit codes: 0 done (or stopped where ``--stop-after`` asked), 2 blocked by safety, 1 error,
130 cancelled (Ctrl+C), 143 / 129 stopped by SIGTERM / SIGHUP. SIGTERM and SIGHUP stop the
run like Ctrl+C does: a job already on the image server is interrupted there (on a shared
server it would otherwise block every seat's queue). With ``--json`` every event is one
JSON object per line on stdout and the last line is exactly one ``{"event": "done", ...}``
with the run folder and media paths.
``--resume RUN_ID`` continues a stopped or interrupted run from its ``run.json``: its idea,
rules, output, level, language, seed and stage texts (the user's edits included) are the
saved ones; output parameters, LoRAs and ``--stop-after`` given again apply.
``--dry-run`` prints the exact ComfyUI graph (the idea is used as the prompt, no LLM is
asked) and submits nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import json
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any, TextIO

from . import APP_NAME, logging_setup
from .backends.manager import BACKENDS, BackendManager
from .content.loader import load_content, load_workflow
from .content.schema import ContentLibrary, Route
from .errors import AppError, ConfigError
from .events import (
    RunBlocked,
    RunCancelled,
    RunFailed,
    RunResult,
    Stage,
    StageChecking,
    StageCompleted,
    StageStarted,
    StageText,
)
from .paths import AppPaths, resources_dir
from .pipeline.lora import LoraSpec
from .pipeline.runner import RunEvent, RunRequest, RunServices, RunSession
from .pipeline.services import build_services
from .pipeline.workflow import apply_inputs
from .settings import Settings, replace_path
from .settings import load as load_settings
from .store.record import RunRecord, is_run_id
from .store.review_log import FILE_NAME as REVIEW_LOG_FILE
from .store.review_log import ReviewLog
from .store.runs import INTERRUPTED, RunStore
from .system.processes import owner_alive

log = logging.getLogger(__name__)

EXIT_DONE, EXIT_ERROR, EXIT_BLOCKED, EXIT_CANCELLED = 0, 1, 2, 130
#: Signals that stop a run like Ctrl+C (where the platform has them; not on Windows).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
EVENT_NAMES = {
    "StageStarted": "stage_started",
    "StageText": "text",
    "StageChecking": "stage_checking",
    "StageCompleted": "stage_completed",
    "RunProgress": "progress",
    "RunPreview": "preview",
    "RunBlocked": "blocked",
    "RunFailed": "failed",
    "RunCancelled": "cancelled",
    "RunStopped": "stopped",
    "RunResult": "result",
}


class UsageError(AppError):
    """A command-line value is wrong."""


def parse_lora(value: str) -> LoraSpec:
    """``style.safetensors:0.6`` -> a LoRA at strength 0.6 (``FILE`` alone means 1.0).

    Raises:
        UsageError: empty file name or a strength outside [-10, 10].
    """
    file, sep, strength_text = value.rpartition(":")
    strength = 1.0
    if sep:
        try:
            strength = float(strength_text)
        except ValueError:
            file = value  # a colon inside the name (C:\...), no strength given
    else:
        file = value
    if not file.strip() or not -10.0 <= strength <= 10.0:
        raise UsageError(f"--lora {value!r}: write FILE:STRENGTH, e.g. style.safetensors:0.6")
    return LoraSpec(file.strip(), strength, strength)


def with_backends(settings: Settings, values: list[str]) -> Settings:
    """Apply ``--backend NAME=URL`` (remote mode).

    A ComfyUI or SwarmUI URL also makes that server the image engine.

    Raises:
        UsageError: not ``NAME=URL`` or an unknown backend name.
    """
    for value in values:
        name, sep, url = value.partition("=")
        name = name.strip().lower()
        if not sep or name not in BACKENDS or not url.strip():
            raise UsageError(
                f"--backend {value!r}: write NAME=URL with NAME one of {', '.join(BACKENDS)}, "
                "e.g. --backend comfyui=http://127.0.0.1:8188"
            )
        settings = replace_path(settings, f"{name}.mode", "remote")
        settings = replace_path(settings, f"{name}.url", url.strip())
        if name in ("comfyui", "swarmui"):
            settings = replace_path(settings, "image_engine", name)
    return settings


def event_json(event: RunEvent) -> dict[str, Any]:
    """A run event as a JSON-ready dict (bytes become their length)."""
    out: dict[str, Any] = {"event": EVENT_NAMES[type(event).__name__]}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, bytes):
            out[f"{f.name}_bytes"] = len(value)
        else:
            out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


class _Printer:
    """Writes events as JSON lines or as readable text."""

    def __init__(self, as_json: bool, out: TextIO, err: TextIO) -> None:
        self.as_json, self.out, self.err = as_json, out, err
        self._in_text = False
        self.finished = False

    def event(self, event: RunEvent) -> None:
        if self.as_json:
            self._line(event_json(event))
            return
        if isinstance(event, StageText):
            self.out.write(event.delta)
            self._in_text = True
        elif isinstance(event, StageCompleted):
            if self._in_text:
                self.out.write("\n")
                self._in_text = False
            if event.badge:
                self._say(f"   {event.badge}")
            if event.stage is Stage.media_check and event.text:  # "not checked" and why
                self._say(f"   {event.text}")
        else:
            for line in _describe(event):
                self._say(line)
        if isinstance(event, RunFailed) and event.detail:
            self.err.write(f"   {event.detail}\n")
        self.out.flush()

    def done(self, status: str, session: RunSession | None, result: RunResult | None) -> None:
        """The final line; only the first call writes (a cancel is seen at several levels)."""
        if self.finished:
            return
        self.finished = True
        folder = (
            str(session.services.store.folder(session.run_id)) if session and session.run_id else ""
        )
        media = [str(m.path) for m in result.media] if result else []
        if self.as_json:
            self._line(
                {
                    "event": "done",
                    "status": status,
                    "run_id": session.run_id if session else "",
                    "folder": folder,
                    "media": media,
                }
            )
        elif folder:
            self._say(f"Run folder: {folder}")

    def error(self, message: str, detail: str = "") -> None:
        if self.as_json:
            self._line({"event": "error", "message": message, "detail": detail})
        else:
            self.err.write(f"{APP_NAME}: {message}\n")
            if detail:
                self.err.write(f"   {detail}\n")

    def _say(self, text: str) -> None:
        if self._in_text:
            self.out.write("\n")
            self._in_text = False
        self.out.write(text + "\n")

    def _line(self, data: dict[str, Any]) -> None:
        self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.out.flush()


def _describe(event: RunEvent) -> list[str]:
    """Readable lines for the events that are not streamed text."""
    if isinstance(event, StageStarted):
        model = f" ({event.model})" if event.model else ""
        return [f"== {event.stage.value}{model}"]
    if isinstance(event, StageChecking):
        return [f"   checking {event.stage.value} …"]
    if isinstance(event, RunBlocked):
        return [f"Blocked ({event.stage.value}): {event.reason}"]
    if isinstance(event, RunFailed):
        return [f"Failed ({event.stage.value}): {event.message}"]
    if isinstance(event, RunCancelled):
        return ["Cancelled."]
    if isinstance(event, RunResult):
        return [f"Saved {media.path}" for media in event.media]
    return []


def run_headless(
    args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run the ``run`` sub-command; returns the exit code."""
    printer = _Printer(args.json, out, err)
    paths = AppPaths.from_cli(args.data_dir)
    try:
        paths.ensure()
        logging_setup.configure(
            paths.log_dir,
            level=LOG_LEVELS[args.log_level],
            json_format=args.log_format == "json",
        )
    except OSError as exc:
        printer.error(f"cannot create its folders: {exc}")
        return EXIT_ERROR
    loaded = load_settings(paths.settings_file)
    for problem in loaded.problems:
        log.warning("Settings: %s", problem)
    received: list[int] = []
    try:
        settings = with_backends(loaded.settings, args.backend)
        check_resume_args(args)
        request = None if args.resume else _request(args, settings)
        return asyncio.run(_run(args, paths, settings, request, printer, received))
    except AppError as exc:
        printer.error(exc.user_message, exc.detail)
        return EXIT_ERROR
    except KeyboardInterrupt:
        printer.done("cancelled", None, None)
        return EXIT_CANCELLED
    except asyncio.CancelledError:
        if not received:
            raise
        printer.done("cancelled", None, None)
        return 128 + received[0]
    finally:
        logging.shutdown()


@contextmanager
def _stop_on_signals(received: list[int]) -> Iterator[None]:
    """SIGTERM / SIGHUP cancel the running main task, as asyncio does for Ctrl+C.

    The cancellation unwinds through the run, which interrupts a job already queued on the
    image server. ``received`` gets the first signal number (for the exit code).
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            log.warning("Stopping the run: received %s", signal.Signals(signum).name)
            received.append(signum)
            task.cancel()

    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not on this platform / not the main thread
        installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


#: Options that a resumed run takes from its record, never from the command line.
RECORDED_OPTIONS = ("idea", "output", "config", "rules", "level", "lang")


def check_resume_args(args: argparse.Namespace) -> None:
    """``--resume`` takes the run's own inputs; a new run needs ``--idea`` and ``--output``.

    Raises:
        UsageError: a recorded input given again with ``--resume``, ``--dry-run`` with it,
            or a new run without its idea or output.
    """
    if args.resume is None:
        missing = [f"--{name}" for name in ("idea", "output") if not getattr(args, name)]
        if missing:
            raise UsageError(f"run needs {' and '.join(missing)} (or --resume RUN_ID).")
        return
    given = [f"--{name}" for name in RECORDED_OPTIONS if getattr(args, name) is not None]
    if given:
        raise UsageError(
            f"--resume continues the run with its saved inputs; leave out {', '.join(given)}."
        )
    if args.dry_run:
        raise UsageError("--dry-run starts nothing; it cannot be combined with --resume.")
    if not is_run_id(args.resume):
        raise UsageError(
            f"--resume {args.resume!r}: there is no run with this id (run ids look like "
            "20260105-101500-ab12cd; the run folder has the same name)."
        )


def resumable(record: RunRecord) -> None:
    """Refuse a run that cannot be continued: finished, blocked, failed, or still running.

    A stopped or cancelled run, one marked interrupted, and one still saying "running"
    whose process is gone can be continued.

    Raises:
        UsageError: naming the run and what to do instead.
    """
    status = record.status
    message = record.error["message"] if record.error else ""
    interrupted = (status == "failed" and message == INTERRUPTED) or (
        status == "running" and not owner_alive(record.owner)
    )
    if status in ("stopped", "cancelled") or interrupted:
        return
    reasons = {
        "done": "is already done; start a new run to make another",
        "blocked": "was stopped by the safety check and cannot be continued",
        "failed": "failed; start a new run",
        "running": "is still running in another window or process",
    }
    reason = reasons.get(status, f"has the status '{status}'")
    raise UsageError(f"The run {record.id} {reason}.")


def _request(args: argparse.Namespace, settings: Settings) -> RunRequest:
    return RunRequest(
        idea=args.idea,
        output_id=args.output,
        config_id=args.config or "",
        rules=args.rules,
        level=args.level or settings.safety.level,
        lang=args.lang or settings.ui.language,
        ui_mode="headless",
        seed=args.seed,
        loras=tuple(parse_lora(v) for v in args.lora),
        values=parameter_values(args),
    )


#: ``run`` options that set an output parameter (the mapping key of the same name).
PARAMETER_OPTIONS = ("steps", "width", "height", "cfg", "seconds")


def parameter_values(args: argparse.Namespace) -> dict[str, object]:
    """The output parameters given on the command line (``--steps 4`` -> ``{"steps": 4}``)."""
    return {
        key: getattr(args, key) for key in PARAMETER_OPTIONS if getattr(args, key, None) is not None
    }


def check_parameters(request: RunRequest, content: ContentLibrary, workflows_dir: Path) -> None:
    """Refuse a parameter the output does not have, or a value it cannot take, before any stage.

    ``--width`` for a sound, ``--steps 0``: the run would otherwise fail only at generation.

    Raises:
        ConfigError: naming the option and the parameters the output has, or the bad value.
    """
    output = content.outputs.get(request.output_id)
    if output is None:
        return  # RunSession names the unknown output
    known = set(output.mapping) | set(output.defaults)
    unknown = [key for key in request.values if key not in known]
    if unknown:
        has = [key for key in PARAMETER_OPTIONS if key in known]
        raise ConfigError(
            f"The output '{output.id}' has no setting "
            + ", ".join(f"--{key}" for key in unknown)
            + (f"; it takes {', '.join(f'--{key}' for key in has)}." if has else "."),
            detail=f"output {output.id}: mapping {sorted(output.mapping)}",
        )
    if request.values and output.route is Route.comfyui:
        apply_inputs(load_workflow(output, workflows_dir), output, request.values)


async def _run(
    args: argparse.Namespace,
    paths: AppPaths,
    settings: Settings,
    request: RunRequest | None,
    printer: _Printer,
    received: list[int] | None = None,
) -> int:
    with _stop_on_signals(received if received is not None else []):
        return await _run_session(args, paths, settings, request, printer)


async def _run_session(
    args: argparse.Namespace,
    paths: AppPaths,
    settings: Settings,
    request: RunRequest | None,
    printer: _Printer,
) -> int:
    content = load_content(resources_dir() / "configs", paths.user_content_dir)
    for problem in content.problems:
        log.warning("Content file skipped: %s", problem)
    demo = bool(args.demo or settings.demo_mode)
    manager = BackendManager(settings, paths, demo=demo)
    store = await asyncio.to_thread(RunStore, paths.runs_dir)
    services = build_services(
        backends=manager,
        content=content,
        settings=lambda: settings,
        store=store,
        workflows_dir=resources_dir() / "workflows",
        research_confirmed=bool(args.confirm_research),
        demo=demo,
        comfy_output=manager.comfy_output_dir,
        review_log=ReviewLog(paths.data_dir / REVIEW_LOG_FILE),
    )
    try:
        if request is None:
            session = await _resumed(args, services)
            return await _follow(session, args.stop_after, printer)
        check_parameters(request, content, resources_dir() / "workflows")
        session = RunSession(services, request)
        if args.dry_run:
            graph, seed = session.graph_for(request.idea)
            printer.out.write(json.dumps(graph, indent=2, ensure_ascii=False) + "\n")
            log.info("Dry run of %s with seed %d: nothing submitted", request.output_id, seed)
            return EXIT_DONE
        return await _follow(session, args.stop_after, printer)
    finally:
        await services.providers.aclose()
        await manager.shutdown()
        store.close()


async def _resumed(args: argparse.Namespace, services: RunServices) -> RunSession:
    """The session that continues the saved run ``args.resume`` (RunSession.resume).

    Output parameters, LoRAs and a seed given on the command line apply to it.

    Raises:
        ConfigError: the run does not exist, cannot be read, or its output or config
            no longer exists; a parameter the output does not have.
        UsageError: the run cannot be continued (see :func:`resumable`).
    """
    record = await asyncio.to_thread(services.store.load, args.resume)
    resumable(record)
    session = RunSession.resume(services, record)
    seed = args.seed if args.seed is not None else session.request.seed
    session.request = dataclasses.replace(
        session.request,
        seed=seed,
        values=parameter_values(args),
        loras=tuple(parse_lora(v) for v in args.lora),
    )
    check_parameters(session.request, services.content, resources_dir() / "workflows")
    return session


async def _follow(session: RunSession, stop_after: str | None, printer: _Printer) -> int:
    until = Stage(stop_after) if stop_after else None
    status, code, result = "done", EXIT_DONE, None
    try:
        async with aclosing(session.advance(until)) as events:
            async for event in events:
                printer.event(event)
                if isinstance(event, RunResult):
                    result = event
                elif isinstance(event, RunBlocked):
                    status, code = "blocked", EXIT_BLOCKED
                elif isinstance(event, RunFailed):
                    status, code = "failed", EXIT_ERROR
                elif isinstance(event, RunCancelled):
                    status, code = "cancelled", EXIT_CANCELLED
    except asyncio.CancelledError:
        printer.done("cancelled", session, result)
        raise
    if status == "done" and until is not None:
        status = f"stopped after {until.value}"
    printer.done(status, session, result)
    return code
