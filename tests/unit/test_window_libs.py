"""The window's Linux system libraries: the list matches PySide6's binaries; doctor says which
package is missing (libraries are loaded for real, not looked up in dpkg)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import PySide6
import pytest

from ai4artsed_desktop.doctor import _check_window_libs
from ai4artsed_desktop.system import window_libs
from ai4artsed_desktop.system.window_libs import WINDOW_LIBS, SystemLib

QT = Path(PySide6.__file__).parent / "Qt"
#: The binaries the window loads: the xcb platform plugin and its GLX integration, QtGui,
#: the code view (QtWebEngine) and the player (QtMultimedia).
BINARIES = (
    "plugins/platforms/libqxcb.so",
    "plugins/xcbglintegrations/libqxcb-glx-integration.so",
    "plugins/xcbglintegrations/libqxcb-egl-integration.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Gui.so.6",
    "lib/libQt6DBus.so.6",
    "lib/libQt6WebEngineCore.so.6",
    "lib/libQt6Multimedia.so.6",
)
#: Part of every Linux system (glibc, the C++ runtime) or bundled with PySide6.
BASE = ("libc.so", "libm.so", "libstdc++", "libgcc_s", "ld-linux", "libpthread", "libdl.so",
        "librt.so", "libQt6", "libicu", "libpyside6", "libshiboken6")  # fmt: skip


def _needed(binary: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-d", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    return {
        line.split("[", 1)[1].rstrip("]").strip() for line in out.splitlines() if "(NEEDED)" in line
    }


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("readelf") is None,
    reason="reads the ELF headers of PySide6's Linux binaries (binutils)",
)
def test_list_covers_every_system_library_pysides_window_binaries_need() -> None:
    listed = {lib.soname for lib in WINDOW_LIBS}
    needed: set[str] = set()
    for relative in BINARIES:
        binary = QT / relative
        assert binary.is_file(), relative
        needed |= {n for n in _needed(binary) if not n.startswith(BASE)}
    assert needed - listed == set()
    assert len(needed) >= 40  # the list is not a guess: it is what the binaries name


def test_loading_is_real() -> None:
    assert window_libs.loads("libc.so.6") is sys.platform.startswith("linux")
    assert not window_libs.loads("libai4artsed-no-such-library.so.7")


def test_missing_keeps_list_order_and_apt_names_each_package_once() -> None:
    absent = {"libxcb-cursor.so.0", "libnss3.so", "libsmime3.so"}
    found = window_libs.missing(load=lambda soname: soname not in absent)
    assert [lib.soname for lib in found] == ["libxcb-cursor.so.0", "libnss3.so", "libsmime3.so"]
    assert window_libs.apt_command(found) == "sudo apt install libxcb-cursor0 libnss3"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_doctor_names_the_packages_and_is_strict_on_a_desktop() -> None:
    cursor = SystemLib("libxcb-cursor.so.0", "libxcb-cursor0", "window")
    pulse = SystemLib("libpulse.so.0", "libpulse0", "sound")
    desktop = _check_window_libs([cursor, pulse], display=True)
    assert (desktop.ok, desktop.required) == (False, True)
    assert "libxcb-cursor.so.0" in desktop.summary
    assert "window, sound" in desktop.summary
    assert desktop.advice == "Install them: sudo apt install libxcb-cursor0 libpulse0"
    server = _check_window_libs([cursor], display=False)
    assert (server.ok, server.required) == (False, False)
    assert "only needed for the window" in server.advice
    fine = _check_window_libs([], display=True)
    assert (fine.ok, fine.required) == (True, True)
    assert fine.summary == f"all {len(WINDOW_LIBS)} load"
