"""Warm-up for a lesson: load the models before the first student click, free them after.

:func:`prepare_lesson` starts the backends, loads the safety and interception models with a
lesson-long ``keep_alive`` (and the runner options every chat sends, so the first chat does
not reload them) and runs one tiny generation (one step, smallest size) per chosen output,
so the weights are resident when the class starts. :func:`release` unloads every Ollama
model (confirmed through ``/api/ps``) and asks ComfyUI to free its models and memory.

Both report progress as :class:`WarmupEvent` values and never raise for one failing target:
a failure is reported and the next target is tried. No Qt here.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from ..content.schema import OutputConfig
from ..content.schema import Route as OutputRoute
from ..errors import AppError
from . import generation
from .comfy_cleanup import discard_server_copies
from .keepalive import LESSON_KEEP_ALIVE
from .prompts import RUNNER_OPTIONS
from .routing import resolve
from .runner import RunServices

log = logging.getLogger(__name__)

DEFAULT_KEEP_ALIVE = LESSON_KEEP_ALIVE
WARMUP_PROMPT = "a small red circle on white paper"
#: The cheapest values for a warm-up generation, applied where the output maps them.
TINY_VALUES: dict[str, object] = {"steps": 1, "width": 256, "height": 256, "seconds": 1}
WARMABLE_ROUTES = (OutputRoute.comfyui, OutputRoute.swarmui_t2i)


class WarmupState(enum.Enum):
    """What happened to one target."""

    started = "started"
    warm = "warm"
    failed = "failed"
    skipped = "skipped"
    released = "released"


@dataclass(frozen=True)
class WarmupEvent:
    """Progress of :func:`prepare_lesson` or :func:`release`.

    Attributes:
        kind: ``"backend"``, ``"model"`` (an Ollama model) or ``"output"``.
        target: the backend name, the model name or the output id.
        state: what happened.
        message: the error message for ``failed``, the reason for ``skipped``, else ""
            (English: the log, the CLI).
        key, params: the same message in the UI's catalogues ("" when it has none), so
            the window says it in its language.
    """

    kind: str
    target: str
    state: WarmupState
    message: str = ""
    key: str = ""
    params: Mapping[str, str] = field(default_factory=dict)


def is_warmable(output: OutputConfig) -> bool:
    """True for outputs that load weights on a local image/audio server."""
    return output.route in WARMABLE_ROUTES


def tiny_job(output: OutputConfig) -> generation.GenerationJob:
    """The smallest generation ``output`` allows: one step at the smallest size."""
    names = set(output.mapping) if output.route is OutputRoute.comfyui else set(TINY_VALUES)
    values = {k: v for k, v in TINY_VALUES.items() if k in names}
    return generation.GenerationJob(
        run_id="warmup", output=output, prompt=WARMUP_PROMPT, seed=1, values=values
    )


def _failed(kind: str, target: str, exc: Exception) -> WarmupEvent:
    """A ``failed`` event with the error's message (and its catalogue key, if any)."""
    if isinstance(exc, AppError):
        return WarmupEvent(
            kind, target, WarmupState.failed, exc.user_message, key=exc.key, params=exc.params
        )
    return WarmupEvent(kind, target, WarmupState.failed, str(exc) or type(exc).__name__)


#: Why a target is skipped: English for the log, and its catalogue key.
_SKIPPED = {
    "not_ollama": ("not an Ollama model", "warmup.reason.not_ollama"),
    "unknown_output": ("unknown output", "warmup.reason.unknown_output"),
    "nothing_to_load": ("nothing to load", "warmup.reason.nothing_to_load"),
}


def _skipped(kind: str, target: str, why: str) -> WarmupEvent:
    english, key = _SKIPPED[why]
    return WarmupEvent(kind, target, WarmupState.skipped, english, key=key)


async def _warm_output(services: RunServices, output: OutputConfig) -> None:
    """Run one tiny generation of ``output`` (the files are dropped, ComfyUI's copy too).

    Its model check lands on the board Create reads, like a run's.
    """
    job, outcome = tiny_job(output), generation.GenerationOutcome()
    if output.route is OutputRoute.comfyui:
        steps = generation.run_comfy(
            job,
            services.backends,
            services.workflows_dir,
            outcome,
            arbiter=services.arbiter,
            models=services.models,
        )
    else:
        steps = generation.run_swarm(job, services.backends, outcome)
    async for _step in steps:  # progress is not shown; the files are dropped
        pass
    server_files = [f.server_file for f in outcome.files if f.server_file is not None]
    if services.comfy_output is not None and server_files:
        output_dir = services.comfy_output()
        await asyncio.to_thread(discard_server_copies, server_files, output_dir, job.run_id)


#: The roles whose Ollama models a lesson loads: the safety model answers the first
#: click (input check), the interception model the second step.
WARM_ROLES = ("safety", "interception")


