"""Build a random-weight checkpoint with SD-Turbo's architecture, using sd-scripts' own code.

SD-Turbo (stabilityai/sd-turbo) is a distilled Stable Diffusion 2.1 base: the SD 2.x UNet
(context 1024, head dims 5/10/20/20, linear projections), the OpenCLIP ViT-H/14 text tower
(1024 wide, 24 layers) and the SD VAE. sd-scripts builds the UNet and VAE with its SD 2.x
configs, the text tower as its 23-layer transformers model, and on saving writes the
original single-file key layout (``model.diffusion_model.``, ``cond_stage_model.model.``,
``first_stage_model.``), filling in the 24th layer and ``text_projection`` as it does for
every SD 2.x checkpoint it creates. ComfyUI then detects an SD 2.x model, as it does for the
real ``sd_turbo.safetensors``. The weights are random (seeded): good for timing only.

Runs inside the peers venv with sd-scripts' folder on ``sys.path`` (peers.build_sd_turbo
starts it, for tests/contract/test_cpu_preset.py and benchmarks/cpu_image.py). Saved as
fp16 safetensors.

Usage: ``python build_sd_turbo.py CHECKPOINT``
"""

from __future__ import annotations

import sys

import torch
from diffusers import AutoencoderKL
from library import model_util
from library.original_unet import UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel


def sd2_text_config() -> CLIPTextConfig:
    """sd-scripts' OpenCLIP-H text config for SD 2.x (as in model_util's checkpoint loader)."""
    return CLIPTextConfig(
        vocab_size=49408,
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=23,
        num_attention_heads=16,
        max_position_embeddings=77,
        hidden_act="gelu",
        layer_norm_eps=1e-05,
        dropout=0.0,
        attention_dropout=0.0,
        initializer_range=0.02,
        initializer_factor=1.0,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        model_type="clip_text_model",
        projection_dim=512,
    )


def main(checkpoint: str) -> None:
    torch.manual_seed(4321)
    unet = UNet2DConditionModel(**model_util.create_unet_diffusers_config(True, True))
    vae = AutoencoderKL(**model_util.create_vae_diffusers_config())
    text_encoder = CLIPTextModel._from_config(sd2_text_config())
    keys = model_util.save_stable_diffusion_checkpoint(
        True, checkpoint, text_encoder, unet, None, 0, 0, None, torch.float16, vae
    )
    params = sum(p.numel() for p in unet.parameters())
    print(f"checkpoint: {keys} tensors, UNet {params / 1e6:.0f} M parameters", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
