"""``ai4artsed-desktop models bundle export|import|key``: the offline lab bundle from scripts.

Exit codes: 0 done (every listed file exported, installed or already intact); 1 nothing was
done (the bundle is unreadable, changed after signing, signed by an unknown key, no space,
no models folder); 2 done in part (some files damaged, missing or not the published ones:
each is named).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .errors import AppError, UserCancelled
from .models.bundle import (
    KEY_FILE,
    TRUST_FILE,
    BundleProgress,
    BundleReport,
    FileResult,
    Outcome,
    TrustStore,
    export_bundle,
    fingerprint,
    import_bundle,
    load_or_create_key,
    normalize_fingerprint,
)
from .models.catalogue import Catalogue, PlannedFile, load_catalogue, planned_files
from .models.service import roots_from_settings
from .paths import AppPaths
from .settings import Settings
from .settings import load as load_settings

EXIT_OK, EXIT_REFUSED, EXIT_PARTLY = 0, 1, 2


def add_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
) -> tuple[argparse.ArgumentParser, ...]:
    """Add ``bundle`` to the ``models`` actions; returns the parsers of its steps.

    The caller gives them the shared options (``--data-dir``, ``--comfyui``, ``--catalogue``).
    """
    bundle = actions.add_parser(
        "bundle",
        help="copy model files to a folder (USB stick, share) and install them on other seats",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    steps = bundle.add_subparsers(dest="step", metavar="STEP", required=True)
    export = steps.add_parser("export", help="copy this PC's model files into DIR, signed")
    export.add_argument("dir", metavar="DIR")
    export.add_argument("--outputs", metavar="ID,ID", help="only the files of these outputs")
    export.add_argument("--json", action="store_true", help="machine-readable report")
    imp = steps.add_parser("import", help="check the bundle in DIR and install its files")
    imp.add_argument(
        "dir", metavar="DIR", nargs="?", help="the bundle (default: the lesson profile's)"
    )
    imp.add_argument(
        "--key",
        metavar="FINGERPRINT",
        help="trust the teacher PC's key with this fingerprint (models bundle key shows it)",
    )
    imp.add_argument("--json", action="store_true", help="machine-readable report")
    key = steps.add_parser("key", help="show the fingerprint of this PC's bundle signing key")
    return export, imp, key


def model_roots(settings: Settings, args: argparse.Namespace) -> dict[str, Path]:
    """The backend folders whose models live on this PC (remote servers have none here).

    ``--comfyui``/``--swarmui`` first, then the settings.
    """
    found = roots_from_settings(settings)
    given = {"comfyui": args.comfyui, "swarmui": args.swarmui}
    roots: dict[str, Path] = {}
    for backend in ("comfyui", "swarmui"):
        folder = Path(given[backend]).expanduser() if given[backend] else found.get(backend)
        if folder is not None:
            roots[backend] = folder
    return roots


def plan(roots: dict[str, Path], catalogue: Catalogue) -> list[PlannedFile]:
    """Every catalogue file with its place on this PC.

    Raises:
        AppError: no backend folder is set (nothing could be placed).
    """
    if not roots:
        raise AppError(
            "No ComfyUI or SwarmUI folder is set on this computer (Settings, Backends); "
            "the model files would have nowhere to go."
        )
    return planned_files(catalogue, roots)


def _line(result: FileResult) -> str:
    where = f" → {result.path}" if result.path is not None else ""
    detail = f" ({result.detail})" if result.detail else ""
    return f"  {result.outcome.value:<13} {result.backend}/{result.name}{where}{detail}"


def _report(report: BundleReport, as_json: bool) -> int:
    if as_json:
        data: dict[str, Any] = {
            "folder": str(report.folder),
            "fingerprint": report.fingerprint,
            "catalogue_version": report.catalogue_version,
            "ok": report.ok,
            "files": [
                {
                    "backend": r.backend,
                    "name": r.name,
                    "outcome": r.outcome.value,
                    "path": str(r.path) if r.path else None,
                    "detail": r.detail,
                }
                for r in report.results
            ],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        version = report.catalogue_version
        print(f"Bundle {report.folder} (key {report.fingerprint}, catalogue {version})")
        for result in report.results:
            print(_line(result))
        if report.problems:
            names = ", ".join(r.name for r in report.problems)
            print(f"Not done: {names}.")
    return EXIT_OK if report.ok else EXIT_PARTLY


def _printer(enabled: bool) -> Callable[[BundleProgress], None] | None:
    if not enabled:
        return None
    last = [-1]

    def show(step: BundleProgress) -> None:
        percent = int(step.fraction * 100)
        if percent != last[0]:
            last[0] = percent
            print(f"\r{percent:3d}% {step.name[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show


def _catalogue(args: argparse.Namespace) -> Catalogue:
    return load_catalogue(Path(args.catalogue) if args.catalogue else None)


def _outputs(text: str | None) -> set[str] | None:
    if text is None:
        return None
    return {part.strip() for part in text.split(",") if part.strip()}


def run_export(paths: AppPaths, settings: Settings, args: argparse.Namespace) -> int:
    """Copy this PC's files (of ``--outputs``, else all) into the bundle folder, signed."""
    catalogue = _catalogue(args)
    roots = model_roots(settings, args)
    planned = plan(roots, catalogue)
    wanted = _outputs(args.outputs)
    if wanted is not None:
        unknown = sorted(wanted - set(catalogue.outputs))
        if unknown:
            raise AppError(f"No output called {', '.join(unknown)} in the model catalogue.")
        planned = [p for p in planned if wanted & set(p.outputs)]
    else:  # everything this PC has; what it lacks is not asked for
        planned = [p for p in planned if p.path.is_file()]
        if not planned:
            raise AppError(
                "None of the catalogue's model files is in this computer's ComfyUI or "
                "SwarmUI folder; there is nothing to export."
            )
    key = load_or_create_key(paths.config_dir / KEY_FILE)
    report = export_bundle(
        planned,
        roots,
        Path(args.dir),
        key,
        catalogue=catalogue,
        app_version=__version__,
        progress=_printer(sys.stderr.isatty()),
        cancel=threading.Event(),
    )
    return _report(report, args.json)


