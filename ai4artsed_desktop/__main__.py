"""Entry point: ``ai4artsed-desktop`` / ``python -m ai4artsed_desktop``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import logging_setup
from .cli import parse_args


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the window or a headless sub-command; returns the exit code."""
    logging_setup.install_startup_buffer()
    args = parse_args(argv)
    if args.command == "doctor":
        from .doctor import run_doctor

        return run_doctor(args)
    if args.command == "run":
        from .headless import run_headless

        return run_headless(args)
    if args.command == "configs":
        from .configs_cmd import run_configs

        return run_configs(args)
    from .app import run_window  # Qt is imported only for the window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
