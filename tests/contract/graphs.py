"""Graphs for the contract tests, built by the app's own template code (no hand-made JSON)."""

from __future__ import annotations

from typing import Any

from ai4artsed_desktop.content.loader import load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec, inject_loras
from ai4artsed_desktop.pipeline.workflow import apply_inputs, set_filename_prefix
from tests.contract.conftest import LORA_FILE, OUTPUTS

#: Tiny and few steps: the random SD 1.5 model samples on two shared CPU cores.
TINY: dict[str, object] = {
    "prompt": "a lighthouse on a basalt cliff, gouache",
    "negative": "blurry",
    "tags": "lo-fi, rhodes piano, 80 bpm",
    "lyrics": "[instrumental]",
    "steps": 2,
    "width": 64,
    "height": 64,
    "seconds": 1.0,
}
STYLE = LoraSpec(LORA_FILE, 1.0, 1.0)
UNET_ONLY = LoraSpec(LORA_FILE, 0.5, model_only=True)


def template_graph(
    output_id: str, *, loras: tuple[LoraSpec, ...] = (), prefix: str = "contract", **values: object
) -> dict[str, Any]:
    """The shipped template of ``output_id``, filled, with ``loras`` injected."""
    output = OUTPUTS[output_id]
    graph = apply_inputs(load_workflow(output, resources_dir() / "workflows"), output,
                         {**TINY, **values})  # fmt: skip
    graph = inject_loras(graph, list(loras)).graph
    return set_filename_prefix(graph, f"{prefix}_{output_id}")
