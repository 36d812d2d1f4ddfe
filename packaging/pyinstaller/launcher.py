"""Entry script of the frozen app (PyInstaller runs it as ``__main__``).

``ai4artsed_desktop/__main__.py`` cannot be the entry script itself: it uses relative
imports, which fail when a file runs as a top-level script.

The frozen executable also stands in for ``python -m ai4artsed_desktop.simulators.<name>``.
Demo mode starts its protocol simulators as ``sys.executable -m <module> ...``; in a frozen
app ``sys.executable`` is this program, so ``-m`` is accepted here, but only for modules
below ``ai4artsed_desktop.simulators`` (anything else exits with status 2).
"""

from __future__ import annotations

import runpy
import sys

SIMULATOR_PACKAGE = "ai4artsed_desktop.simulators."


def _run_module(argv: list[str]) -> int:
    """Run ``-m MODULE ARGS`` like the interpreter would (simulators only)."""
    if len(argv) < 2 or not argv[1].startswith(SIMULATOR_PACKAGE):
        print("ai4artsed-desktop: -m is only for the built-in simulators", file=sys.stderr)
        return 2
    module = argv[1]
    sys.argv = [module, *argv[2:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


def _main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "-m":
        return _run_module(sys.argv[1:])
    from ai4artsed_desktop.__main__ import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
