"""Build LaunchSpecs for Ollama, ComfyUI, SwarmUI and the demo simulators; detect installs.

Pure functions plus ``shutil.which`` and file-existence checks: nothing is started here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ..settings import BackendSettings, ComfySettings, Settings
from ..sim_entry import simulator_argv
from .process_types import LaunchSpec, Probe

log = logging.getLogger(__name__)
DEFAULT_PORTS = {"ollama": 11434, "swarmui": 7801, "comfyui": 8188}
DISPLAY_NAMES = {
    "ollama": "Ollama",
    "swarmui": "SwarmUI",
    "comfyui": "ComfyUI",
    "kohya": "kohya sd-scripts",
}
LOOPBACK = "127.0.0.1"
_WINDOWS = sys.platform == "win32"

#: The line each server prints when it is about to serve (protocols.md 1.1, 2.1, 3.1).
READY_LINES = {
    "ollama": re.compile(r"Listening on "),
    "comfyui": re.compile(r"To see the GUI go to: "),
    "swarmui": re.compile(r" is now running\."),
}
#: Routes polled for readiness; any HTTP answer below 500 means "serving".
PROBE_PATHS = {"ollama": "/", "comfyui": "/system_stats", "swarmui": "/"}

INSTALL_HINTS = {
    "ollama": (
        "Install Ollama from ollama.com, or enter the path of the ollama program "
        "in Settings → Backends → Ollama."
    ),
    "comfyui": (
        "Install ComfyUI (github.com/Comfy-Org/ComfyUI) with its own Python environment, "
        "then enter its folder in Settings → Backends → ComfyUI."
    ),
    "swarmui": (
        "Install SwarmUI (github.com/mcmonkeyprojects/SwarmUI), then enter its folder "
        "in Settings → Backends → SwarmUI."
    ),
    "kohya": (
        "Install kohya sd-scripts (github.com/kohya-ss/sd-scripts) with its venv, then "
        "enter its folder in Settings → Training."
    ),
}


def port_for(name: str, settings: BackendSettings) -> int:
    """The configured port, or the backend's usual port when the setting is 0."""
    return settings.port or DEFAULT_PORTS[name]


def http_probe(port: int, path: str = "/", host: str = LOOPBACK) -> Probe:
    """A cheap readiness probe: one HTTP/1.0 GET over a raw connection.

    True when the server sends a status line below 500. Connection errors raise
    ``OSError`` and a silent server is cut off by the supervisor's per-try timeout;
    both count as "not ready yet".
    """
    request = f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode("ascii")

    async def probe() -> bool:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            await writer.drain()
            status = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        parts = status.split()
        return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] in b"1234"

    return probe


def _configured(path: str) -> Path | None:
    return Path(path).expanduser() if path.strip() else None


def _timeout(settings: BackendSettings) -> float:
    return float(settings.startup_timeout_s)


# ------------------------------------------------------------------ Ollama


def ollama_executable(settings: BackendSettings) -> str:
    """The ``ollama`` program: the setting (a file, or a folder holding it) or PATH.

    Returns the bare name ``ollama`` when nothing is found, so the supervisor reports
    "not installed" with advice.
    """
    exe_name = "ollama.exe" if _WINDOWS else "ollama"
    configured = _configured(settings.path)
    if configured is not None:
        if configured.is_dir():
            for candidate in (configured / exe_name, configured / "bin" / exe_name):
                if candidate.is_file():
                    return str(candidate)
            return str(configured / exe_name)
        return str(configured)
    return shutil.which("ollama") or "ollama"


def ollama_spec(
    settings: BackendSettings,
    *,
    port: int | None = None,
    probe: Probe | None = None,
    no_cloud: bool = False,
) -> LaunchSpec:
    """``ollama serve`` on 127.0.0.1 with an explicit port in ``OLLAMA_HOST``.

    (Without a port, ``http://host`` would mean port 80; protocols.md 1.1.) With
    ``no_cloud`` (local-only is on) ``OLLAMA_NO_CLOUD=1`` makes Ollama itself refuse
    cloud models (names ending in ``:cloud``/``-cloud``, pulled cloud stubs) with 403.
    """
    port = port or port_for("ollama", settings)
    env = {"OLLAMA_HOST": f"{LOOPBACK}:{port}"}
    if no_cloud:
        env["OLLAMA_NO_CLOUD"] = "1"
    return LaunchSpec(
        name="ollama",
        display_name=DISPLAY_NAMES["ollama"],
        argv=(ollama_executable(settings), "serve"),
        cwd=None,
        env=env,
        port=port,
        ready_probe=probe or http_probe(port, PROBE_PATHS["ollama"]),
        ready_line=READY_LINES["ollama"],
        startup_timeout=_timeout(settings),
        install_hint=INSTALL_HINTS["ollama"],
    )


