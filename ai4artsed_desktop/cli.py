"""Command line: the window (default), ``doctor``, ``configs``, ``profile``, ``models``, ``run``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import APP_NAME, __version__


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options valid before and after the sub-command (``--data-dir`` works in both places)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="keep settings, runs, logs and caches below DIR (portable installs, tests)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="use the built-in demo backends (protocol simulators, no AI)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=argparse.SUPPRESS if suppress else "text",
        help="log file format (json is meant for end-to-end tests)",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning"),
        default=argparse.SUPPRESS if suppress else "info",
        help="how much goes into the log files",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands share the common options)."""
    parser = argparse.ArgumentParser(
        prog="ai4artsed-desktop",
        description=f"{APP_NAME}: explore generative AI in arts education.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start the full app, show the window, quit cleanly (exit 0 when all is well)",
    )
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="check Python, Qt, paths, GPU and backends")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    _common(doctor, suppress=True)

    _add_run(sub)

    configs = sub.add_parser("configs", help="list interception and output configs")
    configs.add_argument("--json", action="store_true", help="machine-readable output")
    _common(configs, suppress=True)
    _add_profile(sub)
    _add_models(sub)
    _add_lab(sub)
    return parser


def _add_lab(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = sub.add_parser(
        "lab",
        help="the lab console without the window: run the console, pair or unpair this seat",
        description="Exit codes: 0 done, 1 a problem (wrong code, unreachable console, PIN).",
    )
    actions = lab.add_subparsers(dest="action", metavar="ACTION", required=True)
    console = actions.add_parser(
        "console",
        help="run the teacher's console; prints the class code, reads commands from stdin",
    )
    console.add_argument("--port", type=int, default=47820, help="LAN port (default 47820)")
    console.add_argument(
        "--host", default="0.0.0.0", help="address to listen on (default: every interface)"
    )
    _common(console, suppress=True)
    pair = actions.add_parser("pair", help="join this PC to a console as a seat")
    pair.add_argument("address", metavar="HOST[:PORT]", help="the console's address")
    pair.add_argument("code", metavar="CODE", help="the class code shown on the console")
    pair.add_argument("--name", help="this seat's name on the console (default: host name)")
    _common(pair, suppress=True)
    unpair = actions.add_parser("unpair", help="forget the console this PC is paired with")
    _common(unpair, suppress=True)
    _common(lab, suppress=True)


def _add_profile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = sub.add_parser(
        "profile",
        help="export, import or show a lesson profile (one file for every seat of a lab)",
        description="Exit codes: 0 done, 1 the file is broken or the teacher PIN is wrong.",
    )
    actions = profile.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write this seat's lesson settings to PATH")
    export.add_argument("path", metavar="PATH")
    export.add_argument("--name", help="the profile's name, e.g. 'Kunst 7b'")
    export.add_argument("--configs", metavar="ID,ID", help="allowed interception configs")
    export.add_argument("--outputs", metavar="ID,ID", help="allowed outputs")
    export.add_argument(
        "--bundle",
        metavar="DIR",
        help="a model bundle every seat checks at start (signed by this PC's key)",
    )
    _common(export, suppress=True)
    imp = actions.add_parser(
        "import", help="check PATH and apply it (asks for the teacher PIN when a lock is set)"
    )
    imp.add_argument("path", metavar="PATH")
    _common(imp, suppress=True)
    show = actions.add_parser("show", help="print the active lesson settings as a profile")
    _common(show, suppress=True)
    _common(profile, suppress=True)


def _add_models(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``models`` sub-command and its actions (``bundle`` from :mod:`.bundle_cmd`)."""
    from .bundle_cmd import add_parser as add_bundle

    models = sub.add_parser(
        "models",
        help="list, download and check the model files of the outputs",
        description=(
            "Exit codes: 0 done (every file asked about is whole), 1 an error, 2 files are "
            "missing or damaged (verify), 3 a licence must be accepted first (get)."
        ),
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each output's model files: state, size, licence")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    get = actions.add_parser(
        "get", help="download the model files of outputs, or pull Ollama models"
    )
    get.add_argument(
        "items",
        nargs="*",
        metavar="ITEM",
        help="an output id (sd15), a catalogue file name, or ollama/NAME (ollama/qwen3:4b)",
    )
    get.add_argument("--preset", type=int, metavar="GB", help="the Ollama models of a VRAM preset")
    get.add_argument(
        "--accept-licence",
        action="store_true",
        help="confirm that you accept the licences shown (required for files that ask for it)",
    )
    get.add_argument("--json", action="store_true", help="one JSON event per line")
    verify = actions.add_parser("verify", help="check the files on disk (size and header)")
    verify.add_argument("items", nargs="*", metavar="ITEM", help="output ids or file names")
    verify.add_argument("--full", action="store_true", help="also hash every byte (SHA-256)")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    for parser in (listing, get, verify, *add_bundle(actions)):
        parser.add_argument(
            "--comfyui", metavar="DIR", help="the ComfyUI folder (default: settings)"
        )
        parser.add_argument(
            "--swarmui", metavar="DIR", help="the SwarmUI folder (default: settings)"
        )
        parser.add_argument(
            "--catalogue",
            metavar="FILE",
            help="use this model catalogue instead of the built-in one (e.g. a school mirror)",
        )
        _common(parser, suppress=True)
    _common(models, suppress=True)
    return models


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="one headless run of the pipeline (scripting, lesson preparation)",
        description="Exit codes: 0 done, 2 blocked by safety, 1 error.",
    )
    run.add_argument("--idea", help="the idea (WHAT); required unless --resume")
    run.add_argument("--config", metavar="ID", help="interception config id (default: your_call)")
    run.add_argument("--rules", help="rules text (HOW); overrides the config's rules")
    run.add_argument("--output", metavar="ID", help="output config id; required unless --resume")
    run.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue a stopped or interrupted run with its saved texts (edits included) and seed",
    )
    run.add_argument("--level", choices=("kids", "youth", "adult", "research"))
    run.add_argument("--lang", choices=("de", "en"))
    run.add_argument("--seed", type=int)
    run.add_argument("--steps", type=int, help="sampling steps (default: the output's)")
    run.add_argument("--width", type=int, help="image width in pixels")
    run.add_argument("--height", type=int, help="image height in pixels")
    run.add_argument("--cfg", type=float, help="guidance scale (CFG)")
    run.add_argument("--seconds", type=float, help="length of a sound, piece of music or film")
    run.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="FILE:STRENGTH",
        help="add a LoRA (repeatable), e.g. --lora style.safetensors:0.6",
    )
    run.add_argument("--stop-after", choices=("interception", "adaptation"))
    run.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="use a running server, e.g. --backend comfyui=http://127.0.0.1:8188",
    )
    run.add_argument("--json", action="store_true", help="one JSON event per line")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact ComfyUI graph that would be submitted; submit nothing",
    )
    run.add_argument(
        "--confirm-research",
        action="store_true",
        help="a teacher confirms the research level (all checks off) for this run",
    )
    _common(run, suppress=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (``sys.argv[1:]`` when None)."""
    return build_parser().parse_args(argv)
