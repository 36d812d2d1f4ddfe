"""Command line: the window (default), ``doctor``, ``configs`` (and later ``run``)."""

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

    configs = sub.add_parser("configs", help="list interception and output configs")
    configs.add_argument("--json", action="store_true", help="machine-readable output")
    _common(configs, suppress=True)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (``sys.argv[1:]`` when None)."""
    return build_parser().parse_args(argv)
