"""Assemble the services a run needs, the same way for the window and the headless ``run``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..backends.vram import VramArbiter
from ..content.schema import ContentLibrary
from ..errors import AppError
from ..settings import Settings
from ..store.runs import RunStore
from .model_status import ModelStatusBoard, local_models
from .providers import ProviderRegistry
from .routing import resolve
from .runner import RunBackends, RunServices
from .safety import SafetyGate, provider_judge
from .seeds import SeedPolicy

log = logging.getLogger(__name__)


def safety_gate(
    settings: Settings,
    content: ContentLibrary,
    providers: ProviderRegistry,
    *,
    research_confirmed: bool = False,
) -> SafetyGate:
    """The gate with the configured local safety model as its judge.

    A safety role that cannot be routed (malformed, or a cloud model) leaves the gate
    without a judge: kids and youth runs then fail closed with a clear reason.
    """
    try:
        route = resolve("safety", settings, content)
        judge = provider_judge(providers.get(route.provider, local_role=True), route.model)
    except AppError as exc:
        log.warning("No safety model: %s (%s)", exc.user_message, exc.detail)
        return SafetyGate(None, research_confirmed=research_confirmed)
    return SafetyGate(judge, model=route.model, research_confirmed=research_confirmed)


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
) -> RunServices:
    """Everything a :class:`~.runner.RunSession` needs, wired to ``backends``.

    ``demo``: the backends are simulators (no local model files to check).
    ``comfy_output``: the output folder of a ComfyUI on this computer (see comfy_cleanup).
    """
    providers = ProviderRegistry(backends.ollama, local_only=lambda: settings().safety.local_only)
    gate = safety_gate(settings(), content, providers, research_confirmed=research_confirmed)
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
        models=ModelStatusBoard(content, lambda: local_models(settings(), demo=demo)),
        comfy_output=comfy_output,
    )
