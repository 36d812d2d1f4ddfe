"""Helpers for UI tests: hand-built content, fake GPU files, running coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QComboBox

from ai4artsed_desktop.content.schema import (
    Audience,
    Category,
    ContentLibrary,
    InterceptionConfig,
    LlmParams,
    Text,
)
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.shell import build_shell

T = TypeVar("T")

GIB = 2**30


def _config(
    config_id: str,
    name: tuple[str, str],
    description: tuple[str, str],
    rules: tuple[str, str],
    category: str,
    order: int,
    levels: tuple[str, ...] = ("kids", "youth", "adult", "research"),
) -> InterceptionConfig:
    return InterceptionConfig(
        id=config_id,
        name=Text(*name),
        description=Text(*description),
        rules=Text(*rules),
        category=category,
        icon=f"{config_id}.svg",
        order=order,
        llm=LlmParams(),
        outputs=(),
        default_output="sd35_large",
        audience=Audience(min_age=8, safety_levels=levels),
    )


def make_content() -> ContentLibrary:
    """Four configs in three categories, German and English (one adults-only)."""
    configs = [
        _config(
            "your_call",
            ("Deine Wahl", "Your call"),
            ("Ohne Regeln: die KI entscheidet.", "No rules: the AI decides."),
            ("", ""),
            "free",
            0,
        ),
        _config(
            "bauhaus",
            ("Bauhaus", "Bauhaus"),
            ("Form folgt Funktion, Grundformen.", "Form follows function, basic shapes."),
            (
                "Zerlege alles in Kreis, Quadrat und Dreieck.",
                "Break everything into circle, square and triangle.",
            ),
            "art_history",
            10,
        ),
        _config(
            "fairy_tale",
            ("Märchen", "Fairy tale"),
            ("Es war einmal: die Idee als Märchen.", "Once upon a time: the idea as a tale."),
            ("Erzähle die Idee als Märchen.", "Tell the idea as a fairy tale."),
            "play_language",
            20,
        ),
        _config(
            "opposite",
            ("Das Gegenteil", "The opposite"),
            ("Alles umgekehrt.", "Everything reversed."),
            ("Kehre jede Eigenschaft um.", "Reverse every property."),
            "perspective",
            30,
            levels=("adult", "research"),
        ),
    ]
    categories = [
        Category("free", Text("Frei", "Free"), 0),
        Category("art_history", Text("Kunstgeschichte", "Art history"), 10),
        Category("play_language", Text("Sprachspiele", "Language games"), 20),
        Category("perspective", Text("Perspektive", "Perspective"), 30),
    ]
    return ContentLibrary(
        interceptions={c.id: c for c in configs},
        outputs={},
        categories={c.id: c for c in categories},
        providers={},
        roles={},
        presets={},
    )


def write_gpu_file(path: Path, *gpus: tuple[str, int, int]) -> None:
    """Write the FakeGpuProvider JSON: one (name, used GiB*10, total GiB) per GPU."""
    data = {
        "driver": "550.1",
        "gpus": [
            {
                "index": i,
                "name": name,
                "uuid": f"GPU-{i}",
                "total_bytes": total * GIB,
                "used_bytes": used_tenths * GIB // 10,
                "free_bytes": total * GIB - used_tenths * GIB // 10,
            }
            for i, (name, used_tenths, total) in enumerate(gpus)
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def run(qtbot: Any, coro: Coroutine[Any, Any, T], timeout: int = 5000) -> T:
    """Run ``coro`` on the (already running) qasync loop and wait for its result."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def close_sandbox(widget: Any) -> None:
    """Close a ``CodeSandbox`` and delete its pages and profiles now.

    A web-engine profile warns when it outlives its pages, so the deferred deletes run here.
    """
    widget.close()
    widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@contextlib.contextmanager
def open_shell(qtbot: Any, *, size: tuple[int, int] = (1366, 768), **build: Any) -> Iterator[Any]:
    """The whole window from ``build_shell(**build)``, shown at ``size``; shut down after.

    One place for what every window-level test fixture did by hand: its own task registry,
    the window handed to qtbot, the ordered shutdown and the cancelled leftovers.
    """
    tasks = TaskRegistry("test")
    built = build_shell(tasks=tasks, **build)
    qtbot.addWidget(built.window)
    built.window.resize(*size)
    built.window.show()
    try:
        yield built
    finally:
        run(qtbot, built.shutdown())
        run(qtbot, tasks.cancel_all())


def combo_text_width(combo: QComboBox) -> int:
    """The width ``combo`` needs to show its current text uncut.

    That is Qt's own size hint of a twin box (same parent, name, font and icon size) that
    holds just that text.
    """
    twin = QComboBox(combo.parentWidget())
    try:
        twin.hide()
        twin.setObjectName(combo.objectName())
        twin.setFont(combo.font())
        twin.setIconSize(combo.iconSize())
        twin.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        twin.addItem(combo.itemIcon(combo.currentIndex()), combo.currentText())
        return twin.sizeHint().width()
    finally:
        twin.setParent(None)
        twin.deleteLater()
