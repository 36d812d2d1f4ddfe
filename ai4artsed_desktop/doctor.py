"""``ai4artsed-desktop doctor``: what is installed, what is running, what to fix."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import httpx

from .backends import launchers
from .backends.comfyui import ComfyClient
from .backends.http import answers_http, normalize_base_url, request_capped
from .backends.swarmui import COMFY_DIRECT_PREFIX
from .content.loader import load_content
from .content.presets import seconds_per_picture
from .content.schema import ContentLibrary, OutputConfig, Route
from .errors import AppError, BackendProtocolError
from .models.catalogue import load_catalogue
from .paths import AppPaths, resources_dir
from .pipeline.availability import (
    Availability,
    FolderListing,
    MissingModel,
    ModelState,
    resolve_models,
)
from .pipeline.model_files import LocalModels
from .pipeline.model_status import local_models
from .settings import Settings
from .settings import load as load_settings
from .system import gpu as gpu_mod
from .system import window_libs
from .training.config import choose_preset

MIN_FREE_DISK = 10 * 2**30
#: Below this, runs cannot be saved reliably (a stricter message than MIN_FREE_DISK).
LOW_FREE_DISK = 2 * 2**30
#: The whole model check per output may take this long (a hung server must not hang doctor).
MODEL_CHECK_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    title: str
    ok: bool
    required: bool
    summary: str
    advice: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def _check_python() -> Check:
    ok = sys.version_info[:2] >= (3, 11)
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", "Python", ok, True, version, "" if ok else "Install Python 3.11.")


def _check_qt() -> Check:
    try:
        version = importlib.metadata.version("PySide6")
    except importlib.metadata.PackageNotFoundError:
        return Check("qt", "Qt (PySide6)", False, True, "not installed", "Reinstall the app.")
    ok = not version.startswith("6.12.0")
    advice = "" if ok else "PySide6 6.12.0 crashes on Python 3.11; install 6.11.3."
    return Check("qt", "Qt (PySide6)", ok, True, f"PySide6 {version}", advice)


def _check_window_libs(
    missing: list[window_libs.SystemLib] | None = None, *, display: bool | None = None
) -> Check:
    """The Linux system libraries the window needs, each tried with the dynamic linker.

    Required where a desktop session is running (someone wants the window); on a server
    without a display only ``run`` and ``doctor`` are used, so it is advice there.
    """
    title = "Window libraries"
    if not window_libs.needed():
        return Check("window_libs", title, True, False, "not needed on this system")
    if missing is None:
        missing = window_libs.missing()
    if display is None:
        display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    details = {
        "missing": [dataclasses.asdict(lib) for lib in missing],
        "checked": len(window_libs.WINDOW_LIBS),
    }
    if not missing:
        summary = f"all {len(window_libs.WINDOW_LIBS)} load"
        return Check("window_libs", title, True, display, summary, "", details)
    parts = ", ".join(dict.fromkeys(lib.part for lib in missing))
    names = ", ".join(lib.soname for lib in missing)
    summary = f"cannot load {names} (needed for: {parts})"
    advice = f"Install them: {window_libs.apt_command(missing)}"
    if not display:
        advice += " (only needed for the window; run and doctor work without)"
    return Check("window_libs", title, False, display, summary, advice, details)


def _check_paths(paths: AppPaths) -> Check:
    problems = []
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
    details = {"data_dir": str(paths.data_dir)}
    if problems:
        advice = "Choose a writable folder with --data-dir, or fix the folder permissions."
        return Check("paths", "Folders", False, True, "; ".join(problems), advice, details)
    return Check("paths", "Folders", True, True, f"writable: {paths.data_dir}", "", details)


def _check_disk(free: int | None, data_dir: str) -> Check:
    """Free space of the data folder, with advice by how much is left."""
    details: dict[str, Any] = {"data_dir": data_dir, "free_bytes": free}
    if free is None:
        return Check("disk", "Free disk", False, True, "cannot be measured", "", details)
    gb = free / 2**30
    details["free_gb"] = round(gb, 1)
    summary = f"{gb:.1f} GB free for runs, training and caches"
    if free < LOW_FREE_DISK:
        advice = (
            "Almost full: new runs cannot be saved reliably. Delete old runs (History) or "
            "set a retention period, or move the data folder with --data-dir."
        )
    elif free < MIN_FREE_DISK:
        advice = (
            "Less than 10 GB free: LoRA training and many runs need more. Delete old runs or "
            "set a retention period in Settings."
        )
    else:
        advice = ""
    return Check("disk", "Free disk", free >= MIN_FREE_DISK, True, summary, advice, details)


def _free_bytes(paths: AppPaths) -> int | None:
    try:
        return shutil.disk_usage(paths.data_dir).free
    except OSError:
        return None


def _check_gpu(gpu: gpu_mod.GpuProvider, snap: gpu_mod.GpuSnapshot | None) -> Check:
    if snap is None:
        reason = getattr(gpu, "unavailable_reason", "")
        return Check(
            "gpu",
            "NVIDIA GPU",
            False,
            False,
            "no NVIDIA GPU" + (f" ({reason})" if reason else ""),
            "Image, sound and music generation and LoRA training need an NVIDIA GPU with a "
            "current driver. Without one, use --demo to rehearse, or a school GPU server.",
        )
    return Check(
        "gpu",
        "NVIDIA GPU",
        True,
        False,
        gpu_mod.describe(snap),
        details={"vram_gb": round(snap.total_vram_gb, 1), "gpus": len(snap.gpus)},
    )


#: Where each server says its version: method, path, JSON keys to the value (protocols.md).
VERSION_ROUTES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ollama": ("GET", "/api/version", ("version",)),
    "comfyui": ("GET", "/system_stats", ("system", "comfyui_version")),
    "swarmui": ("POST", "/API/GetNewSession", ("version",)),
}


async def server_version(name: str, base_url: str) -> str:
    """The version a running server reports, or "" (not running, or no version given)."""
    method, path, keys = VERSION_ROUTES[name]
    try:
        async with httpx.AsyncClient(timeout=1.5, trust_env=False) as client:
            resp = await request_capped(
                client, method, base_url + path, backend=name, what="version", limit=1024 * 1024,
                json={} if method == "POST" else None,
            )  # fmt: skip
        value: Any = resp.json() if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, BackendProtocolError):
        return ""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def _backend_url(name: str, settings: Settings) -> str:
    backend = getattr(settings, name)
    if backend.mode == "remote" and backend.url.strip():
        return normalize_base_url(backend.url)
    return f"http://127.0.0.1:{launchers.port_for(name, backend)}"


def _required(name: str, settings: Settings) -> bool:
    return name == "ollama" or name == settings.image_engine


async def _backend_checks(settings: Settings) -> list[Check]:
    detections = launchers.detect(settings)
    names = ("ollama", "swarmui", "comfyui")
    urls = {name: _backend_url(name, settings) for name in names}
    probe_paths = {name: launchers.PROBE_PATHS[name] for name in names}
    running = await asyncio.gather(
        *(
            answers_http(urls[n] + probe_paths[n], wait_s=1.5)
            for n in names
            if detections[n].mode != "demo"
        )
    )
    state = dict(zip([n for n in names if detections[n].mode != "demo"], running, strict=True))
    up = [n for n in names if state.get(n)]
    reported = dict(
        zip(up, await asyncio.gather(*(server_version(n, urls[n]) for n in up)), strict=True)
    )
    checks = [
        _backend_check(
            detections[n], urls[n], state.get(n), _required(n, settings), reported.get(n, "")
        )
        for n in names
    ]
    kohya = detections["kohya"]
    checks.append(
        Check(
            "kohya",
            kohya.display_name,
            kohya.found,
            False,
            f"found at {kohya.where}" if kohya.found else f"not found ({kohya.where})",
            kohya.advice,
        )
    )
    return checks


def _backend_check(
    det: launchers.Detection, url: str, running: bool | None, required: bool, reported: str = ""
) -> Check:
    details: dict[str, Any] = {
        "mode": det.mode,
        "url": url,
        "where": det.where,
        "version": reported or det.version,
        "server_version": reported,
    }
    with_version = f" (version {reported})" if reported else ""
    if det.mode == "demo":
        return Check(
            det.name, det.display_name, True, required, "demo simulator (no AI)", "", details
        )
    details["running"] = bool(running)
    if det.mode == "remote":
        ok = det.found and bool(running)
        summary = f"remote {url}: " + ("answers" + with_version if running else "does not answer")
        advice = det.advice or ("" if running else f"Check that the server at {url} is running.")
        return Check(det.name, det.display_name, ok, required, summary, advice, details)
    if running:
        summary = f"running at {url}{with_version}"
        return Check(det.name, det.display_name, True, required, summary, "", details)
    if det.found:
        summary = f"installed ({det.where}); not running, starts when first needed"
        return Check(det.name, det.display_name, True, required, summary, "", details)
    return Check(
        det.name, det.display_name, False, required, f"not found ({det.where})", det.advice, details
    )


def _check_no_gpu(content: ContentLibrary) -> Check:
    """No NVIDIA GPU: the CPU preset (when the content has one) and its time per picture."""
    preset = choose_preset(content.presets, None)
    if not preset.cpu_only:
        return Check(
            "vram",
            "VRAM preset",
            False,
            False,
            "no NVIDIA GPU: CPU only",
            "Text stages (Ollama) run on the CPU, slowly; image, sound and music need an "
            "NVIDIA GPU. Use a school GPU server (remote mode in Settings → Backends) or "
            f"--demo to rehearse. Small language models as in the '{preset.name.en}' "
            "preset keep the text stages bearable.",
            {"vram_gb": None, "tier_gb": None, "preset": None, "outputs": []},
        )
    seconds = seconds_per_picture(content, preset)
    estimate = f"; about {seconds:.0f} s per picture" if seconds else ""
    return Check(
        "vram",
        "VRAM preset",
        False,
        False,
        f"no NVIDIA GPU: CPU only → preset '{preset.name.en}' "
        f"({', '.join(preset.outputs)}){estimate}",
        "Start ComfyUI with --cpu (Settings → Backends) and use the models of this preset; "
        "pictures take a while, sound and music need an NVIDIA GPU. A school GPU server "
        "(remote mode in Settings → Backends) is much faster.",
        {
            "vram_gb": None,
            "tier_gb": preset.tier_gb,
            "preset": preset.name.en,
            "outputs": list(preset.outputs),
            "roles": dict(preset.roles),
            "seconds_per_picture": seconds,
        },
    )


def _check_vram(snap: gpu_mod.GpuSnapshot | None, content: ContentLibrary) -> Check:
    """The VRAM tier of the largest GPU and the content preset it implies."""
    if not content.presets:
        return Check("vram", "VRAM preset", False, False, "no VRAM presets in the content")
    if snap is None or not snap.gpus:
        return _check_no_gpu(content)
    total = snap.total_vram_gb
    preset = choose_preset(content.presets, total)
    fits = total + 1.0 >= preset.tier_gb
    details = {
        "vram_gb": round(total, 1),
        "tier_gb": preset.tier_gb,
        "preset": preset.name.en,
        "outputs": list(preset.outputs),
        "roles": dict(preset.roles),
    }
    summary = f"{total:.0f} GB → preset '{preset.name.en}' ({', '.join(preset.outputs)})"
    advice = "" if fits else "Less VRAM than the smallest preset: expect slow or failing runs."
    return Check("vram", "VRAM preset", fits, False, summary, advice, details)


def _comfy_endpoint(settings: Settings) -> tuple[str, str, str]:
    """``(backend name, base URL, path prefix)`` of the ComfyUI that runs workflows."""
    if settings.image_engine == "swarmui":
        return "swarmui", _backend_url("swarmui", settings), COMFY_DIRECT_PREFIX
    return "comfyui", _backend_url("comfyui", settings), ""


def _model_outputs(content: ContentLibrary) -> list[OutputConfig]:
    return [
        o
        for o in content.sorted_outputs()
        if o.enabled and o.route is Route.comfyui and o.required_models
    ]


def _missing_details(missing: tuple[MissingModel, ...]) -> list[dict[str, Any]]:
    return [
        {"file": m.file, "folder": m.folder, "node_class": m.node_class,
         "node_missing": m.node_missing, "variants": list(m.variants)}
        for m in missing
    ]  # fmt: skip


def _result_details(result: Availability) -> dict[str, Any]:
    choice = result.choice
    return {
        "state": result.state.value,
        "files_checked": result.files_checked,
        "layout": choice.layout if choice is not None else None,
        "files": {slot.file: name for slot, name in choice.files} if choice is not None else {},
        "missing": _missing_details(result.missing),
        "damaged": [
            {"file": d.file, "folder": d.folder, "path": d.path, "health": d.check.health.value,
             "size": d.check.size, "expected": d.check.expected}
            for d in result.damaged
        ],
    }  # fmt: skip


def _found_summary(result: Availability) -> str:
    choice = result.choice
    assert choice is not None, "an available result has a choice"
    count = len(choice.files)
    summary = f"all {count} model files found" if count > 1 else "the model file found"
    summary += (
        ", whole on disk"
        if result.files_checked
        else " (by name only: the server's disk is not on this computer)"
    )
    other = [name for slot, name in choice.files if name != slot.file]
    if choice.layout:
        summary += f"; layout '{choice.layout}'"
    if other:
        summary += f"; using {', '.join(other)}"
    return summary


async def _model_check(
    client: ComfyClient, output: OutputConfig, where: str, local: LocalModels | None
) -> Check:
    name, title = f"models:{output.id}", f"Models: {output.name.en}"
    details: dict[str, Any] = {"output": output.id, "reachable": True, "url": where}
    try:
        result = await asyncio.wait_for(
            resolve_models(client, output, local), MODEL_CHECK_TIMEOUT_S
        )
    except (AppError, TimeoutError) as exc:
        details["reachable"] = False
        details["missing"] = None
        reason = str(exc) or "no answer in time"
        summary = f"could not ask ComfyUI at {where}: {reason}"
        return Check(name, title, False, False, summary, "Run doctor again.", details)
    return _verdict(output, details, result)


def _verdict(
    output: OutputConfig, details: dict[str, Any], result: Availability, lead: str = ""
) -> Check:
    name, title = f"models:{output.id}", f"Models: {output.name.en}"
    details.update(_result_details(result))
    if result.state is ModelState.available:
        return Check(name, title, True, False, lead + _found_summary(result), "", details)
    if result.state is ModelState.damaged:
        files = ", ".join(
            f"{d.file} (models/{d.folder}, {d.check.health.value})" for d in result.damaged
        )
        summary = f"{lead}damaged: {files}"
        advice = result.reason + _get_hint(output.id)
        return Check(name, title, False, False, summary, advice, details)
    files = ", ".join(f"{m.file} (models/{m.folder})" for m in result.missing)
    advice = result.reason + _get_hint(output.id)
    return Check(name, title, False, False, f"{lead}missing: {files}", advice, details)


@functools.cache
def _catalogue_outputs() -> frozenset[str]:
    try:
        return frozenset(load_catalogue().outputs)
    except AppError:
        return frozenset()


def _get_hint(output_id: str) -> str:
    """How to fetch the files of a catalogue output (empty for others)."""
    if output_id not in _catalogue_outputs():
        return ""
    return f" To download: ai4artsed-desktop models get {output_id} (or Settings > Models)."


async def _disk_check(output: OutputConfig, local: LocalModels, where: str) -> Check:
    """The output's files in the models folders of a ComfyUI that is not running."""
    slots = [*output.required_models, *(m for lay in output.layouts for m in lay.required_models)]
    result = await resolve_models(FolderListing(local, slots), output, local)
    details: dict[str, Any] = {"output": output.id, "reachable": False, "url": where}
    details["on_disk"] = True
    return _verdict(output, details, result, "ComfyUI is not running; on disk: ")


