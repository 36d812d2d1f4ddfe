"""Screenshots of the safety checks at work (offscreen, 1366x768, German, demo simulators).

Usage: .venv/bin/python scripts/screenshot_safety.py [OUTPUT_DIR]   (default: screenshots/)

* ``create_blocked_interception_de.png``: level "Kinder", the transformed text is judged
  before the child sees it and blocked: the box stays empty, the stage list says where it
  stopped, the friendly reason shows. The verdict on the transformed text is *staged*: the
  simulator's transformation only mixes the idea's and the rules' words, so it never writes
  anything harmful by itself; the script's judge answers UNSAFE for LLM stage texts and
  asks the simulator's judge for everything else.
* ``create_blocked_image_de.png``: level "Kinder", the picture check (stage 6): the
  simulated vision model "sees" a violent scene (``FAKE_OLLAMA_VISION_SEES``), the picture
  is hidden and never saved, the reason shows.
* ``settings_review_log_de.png``: Settings → Prüfprotokoll with both blocks (and the
  teacher switching the picture check off and on again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

os.environ["FAKE_OLLAMA_VISION_SEES"] = "a soldier shoots a man, blood everywhere"

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QScrollArea, QWidget

from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.safety import BoundJudge, JudgeReply, SafetyGate
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase
from scripts.screenshot_flows import _parts
from scripts.screenshot_harness import SIZE, demo_world, grab, main, scroll, until

IDEA_TEXT = "Ein Löwe im Zirkus"
IDEA_IMAGE = "Ein Fuchs im Schnee"


def staged_gate(gate: SafetyGate, research: bool) -> SafetyGate:
    """A gate whose judge blocks LLM stage texts and asks the simulator for the rest."""
    real = gate.bound_judge()
    assert real is not None, "the demo has a safety model"

    async def judge(messages: list[Message]) -> JudgeReply:
        if "written by a language model" in messages[0].content:
            return JudgeReply("UNSAFE: violence, an animal is hurt")
        return await real.judge(messages)

    return SafetyGate(source=lambda: BoundJudge(judge, real.model), research_confirmed=research)


def _kids_with_a_judge(store: SettingsStore, _base: Path) -> None:
    store.set("ui.first_run_done", True)
    store.set("ui.ui_mode", "kids")
    store.set("safety.level", "kids")
    store.set("roles.safety", "ollama/qwen3:8b")  # a judge that writes its reasons


async def capture(out_dir: Path, base: Path, _args: argparse.Namespace) -> list[Path]:
    async with demo_world(base, configure=_kids_with_a_judge, review_log=True) as world:
        return await _flows(world.shell, out_dir)


def _show(panel: QWidget, widget: QWidget) -> None:
    """Scroll the run column so that ``widget`` is in view."""
    for area in panel.findChildren(QScrollArea) + _parents(panel, QScrollArea):
        area.ensureWidgetVisible(widget, 0, 0)


def _parents(widget: QWidget, kind: type[QScrollArea]) -> list[QScrollArea]:
    found, parent = [], widget.parentWidget()
    while parent is not None:
        if isinstance(parent, kind):
            found.append(parent)
        parent = parent.parentWidget()
    return found


async def _flows(shell: Shell, out_dir: Path) -> list[Path]:
    window = shell.window
    window.resize(*SIZE)
    window.show()
    window.show_page("create")
    page, panel, run_vm = _parts(shell)
    services = shell.services
    assert services is not None
    real_gate = services.gate

    services.gate = staged_gate(real_gate, real_gate.research_confirmed)
    shell.create_vm.choose_config("fairy_tale")
    shell.create_vm.set_idea(IDEA_TEXT)
    run_vm.select_output("sd15")
    run_vm.transform()
    await until(lambda: not run_vm.busy, "the blocked transformation")
    if run_vm.phase is not RunPhase.blocked:
        raise RuntimeError(f"expected a blocked run, got {run_vm.phase}")
    scroll(page, down=False)
    _show(panel, panel.stages)  # the reason and where the run stopped
    saved = [await grab(window, out_dir / "create_blocked_interception_de.png")]

    services.gate = real_gate
    shell.create_vm.set_idea(IDEA_IMAGE)
    run_vm.transform()
    await until(lambda: not run_vm.busy and run_vm.has_transform, "the transformation")
    run_vm.generate()
    await until(lambda: not run_vm.busy, "the checked picture")
    if run_vm.phase is not RunPhase.blocked:
        raise RuntimeError(f"expected a blocked picture, got {run_vm.phase}")
    _show(panel, panel.result_view)  # where the picture would be: why it is hidden
    saved.append(await grab(window, out_dir / "create_blocked_image_de.png"))

    settings = shell.settings_vm  # a teacher switches the picture check off and on again
    settings.set_value("safety.media_check", False)
    settings.set_value("safety.media_check", True)
    window.show_page("settings")
    settings_page = window.pages["settings"]
    assert isinstance(settings_page, SettingsPage)
    settings_page.show_tab("review")
    review = settings_page.review
    assert review is not None
    await asyncio.sleep(0.5)  # the two teacher entries are written in worker threads
    review.refresh_button.click()
    await until(lambda: review.table.rowCount() >= 4, "the review log")
    saved.append(await grab(window, out_dir / "settings_review_log_de.png"))
    return saved


if __name__ == "__main__":
    raise SystemExit(main(capture, __doc__))