# ------------------------------------------------------------------ ComfyUI


def comfyui_dir(settings: BackendSettings) -> Path | None:
    """The ComfyUI folder from the setting (which may also name ``main.py`` itself)."""
    configured = _configured(settings.path)
    if configured is not None and configured.name == "main.py":
        return configured.parent
    return configured


def venv_python(folder: Path) -> Path | None:
    """The Python of a venv inside ``folder`` (``venv``, ``.venv``; portable Windows build)."""
    if _WINDOWS:
        candidates = [
            folder / "venv" / "Scripts" / "python.exe",
            folder / ".venv" / "Scripts" / "python.exe",
            folder.parent / "python_embeded" / "python.exe",
        ]
    else:
        candidates = [folder / "venv" / "bin" / "python", folder / ".venv" / "bin" / "python"]
    return next((c for c in candidates if c.is_file()), None)


def comfyui_python(folder: Path | None, python: str | None = None) -> str:
    """Which Python runs ComfyUI.

    Order: the explicit ``python``; the venv inside the ComfyUI folder; ``python3`` (or
    ``python``) from PATH. Never the app's own interpreter: in a frozen app it is not a
    Python at all, and in a source install it lacks torch.
    """
    if python:
        return python
    if folder is not None:
        found = venv_python(folder)
        if found is not None:
            return str(found)
    return shutil.which("python3") or shutil.which("python") or "python3"


#: ComfyUI options the app sets itself; a copy in the launch arguments is dropped (the
#: server must stay on 127.0.0.1 and on the port the app probes). Value-taking ones first.
RESERVED_COMFY_OPTIONS = ("--listen", "--port", "--auto-launch", "--disable-auto-launch")


def comfy_launch_args(text: str) -> tuple[str, ...]:
    """The user's extra ComfyUI options (Settings → ComfyUI → launch arguments).

    Split like a shell does, without the options the app must control (each one logged).
    """
    try:
        parts = shlex.split(text, posix=not _WINDOWS)
    except ValueError:  # an unclosed quote: split on blanks rather than refuse to start
        parts = text.split()
    kept: list[str] = []
    drop_value = False
    for part in parts:
        if drop_value and not part.startswith("-"):
            drop_value = False
            continue
        drop_value = False
        name = part.split("=", 1)[0]
        if name in RESERVED_COMFY_OPTIONS:
            log.warning("ComfyUI launch argument %r ignored: the app sets it itself", part)
            drop_value = "=" not in part and name in RESERVED_COMFY_OPTIONS[:2]
            continue
        kept.append(part)
    return tuple(kept)


def comfyui_spec(
    settings: BackendSettings,
    *,
    port: int | None = None,
    python: str | None = None,
    probe: Probe | None = None,
    extra_args: tuple[str, ...] = (),
) -> LaunchSpec:
    """``<python> <dir>/main.py --listen 127.0.0.1 --port N`` with previews switched on.

    The launch arguments of the settings (``--cpu``, ``--lowvram`` ...) follow.
    """
    port = port or port_for("comfyui", settings)
    folder = comfyui_dir(settings)
    main = (folder or Path("ComfyUI")) / "main.py"
    argv = (
        comfyui_python(folder, python),
        str(main),
        "--listen",
        LOOPBACK,
        "--port",
        str(port),
        "--disable-auto-launch",
        "--preview-method",
        "auto",
        *comfy_launch_args(settings.launch_args if isinstance(settings, ComfySettings) else ""),
        *extra_args,
    )
    return LaunchSpec(
        name="comfyui",
        display_name=DISPLAY_NAMES["comfyui"],
        argv=argv,
        cwd=folder,
        env={"PYTHONUNBUFFERED": "1"},
        port=port,
        ready_probe=probe or http_probe(port, PROBE_PATHS["comfyui"]),
        ready_line=READY_LINES["comfyui"],
        startup_timeout=_timeout(settings),
        required_paths=(main,),
        install_hint=INSTALL_HINTS["comfyui"],
    )


