"""TrainingService: one LoRA training at a time, from VRAM check to the LoRA in the LoRA folder.

The trainer (kohya sd-scripts, or its simulator) runs as a one-shot child of a
:class:`~ai4artsed_desktop.backends.process.ProcessSupervisor` in its own process group, so
``stop()`` kills the whole tree (``accelerate launch`` and the Python trainer under it); a
watchdog (:mod:`.guard`) kills that tree when the app itself is killed. Its output goes to
``kohya.log`` (through the supervisor), to ``<project>/logs/train.log`` and through
:class:`~.progress.ProgressParser` into events. Success means exit 0, the trainer's
``model saved.`` line and the final ``<output_name>.safetensors``: exit 0 alone is not success,
and neither is a final file left over from an earlier, interrupted run (protocols.md 4.7).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..backends.launchers import DISPLAY_NAMES, INSTALL_HINTS
from ..backends.process import ProcessSupervisor
from ..backends.process_types import LaunchSpec, OutputLine
from ..backends.vram import VramArbiter
from ..content.loader import load_content
from ..content.schema import VramPreset
from ..errors import AppError, BackendNotInstalled, ConfigError, InsufficientResources
from ..paths import AppPaths, resources_dir
from ..settings import Settings
from ..system.gpu import GpuProvider
from . import config
from . import demo as demo_setup
from .dataset import IMAGE_EXTENSIONS
from .events import TrainingEvent, TrainingFailed, TrainingFinished, TrainingLog, TrainingStarted
from .guard import guarded
from .loras import TrainedLora, delete_lora, install_lora, list_loras, read_lora
from .models import (
    ModelFamily,
    bundles_flux_extras,
    bundles_text_encoders,
    estimate_need_bytes,
    find_text_encoders,
)
from .outcome import failure, stopped
from .progress import ParsedEvent, ProgressParser
from .project import TrainingProject, remove_project_files, save_project
from .tokenizers import missing as tokenizers_missing
from .tokenizers import prepare_cache

log = logging.getLogger(__name__)

_SUBSET = re.compile(r"^(\d+)_.+")
#: Output lines kept for a failure's "copy details" (progress bars excluded).
TAIL_LINES = 60


@dataclass(frozen=True)
class _Plan:
    """Everything decided before the trainer starts."""

    project: TrainingProject
    argv: tuple[str, ...]
    python: Path
    script: Path
    preset: VramPreset
    steps: int


class TrainingService:
    """Runs LoRA trainings, one at a time (see module docstring).

    Args:
        settings: the app settings (``training`` section: sd-scripts folder, Python, LoRA
            folder, base model).
        paths: the app folders (``training_dir``, ``loras_dir``, ``log_dir``, ``state_dir``).
        arbiter: frees GPU memory held by Ollama and ComfyUI before a run.
        gpu: measures the GPU to choose the VRAM preset.
        presets: VRAM presets by tier; default: the built-in ``vram_presets.json``.
        stop_grace: seconds between SIGTERM and SIGKILL when stopping.
        vram_wait: seconds to wait for freed GPU memory before giving up.
    """

    def __init__(
        self,
        settings: Settings,
        paths: AppPaths,
        arbiter: VramArbiter,
        *,
        gpu: GpuProvider,
        presets: Mapping[int, VramPreset] | None = None,
        stop_grace: float = 5.0,
        vram_wait: float = 30.0,
        demo: bool = False,
    ) -> None:
        self._settings = settings
        self._demo = demo
        self._paths = paths
        self._arbiter = arbiter
        self._gpu = gpu
        self._presets = dict(presets) if presets is not None else None
        self._grace = stop_grace
        self._vram_wait = vram_wait
        self._current: TrainingProject | None = None
        self._supervisor: ProcessSupervisor | None = None
        self._parser: ProgressParser | None = None
        self._stop_requested = False
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)

    # ------------------------------------------------------------------ observation
    def update_settings(self, settings: Settings) -> None:
        """Use new settings from the next training on."""
        self._settings = settings

    @property
    def demo(self) -> bool:
        """True while trainings use demo mode's simulated trainer and base model."""
        return self._demo

    def set_demo(self, demo: bool) -> None:
        """Switch to (or back from) demo mode's trainer from the next training on."""
        self._demo = demo

    def effective(self, settings: Settings) -> Settings:
        """``settings`` as a training uses them: in demo mode, the demo training set-up.

        Raises nothing: a demo folder that cannot be written leaves the settings as they
        are (logged), and the page then says what is missing.
        """
        if not self._demo or not demo_setup.available():
            return settings
        try:
            training = demo_setup.demo_training(self._paths)
        except OSError as exc:
            log.error("Demo training cannot be set up: %s", exc)
            return settings
        return dataclasses.replace(settings, training=training)

    @property
    def lora_dir(self) -> Path:
        """Where finished LoRAs go: the setting, else the app's ``loras`` folder."""
        configured = self.effective(self._settings).training.lora_dir.strip()
        return Path(configured).expanduser() if configured else self._paths.loras_dir

    @property
    def busy(self) -> bool:
        """True while a training is being prepared or runs."""
        return self._current is not None

    @property
    def current(self) -> TrainingProject | None:
        """The project that is training now."""
        return self._current

    @property
    def stopping(self) -> bool:
        """True after :meth:`stop` was called for the current training."""
        return self._stop_requested

    @property
    def tail(self) -> tuple[str, ...]:
        """The last trainer output lines (live, progress bars excluded)."""
        return tuple(self._tail)

    def gpu_busy_reason(self) -> str | None:
        """Why image generation must wait now ("training holds the GPU"), or None."""
        project = self._current
        if project is None:
            return None
        reason = f"LoRA training '{project.name}' is using the graphics card"
        last = self._parser.last if self._parser is not None else None
        if last is not None and last.total:
            reason += f" (step {last.step} of {last.total})"
        return reason + ". Wait until it has finished, or stop it on the training page."

    def list_loras(self) -> list[TrainedLora]:
        """The LoRAs in the LoRA folder, newest first (blocking; a few file reads)."""
        return list_loras(self.lora_dir)

    # ------------------------------------------------------------------ control
    async def start(self, project: TrainingProject) -> AsyncGenerator[TrainingEvent, None]:
        """Train ``project``; yields events and ends with Finished, Failed or Stopped.

        Closing the iterator early stops the trainer (whole tree).

        Raises:
            InsufficientResources: another training runs, or not enough GPU memory.
            BackendNotInstalled: sd-scripts or its Python is not set up.
            ConfigError: missing base model / text encoders, or no prepared dataset.
            AppError: the trainer could not be started.
        """
        if self._current is not None:
            raise InsufficientResources(
                f"Training '{self._current.name}' is already running. Only one training can "
                "use the graphics card at a time; wait for it or stop it first.",
                key="training.error.one_at_a_time",
                params={"name": self._current.name},
            )
        self._current, self._stop_requested = project, False
        self._tail.clear()
        try:
            plan = await self._plan(project)
            self._current = plan.project
            async with contextlib.aclosing(self._run(plan)) as events:
                async for event in events:
                    yield event
        finally:
            self._current = None
            self._supervisor = None

    async def stop(self) -> None:
        """Stop the running training: the whole process tree is killed, nothing is saved."""
        if self._current is None:
            return
        self._stop_requested = True  # also honoured when the trainer is not launched yet
        log.info("stopping training %s", self._current.name)
        if self._supervisor is not None:
            await self._supervisor.stop(self._grace)

    async def delete_project(self, project: TrainingProject, *, delete_lora: bool) -> None:
        """Remove images, captions, caches, config, checkpoints and logs (and the LoRA).

        Raises:
            InsufficientResources: the project is training right now.
            OSError: files could not be removed.
        """
        if self._current is not None and self._current.root == project.root:
            raise InsufficientResources(
                f"'{project.name}' is training right now. Stop the training before deleting it.",
                key="training.error.delete_running",
                params={"name": project.name},
            )
        await asyncio.to_thread(remove_project_files, project)
        lora_file = self.lora_dir / f"{project.output_name}.safetensors"
        if delete_lora and lora_file.is_file():
            await asyncio.to_thread(delete_lora_file, lora_file)

    # ------------------------------------------------------------------ preparation
    async def _plan(self, project: TrainingProject) -> _Plan:
        settings = self.effective(self._settings).training
        project = self._with_encoders(project)
        argv = config.command(settings, project)
        script = config.kohya_dir(settings) / project.family.script
        if not script.is_file():
            raise BackendNotInstalled(
                f"The training script {script.name} was not found in {script.parent}. "
                f"{INSTALL_HINTS['kohya']}",
                detail=str(script),
                key="training.error.no_kohya",
            )
        images = await asyncio.to_thread(_dataset_size, project.images_dir)
        if images == 0:
            raise ConfigError(
                "The project has no prepared images. Check the dataset and prepare it first.",
                detail=f"train_data_dir: {project.images_dir}",
                key="training.error.not_prepared",
            )
        preset = await self._preset(project)
        knobs = config.knobs_for(preset, project.family, project.epochs)
        need = estimate_need_bytes(project.family, knobs)
        if not self._demo:  # the simulated trainer holds no GPU memory
            await self._arbiter.ensure_free(need, for_="LoRA training", within=self._vram_wait)
        tokenizers = await asyncio.to_thread(prepare_cache, self._paths.cache_dir)
        absent = tokenizers_missing(project.family, tokenizers)
        if absent:
            log.info("sd-scripts will fetch these tokenizers from the hub: %s", absent)
        await asyncio.to_thread(_write_project, project, preset, tokenizers)
        batch = knobs.get("train_batch_size", 1)
        epochs = knobs.get("max_train_epochs", 10)
        steps = math.ceil(images / max(1, int(batch))) * int(epochs)
        python = config.trainer_python(settings)
        return _Plan(project, argv, python, script, preset, steps)

    def _with_encoders(self, project: TrainingProject) -> TrainingProject:
        if not project.base_model.is_file():
            raise ConfigError(
                f"The base model file was not found: {project.base_model}. Choose an existing "
                "checkpoint in Settings → Training.",
                detail=str(project.base_model),
                key="training.error.no_base_model",
            )
        family = project.family
        roles = family.companion_roles
        if not roles or (family is ModelFamily.sd35 and bundles_text_encoders(project.base_model)):
            return project
        if family is ModelFamily.flux and bundles_flux_extras(project.base_model):
            raise ConfigError(
                f"{project.base_model.name} is a FLUX.1 file with its text encoders inside, "
                "which the trainer cannot read. Choose the bare diffusion model "
                "(flux1-dev.safetensors, in ComfyUI's models/diffusion_models) as the base "
                "model, with clip_l, t5xxl and ae beside it.",
                detail=f"base model: {project.base_model}",
                key="training.error.flux_all_in_one",
                params={"file": project.base_model.name},
            )
        encoders = {**find_text_encoders(project.base_model, family), **project.text_encoders}
        missing = [r for r in roles if r not in encoders or not encoders[r].is_file()]
        if missing:
            raise ConfigError(
                _missing_companions(family, missing),
                detail=f"base model: {project.base_model}; missing: {missing}",
                key=(
                    "training.error.flux_files"
                    if family is ModelFamily.flux
                    else "training.error.sd3_encoders"
                ),
            )
        return dataclasses.replace(project, text_encoders=encoders)

    async def _preset(self, project: TrainingProject) -> VramPreset:
        if self._presets is None:
            library = await asyncio.to_thread(load_content, resources_dir() / "configs")
            self._presets = dict(library.presets)
        snapshot = await asyncio.to_thread(self._gpu.snapshot)
        total = snapshot.total_vram_gb if snapshot is not None else None
        return config.choose_preset(self._presets, total, tier_gb=project.tier_gb)

    # ------------------------------------------------------------------ running
    async def _run(self, plan: _Plan) -> AsyncGenerator[TrainingEvent, None]:
        project = plan.project
        supervisor = ProcessSupervisor(
            self._spec(plan), log_dir=self._paths.log_dir, state_dir=self._paths.state_dir
        )
        parser = ProgressParser()
        queue: asyncio.Queue[ParsedEvent | None] = asyncio.Queue()
        project.log_dir.mkdir(parents=True, exist_ok=True)
        # Line-buffered: what the trainer printed survives an app that is killed mid-run.
        train_log = project.log_dir / "train.log"
        with train_log.open("a", encoding="utf-8", buffering=1) as log_file:
            remove = supervisor.add_line_listener(self._listener(parser, queue, log_file))
            self._supervisor, self._parser = supervisor, parser
            waiter: asyncio.Task[None] | None = None
            try:
                if self._stop_pending():
                    yield stopped(())
                    return
                try:
                    await supervisor.start()
                except AppError:
                    if not self._stop_pending():
                        raise
                    yield stopped(())
                    return
                waiter = asyncio.get_running_loop().create_task(_put_on_exit(supervisor, queue))
                yield TrainingStarted(
                    project.name, plan.argv, project.config_file, plan.preset.tier_gb, plan.steps
                )
                while (event := await queue.get()) is not None:
                    yield event
                yield await self._verdict(project, supervisor, parser, log_file)
            finally:
                remove()
                if supervisor.pid is not None:
                    await supervisor.stop(self._grace)  # closed early: no orphaned trainer
                if waiter is not None and not waiter.done():
                    waiter.cancel()
                    await asyncio.wait([waiter])

    def _stop_pending(self) -> bool:
        # A call, not an attribute: mypy must not narrow it across awaits.
        return self._stop_requested

    def _spec(self, plan: _Plan) -> LaunchSpec:
        return LaunchSpec(
            name="kohya",
            display_name=DISPLAY_NAMES["kohya"],
            argv=guarded(plan.python, plan.argv),
            cwd=plan.script.parent,
            env=config.trainer_env(),
            port=None,
            ready_probe=None,
            startup_timeout=60.0,
            required_paths=(plan.script,),
            install_hint=INSTALL_HINTS["kohya"],
            one_shot=True,
        )

    def _listener(
        self, parser: ProgressParser, queue: asyncio.Queue[ParsedEvent | None], log_file: IO[str]
    ) -> Callable[[OutputLine], None]:
        def on_line(line: OutputLine) -> None:
            log_file.write(line.text + "\n")
            if line.stream == "supervisor":
                return
            for event in parser.feed_line(line.text):
                if isinstance(event, TrainingLog):
                    self._tail.append(event.line)
                queue.put_nowait(event)

        return on_line

    async def _verdict(
        self,
        project: TrainingProject,
        supervisor: ProcessSupervisor,
        parser: ProgressParser,
        log_file: IO[str],
    ) -> TrainingEvent:
        outcome = await supervisor.wait_exit()
        log_file.flush()
        log.info("training %s ended: %s", project.name, outcome.summary())
        if self._stop_requested:
            return stopped(parser.checkpoints)
        if outcome.ok and parser.done and project.final_output.is_file():
            try:
                lora = await asyncio.to_thread(
                    install_lora,
                    project.final_output,
                    self.lora_dir,
                    trigger=project.trigger,
                    base_model=project.base_model.name,
                    project=project.name,
                    family=project.family.value,
                )
            except OSError as exc:
                return TrainingFailed(
                    "error",
                    f"The LoRA was trained but could not be copied to {self.lora_dir} ({exc}).",
                    "Check that the LoRA folder exists, is writable and the disk is not full. "
                    f"The trained file is {project.final_output}.",
                    self.tail,
                    project.log_dir / "train.log",
                )
            return TrainingFinished(lora)
        return failure(outcome, parser, self.tail, project.log_dir / "train.log")


