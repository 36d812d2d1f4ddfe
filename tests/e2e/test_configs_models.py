"""``configs --json`` names each output's model variants and layouts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run_cli


def test_configs_json_lists_variants_and_layouts(tmp_path: Path) -> None:
    result = run_cli("configs", "--json", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    outputs = {o["id"]: o for o in json.loads(result.stdout)["outputs"]}
    assert outputs["sd15"]["model_variants"]["v1-5-pruned-emaonly.safetensors"][0] == (
        "v1-5-pruned-emaonly-fp16.safetensors"
    )
    assert outputs["sd35_large"]["model_layouts"] == {
        "single_file": ["sd3.5_large_fp8_scaled.safetensors"]
    }
    assert outputs["p5js"]["model_variants"] == {}
