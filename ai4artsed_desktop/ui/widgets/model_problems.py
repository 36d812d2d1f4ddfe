"""An output's missing or damaged model files, one sentence each in the UI language.

Teachers and experts read them in a greyed output tile's tooltip (kids are told only why,
without file names). :class:`~ai4artsed_desktop.pipeline.availability.Availability` says
the same in English (``reason``) for the log, doctor and the command line.
"""

from __future__ import annotations

from collections.abc import Callable

from ...pipeline.availability import (
    LORA_FOLDER,
    Availability,
    DamagedModel,
    MissingModel,
    ModelState,
)

#: The quick check's findings that have their own words (``models.problem.health.<name>``).
HEALTH_WORDS = ("empty", "truncated", "bad_header", "unreadable", "wrong_size")


def model_problems(models: Availability, tr: Callable[..., str]) -> list[str]:
    """Every missing or damaged file of ``models``, one sentence each (none when it can run)."""
    if models.state is ModelState.missing:
        return [_missing(item, tr) for item in models.missing]
    if models.state is ModelState.damaged:
        return [_damaged(item, tr) for item in models.damaged]
    return []


def _kind(folder: str, tr: Callable[..., str]) -> str:
    return tr("models.problem.kind_lora" if folder == LORA_FOLDER else "models.problem.kind_model")


def _missing(item: MissingModel, tr: Callable[..., str]) -> str:
    kind = _kind(item.folder, tr)
    if item.node_missing:
        return tr("models.problem.no_node", kind=kind, file=item.file, node=item.node_class)
    if item.variants:
        others = tr("models.problem.or").join(item.variants)
        sentence = tr(
            "models.problem.missing_variants",
            kind=kind,
            file=item.file,
            others=others,
            folder=item.folder,
        )
    else:
        sentence = tr("models.problem.missing", kind=kind, file=item.file, folder=item.folder)
    if item.elsewhere:
        places = ", ".join(item.elsewhere)
        sentence += " " + tr("models.problem.elsewhere", places=places)
    return sentence


def _damaged(item: DamagedModel, tr: Callable[..., str]) -> str:
    health = item.check.health.value
    words = tr(f"models.problem.health.{health if health in HEALTH_WORDS else 'unknown'}")
    return tr(
        "models.problem.damaged",
        kind=_kind(item.folder, tr),
        file=item.file,
        folder=item.folder,
        health=words,
    )