def run_import(paths: AppPaths, settings: Settings, args: argparse.Namespace) -> int:
    """Verify the bundle and install its files; a ``--key`` that worked is remembered."""
    store = TrustStore(paths.config_dir / TRUST_FILE)
    given = normalize_fingerprint(args.key) if args.key else ""
    lesson = settings.lesson
    folder = args.dir or lesson.bundle_location
    if not folder:
        raise AppError("Name the bundle folder; the lesson profile names none.")

    def trusted(fpr: str) -> bool:
        by_lesson = bool(lesson.bundle_key) and fpr == normalize_fingerprint(lesson.bundle_key)
        return fpr == given or by_lesson or store.trusts(fpr)

    report = import_bundle(
        Path(folder),
        plan(model_roots(settings, args), _catalogue(args)),
        trusted=trusted,
        progress=_printer(sys.stderr.isatty()),
        cancel=threading.Event(),
    )
    if given and report.fingerprint == given and not store.trusts(given):
        try:
            store.add(given)
        except OSError as exc:
            print(f"The key could not be remembered: {exc}", file=sys.stderr)
    code = _report(report, args.json)
    if not args.json and report.named(Outcome.unknown):
        print("Files this app does not know were left out; update the app on this computer.")
    return code


def run_bundle(args: argparse.Namespace) -> int:
    """``models bundle ...``: see the module docstring for the exit codes."""
    paths = AppPaths.from_cli(args.data_dir)
    try:
        if args.step == "key":
            key = load_or_create_key(paths.config_dir / KEY_FILE)
            print(f"Bundle signing key of this computer: {fingerprint(key.public_key())}")
            return EXIT_OK
        settings = load_settings(paths.settings_file).settings
        if args.step == "export":
            return run_export(paths, settings, args)
        return run_import(paths, settings, args)
    except AppError as exc:
        print(exc.user_message, file=sys.stderr)
        return EXIT_REFUSED
    except (UserCancelled, KeyboardInterrupt):
        print("\nStopped; no half-copied file was left under its final name.", file=sys.stderr)
        return EXIT_REFUSED
