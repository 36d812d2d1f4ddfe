"""Looking things up in the VRAM presets: the CPU preset and its time per picture."""

from __future__ import annotations

from collections.abc import Mapping

from .schema import CPU_TIER, ContentLibrary, MediaType, Route, VramPreset


def cpu_preset(presets: Mapping[int, VramPreset]) -> VramPreset | None:
    """The preset for PCs without an NVIDIA graphics card, None when the content has none."""
    return presets.get(CPU_TIER)


def seconds_per_picture(content: ContentLibrary, preset: VramPreset) -> float:
    """About how many seconds one picture takes with ``preset`` (0.0: it has no picture).

    The ``estimated_seconds`` of its first image output that runs on this PC (ComfyUI).

    For the CPU preset that number was measured by ``benchmarks/cpu_image.py``.
    """
    for output_id in preset.outputs:
        output = content.outputs.get(output_id)
        if output and output.media is MediaType.image and output.route is Route.comfyui:
            return output.estimated_seconds
    return 0.0
