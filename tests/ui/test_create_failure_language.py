"""A run failure reaches the student in the UI language, not in the pipeline's English."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ai4artsed_desktop.backends.http import translate_errors
from ai4artsed_desktop.errors import AppError
from ai4artsed_desktop.events import RunFailed, Stage
from ai4artsed_desktop.pipeline.generation import _died

from .create_rig import Rig
from .helpers import run


async def _unreachable() -> AppError:
    """The error a refused connection to ComfyUI really raises."""
    try:
        async with translate_errors("ComfyUI"):
            raise httpx.ConnectError("All connection attempts failed")
    except AppError as exc:
        return exc
    raise AssertionError("translate_errors let a ConnectError through")


def _failed(exc: AppError) -> RunFailed:
    return RunFailed("run-1", Stage.generation, exc.user_message, exc.detail, exc.key,
                     tuple(exc.params.items()))  # fmt: skip


def test_a_failure_in_german_mode_is_german_and_follows_a_language_switch(
    rig: Rig, qtbot: Any
) -> None:
    assert rig.translator.language == "de"
    exc = run(qtbot, _unreachable())
    assert exc.user_message.startswith("ComfyUI is not reachable")  # the log stays English
    rig.vm._dispatch_end(_failed(exc))
    shown = rig.panel.message_label.text()
    assert shown.startswith("Das hat nicht geklappt: ComfyUI ist nicht erreichbar.")
    assert "reachable" not in shown
    assert rig.panel.details_text.toPlainText() == exc.detail  # the raw text stays as it was
    assert rig.settings.set_value("ui.language", "en")
    assert rig.panel.message_label.text().startswith("That did not work: ComfyUI is not reach")
    assert rig.settings.set_value("ui.language", "de")
    assert "nicht erreichbar" in rig.panel.message_label.text()


def test_the_image_server_dying_is_told_in_german_with_the_cause_under_details(
    rig: Rig, qtbot: Any
) -> None:
    cause = "it exited with code -9 (killed; maybe out of memory)."
    exc = _died(run(qtbot, _unreachable()), cause)
    rig.vm._on_run_error(exc)  # the view-model's own path for an AppError
    shown = rig.panel.message_label.text()
    assert "Der Bildserver ist während des Erzeugens ausgefallen" in shown
    assert "stopped during" not in shown
    assert cause in rig.panel.details_text.toPlainText()


@pytest.mark.parametrize("key", ["", "error.no_such_message"])
def test_a_message_without_a_german_text_falls_back_to_english(
    rig: Rig, qtbot: Any, key: str
) -> None:
    exc = AppError("The cloud image service needs an API key in OPENAI_API_KEY.", key=key)
    rig.vm._dispatch_end(_failed(exc))
    assert rig.panel.message_label.text() == (
        "Das hat nicht geklappt: The cloud image service needs an API key in OPENAI_API_KEY."
    )
