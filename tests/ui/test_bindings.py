"""bind(): initial sync, updates, disconnection."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from ai4artsed_desktop.ui.bindings import Bindings, bind


class Source(QObject):
    title_changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._title = "first"

    @property
    def title(self) -> str:
        return self._title

    def set_title(self, value: str) -> None:
        self._title = value
        self.title_changed.emit(value)


def test_bind_syncs_now_and_on_change_until_disconnected(qapp: Any, qtbot: Any) -> None:
    source, label = Source(), QLabel()
    qtbot.addWidget(label)
    binding = bind(source, "title", label, "text")
    assert label.text() == "first"
    source.set_title("second")
    assert label.text() == "second"
    binding.disconnect()
    binding.disconnect()  # idempotent
    source.set_title("third")
    assert label.text() == "second"
    assert not binding.connected


def test_bindings_group_and_callable_targets(qapp: Any) -> None:
    source = Source()
    seen: list[str] = []
    group = Bindings()
    group.bind(source, "title", seen.append)
    group.connect(source.title_changed, lambda v: seen.append(v.upper()))
    source.set_title("x")
    assert seen == ["first", "x", "X"]
    group.disconnect_all()
    source.set_title("y")
    assert seen == ["first", "x", "X"]
    assert len(group) == 0


def test_bind_needs_a_changed_signal(qapp: Any) -> None:
    with pytest.raises(AttributeError, match="nothing_changed"):
        bind(Source(), "nothing", print)