# ------------------------------------------------------------------ SwarmUI


def swarmui_script(folder: Path) -> Path:
    """The launch script inside the SwarmUI folder for this OS."""
    return folder / ("launch-windows.bat" if _WINDOWS else "launch-linux.sh")


def swarmui_spec(
    settings: BackendSettings, *, port: int | None = None, probe: Probe | None = None
) -> LaunchSpec:
    """SwarmUI's launch script with ``--launch_mode none`` (no browser) on 127.0.0.1.

    The script builds SwarmUI when needed and restarts it on exit code 42 by itself.
    """
    port = port or port_for("swarmui", settings)
    folder = _configured(settings.path) or Path("SwarmUI")
    script = swarmui_script(folder)
    args = ("--launch_mode", "none", "--port", str(port), "--host", LOOPBACK)
    prefix: tuple[str, ...] = ("cmd.exe", "/c") if _WINDOWS else ("bash",)
    first = swarmui_first_start(folder)
    return LaunchSpec(
        name="swarmui",
        display_name=DISPLAY_NAMES["swarmui"],
        argv=(*prefix, str(script), *args),
        cwd=folder,
        env={},
        port=port,
        ready_probe=probe or http_probe(port, PROBE_PATHS["swarmui"]),
        ready_line=READY_LINES["swarmui"],
        startup_timeout=max(_timeout(settings), SWARM_FIRST_START_S)
        if first
        else _timeout(settings),
        required_paths=(script,),
        install_hint=INSTALL_HINTS["swarmui"],
        starting_message=SWARM_INSTALLING if first else "",
        installs=first,
    )


#: A first start may install .NET and build SwarmUI before it serves anything.
SWARM_FIRST_START_S = 1800.0
SWARM_INSTALLING = (
    "SwarmUI is installing: its first start installs .NET and builds SwarmUI, which can "
    "take 10 to 30 minutes. Its log shows what it does."
)
#: What SwarmUI's launch script builds (``dotnet build ... -o src/bin/live_release``).
SWARM_BUILD_OUTPUT = Path("src") / "bin" / "live_release" / "SwarmUI.dll"


def swarmui_first_start(folder: Path) -> bool:
    """True when SwarmUI was never built in ``folder``: its start installs and builds."""
    return folder.is_dir() and not (folder / SWARM_BUILD_OUTPUT).is_file()


# ------------------------------------------------------------------ demo simulators


def _package_root() -> Path:
    """The folder that contains the ``ai4artsed_desktop`` package."""
    return Path(__file__).resolve().parent.parent.parent


def demo_spec(name: str, *, port: int, work_dir: Path, probe: Probe | None = None) -> LaunchSpec:
    """A protocol simulator as a child: ``python -m ai4artsed_desktop.simulators.<name>``.

    It is started like the real server (``OLLAMA_HOST`` for Ollama, ``--port`` for the
    others) in ``work_dir``; ``PYTHONPATH`` names our package explicitly, because the
    cleaned child environment drops the app's own.

    Raises:
        ValueError: ``name`` is not one of ollama, comfyui, swarmui.
    """
    if name not in DEFAULT_PORTS:
        raise ValueError(f"no simulator called {name!r}")
    module = f"ai4artsed_desktop.simulators.{name}"
    env = {"PYTHONPATH": str(_package_root()), "PYTHONUNBUFFERED": "1"}
    args: tuple[str, ...]
    if name == "ollama":
        args = ("serve",)
        env["OLLAMA_HOST"] = f"{LOOPBACK}:{port}"
    elif name == "comfyui":
        args = ("--port", str(port))
    else:
        args = ("--port", str(port), "--host", LOOPBACK, "--launch_mode", "none")
        args += ("--data_dir", str(work_dir / "Data"))
        env["FAKE_SWARM_COMFY_START_PORT"] = str(port + 20)
    return LaunchSpec(
        name=name,
        display_name=f"{DISPLAY_NAMES[name]} (demo)",
        argv=simulator_argv(module, *args),
        cwd=work_dir,
        env=env,
        port=port,
        ready_probe=probe or http_probe(port, PROBE_PATHS[name]),
        ready_line=READY_LINES[name],
        startup_timeout=60.0,
        log_name=name,
    )


# ------------------------------------------------------------------ detection (doctor)


