"""The parameters a generation really uses, as recorded in run.json."""

from __future__ import annotations

import dataclasses

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.generation import GenerationJob, used_parameters

RESOURCES = resources_dir()
OUTPUTS = load_content(RESOURCES / "configs").outputs
WORKFLOWS = RESOURCES / "workflows"


def test_comfyui_records_request_then_defaults_then_the_templates_value() -> None:
    job = GenerationJob("r", OUTPUTS["sdxl"], "a kite", seed=3, values={"steps": 9})
    assert used_parameters(job, WORKFLOWS) == {
        "steps": 9,
        "cfg": 7.0,
        "width": 1024,
        "height": 1024,
    }
    no_defaults = dataclasses.replace(OUTPUTS["sd15"], defaults={})
    job = GenerationJob("r", no_defaults, "a kite", values={"width": 640})
    # Nothing given and no default: the template's own values are what the graph holds.
    assert used_parameters(job, WORKFLOWS) == {"steps": 25, "cfg": 7.0, "width": 640, "height": 512}


def test_texts_and_the_seed_are_not_parameters() -> None:
    job = GenerationJob(
        "r", OUTPUTS["ace_step"], "TAGS: pop\n\n[verse]\nla", seed=1, values={"tags": "pop"}
    )
    assert used_parameters(job, WORKFLOWS) == {"seconds": 60.0, "steps": 50, "cfg": 5.0}


def test_swarmui_and_code_outputs() -> None:
    job = GenerationJob("r", OUTPUTS["swarmui_t2i"], "a kite", values={"cfg": 3.5})
    assert used_parameters(job, WORKFLOWS) == {
        "width": 1024,
        "height": 1024,
        "steps": 28,
        "cfg": 3.5,
    }
    assert used_parameters(GenerationJob("r", OUTPUTS["p5js"], "code"), WORKFLOWS) == {}
