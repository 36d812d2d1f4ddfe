"""``ai4artsed-desktop doctor``: what is installed, what is running, what to fix."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.metadata
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import httpx

from .backends import launchers
from .backends.http import normalize_base_url
from .paths import AppPaths
from .settings import Settings
from .settings import load as load_settings
from .system import gpu as gpu_mod

MIN_FREE_DISK = 10 * 2**30


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


def _check_paths(paths: AppPaths) -> Check:
    problems = []
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
    free = shutil.disk_usage(paths.data_dir).free if not problems else 0
    details = {"data_dir": str(paths.data_dir), "free_bytes": free}
    if problems:
        advice = "Choose a writable folder with --data-dir, or fix the folder permissions."
        return Check("paths", "Folders", False, True, "; ".join(problems), advice, details)
    summary = f"writable; {free / 2**30:.0f} GB free at {paths.data_dir}"
    advice = "" if free >= MIN_FREE_DISK else "Less than 10 GB free: runs and models need space."
    return Check("paths", "Folders", free >= MIN_FREE_DISK, True, summary, advice, details)


def _check_gpu(gpu: gpu_mod.GpuProvider) -> Check:
    snap = gpu.snapshot()
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


async def _answers(url: str) -> bool:
    """True when something serves HTTP at ``url`` (any status below 500)."""
    try:
        async with httpx.AsyncClient(timeout=1.5, trust_env=False) as client:
            return (await client.get(url)).status_code < 500
    except httpx.HTTPError:
        return False


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
        *(_answers(urls[n] + probe_paths[n]) for n in names if detections[n].mode != "demo")
    )
    state = dict(zip([n for n in names if detections[n].mode != "demo"], running, strict=True))
    checks = [
        _backend_check(detections[n], urls[n], state.get(n), _required(n, settings)) for n in names
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
    det: launchers.Detection, url: str, running: bool | None, required: bool
) -> Check:
    details: dict[str, Any] = {
        "mode": det.mode,
        "url": url,
        "where": det.where,
        "version": det.version,
    }
    if det.mode == "demo":
        return Check(
            det.name, det.display_name, True, required, "demo simulator (no AI)", "", details
        )
    details["running"] = bool(running)
    if det.mode == "remote":
        ok = det.found and bool(running)
        summary = f"remote {url}: " + ("answers" if running else "does not answer")
        advice = det.advice or ("" if running else f"Check that the server at {url} is running.")
        return Check(det.name, det.display_name, ok, required, summary, advice, details)
    if running:
        summary = f"running at {url}"
        return Check(det.name, det.display_name, True, required, summary, "", details)
    if det.found:
        summary = f"installed ({det.where}); not running, starts when first needed"
        return Check(det.name, det.display_name, True, required, summary, "", details)
    return Check(
        det.name, det.display_name, False, required, f"not found ({det.where})", det.advice, details
    )


def collect(paths: AppPaths, settings: Settings, gpu: gpu_mod.GpuProvider) -> list[Check]:
    """All checks, in report order."""
    checks = [_check_python(), _check_qt(), _check_paths(paths), _check_gpu(gpu)]
    checks += asyncio.run(_backend_checks(settings))
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
