"""Guard against the PySide6 6.12.0 None/True reference-count bug (environment.md)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_calls_do_not_steal_references_from_none(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = QLabel()
    qtbot.addWidget(label)
    before_none = sys.getrefcount(None)
    before_true = sys.getrefcount(True)
    for i in range(20_000):
        label.setText("x" if i % 2 else "y")
        label.setVisible(True)
    # Allow for unrelated fluctuation, but a leak of one reference per call would be ~20,000.
    assert sys.getrefcount(None) >= before_none - 100
    assert sys.getrefcount(True) >= before_true - 100
