"""Build a random-weight SD 1.5 checkpoint and a random kohya LoRA with sd-scripts' own code.

Runs inside the peers venv with sd-scripts' folder on ``sys.path`` (tests/contract/fixtures.py
starts it). Nothing is downloaded: the models are sd-scripts' SD 1.5 UNet, the transformers
CLIP-L text model and the diffusers VAE with sd-scripts' own SD 1.5 configs, initialised at
random (seeded), converted by sd-scripts to the original single-file key layout
(``model.diffusion_model.``, ``cond_stage_model.transformer.``, ``first_stage_model.``) and
saved as fp16 safetensors, as a downloaded ``v1-5-pruned-emaonly-fp16.safetensors`` is.

The LoRA is sd-scripts' ``networks.lora`` network on those models (UNet and text encoder
modules, kohya key names) with its up-projections drawn at random instead of zero, so it
changes the image at a fixed seed.

Usage: ``python build_models.py CHECKPOINT LORA``
"""

from __future__ import annotations

import sys

import torch
from diffusers import AutoencoderKL
from library import model_util
from library.original_unet import UNet2DConditionModel
from networks import lora
from transformers import CLIPTextConfig, CLIPTextModel


def sd15_text_config() -> CLIPTextConfig:
    """sd-scripts' CLIP-L config for SD 1.x (as in model_util's checkpoint loader)."""
    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        max_position_embeddings=77,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-05,
        dropout=0.0,
        attention_dropout=0.0,
        initializer_range=0.02,
        initializer_factor=1.0,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        model_type="clip_text_model",
        projection_dim=768,
    )


def main(checkpoint: str, lora_file: str) -> None:
    torch.manual_seed(1234)
    unet = UNet2DConditionModel(**model_util.create_unet_diffusers_config(False))
    vae = AutoencoderKL(**model_util.create_vae_diffusers_config())
    text_encoder = CLIPTextModel._from_config(sd15_text_config())
    keys = model_util.save_stable_diffusion_checkpoint(
        False, checkpoint, text_encoder, unet, None, 0, 0, None, torch.float16, vae
    )
    print(f"checkpoint: {keys} tensors", flush=True)

    network = lora.create_network(1.0, 4, 4.0, vae, text_encoder, unet)
    network.apply_to(text_encoder, unet, apply_text_encoder=True, apply_unet=True)
    generator = torch.Generator().manual_seed(99)
    for module in [*network.text_encoder_loras, *network.unet_loras]:
        weight = module.lora_up.weight
        weight.data = torch.randn(weight.shape, generator=generator) * 0.05
    network.save_weights(lora_file, torch.float16, {"ss_network_module": "networks.lora"})
    te, un = len(network.text_encoder_loras), len(network.unet_loras)
    print(f"lora: {te} text-encoder and {un} UNet modules", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