@dataclass(frozen=True)
class Detection:
    """What ``doctor`` reports for one backend.

    Attributes:
        name: backend id ("ollama", "comfyui", "swarmui", "kohya").
        display_name: user-facing name.
        found: True when it can be used (installed, remote URL set, or demo mode).
        where: the program, folder or URL that was found or looked for.
        version: a version when it could be read cheaply from a file, else "".
        advice: what to do when it is missing (empty when found).
        mode: "managed", "remote" or "demo".
    """

    name: str
    display_name: str
    found: bool
    where: str
    version: str = ""
    advice: str = ""
    mode: str = "managed"


def _comfyui_version(folder: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = (folder / "comfyui_version.py").read_text(encoding="utf-8")
        match = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text)
        if match:
            return match.group(1)
    return ""


def _detect_managed(name: str, spec: LaunchSpec) -> Detection:
    exe = shutil.which(spec.argv[0])
    missing = [p for p in spec.required_paths if not p.exists()]
    found = exe is not None and not missing
    where = str(missing[0]) if missing else (exe or spec.argv[0])
    version = _comfyui_version(spec.cwd) if found and name == "comfyui" and spec.cwd else ""
    return Detection(
        name, DISPLAY_NAMES[name], found, where, version, "" if found else INSTALL_HINTS[name]
    )


KOHYA_SCRIPTS = ("sd3_train_network.py", "train_network.py")


def sd_scripts_dir(folder: Path) -> Path:
    """The folder holding sd-scripts' training scripts, given the configured folder.

    A plain sd-scripts clone holds them itself; the kohya_ss GUI install keeps them in its
    ``sd-scripts`` subfolder, and teachers often choose the ``kohya_ss`` folder itself.
    """
    if any((folder / s).is_file() for s in KOHYA_SCRIPTS):
        return folder
    inner = folder / "sd-scripts"
    return inner if any((inner / s).is_file() for s in KOHYA_SCRIPTS) else folder


def kohya_venv_python(scripts: Path) -> Path | None:
    """The trainer's Python: a venv in the sd-scripts folder, else one beside it.

    The kohya_ss GUI install has ``kohya_ss/venv`` next to ``kohya_ss/sd-scripts``.
    """
    return venv_python(scripts) or venv_python(scripts.parent)


def detect_kohya(settings: Settings) -> Detection:
    """Find kohya sd-scripts: a folder with ``sd3_train_network.py`` or ``train_network.py``.

    The kohya_ss GUI layout (``kohya_ss/sd-scripts`` and ``kohya_ss/venv``) is found too.
    """
    configured = _configured(settings.training.kohya_dir)
    display = DISPLAY_NAMES["kohya"]
    if configured is None:
        return Detection("kohya", display, False, "(not set)", advice=INSTALL_HINTS["kohya"])
    folder = sd_scripts_dir(configured)
    scripts = [s for s in KOHYA_SCRIPTS if (folder / s).is_file()]
    if not scripts:
        return Detection("kohya", display, False, str(folder), advice=INSTALL_HINTS["kohya"])
    python = settings.training.python or (str(kohya_venv_python(folder) or ""))
    if not python:
        advice = "sd-scripts was found, but not its venv; set Settings → Training → Python."
        return Detection("kohya", display, False, str(folder), advice=advice)
    return Detection("kohya", display, True, str(folder), version=", ".join(scripts))


def detect(settings: Settings) -> dict[str, Detection]:
    """Check every backend without starting anything (for ``doctor`` and first-run)."""
    specs = {
        "ollama": ollama_spec(settings.ollama),
        "comfyui": comfyui_spec(settings.comfyui),
        "swarmui": swarmui_spec(settings.swarmui),
    }
    result: dict[str, Detection] = {}
    for name, spec in specs.items():
        backend: BackendSettings = getattr(settings, name)
        if settings.demo_mode:
            result[name] = Detection(
                name, DISPLAY_NAMES[name], True, "built-in simulator", mode="demo"
            )
        elif backend.mode == "remote":
            found = bool(backend.url.strip())
            advice = "" if found else f"Enter the URL of the {DISPLAY_NAMES[name]} server."
            result[name] = Detection(
                name, DISPLAY_NAMES[name], found, backend.url, advice=advice, mode="remote"
            )
        else:
            result[name] = _detect_managed(name, spec)
    result["kohya"] = detect_kohya(settings)
    return result
