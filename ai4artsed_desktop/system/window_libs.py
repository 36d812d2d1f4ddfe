"""System libraries the window needs on Linux, and the Debian/Ubuntu packages that have them.

PySide6's wheels bundle Qt but not the X11/OpenGL/font libraries below; without them the
window dies at start with "could not load the Qt platform plugin xcb". The list is what the
pinned PySide6's binaries link against (``readelf -d``: the xcb platform plugin and its GLX
integration, QtGui, QtWebEngine for the code view, QtMultimedia for the player), kept
honest by ``tests/unit/test_window_libs.py``. :func:`missing` loads each library the way the
dynamic linker would (``ctypes``), so a library that is installed but cannot be loaded
counts as missing too, and a package name that differs between releases does not matter.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemLib:
    """One shared library: its soname, the Debian package with it, the part that needs it."""

    soname: str
    package: str
    part: str  # "window", "code view" or "sound"


def _libs(part: str, pairs: str) -> tuple[SystemLib, ...]:
    items = pairs.split()
    return tuple(SystemLib(items[i], items[i + 1], part) for i in range(0, len(items), 2))


#: Debian 12 / Ubuntu 22.04 package names (Ubuntu 24.04 and Debian 13 append "t64" to a few,
#: e.g. libglib2.0-0t64, libasound2t64; apt finds those by the names below as well).
WINDOW_LIBS: tuple[SystemLib, ...] = (
    *_libs(
        "window",
        """
        libxcb.so.1 libxcb1  libX11.so.6 libx11-6  libX11-xcb.so.1 libx11-xcb1
        libxcb-cursor.so.0 libxcb-cursor0  libxcb-icccm.so.4 libxcb-icccm4
        libxcb-image.so.0 libxcb-image0  libxcb-keysyms.so.1 libxcb-keysyms1
        libxcb-randr.so.0 libxcb-randr0  libxcb-render.so.0 libxcb-render0
        libxcb-render-util.so.0 libxcb-render-util0  libxcb-shape.so.0 libxcb-shape0
        libxcb-shm.so.0 libxcb-shm0  libxcb-sync.so.1 libxcb-sync1
        libxcb-util.so.1 libxcb-util1  libxcb-xfixes.so.0 libxcb-xfixes0
        libxcb-xkb.so.1 libxcb-xkb1  libxcb-glx.so.0 libxcb-glx0
        libxkbcommon.so.0 libxkbcommon0  libxkbcommon-x11.so.0 libxkbcommon-x11-0
        libEGL.so.1 libegl1  libGL.so.1 libgl1
        libfontconfig.so.1 libfontconfig1  libfreetype.so.6 libfreetype6
        libglib-2.0.so.0 libglib2.0-0  libgthread-2.0.so.0 libglib2.0-0
        libdbus-1.so.3 libdbus-1-3  libz.so.1 zlib1g
        """,
    ),
    *_libs(
        "code view",
        """
        libnss3.so libnss3  libnssutil3.so libnss3  libsmime3.so libnss3  libnspr4.so libnspr4
        libgbm.so.1 libgbm1  libxcb-dri3.so.0 libxcb-dri3-0
        libXcomposite.so.1 libxcomposite1  libXdamage.so.1 libxdamage1
        libXext.so.6 libxext6  libXfixes.so.3 libxfixes3  libXrandr.so.2 libxrandr2
        libXtst.so.6 libxtst6  libxkbfile.so.1 libxkbfile1  libasound.so.2 libasound2
        libudev.so.1 libudev1  libexpat.so.1 libexpat1
        """,
    ),
    *_libs("sound", "libpulse.so.0 libpulse0"),
)


def loads(soname: str) -> bool:
    """True when the dynamic linker can load ``soname`` (with everything it needs)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def needed() -> bool:
    """True where the list applies (Linux; Windows and macOS ship what Qt needs)."""
    return sys.platform.startswith("linux")


def missing(
    libs: Sequence[SystemLib] = WINDOW_LIBS, load: Callable[[str], bool] = loads
) -> list[SystemLib]:
    """The libraries of ``libs`` that cannot be loaded, in list order."""
    return [lib for lib in libs if not load(lib.soname)]


def apt_command(libs: Sequence[SystemLib]) -> str:
    """``sudo apt install …`` for the packages of ``libs`` (each package once, list order)."""
    packages = list(dict.fromkeys(lib.package for lib in libs))
    return "sudo apt install " + " ".join(packages)


__all__ = ["WINDOW_LIBS", "SystemLib", "apt_command", "loads", "missing", "needed"]
