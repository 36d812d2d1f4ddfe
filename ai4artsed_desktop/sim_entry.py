"""How the demo simulators are started, from a source checkout and from a frozen bundle.

From source a simulator is ``python -m ai4artsed_desktop.simulators.<name>``. A PyInstaller
bundle has no ``python -m``: ``sys.executable`` is the app itself, so the app accepts a
hidden first argument ``--run-simulator NAME ARGS...`` that runs the simulator instead of
the window (handled first thing in ``__main__``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

SIM_FLAG = "--run-simulator"
SIMULATORS = ("ollama", "comfyui", "swarmui", "kohya")
PACKAGE = "ai4artsed_desktop.simulators"


def frozen() -> bool:
    """True inside a PyInstaller (or similar) bundle."""
    return bool(getattr(sys, "frozen", False))


def simulator_argv(module: str, *args: str) -> tuple[str, ...]:
    """The command line that runs simulator ``module`` (``"ollama"`` or a module path)."""
    full = module if "." in module else f"{PACKAGE}.{module}"
    name = full.removeprefix(f"{PACKAGE}.")
    if frozen() and name in SIMULATORS:
        return (sys.executable, SIM_FLAG, name, *args)
    return (sys.executable, "-m", full, *args)


def run_simulator(argv: Sequence[str]) -> int:
    """Run ``NAME ARGS...`` (what follows :data:`SIM_FLAG`); returns its exit code."""
    if not argv or argv[0] not in SIMULATORS:
        print(f"{SIM_FLAG} needs one of: {', '.join(SIMULATORS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{PACKAGE}.{argv[0]}")
    result: int = module.main(list(argv[1:]))
    return result