async def _model_checks(
    settings: Settings, content: ContentLibrary, running: dict[str, bool]
) -> list[Check]:
    """Per output: which model files ComfyUI lacks, or why this could not be checked."""
    outputs = _model_outputs(content)
    engine, base, prefix = _comfy_endpoint(settings)
    where = base + prefix
    local = local_models(settings)
    if not settings.demo_mode and not running.get(engine, False) and local is not None:
        return [await _disk_check(o, local, where) for o in outputs]
    if settings.demo_mode or not running.get(engine, False):
        reason = (
            "demo mode: the simulators need no model files"
            if settings.demo_mode
            else f"not checked: {launchers.DISPLAY_NAMES[engine]} does not answer at {base}"
        )
        advice = (
            ""
            if settings.demo_mode
            else f"Start {launchers.DISPLAY_NAMES[engine]} and run doctor again to check models."
        )
        return [
            Check(
                f"models:{o.id}", f"Models: {o.name.en}", settings.demo_mode, False, reason,
                advice, {"output": o.id, "reachable": False, "url": where, "missing": None},
            )
            for o in outputs
        ]  # fmt: skip
    async with ComfyClient(base, path_prefix=prefix) as client:
        return [await _model_check(client, o, where, local) for o in outputs]


async def _async_checks(settings: Settings, content: ContentLibrary) -> list[Check]:
    checks = await _backend_checks(settings)
    running = {c.name: bool(c.details.get("running")) for c in checks}
    return checks + await _model_checks(settings, content, running)


