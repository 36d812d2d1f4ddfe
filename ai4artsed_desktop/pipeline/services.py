"""Assemble the services a run needs, the same way for the window and the headless ``run``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..backends.vram import VramArbiter
from ..content.schema import ContentLibrary
from ..errors import AppError
from ..settings import Settings
from ..store.review_log import ReviewLog
from ..store.runs import RunStore
from .model_status import ModelStatusBoard, local_models
from .providers import ProviderRegistry
from .routing import resolve, split_model
from .runner import RunBackends, RunServices
from .safety import BoundJudge, JudgeSource, SafetyGate, provider_judge
from .safety_media import MediaGate, Vision, VisionSource, installed, ollama_vision_judge
from .safety_media import pull_command as _pull
from .seeds import SeedPolicy

log = logging.getLogger(__name__)


def judge_source(
    settings: Callable[[], Settings], content: ContentLibrary, providers: ProviderRegistry
) -> JudgeSource:
    """Looks up the safety model in the *current* settings at every check.

    A safety role that cannot be routed (empty, malformed, a cloud model) gives no judge:
    kids and youth runs then fail closed with a clear reason. A model chosen in Settings
    applies to the next check at once.
    """
    cache: dict[str, BoundJudge] = {}

    def source() -> BoundJudge | None:
        current = settings()
        value = current.roles.safety
        if value in cache:
            return cache[value]
        try:
            route = resolve("safety", current, content)
            provider = providers.get(route.provider, local_role=True)
            bound = BoundJudge(provider_judge(provider, route.model), route.model)
        except AppError as exc:
            log.warning("No safety model: %s (%s)", exc.user_message, exc.detail)
            return None
        cache.clear()
        cache[value] = bound
        return bound

    return source


def safety_gate(
    settings: Settings | Callable[[], Settings],
    content: ContentLibrary,
    providers: ProviderRegistry,
    *,
    research_confirmed: bool = False,
) -> SafetyGate:
    """The gate with the configured local safety model as its judge (looked up per check)."""
    current = settings if callable(settings) else (lambda: settings)
    source = judge_source(current, content, providers)
    return SafetyGate(source=source, research_confirmed=research_confirmed)


def vision_source(
    settings: Callable[[], Settings], content: ContentLibrary, backends: RunBackends
) -> VisionSource:
    """Looks up the vision model (role ``vision``) and whether Ollama has it installed.

    Raises from the returned coroutine: ``AppError`` when Ollama cannot be reached.
    """

    async def source() -> Vision:
        current = settings()
        value = current.roles.vision.strip()
        if not value:
            return Vision(None, missing="no vision model is chosen in Settings")
        _prefix, model = split_model(value)
        try:
            route = resolve("vision", current, content)
        except AppError as exc:
            return Vision(None, model, f"the vision model “{value}” cannot be used here "
                          f"({exc.user_message})")  # fmt: skip
        if route.provider.id != "ollama":
            return Vision(None, model, f"the vision model “{value}” is not an Ollama model")
        client = await backends.ollama()
        names = [info.name for info in await client.tags()]
        if not installed(names, route.model):
            return Vision(None, route.model, f"{route.model} is not installed",
                          _pull(route.model))  # fmt: skip
        return Vision(ollama_vision_judge(backends.ollama, route.model), route.model)

    return source


def build_services(
    *,
    backends: RunBackends,
    content: ContentLibrary,
    settings: Callable[[], Settings],
    store: RunStore,
    workflows_dir: Path,
    arbiter: VramArbiter | None = None,
    gpu_busy: Callable[[], str | None] | None = None,
    research_confirmed: bool = False,
    demo: bool = False,
    comfy_output: Callable[[], Path | None] | None = None,
    review_log: ReviewLog | None = None,
) -> RunServices:
    """Everything a :class:`~.runner.RunSession` needs, wired to ``backends``.

    ``demo``: the backends are simulators (no local model files to check).
    ``comfy_output``: the output folder of a ComfyUI on this computer (see comfy_cleanup).
    """
    providers = ProviderRegistry(backends.ollama, local_only=lambda: settings().safety.local_only)
    gate = safety_gate(settings, content, providers, research_confirmed=research_confirmed)
    media = MediaGate(
        vision_source(settings, content, backends),
        enabled=lambda: settings().safety.media_check,
        research_confirmed=lambda: gate.research_confirmed,
    )
    return RunServices(
        backends=backends,
        content=content,
        settings=settings,
        store=store,
        providers=providers,
        gate=gate,
        seeds=SeedPolicy(),
        workflows_dir=workflows_dir,
        arbiter=arbiter,
        gpu_busy=gpu_busy,
        models=ModelStatusBoard(
            content, lambda: local_models(settings(), demo=demo), vision=media.vision_state
        ),
        comfy_output=comfy_output,
        media=media,
        review_log=review_log,
    )