async def _load_role(services: RunServices, role: str, keep_alive: str) -> WarmupEvent:
    """Load ``role``'s Ollama model with the chats' runner options and ``keep_alive``.

    The options must equal what every chat sends (``RUNNER_OPTIONS``): a load with other
    runner options would make Ollama reload the model at the first student click.
    """
    try:
        route = resolve(role, services.settings(), services.content)
    except AppError as exc:
        return _failed("model", role, exc)
    if route.provider.id != "ollama":
        return _skipped("model", route.label, "not_ollama")
    try:
        client = await services.backends.ollama()
        await client.load(route.model, keep_alive=keep_alive, options=RUNNER_OPTIONS)
    except Exception as exc:  # one failing target must not end the warm-up
        log.error("Warm-up: loading %s failed: %s", route.model, exc)
        return _failed("model", route.model, exc)
    log.info("Warm-up: %s loaded (keep_alive %s, %s)", route.model, keep_alive, RUNNER_OPTIONS)
    return WarmupEvent("model", route.model, WarmupState.warm)


async def _load_models(services: RunServices, keep_alive: str) -> AsyncGenerator[WarmupEvent, None]:
    """Load each warm role's model once (roles sharing a model load it once)."""
    services.providers.keep_alive.start_lesson(keep_alive)
    seen: set[str] = set()
    for role in WARM_ROLES:
        yield WarmupEvent("model", role, WarmupState.started)
        event = await _load_role(services, role, keep_alive)
        if event.target in seen:
            continue
        seen.add(event.target)
        yield event


async def prepare_lesson(
    services: RunServices, outputs: Sequence[str], keep_alive: str = DEFAULT_KEEP_ALIVE
) -> AsyncGenerator[WarmupEvent, None]:
    """Load the safety and interception models and warm each output in ``outputs`` (ids).

    From now on every Ollama request keeps its model for ``keep_alive`` (the lesson
    policy, until :func:`release`). Yields a ``started`` event before each target and then
    ``warm``, ``failed`` or ``skipped`` for it. Unknown ids and outputs without local
    weights (code, cloud, planned) are skipped with a reason.
    """
    async with aclosing(_load_models(services, keep_alive)) as models:
        async for event in models:
            yield event
    busy = services.gpu_busy() if services.gpu_busy else None
    for output_id in outputs:
        output = services.content.outputs.get(output_id)
        if output is None or not is_warmable(output):
            why = "unknown_output" if output is None else "nothing_to_load"
            yield _skipped("output", output_id, why)
            continue
        if busy:
            yield WarmupEvent("output", output_id, WarmupState.failed, busy, key="error.gpu_busy")
            continue
        yield WarmupEvent("output", output_id, WarmupState.started)
        try:
            await _warm_output(services, output)
        except Exception as exc:  # report and go on with the next output
            log.error("Warm-up of %s failed: %s", output_id, exc)
            yield _failed("output", output_id, exc)
            continue
        log.info("Warm-up: output %s is warm", output_id)
        yield WarmupEvent("output", output_id, WarmupState.warm)


def _running(services: RunServices, name: str) -> bool:
    """True unless the backends can tell that ``name`` is not running (then nothing to free)."""
    states = getattr(services.backends, "states", None)
    if not callable(states):
        return True
    state = states().get(name)
    return state is None or getattr(state, "value", "") == "ready"


async def _release_ollama(services: RunServices) -> AsyncGenerator[WarmupEvent, None]:
    try:
        client = await services.backends.ollama()
        loaded = await client.ps()
    except Exception as exc:  # report; ComfyUI is still freed
        yield _failed("backend", "ollama", exc)
        return
    for model in loaded:
        try:
            await client.unload(model.name)
        except Exception as exc:  # keep unloading the others
            yield _failed("model", model.name, exc)
            continue
        log.info("Released %s", model.name)
        yield WarmupEvent("model", model.name, WarmupState.released)


async def release(services: RunServices) -> AsyncGenerator[WarmupEvent, None]:
    """Unload every Ollama model (confirmed by ``/api/ps``) and free ComfyUI's memory.

    Backends that are not running are left alone (nothing is started to be stopped).
    Ollama requests go back to the short keep-alive.
    """
    services.providers.keep_alive.end_lesson()
    if _running(services, "ollama"):
        async with aclosing(_release_ollama(services)) as events:
            async for event in events:
                yield event
    engine = services.settings().image_engine
    if not _running(services, engine):
        return
    try:
        comfy = await services.backends.comfy()
        await comfy.free(unload_models=True, free_memory=True)
    except Exception as exc:  # report it; nothing else to do
        yield _failed("backend", engine, exc)
        return
    log.info("Released the models of %s", engine)
    yield WarmupEvent("backend", engine, WarmupState.released)


__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "WarmupEvent",
    "WarmupState",
    "is_warmable",
    "prepare_lesson",
    "release",
    "tiny_job",
]
