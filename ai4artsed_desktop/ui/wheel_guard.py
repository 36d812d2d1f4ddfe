"""No value changes by a scroll wheel that only meant to scroll the page.

Qt lets the wheel change any combo box, spin box or slider under the mouse, focused or
not: one notch while scrolling Settings turned the safety level from youth to adult. The
guard passes a wheel event over an unfocused combo box, spin box or slider on to the
widget's parents instead (so the page scrolls). A focused one (clicked or reached with
Tab) still takes the wheel, as users expect.

The guard is an event filter on each control, installed by :func:`guard_wheel` on a
widget tree: the main window when it is built, the first-run assistant, and the widgets
that are built later (the audio player, the expert panel's rows, dialogs). Not an
application-wide filter: that one sees every event of every object, QtWebEngine's internals
included, and crashed PySide while wrapping them.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)
#: Set on every guarded control (tests and later calls look at it).
GUARDED_PROPERTY = "wheelGuarded"


def _is_guarded_type(widget: QWidget) -> bool:
    return isinstance(widget, GUARDED) and not isinstance(widget, QScrollBar)


class WheelGuard(QObject):
    """The event filter (one per application, see :func:`guard_wheel`)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget):
            return False
        if watched.hasFocus():
            return False
        # Qt does not propagate a sent (non-spontaneous) wheel event, so walk up ourselves
        # until someone (the page's scroll area) takes it.
        target = watched.parentWidget()
        while target is not None:
            event.setAccepted(False)
            QApplication.sendEvent(target, event)
            if event.isAccepted() or target.isWindow():
                break
            target = target.parentWidget()
        return True


def _guard() -> WheelGuard:
    app = QCoreApplication.instance()
    assert app is not None, "guard_wheel needs the QApplication"
    existing = app.findChild(WheelGuard, options=Qt.FindChildOption.FindDirectChildrenOnly)
    if isinstance(existing, WheelGuard):
        return existing
    return WheelGuard(app)


def guard_wheel(root: QWidget) -> int:
    """Guard every combo box, spin box and slider in ``root`` (itself included).

    Controls guarded before are skipped; returns how many were guarded now. The wheel
    focus policy of those controls (a wheel over them would focus them) becomes strong
    focus (click or Tab).
    """
    guard = _guard()
    found = [root] if _is_guarded_type(root) else []
    found += [w for w in root.findChildren(QWidget) if _is_guarded_type(w)]
    count = 0
    for control in found:
        if control.property(GUARDED_PROPERTY):
            continue
        control.installEventFilter(guard)
        control.setProperty(GUARDED_PROPERTY, True)
        if control.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        count += 1
    return count
