"""The app's FLUX.1 LoRA config passes sd-scripts' own checks, offline, in the peers venv.

A FLUX.1 [dev] run cannot train on two shared CPU cores (12 B parameters), so the real
``flux_train_network.py`` is driven exactly as far as it goes before loading weights: its
parser with the app's command line (``--config_file`` + ``--clip_l/--t5xxl/--ae``), its
config reader, ``verify_command_line_training_args``, ``verify_training_args``,
``prepare_dataset_args``, the trainer's tokenize strategy (it reads the base model's tensor
names to tell dev from schnell, and loads CLIP-L and T5-XXL from the app's shipped tokenizers
with ``HF_HUB_OFFLINE=1``), the DreamBooth dataset built from the app's prepared folder, and
``FluxNetworkTrainer.assert_extra_args``. Every TOML key must be one the parser knows
(sd-scripts ignores others silently), and the parsed values must be the app's.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import new_project
from ai4artsed_desktop.training.tokenizers import NEEDED, folder_name, prepare_cache
from tests.contract import peers, peers_env
from tests.fakes.safetensors_files import safetensors_bytes
from tests.unit.training.helpers import make_image

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(600)]

PROMPT = "lmnx, a clay fox on a windowsill, soft morning light"
SCRIPT = """
import json, sys
import toml
sys.argv = sys.argv[1:]  # [flux_train_network.py, --config_file, ..., --ae, ...]
import flux_train_network
from library import config_util, strategy_base, train_util

parser = flux_train_network.setup_parser()
known = {action.dest for action in parser._actions}
with open(sys.argv[2], encoding="utf-8") as handle:
    written = toml.load(handle)
unknown = sorted(key for table in written.values() for key in table if key not in known)

args = parser.parse_args()
train_util.verify_command_line_training_args(args)
args = train_util.read_config_from_file(args, parser)
train_util.verify_training_args(args)
train_util.prepare_dataset_args(args, True)

trainer = flux_train_network.FluxNetworkTrainer()
tokenize = trainer.get_tokenize_strategy(args)
strategy_base.TokenizeStrategy.set_strategy(tokenize)
strategy_base.LatentsCachingStrategy.set_strategy(trainer.get_latents_caching_strategy(args))
generator = config_util.BlueprintGenerator(
    config_util.ConfigSanitizer(True, True, args.masked_loss, True)
)
subsets = config_util.generate_dreambooth_subsets_config_by_subdirs(
    args.train_data_dir, args.reg_data_dir
)
blueprint = generator.generate({"datasets": [{"subsets": subsets}]}, args)
train_group, val_group = config_util.generate_dataset_group_by_blueprint(blueprint.dataset_group)
trainer.assert_extra_args(args, train_group, val_group)
trainer.get_text_encoding_strategy(args)
import importlib
network = importlib.import_module(args.network_module)

l_ids, t5_ids, t5_mask = tokenize.tokenize(PROMPT)
print("RESULT " + json.dumps({
    "unknown": unknown,
    "images": train_group.num_train_images,
    "is_schnell": trainer.is_schnell,
    "t5_length": tokenize.t5xxl_max_length,
    "l_len": len(l_ids[0]), "t5_len": len(t5_ids[0]), "t5_used": int(t5_mask[0].sum()),
    "t5_text": tokenize.t5xxl.decode(t5_ids[0], skip_special_tokens=True),
    "has_create_network": hasattr(network, "create_network"),
    "args": {key: getattr(args, key) for key in (
        "pretrained_model_name_or_path", "clip_l", "t5xxl", "ae", "network_module",
        "guidance_scale", "timestep_sampling", "model_prediction_type", "apply_t5_attn_mask",
        "fp8_base", "blocks_to_swap", "train_batch_size", "cache_text_encoder_outputs",
        "network_train_unet_only", "mixed_precision", "tokenizer_cache_dir",
        "model_type", "gradient_checkpointing",
    )},
}, default=str))
""".replace("PROMPT", repr(PROMPT))


def write(path: Path, keys: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(safetensors_bytes({key: ("BF16", (2,)) for key in keys}))
    return path


@pytest.mark.parametrize("tier", [16, 48])
def test_sd_scripts_accepts_the_flux_config_offline(tmp_path: Path, tier: int) -> None:
    models = tmp_path / "ComfyUI" / "models"
    base = write(
        models / "diffusion_models" / "flux1-dev.safetensors",
        [
            "double_blocks.0.img_attn.proj.bias",
            "double_blocks.1.img_attn.proj.bias",
            "single_blocks.0.modulation.lin.bias",
            "guidance_in.in_layer.bias",  # FLUX.1 [dev], not schnell
        ],
    )
    files = {
        "clip_l": write(models / "text_encoders" / "clip_l.safetensors", ["x"]),
        "t5xxl": write(models / "text_encoders" / "t5xxl_fp16.safetensors", ["x"]),
        "ae": write(models / "vae" / "ae.safetensors", ["x"]),
    }
    project = new_project(tmp_path / "training", "fluxclay", "lmnx", base, text_encoders=files)
    assert project.family is ModelFamily.flux
    sources = [make_image(tmp_path / "drop" / f"{i}.png", seed=i) for i in range(3)]
    prepare(scan(sources), project.root, trigger="lmnx", repeats=1)
    preset = load_content(resources_dir() / "configs").presets[tier]
    cache = prepare_cache(tmp_path / "cache")
    config.write_config(project, preset, cache)
    argv = [
        str(peers.sd_scripts_dir() / project.family.script),
        "--config_file", str(project.config_file), *config.model_args(project),
    ]  # fmt: skip

    done = subprocess.run(
        [str(peers_env.ensure_venv()), "-c", SCRIPT, *argv],
        cwd=peers.sd_scripts_dir(),
        env=peers.peer_env(PYTHONPATH=str(peers.sd_scripts_dir()), COLUMNS="1000"),
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for hub in NEEDED[ModelFamily.flux]:
        assert f"load tokenizer from cache: {cache / folder_name(hub)}" in output, output[-3000:]
    assert "save Tokenizer to cache" not in output
    result = json.loads(
        next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:]
    )
    assert result["unknown"] == []
    assert result["images"] == 3
    assert result["is_schnell"] is False
    assert result["has_create_network"] is True
    assert (result["l_len"], result["t5_len"], result["t5_length"]) == (77, 512, 512)
    assert 5 < result["t5_used"] < 40
    assert result["t5_text"] == PROMPT
    parsed = result["args"]
    knobs = config.knobs_for(preset, ModelFamily.flux)
    assert parsed["pretrained_model_name_or_path"] == str(base)
    assert {role: parsed[role] for role in files} == {r: str(p) for r, p in files.items()}
    assert parsed["network_module"] == "networks.lora_flux"
    assert (parsed["guidance_scale"], parsed["timestep_sampling"]) == (1.0, "flux_shift")
    assert parsed["model_prediction_type"] == "raw"
    assert parsed["apply_t5_attn_mask"] is False
    assert parsed["model_type"] == "flux"
    assert parsed["fp8_base"] is bool(knobs.get("fp8_base"))
    assert parsed["blocks_to_swap"] == knobs.get("blocks_to_swap")
    assert parsed["train_batch_size"] == knobs["train_batch_size"]
    assert parsed["gradient_checkpointing"] is True
    assert parsed["cache_text_encoder_outputs"] is True
    assert parsed["network_train_unet_only"] is True
    assert parsed["mixed_precision"] == "bf16"
    assert parsed["tokenizer_cache_dir"] == str(cache)
