"""No value changes by a scroll wheel that only meant to scroll the page.

Qt lets the wheel change any combo box, spin box or slider under the mouse, focused or
not: one notch while scrolling Settings turned the safety level from youth to adult. The
guard, installed once on the application, passes a wheel event over an unfocused combo box,
spin box or slider on to the widget's parent instead (so the page scrolls). A focused one
(clicked or reached with Tab) still takes the wheel, as users expect.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

_GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def _guarded_owner(widget: QWidget) -> QWidget | None:
    """The guarded control ``widget`` belongs to (a spin box's line edit counts), if any."""
    current: QWidget | None = widget
    for _ in range(2):  # the control itself, or the line edit it is built from
        if current is None:
            return None
        if isinstance(current, _GUARDED) and not isinstance(current, QScrollBar):
            return current
        if current.isWindow():  # e.g. an open combo box list: scrolling it is wanted
            return None
        current = current.parentWidget()
    return None


class WheelGuard(QObject):
    """Application event filter; see the module docstring."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget):
            return False
        control = _guarded_owner(watched)
        if control is None or control.hasFocus():
            return False
        # Qt does not propagate a sent (non-spontaneous) wheel event, so walk up ourselves
        # until someone (the page's scroll area) takes it.
        target = control.parentWidget()
        while target is not None:
            event.setAccepted(False)
            QApplication.sendEvent(target, event)
            if event.isAccepted() or target.isWindow():
                break
            target = target.parentWidget()
        return True


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` once (later calls return the same guard)."""
    existing = app.findChild(WheelGuard)
    if isinstance(existing, WheelGuard):
        return existing
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard
