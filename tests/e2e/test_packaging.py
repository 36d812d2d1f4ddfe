"""Packaging: the PyInstaller spec, its launcher, the Linux .desktop file, the Inno script.

The cheap checks always run. The real build + frozen smoke test is marked ``slow`` and
runs only where PyInstaller is installed (``pip install -e '.[packaging]'``).
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ai4artsed_desktop import APP_ID, APP_NAME

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "pyinstaller" / "ai4artsed-desktop.spec"
LAUNCHER = PACKAGING / "pyinstaller" / "launcher.py"
DESKTOP = PACKAGING / "linux" / "ai4artsed-desktop.desktop"
ISS = PACKAGING / "windows" / "ai4artsed-desktop.iss"
SMOKE = PACKAGING / "smoke_test.py"


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_constant(name: str) -> Any:
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not assigned in the spec")


def _spec_function(name: str) -> Any:
    """Compile one function of the spec on its own (the spec needs PyInstaller to run)."""
    node = next(n for n in _spec_tree().body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace: dict[str, Any] = {"Path": Path, "KEEP_LANGUAGES": _spec_constant("KEEP_LANGUAGES")}
    exec(compile(ast.Module([node], type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace[name]


def _load_smoke_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("packaging_smoke_test", SMOKE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    extra = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), extra]))}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


# ------------------------------------------------------------------ the spec


def test_spec_keeps_webengine_and_multimedia_and_excludes_unused_qt() -> None:
    keep = set(_spec_constant("QT_KEEP"))
    assert {
        "PySide6.QtWebEngineCore",
        "PySide6.QtWebEngineWidgets",
        "PySide6.QtMultimedia",
    } <= keep
    excludes = set(_spec_constant("QT_EXCLUDES"))
    for module in (
        "Qt3DCore",
        "QtCharts",
        "QtDataVisualization",
        "QtQuick3D",
        "QtBluetooth",
        "QtNfc",
        "QtSerialPort",
        "QtSensors",
        "QtLocation",
        "QtPositioning",
        "QtPdf",
        "QtPdfWidgets",
        "QtDesigner",
        "QtTest",
        "QtSql",
    ):
        assert f"PySide6.{module}" in excludes
    assert not keep & excludes
    # QtWebEngineWidgets imports these bindings when it loads; excluding one breaks it.
    for needed in ("QtPrintSupport", "QtWebChannel", "QtNetwork", "QtWidgets"):
        assert f"PySide6.{needed}" not in excludes
    assert "tkinter" in _spec_constant("PYTHON_EXCLUDES")


def test_spec_bundles_resources_and_uses_the_launcher() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert '(str(REPO / "resources"), "resources")' in text
    assert '"launcher.py"' in text
    assert _spec_constant("APP_ID") == APP_ID
    assert _spec_constant("APP_NAME") == APP_NAME
    assert LAUNCHER.is_file()


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/Qt/translations/qtbase_en.qm", True),
        ("PySide6/Qt/translations/qtbase_fr.qm", False),
        ("PySide6/Qt/translations/qt_help_zh_CN.qm", False),
        ("PySide6/Qt/translations/qtwebengine_locales/de.pak", True),
        ("PySide6/Qt/translations/qtwebengine_locales/en-US.pak", True),
        ("PySide6/Qt/translations/qtwebengine_locales/pt-BR.pak", False),
        ("PySide6/Qt/resources/qtwebengine_resources.pak", True),
        ("resources/i18n/fr.json", True),
    ],
)
def test_spec_keeps_only_german_and_english_qt_translations(dest: str, kept: bool) -> None:
    assert _spec_function("_keep_data")(dest) is kept


# ------------------------------------------------------------------ the frozen entry script


def test_launcher_runs_the_app_entry_point() -> None:
    result = _run(str(LAUNCHER), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(APP_NAME)


def test_launcher_runs_simulator_modules_like_python_dash_m() -> None:
    result = _run(str(LAUNCHER), "-m", "ai4artsed_desktop.simulators.ollama", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: ollama-simulator" in result.stdout
    bad = _run(str(LAUNCHER), "-m", "ai4artsed_desktop.simulators.ollama", "--no-such-option")
    assert bad.returncode == 2


@pytest.mark.parametrize("module", ["os", "ai4artsed_desktop.cli", "http.server"])
def test_launcher_refuses_other_modules(module: str) -> None:
    result = _run(str(LAUNCHER), "-m", module)
    assert result.returncode == 2
    assert "only for the built-in simulators" in result.stderr


# ------------------------------------------------------------------ Linux


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_has_the_required_keys() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == APP_NAME
    assert entry["Exec"].split()[0] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    assert "Education" in entry["Categories"].split(";")
    assert "Comment[de]" in entry
    icon = entry["Icon"]
    assert icon == APP_ID
    assert (PACKAGING / "linux" / f"{icon}.svg").is_file()
    assert (PACKAGING / "linux" / f"{icon}.png").is_file()


def test_desktop_file_validates_where_the_validator_exists() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run(
        [validator, str(DESKTOP)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_icons_are_real_images() -> None:
    from PIL import Image

    with Image.open(PACKAGING / "linux" / f"{APP_ID}.png") as png:
        assert png.size == (256, 256)
    with Image.open(PACKAGING / "windows" / f"{APP_ID}.ico") as ico:
        assert (256, 256) in ico.info["sizes"]
        assert (16, 16) in ico.info["sizes"]


# ------------------------------------------------------------------ Windows


def test_inno_script_installs_the_bundle_per_machine_with_an_uninstaller() -> None:
    text = ISS.read_text(encoding="utf-8")
    assert '#define AppExe "ai4artsed-desktop.exe"' in text
    assert '#define BundleDir "..\\..\\dist\\ai4artsed-desktop"' in text
    assert "PrivilegesRequired=admin" in text
    assert "DefaultDirName={autopf}\\" in text
    assert "{uninstallexe}" in text
    assert "UninstallDisplayIcon={app}\\{#AppExe}" in text
    assert "Tasks: desktopicon" in text
    assert "SetupIconFile=ai4artsed-desktop.ico" in text
    assert (ISS.parent / "ai4artsed-desktop.ico").is_file()
    # Nothing the app writes may go to Program Files: no [Dirs] or [Registry] entries, no
    # per-user folders created by the installer.
    assert "[Dirs]" not in text
    assert "{userappdata}" not in text
    assert "{localappdata}" not in text
    assert (ISS.parent / "README.md").is_file()


# ------------------------------------------------------------------ the smoke-test driver


def test_smoke_driver_sorts_stderr_lines() -> None:
    smoke = _load_smoke_module()
    stderr = "\n".join(
        [
            '{"level": "INFO", "message": "Window shown (demo backends: False)"}',
            '{"level": "WARNING", "message": "Running as root: the Chromium sandbox is off"}',
            "This plugin does not support propagateSizeHints()",
            '{"level": "ERROR", "message": "Content file skipped: x.json"}',
            "Fontconfig error: cannot load default config file",
            "",
        ]
    )
    assert smoke.unexpected_stderr(stderr, "linux") == [
        '{"level": "ERROR", "message": "Content file skipped: x.json"}',
        "Fontconfig error: cannot load default config file",
    ]
    assert len(smoke.unexpected_stderr(stderr, "win32")) == 4


def test_smoke_driver_reports_a_missing_bundle_with_exit_code_2(tmp_path: Path) -> None:
    result = _run(str(SMOKE), "--bundle", str(tmp_path / "nothing"), timeout=30)
    assert result.returncode == 2
    assert "no program at" in result.stdout


def test_smoke_driver_reports_a_broken_bundle_layout_with_exit_code_3(tmp_path: Path) -> None:
    bundle = tmp_path / APP_ID
    (bundle / "_internal" / "resources").mkdir(parents=True)
    program = bundle / (f"{APP_ID}-cli.exe" if sys.platform == "win32" else APP_ID)
    program.write_text("not a program", encoding="utf-8")
    result = _run(str(SMOKE), "--bundle", str(bundle), timeout=30)
    assert result.returncode == 3
    assert "missing from the bundle: resources/configs/providers.json" in result.stdout


# ------------------------------------------------------------------ the real build


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pyinstaller_bundle_builds_and_passes_the_smoke_test(tmp_path: Path) -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[packaging]')")
    result = _run(
        str(SMOKE),
        "--dist",
        str(tmp_path / "dist"),
        "--work",
        str(tmp_path / "build"),
        timeout=840,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "PASSED" in result.stdout
