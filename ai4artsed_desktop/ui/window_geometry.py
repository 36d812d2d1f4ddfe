"""The main window's size and place across starts (``<config folder>/window.json``).

Qt's ``saveGeometry`` bytes (size, place, maximised, screen) are kept base64-encoded. A
missing or damaged file only means the default size; a window saved on a larger screen or
a screen that is gone is fitted into the screen it opens on.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from pathlib import Path

from PySide6.QtCore import QPoint, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from ..fileio import atomic_write_json

log = logging.getLogger(__name__)

FILE_NAME = "window.json"
#: The size at the first start (fitted into a smaller screen).
DEFAULT_SIZE = QSize(1280, 800)


def read_geometry(path: Path) -> bytes | None:
    """The saved geometry bytes, or None (no file, or a damaged one: logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return base64.b64decode(data["geometry"], validate=True)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        log.info("Window geometry in %s not used: %s", path, exc)
        return None


def write_geometry(path: Path, geometry: bytes) -> None:
    """Save the geometry bytes; a failure is logged, never raised (it is a convenience)."""
    try:
        atomic_write_json(path, {"geometry": base64.b64encode(geometry).decode("ascii")})
    except OSError as exc:
        log.warning("Cannot save the window geometry to %s: %s", path, exc)


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move ``window`` so that it lies within the available screen area.

    A maximised or full-screen window is left to the window manager.
    """
    if window.isMaximized() or window.isFullScreen():
        return
    frame = window.frameGeometry()
    screen = QGuiApplication.screenAt(frame.center()) or QGuiApplication.primaryScreen()
    avail = screen.availableGeometry()
    extra_w = frame.width() - window.width()  # the window manager's frame, if known yet
    extra_h = frame.height() - window.height()
    width = max(window.minimumWidth(), min(window.width(), avail.width() - extra_w))
    height = max(window.minimumHeight(), min(window.height(), avail.height() - extra_h))
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    outer_w, outer_h = width + extra_w, height + extra_h
    x = min(max(frame.x(), avail.x()), max(avail.x(), avail.x() + avail.width() - outer_w))
    y = min(max(frame.y(), avail.y()), max(avail.y(), avail.y() + avail.height() - outer_h))
    if QPoint(x, y) != frame.topLeft():
        window.move(x, y)
