#!/usr/bin/env python3
"""Build the PyInstaller bundle (or take one) and smoke-test the frozen app.

Usage (from the repository root)::

    .venv/bin/python packaging/smoke_test.py                 # build into dist/, then test
    .venv/bin/python packaging/smoke_test.py --bundle dist/ai4artsed-desktop

Checks, in order:

1. the bundle's layout: ``resources/`` inside, QtWebEngine (``QtWebEngineProcess``, its
   ``.pak`` resources and locales) and QtMultimedia present, excluded Qt modules absent;
2. ``<bundle>/ai4artsed-desktop --smoke-test --data-dir <tmp> --log-format json`` exits 0
   within ``--timeout`` seconds, its JSON app log has "Window shown" and "Exit with code 0"
   and no ERROR record, and stderr holds nothing outside this OS's allowlist;
3. the frozen program starts the demo Ollama simulator the way demo mode does
   (``<program> -m ai4artsed_desktop.simulators.ollama serve``) and it answers HTTP;
4. one headless demo run through the frozen program (``run --demo``: the app starts its
   simulators as children of itself) exits 0 and saves a file.

Exit codes:
    0  all checks passed
    1  the PyInstaller build failed (PyInstaller missing or the build exited non-zero)
    2  usage error, or the bundle / its program does not exist
    3  the bundle's layout is wrong (a required file missing, an excluded module present)
    4  the smoke run failed (exit code, time-out, or the app log lacks the expected lines)
    5  the smoke run wrote unexpected lines to stderr
    6  the demo simulator did not start from the frozen program
    7  the headless demo run failed

Only the standard library is used, so any Python 3.11 can drive a finished bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "pyinstaller" / "ai4artsed-desktop.spec"
APP_ID = "ai4artsed-desktop"

EXIT_OK, EXIT_BUILD, EXIT_USAGE, EXIT_LAYOUT, EXIT_RUN, EXIT_STDERR, EXIT_SIMULATOR = range(7)
EXIT_DEMO_RUN = 7

#: stderr lines a healthy smoke run may print, per OS (regular expressions, searched).
STDERR_ALLOWLIST: dict[str, list[str]] = {
    "linux": [
        r"This plugin does not support propagateSizeHints\(\)",
        r"Running as root: the Chromium sandbox",
    ],
    "win32": [],
    "darwin": [],
}
#: Bundle paths (relative to the folder holding resources/) that must exist, per OS.
REQUIRED: dict[str, list[str]] = {
    "linux": [
        "PySide6/Qt/libexec/QtWebEngineProcess",
        "PySide6/Qt/resources/qtwebengine_resources.pak",
        "PySide6/Qt/translations/qtwebengine_locales/de.pak",
        "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
        "PySide6/Qt/lib/libQt6Multimedia.so.6",
        "PySide6/QtWebEngineWidgets.abi3.so",
        "PySide6/QtMultimedia.abi3.so",
    ],
    "win32": [
        "PySide6/QtWebEngineProcess.exe",
        "PySide6/resources/qtwebengine_resources.pak",
        "PySide6/translations/qtwebengine_locales/de.pak",
        "PySide6/Qt6WebEngineCore.dll",
        "PySide6/Qt6Multimedia.dll",
        "PySide6/QtWebEngineWidgets.pyd",
        "PySide6/QtMultimedia.pyd",
    ],
    "darwin": [],
}
#: Python bindings the spec excludes; finding one means the excludes stopped working.
EXCLUDED = ["Qt3DCore", "QtCharts", "QtQuick3D", "QtBluetooth", "QtSql", "QtTest", "QtPdf"]
RESOURCE_FILES = ["configs/providers.json", "i18n/de.json", "i18n/en.json", "theme/app.qss"]


class CheckFailed(Exception):
    """A check failed; ``code`` is the process exit code to use."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _platform() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def build(dist: Path, work: Path) -> float:
    """Run PyInstaller on the spec; returns the seconds it took."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError as exc:
        raise CheckFailed(
            EXIT_BUILD, "PyInstaller is not installed: pip install -e '.[packaging]'"
        ) from exc
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"]
    cmd += ["--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    print("build:", " ".join(cmd), flush=True)
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=REPO, check=False)
    took = time.monotonic() - start
    if result.returncode != 0:
        raise CheckFailed(EXIT_BUILD, f"PyInstaller exited with {result.returncode}")
    return took


def program(bundle: Path) -> Path:
    """The program to run in ``bundle`` (the console one on Windows)."""
    name = f"{APP_ID}-cli.exe" if sys.platform == "win32" else APP_ID
    if sys.platform == "darwin" and bundle.suffix == ".app":
        return bundle / "Contents" / "MacOS" / APP_ID
    return bundle / name


def _internal(bundle: Path) -> Path:
    """The folder that holds resources/ (``_internal`` since PyInstaller 6)."""
    for candidate in (bundle / "_internal", bundle / "Contents" / "Resources", bundle):
        if (candidate / "resources").is_dir():
            return candidate
    raise CheckFailed(EXIT_LAYOUT, f"no resources/ folder in {bundle}")


def size_mb(folder: Path) -> float:
    """Total size of the files below ``folder`` in MiB (links not followed)."""
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 2**20


def check_layout(bundle: Path) -> None:
    """The bundle has resources/, QtWebEngine and QtMultimedia, and no excluded module."""
    root = _internal(bundle)
    missing = [f"resources/{p}" for p in RESOURCE_FILES if not (root / "resources" / p).is_file()]
    missing += [p for p in REQUIRED.get(_platform(), []) if not (root / p).exists()]
    if missing:
        raise CheckFailed(EXIT_LAYOUT, "missing from the bundle: " + ", ".join(missing))
    present = [
        name
        for name in EXCLUDED
        for path in (root / "PySide6").glob(f"{name}.*")
        if path.suffix in (".so", ".pyd") or path.name.endswith(".abi3.so")
    ]
    if present:
        raise CheckFailed(EXIT_LAYOUT, "excluded Qt modules were bundled: " + ", ".join(present))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A development checkout on PYTHONPATH must not leak into the frozen app.
    env.pop("PYTHONPATH", None)
    env.pop("AI4ARTSED_RESOURCES", None)
    return env


def _log_records(log_file: Path) -> list[dict[str, object]]:
    if not log_file.is_file():
        raise CheckFailed(EXIT_RUN, f"no app log at {log_file}")
    records = []
    for line in log_file.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CheckFailed(EXIT_RUN, f"app log line is not JSON: {line!r}") from exc
    return records


def unexpected_stderr(stderr: str, platform: str) -> list[str]:
    """stderr lines that are neither INFO-level JSON log records nor on the allowlist."""
    allowed = [re.compile(p) for p in STDERR_ALLOWLIST.get(platform, [])]
    bad = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        text = line
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict) and "level" in record:
            if record["level"] in ("DEBUG", "INFO"):
                continue
            text = str(record.get("message", line))
        if not any(p.search(text) for p in allowed):
            bad.append(line)
    return bad


def smoke_run(exe: Path, data_dir: Path, timeout: float) -> float:
    """Run ``--smoke-test``; returns the seconds it took."""
    cmd = [str(exe), "--smoke-test", "--data-dir", str(data_dir), "--log-format", "json"]
    print("smoke run:", " ".join(cmd), flush=True)
    start = time.monotonic()
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, env=_environment(), timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(EXIT_RUN, f"the smoke run took longer than {timeout:.0f} s") from exc
    took = time.monotonic() - start
    if result.returncode != 0:
        raise CheckFailed(
            EXIT_RUN, f"the smoke run exited with {result.returncode}:\n{result.stderr[-4000:]}"
        )
    records = _log_records(data_dir / "logs" / "app.log")
    messages = [str(r.get("message", "")) for r in records]
    if not any(m.startswith("Window shown") for m in messages):
        raise CheckFailed(EXIT_RUN, "the app log has no 'Window shown' line")
    if "Exit with code 0" not in messages:
        raise CheckFailed(EXIT_RUN, "the app log has no 'Exit with code 0' line")
    errors = [r for r in records if r.get("level") in ("ERROR", "CRITICAL")]
    if errors:
        raise CheckFailed(EXIT_RUN, f"the app log has errors: {errors}")
    bad = unexpected_stderr(result.stderr, _platform())
    if bad:
        raise CheckFailed(EXIT_STDERR, "unexpected stderr:\n" + "\n".join(bad))
    return took


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def simulator_run(exe: Path, work: Path, timeout: float) -> float:
    """Start the demo Ollama simulator from the frozen program; returns seconds to ready."""
    port = _free_port()
    env = _environment()
    env["OLLAMA_HOST"] = f"127.0.0.1:{port}"
    cmd = [str(exe), "-m", "ai4artsed_desktop.simulators.ollama", "serve"]
    print("simulator:", " ".join(cmd), f"(port {port})", flush=True)
    start = time.monotonic()
    log = (work / "ollama.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while not _answers(f"http://127.0.0.1:{port}/"):
            if proc.poll() is not None or time.monotonic() - start > timeout:
                log.seek(0)
                raise CheckFailed(
                    EXIT_SIMULATOR, f"simulator did not answer:\n{log.read()[-4000:]}"
                )
            time.sleep(0.2)
        return time.monotonic() - start
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def demo_run(exe: Path, data_dir: Path, output: str, timeout: float) -> float:
    """One headless ``run --demo``; returns the seconds it took."""
    cmd = [str(exe), "run", "--demo", "--idea", "a red fox in the snow", "--output", output]
    cmd += ["--data-dir", str(data_dir)]
    print("demo run:", " ".join(cmd), flush=True)
    start = time.monotonic()
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, env=_environment(), timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(EXIT_DEMO_RUN, f"the demo run took longer than {timeout:.0f} s") from exc
    took = time.monotonic() - start
    saved = [p for p in (data_dir / "data" / "runs").rglob("*") if p.is_file()]
    if result.returncode != 0 or not saved:
        raise CheckFailed(
            EXIT_DEMO_RUN,
            f"the demo run exited with {result.returncode} and saved {len(saved)} file(s):\n"
            + (result.stdout + result.stderr)[-4000:],
        )
    return took


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build (or take) the PyInstaller bundle and smoke-test it.",
        epilog="Exit codes: 0 ok, 1 build failed, 2 usage/bundle missing, 3 bundle layout, "
        "4 smoke run failed, 5 unexpected stderr, 6 demo simulator failed, 7 demo run failed.",
    )
    parser.add_argument("--bundle", type=Path, help="test this bundle folder; do not build")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="build output folder")
    parser.add_argument("--work", type=Path, default=REPO / "build", help="build work folder")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per app run")
    parser.add_argument("--skip-simulator", action="store_true", help="skip checks 3 and 4")
    parser.add_argument("--demo-output", default="sd15", help="output config of check 4")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser.parse_args(argv)


def _run(args: argparse.Namespace, summary: dict[str, object]) -> None:
    if args.bundle is None:
        summary["build_s"] = round(build(args.dist, args.work), 1)
        bundle = args.dist / APP_ID
    else:
        bundle = args.bundle
    exe = program(bundle)
    if not exe.is_file():
        raise CheckFailed(EXIT_USAGE, f"no program at {exe}")
    summary["bundle"] = str(bundle)
    summary["size_mb"] = round(size_mb(bundle), 1)
    check_layout(bundle)
    with tempfile.TemporaryDirectory(prefix="ai4artsed-smoke-") as tmp:
        summary["smoke_s"] = round(smoke_run(exe, Path(tmp) / "data", args.timeout), 1)
        if not args.skip_simulator:
            summary["simulator_s"] = round(simulator_run(exe, Path(tmp), args.timeout), 1)
            demo_dir = Path(tmp) / "demo"
            took = demo_run(exe, demo_dir, args.demo_output, args.timeout)
            summary["demo_run_s"] = round(took, 1)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    summary: dict[str, object] = {"platform": _platform()}
    code = EXIT_OK
    try:
        _run(args, summary)
    except CheckFailed as exc:
        code = exc.code
        summary["error"] = str(exc)
    summary["exit_code"] = code
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
        print("PASSED" if code == EXIT_OK else "FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
