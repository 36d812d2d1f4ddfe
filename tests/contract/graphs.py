"""Graphs for the contract tests, built by the app's own template code (no hand-made JSON)."""

from __future__ import annotations

from typing import Any

from ai4artsed_desktop.content.loader import load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.generation import loras_for
from ai4artsed_desktop.pipeline.lora import LoraSpec, inject_loras
from ai4artsed_desktop.pipeline.workflow import apply_inputs, set_filename_prefix, set_model_files
from tests.contract.conftest import LORA_FILE, OUTPUTS, installed_name, layouts

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
    output_id: str,
    *,
    layout: str = "",
    loras: tuple[LoraSpec, ...] = (),
    prefix: str = "contract",
    **values: object,
) -> dict[str, Any]:
    """The shipped template of ``output_id`` (or of its ``layout``) as the app fills it: the
    file names the test server lists, the values, ``loras`` injected."""
    output = OUTPUTS[output_id]
    ((_, workflow, slots),) = [item for item in layouts(output) if item[0] == layout]
    graph = load_workflow(output, resources_dir() / "workflows", workflow)
    graph = set_model_files(graph, [(slot, installed_name(slot)) for slot in slots])
    graph = apply_inputs(graph, output, {**TINY, **values})
    graph = inject_loras(graph, loras_for(output, loras)).graph
    return set_filename_prefix(graph, f"{prefix}_{output_id}")