def collect(
    paths: AppPaths,
    settings: Settings,
    gpu: gpu_mod.GpuProvider,
    content: ContentLibrary | None = None,
) -> list[Check]:
    """All checks, in report order (``content`` defaults to built-in plus user content)."""
    if content is None:
        content = load_content(resources_dir() / "configs", paths.user_content_dir)
    snap = gpu.snapshot()
    checks = [_check_python(), _check_qt(), _check_paths(paths)]
    checks.append(_check_disk(_free_bytes(paths), str(paths.data_dir)))
    checks += [_check_gpu(gpu, snap), _check_vram(snap, content), _check_window_libs()]
    checks += asyncio.run(_async_checks(settings, content))
    return checks


def _print_text(checks: list[Check], ok: bool) -> None:
    width = max(len(c.title) for c in checks)
    for check in checks:
        mark = "ok " if check.ok else ("!! " if check.required else "-- ")
        print(f"{mark} {check.title:<{width}}  {check.summary}")
        if check.advice:
            print(f"    {' ' * width}  → {check.advice}")
    print()
    print("All required parts are in place." if ok else "Something required is missing (see →).")


def run_doctor(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when a required check failed."""
    paths = AppPaths.from_cli(args.data_dir)
    settings = load_settings(paths.settings_file).settings
    if args.demo:
        settings = dataclasses.replace(settings, demo_mode=True)
    checks = collect(paths, settings, gpu_mod.default_provider())
    ok = all(c.ok for c in checks if c.required)
    if args.json:
        report = {"ok": ok, "checks": [dataclasses.asdict(c) for c in checks]}
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_text(checks, ok)
    return 0 if ok else 1


__all__ = ["Check", "collect", "run_doctor"]
