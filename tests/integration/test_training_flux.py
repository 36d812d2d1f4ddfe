"""A FLUX.1 LoRA trained through TrainingService with the kohya simulator (a real child process).

The base model lies where ComfyUI keeps it (models/diffusion_models) with CLIP-L, T5-XXL and
the autoencoder in models/text_encoders and models/vae; the family comes from its tensor
names, the files reach flux_train_network.py on its command line, and the finished LoRA's
sidecar says "flux", which is what decides the outputs it is offered for.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import TrainingFinished, TrainingStarted
from ai4artsed_desktop.training.loras import read_lora
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.project import TrainingProject, new_project
from tests.fakes.safetensors_files import safetensors_bytes
from tests.integration.test_training_service import Env, collect
from tests.unit.training.helpers import make_image

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake venv scripts are POSIX")


def write(path: Path, keys: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(safetensors_bytes({key: ("BF16", (2,)) for key in keys}))
    return path


class FluxEnv(Env):
    def __init__(self, tmp_path: Path, paths: AppPaths, **kw: object) -> None:
        super().__init__(tmp_path, paths, **kw)  # type: ignore[arg-type]
        self.models = tmp_path / "ComfyUI" / "models"
        self.base = write(
            self.models / "diffusion_models" / "flux1-dev.safetensors",
            ["double_blocks.0.img_attn.proj.bias", "single_blocks.0.modulation.lin.bias"],
        )
        self.clip_l = write(self.models / "text_encoders" / "clip_l.safetensors", ["x"])
        self.t5 = write(self.models / "text_encoders" / "t5xxl_fp16.safetensors", ["x"])
        self.ae = write(self.models / "vae" / "ae.safetensors", ["x"])

    def detected(self, name: str, tier_gb: int | None = None) -> TrainingProject:
        """A project whose family is read from the base model, as the Training page does."""
        project = new_project(
            self.paths.training_dir, name, "lmnx", self.base, epochs=2, tier_gb=tier_gb
        )
        sources = [make_image(self.tmp / "drop" / f"{i}.png", seed=i) for i in range(3)]
        prepare(scan(sources), project.root, trigger="lmnx", repeats=1)
        return project


@pytest.fixture
def env(tmp_path: Path, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> FluxEnv:
    monkeypatch.setenv("FAKE_KOHYA_STEP_MS", "1")
    monkeypatch.delenv("FAKE_KOHYA_FAULT", raising=False)
    return FluxEnv(tmp_path, app_paths)


@pytest.mark.asyncio
async def test_a_flux_lora_trains_with_comfyui_s_files_and_is_marked_flux(env: FluxEnv) -> None:
    project = env.detected("fluxclay")
    assert project.family is ModelFamily.flux
    events = await collect(env.service.start(project))
    started = events[0]
    assert isinstance(started, TrainingStarted)
    argv = list(started.argv)
    assert argv[2].endswith("flux_train_network.py")
    for flag, path in (("--clip_l", env.clip_l), ("--t5xxl", env.t5), ("--ae", env.ae)):
        assert argv[argv.index(flag) + 1] == str(path.resolve())
    toml = tomllib.loads(project.config_file.read_text(encoding="utf-8"))
    assert toml["network_arguments"]["network_module"] == "networks.lora_flux"
    assert toml["training_arguments"]["fp8_base"] is True  # the 24 GB card's preset
    final = events[-1]
    assert isinstance(final, TrainingFinished), final
    lora = read_lora(final.lora.file)
    assert lora.family == "flux"
    assert lora.base_model.endswith("flux1-dev.safetensors")


@pytest.mark.asyncio
async def test_a_missing_autoencoder_is_named_before_anything_starts(env: FluxEnv) -> None:
    env.ae.unlink()
    with pytest.raises(ConfigError, match=r"FLUX\.1 training needs the files ae") as caught:
        await collect(env.service.start(env.detected("noae")))
    assert "models/vae" in caught.value.user_message
    assert caught.value.key == "training.error.flux_files"  # not SD 3.5's sentence
    assert not env.service.busy


@pytest.mark.asyncio
async def test_the_all_in_one_checkpoint_is_refused_with_the_file_to_choose(
    env: FluxEnv,
) -> None:
    env.base = write(
        env.models / "checkpoints" / "flux1-dev-fp8.safetensors",
        ["model.diffusion_model.double_blocks.0.img_attn.proj.bias", "text_encoders.clip_l.x"],
    )
    with pytest.raises(ConfigError, match=r"flux1-dev\.safetensors"):
        await collect(env.service.start(env.detected("aio")))


@pytest.mark.asyncio
async def test_the_8_gb_preset_cannot_train_flux(env: FluxEnv) -> None:
    with pytest.raises(ConfigError, match="at least 16 GB") as caught:
        await collect(env.service.start(env.detected("small", tier_gb=8)))
    assert caught.value.key == "training.error.flux_tier"
    assert not env.service.busy
