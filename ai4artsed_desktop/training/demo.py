"""Demo mode's training set-up: the kohya simulator as trainer and a placeholder base model.

A teacher rehearsing a lesson without a GPU (``--demo`` or the demo setting) gets the whole
training flow — dataset check, Start, progress, loss, the finished LoRA — with the
protocol-faithful kohya simulator in a fake sd-scripts folder (the same code path as a real
install) and a base model file without weights. Both live below ``<data>/demo/``, and so do
the resulting LoRAs, so nothing mixes with a real set-up. Every name says "DEMO".
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..paths import AppPaths
from ..settings import TrainingSettings
from ..sim_entry import frozen
from ..simulators.kohya_install import install_fake_kohya
from ..simulators.kohya_output import write_safetensors

log = logging.getLogger(__name__)

DEMO_BASE_MODEL = "DEMO-base-model-sd15-no-weights.safetensors"
#: The metadata of the placeholder base model (what a curious teacher finds inside).
DEMO_METADATA = {
    "ai4artsed_demo": "a placeholder base model for demo mode: no weights, nothing to generate",
}


def available() -> bool:
    """False in a frozen bundle: the simulated sd-scripts folder needs a Python checkout."""
    return not frozen()


def demo_training(paths: AppPaths) -> TrainingSettings:
    """The training settings of demo mode; creates the fake sd-scripts and base model once.

    Raises:
        OSError: the demo folder cannot be written.
    """
    root = paths.demo_dir / "training"
    kohya = root / "sd-scripts"
    base = root / "models" / DEMO_BASE_MODEL
    if not (kohya / "train_network.py").is_file():
        install_fake_kohya(kohya)
        log.info("Demo trainer (kohya simulator) set up in %s", kohya)
    if not base.is_file():
        write_safetensors(base, DEMO_METADATA)
    return TrainingSettings(
        kohya_dir=str(kohya),
        python="",
        lora_dir=str(root / "DEMO-loras"),
        base_model=str(base),
    )


def is_demo_model(path: Path) -> bool:
    """True for the placeholder base model (the page labels it)."""
    return path.name == DEMO_BASE_MODEL
