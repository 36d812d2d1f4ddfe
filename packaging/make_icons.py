#!/usr/bin/env python3
"""Render the app icon (packaging/linux/ai4artsed-desktop.svg) to PNG and Windows ICO.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Writes packaging/linux/ai4artsed-desktop.png (256 px, for hicolor/256x256/apps) and
packaging/windows/ai4artsed-desktop.ico (16-256 px; used by the spec and the installer).
Run it again after changing the SVG and commit the results.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

PACKAGING = Path(__file__).resolve().parent
SVG = PACKAGING / "linux" / "ai4artsed-desktop.svg"
PNG = PACKAGING / "linux" / "ai4artsed-desktop.png"
ICO = PACKAGING / "windows" / "ai4artsed-desktop.ico"
ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    """The SVG as a square RGBA image of ``size`` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    largest = render(renderer, 256)
    largest.save(PNG, optimize=True)
    largest.save(ICO, sizes=[(s, s) for s in ICO_SIZES])
    print(f"wrote {PNG} and {ICO}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
