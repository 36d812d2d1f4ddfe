"""The app's calm light theme: Fusion style, a readable base font and ``app.qss``."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from ..paths import resources_dir

log = logging.getLogger(__name__)

BASE_POINT_SIZE = 11.0


def stylesheet_path() -> Path:
    return resources_dir() / "theme" / "app.qss"


def _palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#f4f6f9",
        QPalette.ColorRole.WindowText: "#1f2430",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f0f3f7",
        QPalette.ColorRole.Text: "#1f2430",
        QPalette.ColorRole.Button: "#ffffff",
        QPalette.ColorRole.ButtonText: "#1f2430",
        QPalette.ColorRole.Highlight: "#3b6fd1",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#1f2430",
        QPalette.ColorRole.ToolTipText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#6b7280",
        QPalette.ColorRole.Link: "#2a5bb8",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    return palette


def apply_theme(app: QApplication) -> None:
    """Style ``app``; a missing stylesheet only logs (the app stays usable)."""
    app.setStyle("Fusion")
    app.setPalette(_palette())
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), BASE_POINT_SIZE))
    app.setFont(font)
    try:
        sheet = stylesheet_path().read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("Theme stylesheet missing, using the plain style: %s", exc)
        return
    icons = (resources_dir() / "icons" / "app").as_posix()
    app.setStyleSheet(sheet.replace("@ICONS@", icons))


def restyle(widget: QWidget, object_name: str) -> None:
    """Give ``widget`` the stylesheet rules of ``object_name`` (e.g. ``errorText``) now."""
    if widget.objectName() != object_name:
        widget.setObjectName(object_name)
        _repolish(widget)


def restyle_property(widget: QWidget, name: str, value: str) -> None:
    """Set the dynamic property a stylesheet selects on (``[seatKind="offline"]``) now."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        _repolish(widget)


def _repolish(widget: QWidget) -> None:
    """Qt reads a widget's stylesheet rules again only when it is polished again."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