async def _put_on_exit(
    supervisor: ProcessSupervisor, queue: asyncio.Queue[ParsedEvent | None]
) -> None:
    # The supervisor drains both pipes before it reports the exit, so every line is queued.
    await supervisor.wait_exit()
    queue.put_nowait(None)


def _dataset_size(images_dir: Path) -> int:
    """Images × repeats in the ``<repeats>_<tokens>`` folders (what sd-scripts will count)."""
    if not images_dir.is_dir():
        return 0
    total = 0
    for folder in images_dir.iterdir():
        match = _SUBSET.match(folder.name)
        if match and folder.is_dir():
            count = sum(1 for f in folder.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
            total += count * int(match[1])
    return total


def _write_project(project: TrainingProject, preset: VramPreset, tokenizers: Path) -> None:
    config.write_config(project, preset, tokenizers)
    save_project(project)


def delete_lora_file(file: Path) -> None:
    """Remove an installed LoRA and its sidecar."""
    delete_lora(read_lora(file))


def _missing_companions(family: ModelFamily, missing: list[str]) -> str:
    """The teacher's sentence for files the trainer needs besides the base model."""
    if family is ModelFamily.flux:
        return (
            "FLUX.1 training needs the files "
            f"{', '.join(missing)} (clip_l.safetensors, t5xxl_fp16.safetensors or "
            "t5xxl_fp8_e4m3fn.safetensors, ae.safetensors) next to the base model, or where "
            "ComfyUI keeps them: models/text_encoders and models/vae beside "
            "models/diffusion_models."
        )
    return (
        "SD 3.5 training needs the text encoder files "
        f"{', '.join(missing)} (e.g. clip_l.safetensors) next to the base model or in "
        "a 'text_encoders' folder beside it."
    )
