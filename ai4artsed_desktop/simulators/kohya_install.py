"""Write a fake sd-scripts folder whose trainer scripts run the kohya simulator (demo, tests).

The folder gets ``flux_train_network.py``, ``sd3_train_network.py``, ``sdxl_train_network.py``
and ``train_network.py``
shims. On POSIX it also gets ``venv/bin/python`` (a wrapper around the given interpreter)
and, on request, ``venv/bin/accelerate`` (the simulator's ``accelerate launch`` mimic), so
that the training service finds everything exactly where a real install keeps it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .kohya import SCRIPTS

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent

_SHIM = '''"""Simulated kohya sd-scripts trainer (AI4ArtsEd demo mode and tests)."""
import sys

sys.path.insert(0, {root!r})
from ai4artsed_desktop.simulators.kohya import main

if __name__ == "__main__":
    sys.exit(main([__file__, *sys.argv[1:]]))
'''


def install_fake_kohya(folder: Path, *, accelerate: bool = False, python: str = "") -> Path:
    """Create (or refresh) a fake sd-scripts install in ``folder`` and return it.

    Args:
        folder: the folder to use as ``TrainingSettings.kohya_dir``.
        accelerate: also install ``venv/bin/accelerate`` (POSIX only).
        python: the interpreter behind ``venv/bin/python`` (default: this one).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for script in SCRIPTS:
        (folder / script).write_text(_SHIM.format(root=str(_PACKAGE_ROOT)), encoding="utf-8")
    if sys.platform == "win32":
        return folder
    interpreter = shlex.quote(python or sys.executable)
    bin_dir = folder / "venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    _script(bin_dir / "python", f'exec {interpreter} "$@"')
    launcher = bin_dir / "accelerate"
    if accelerate:
        root = shlex.quote(str(_PACKAGE_ROOT))
        module = "ai4artsed_desktop.simulators.kohya"
        _script(launcher, f'PYTHONPATH={root} exec {interpreter} -m {module} --as-accelerate "$@"')
    elif launcher.exists():
        launcher.unlink()
    return folder


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
