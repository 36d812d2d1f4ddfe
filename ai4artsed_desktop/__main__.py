"""Entry point: ``ai4artsed-desktop`` / ``python -m ai4artsed_desktop``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import logging_setup
from .cli import parse_args
from .sim_entry import SIM_FLAG, run_simulator


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the window or a headless sub-command; returns the exit code."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == [SIM_FLAG]:  # a demo server started by a frozen app (see sim_entry)
        return run_simulator(raw[1:])
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
    if args.command == "models" and args.action == "bundle":
        from .bundle_cmd import run_bundle

        return run_bundle(args)
    if args.command == "models":
        from .models_cmd import run_models

        return run_models(args)
    if args.command == "lab":
        from .lab_cmd import run_lab

        return run_lab(args)
    if args.command == "profile":
        from .profile_cmd import run_profile

        return run_profile(args)
    from .app import run_window  # Qt is imported only for the window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
