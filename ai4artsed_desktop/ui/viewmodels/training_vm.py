"""TrainingViewModel: dataset check, project inputs, one LoRA training and its live state.

The view-model awaits :class:`~ai4artsed_desktop.training.service.TrainingService` and the
dataset functions (in threads); pages only bind to its signals. Texts it hands out are
translation keys (``*_key``) or the service's own messages (AppError, failure advice).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from PySide6.QtCore import QObject, Signal

from ...content.schema import ContentLibrary, InterceptionConfig, VramPreset
from ...errors import AppError, ConfigError
from ...settings import Settings
from ...tasks import TaskRegistry
from ...training import config
from ...training.dataset import DatasetReport, prepare, scan
from ...training.demo import available as demo_training_available
from ...training.events import (
    TrainingEpoch,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingLog,
    TrainingProgress,
    TrainingStarted,
    TrainingStopped,
)
from ...training.loras import TrainedLora, attach_to_config
from ...training.models import ModelFamily
from ...training.project import (
    TrainingProject,
    load_project,
    new_project,
    validate_project_name,
    validate_trigger,
)
from ...training.service import TrainingService
from ..async_action import AsyncActions

log = logging.getLogger(__name__)

#: Log lines kept for the log view.
MAX_LOG_LINES = 500
#: Loss points kept for the chart (older points are thinned out).
MAX_LOSS_POINTS = 2000
#: Thumbnails loaded for the strip.
MAX_THUMBNAILS = 40
THUMBNAIL_SIZE = 96


class TrainingState(enum.Enum):
    """Where the training is."""

    idle = "idle"
    preparing = "preparing"  # copying images, checking VRAM, launching
    running = "running"
    stopping = "stopping"
    finished = "finished"
    failed = "failed"
    stopped = "stopped"


ACTIVE_STATES = frozenset({TrainingState.preparing, TrainingState.running, TrainingState.stopping})


@dataclass(frozen=True)
class Thumbnail:
    """A small RGBA preview decoded by Pillow (Qt image plugins are not used off-thread)."""

    path: Path
    width: int
    height: int
    rgba: bytes


def load_thumbnails(paths: Sequence[Path], size: int) -> list[Thumbnail]:
    """Small previews of ``paths``; blocking, run it in a thread. Unreadable files are left out."""
    out: list[Thumbnail] = []
    for path in paths:
        try:
            with Image.open(path) as source:
                source.draft("RGB", (size, size))  # JPEG: decode at reduced size
                image = ImageOps.exif_transpose(source).convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            log.debug("no thumbnail for %s: %s", path, exc)
            continue
        image.thumbnail((size, size))
        out.append(Thumbnail(path, image.width, image.height, image.tobytes()))
    return out


@dataclass(frozen=True)
class AttachResult:
    """The outcome of attaching a LoRA to an interception config.

    Attributes:
        lora_file: the LoRA's file name.
        config_id: the interception config.
        strength: the strength written.
        error: '' on success, else a sentence for the user (English).
        target: the user config file written (None on error).
        error_key, error_params: the error's catalogue key and parameters ('' when it has
            none): the page shows that text in the UI language.
    """

    lora_file: str
    config_id: str
    strength: float
    error: str = ""
    target: Path | None = None
    error_key: str = ""
    error_params: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when the user config file was written."""
        return not self.error


class TrainingViewModel(QObject):
    """Everything the training page shows and does, without widgets.

    Args:
        service: the trainer; None when it could not be set up (the page explains).
        settings: the app settings view-model (``current``, ``settings_changed``).
        training_dir: where projects live.
        presets: VRAM presets by tier (the preset chooser).
        tasks: owns the scan, thumbnail and training tasks.
        vram_total_gb: the largest GPU's memory now (for "automatic" preset), None unknown.
        content: the content library loaded at start (the configs a LoRA can be attached to).
        user_content_dir: the user's content folder (attached configs are written there);
            attaching is offered only with ``content`` and this folder.
        builtin_dir: the built-in content folder (default: the app's ``resources/configs``).

    Signals:
        dataset_changed(): sources, scanning state or report changed.
        thumbnails_changed(list): ``[Thumbnail]`` previews (RGBA bytes) of usable images.
        inputs_changed(): name, trigger, their errors, preset or epochs changed.
        state_changed(object): a new :class:`TrainingState`.
        progress_changed(object): the latest :class:`TrainingProgress`.
        loss_changed(list): ``[(step, loss)]`` points for the chart.
        log_changed(): new log lines (read :attr:`log_lines`).
        message_changed(str): an inline message (already a plain sentence) or ''.
        loras_changed(list): the installed LoRAs.
        can_start_changed(bool): whether Start is possible now.
        attach_changed(): attaching started or ended (read :attr:`attach_result`).
    """

    dataset_changed = Signal()
    thumbnails_changed = Signal(list)
    inputs_changed = Signal()
    state_changed = Signal(object)
    progress_changed = Signal(object)
    loss_changed = Signal(list)
    log_changed = Signal()
    message_changed = Signal(str)
    loras_changed = Signal(list)
    can_start_changed = Signal(bool)
    attach_changed = Signal()

    def __init__(
        self,
        service: TrainingService | None,
        settings: Callable[[], Settings],
        training_dir: Path,
        presets: Mapping[int, VramPreset],
        tasks: TaskRegistry,
        *,
        vram_total_gb: Callable[[], float | None] = lambda: None,
        content: ContentLibrary | None = None,
        user_content_dir: Path | None = None,
        builtin_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._settings = settings
        self._training_dir = training_dir
        self._presets = dict(presets)
        self._tasks = tasks
        self._vram_total_gb = vram_total_gb
        self._sources: tuple[Path, ...] = ()
        self._scanning = False
        # Keyed actions: "scan" (a new drop replaces the running scan), "run", "stop",
        # "delete", "loras", "attach"; a second click on busy work is refused.
        self._actions = AsyncActions("training", tasks, self)
        self._report: DatasetReport | None = None
        self._name = ""
        self._trigger = ""
        self._name_error = ""
        self._trigger_error = ""
        self._tier: int | None = None
        self._epochs: int | None = None
        self._state = TrainingState.idle
        self._project: TrainingProject | None = None
        self._started: TrainingStarted | None = None
        self._progress: TrainingProgress | None = None
        self._epoch: TrainingEpoch | None = None
        self._loss: list[tuple[int, float]] = []
        self._log: deque[str] = deque(maxlen=MAX_LOG_LINES)
        self._result: TrainedLora | None = None
        self._failure: TrainingFailed | None = None
        self._stopped: TrainingStopped | None = None
        self._message = ""
        self._message_params: dict[str, str] = {}
        self._loras: list[TrainedLora] = []
        self._last_can_start = False
        self._last_blocker = ""
        self._content = content
        self._user_content_dir = user_content_dir
        self._builtin_dir = builtin_dir
        self._attach_result: AttachResult | None = None
        self._attaching = False

    # ------------------------------------------------------------------ read-only state
    @property
    def available(self) -> bool:
        """False when there is no training service at all."""
        return self._service is not None

    @property
    def configured(self) -> bool:
        """True when the sd-scripts folder and the base model are set in Settings."""
        training = self._effective().training
        return bool(training.kohya_dir.strip() and training.base_model.strip())

    @property
    def sources(self) -> tuple[Path, ...]:
        return self._sources

    @property
    def scanning(self) -> bool:
        return self._scanning

    @property
    def report(self) -> DatasetReport | None:
        return self._report

    @property
    def name(self) -> str:
        return self._name

    @property
    def trigger(self) -> str:
        return self._trigger

    @property
    def name_error_key(self) -> str:
        """Translation key of the name's problem, '' when it is fine (or still empty)."""
        return self._name_error

    @property
    def trigger_error_key(self) -> str:
        return self._trigger_error

    @property
    def tiers(self) -> list[int]:
        """The VRAM preset tiers the user can choose from."""
        return sorted(self._presets)

    @property
    def tier(self) -> int | None:
        """The chosen preset tier; None means automatic (by graphics memory)."""
        return self._tier

    @property
    def auto_tier(self) -> int | None:
        """The tier "automatic" picks for the GPU now (None without presets)."""
        if not self._presets:
            return None
        try:
            return config.choose_preset(self._presets, self._vram_total_gb()).tier_gb
        except ConfigError:
            return None

    @property
    def epochs(self) -> int | None:
        return self._epochs

    def preset_name(self, tier: int, language: str) -> str:
        """The preset's display name in ``language``."""
        return self._presets[tier].name.get(language)

    @property
    def state(self) -> TrainingState:
        return self._state

    @property
    def active(self) -> bool:
        """True while this view-model's training is being prepared, runs or stops."""
        return self._state in ACTIVE_STATES

    @property
    def progress(self) -> TrainingProgress | None:
        return self._progress

    @property
    def epoch(self) -> TrainingEpoch | None:
        return self._epoch

    @property
    def steps_estimate(self) -> int:
        return self._started.steps_estimate if self._started is not None else 0

    @property
    def loss_history(self) -> list[tuple[int, float]]:
        return list(self._loss)

    @property
    def log_lines(self) -> tuple[str, ...]:
        return tuple(self._log)

    @property
    def project(self) -> TrainingProject | None:
        """The project of the last start."""
        return self._project

    @property
    def result(self) -> TrainedLora | None:
        return self._result

    @property
    def failure(self) -> TrainingFailed | None:
        return self._failure

    @property
    def stopped_info(self) -> TrainingStopped | None:
        return self._stopped

    @property
    def message(self) -> str:
        """A catalogue key (``training.*``, ``error.*``) or, for an error without one, text."""
        return self._message

    @property
    def message_params(self) -> dict[str, str]:
        """The parameters of :attr:`message` when it is a key."""
        return dict(self._message_params)

    @property
    def loras(self) -> list[TrainedLora]:
        return list(self._loras)

    @property
    def can_attach(self) -> bool:
        """True when LoRAs can be attached to configs (content and user folder known)."""
        return (
            self._content is not None
            and self._user_content_dir is not None
            and bool(self._content.interceptions)
        )

    @property
    def attach_configs(self) -> list[InterceptionConfig]:
        """The interception configs a LoRA can be attached to, in display order."""
        return self._content.sorted_interceptions() if self._content is not None else []

    @property
    def attaching(self) -> bool:
        """True while a config file is being written."""
        return self._attaching

    @property
    def attach_result(self) -> AttachResult | None:
        """The outcome of the last attach (None before the first)."""
        return self._attach_result

    @property
    def can_start(self) -> bool:
        """Dataset, name and trigger are fine, training is set up and nothing runs."""
        return self._service is not None and not self.start_blocker

    @property
    def start_blocker(self) -> str:
        """The i18n key of why Start is not possible now ("" when it is), first reason first.

        The page shows it next to the greyed button: Start is never grey without a reason.
        """
        if self._service is None:
            return "house.start_blocked.no_service"
        if self.active:
            return "house.start_blocked.running"
        if not self.configured:
            if self.demo and not demo_training_available():
                return "house.start_blocked.demo_unavailable"
            return "house.start_blocked.setup"
        if self._scanning:
            return "house.start_blocked.scanning"
        if self._report is None or self._report.count == 0:
            return "house.start_blocked.no_images"
        if not self._name or not self._trigger:
            return "house.start_blocked.name_trigger"
        if self._name_error or self._trigger_error:
            return "house.start_blocked.fix_fields"
        return ""

    @property
    def demo(self) -> bool:
        """True while trainings use demo mode's simulated trainer and placeholder model."""
        return self._service is not None and self._service.demo

    # ------------------------------------------------------------------ inputs
    def set_sources(self, paths: Sequence[Path]) -> None:
        """Use these dropped or chosen folders/files as the dataset and check them."""
        self._sources = tuple(paths)
        self._report = None
        self._actions.cancel("scan")
        if not self._sources:
            self._scanning = False
            self.thumbnails_changed.emit([])
            self._emit_dataset()
            return
        self._scanning = True
        self._emit_dataset()
        self._actions.start("scan", self._scan(self._sources), replace=True)

    async def _scan(self, sources: tuple[Path, ...]) -> None:
        try:
            report = await asyncio.to_thread(scan, list(sources))
        except OSError as exc:
            log.info("dataset scan failed: %s", exc)
            self._scanning = False
            self._set_message_key("training.scan_failed")
            self._emit_dataset()
            return
        if sources != self._sources:
            return  # a newer drop replaced this one
        self._report, self._scanning = report, False
        self._emit_dataset()
        paths = [image.source for image in report.images[:MAX_THUMBNAILS]]
        thumbs = await asyncio.to_thread(load_thumbnails, paths, THUMBNAIL_SIZE)
        if sources == self._sources:
            self.thumbnails_changed.emit(list(thumbs))

    def set_name(self, name: str) -> None:
        """Set the project name and check it (an empty name is not an error yet)."""
        self._name = name.strip()
        self._name_error = ""
        if self._name:
            try:
                validate_project_name(self._name)
            except ConfigError:
                self._name_error = "training.name_invalid"
        self._emit_inputs()

    def set_trigger(self, trigger: str) -> None:
        """Set the trigger word(s) and check them."""
        self._trigger = " ".join(trigger.split())
        self._trigger_error = ""
        if self._trigger:
            try:
                validate_trigger(self._trigger)
            except ConfigError:
                self._trigger_error = "training.trigger_invalid"
        self._emit_inputs()

    def set_tier(self, tier: int | None) -> None:
        """Choose a VRAM preset tier, or None for automatic."""
        if tier is not None and tier not in self._presets:
            raise ValueError(f"unknown preset tier {tier}")
        self._tier = tier
        self._emit_inputs()

    def set_epochs(self, epochs: int | None) -> None:
        """Override the preset's number of epochs (None: the preset's)."""
        self._epochs = epochs if epochs and epochs > 0 else None
        self._emit_inputs()

    def clear_message(self) -> None:
        self._set_message("")

    # ------------------------------------------------------------------ control
    def start(self) -> bool:
        """Start the training in the background; False (with a message) when refused."""
        service = self._service
        if service is None:
            return False
        if self.active or service.busy or self._actions.busy("run"):
            self._set_message_key("training.already_running")
            return False
        if not self.can_start:
            self._set_message_key("training.cannot_start")
            return False
        try:
            project = self._new_project()
        except ConfigError as exc:
            self._set_error(exc)
            return False
        self._reset_run(project)
        self._set_state(TrainingState.preparing)
        return self._actions.start("run", self._run(service, project))

    def _new_project(self) -> TrainingProject:
        base = Path(self._effective().training.base_model.strip()).expanduser()
        family = None if base.is_file() else ModelFamily.sd15  # the service reports it missing
        return new_project(
            self._training_dir,
            self._name,
            self._trigger,
            base,
            family=family,
            tier_gb=self._tier,
            epochs=self._epochs,
        )

    def _reset_run(self, project: TrainingProject) -> None:
        self._project = project
        self._started = self._progress = self._epoch = None
        self._result = self._failure = self._stopped = None
        self._loss.clear()
        self._log.clear()
        self._set_message("")
        self.progress_changed.emit(None)
        self.loss_changed.emit([])
        self.log_changed.emit()

    async def _run(self, service: TrainingService, project: TrainingProject) -> None:
        report = self._report
        assert report is not None
        try:
            await asyncio.to_thread(prepare, report, project.root, trigger=project.trigger)
            async with contextlib.aclosing(service.start(project)) as events:
                async for event in events:
                    self.apply_event(event)
        except AppError as exc:
            self._set_error(exc)
            self._set_state(TrainingState.failed)
        except OSError as exc:
            log.info("training files: %s", exc)
            self._set_message_key("training.files_failed")
            self._set_state(TrainingState.failed)
        finally:
            if self._state in ACTIVE_STATES:  # cancelled (app shutdown)
                self._set_state(TrainingState.stopped)
        await self.refresh_loras()

    def apply_event(self, event: TrainingEvent) -> None:
        """Turn one training event into state (the run loop calls it for every event)."""
        if isinstance(event, TrainingStarted):
            self._started = event
            if self._state is TrainingState.preparing:
                self._set_state(TrainingState.running)
            self._add_log(f"$ {' '.join(event.argv)}")
        elif isinstance(event, TrainingProgress):
            self._on_progress(event)
        elif isinstance(event, TrainingEpoch):
            self._epoch = event
        elif isinstance(event, TrainingLog):
            self._add_log(event.line)
        elif isinstance(event, TrainingFinished):
            self._result = event.lora
            self._set_state(TrainingState.finished)
        elif isinstance(event, TrainingFailed):
            self._failure = event
            self._set_state(TrainingState.failed)
        elif isinstance(event, TrainingStopped):
            self._stopped = event
            self._set_state(TrainingState.stopped)

    def _on_progress(self, event: TrainingProgress) -> None:
        self._progress = event
        if event.loss is not None and (not self._loss or self._loss[-1][0] != event.step):
            self._loss.append((event.step, event.loss))
            if len(self._loss) > MAX_LOSS_POINTS:
                self._loss = self._loss[::2]
            self.loss_changed.emit(list(self._loss))
        self.progress_changed.emit(event)

    def _add_log(self, line: str) -> None:
        self._log.append(line)
        self.log_changed.emit()

    async def stop(self) -> None:
        """Stop the running training (the whole trainer process tree)."""
        if self._service is None or not self.active:
            return
        self._set_state(TrainingState.stopping)
        await self._service.stop()
        if not self._service.busy:
            # Stopped before the trainer was launched (while copying images).
            self._actions.cancel("run")

    def request_stop(self) -> None:
        """Start :meth:`stop` in the background (for buttons)."""
        self._actions.start("stop", self.stop())

    async def delete_project(self, *, delete_lora: bool) -> bool:
        """Delete the project named in the name field (and its LoRA on request)."""
        service = self._service
        if service is None or not self._name or self._name_error:
            self._set_message_key("training.delete_needs_name")
            return False
        root = self._training_dir / self._name
        if not await asyncio.to_thread(root.is_dir):
            self._set_message_key("training.delete_missing")
            return False
        try:
            project = await asyncio.to_thread(load_project, root)
        except ConfigError:  # images copied, but the run never got to save project.json
            project = TrainingProject(self._name, "", root, Path(), ModelFamily.sd15)
        try:
            await service.delete_project(project, delete_lora=delete_lora)
        except AppError as exc:
            self._set_error(exc)
            return False
        except OSError as exc:
            log.info("training files: %s", exc)
            self._set_message_key("training.files_failed")
            return False
        self._set_message_key("training.deleted")
        await self.refresh_loras()
        return True

    def request_delete(self, *, delete_lora: bool) -> None:
        """Start :meth:`delete_project` in the background (for buttons)."""
        self._actions.start("delete", self.delete_project(delete_lora=delete_lora))

    async def refresh_loras(self) -> None:
        """Read the LoRA folder again."""
        if self._service is None:
            return
        try:
            loras = await asyncio.to_thread(self._service.list_loras)
        except OSError as exc:
            log.info("cannot list LoRAs: %s", exc)
            loras = []
        self._loras = loras
        self.loras_changed.emit(list(loras))

    def request_refresh_loras(self) -> None:
        """Start :meth:`refresh_loras` in the background."""
        self._actions.start("loras", self.refresh_loras())

    async def attach(self, lora: TrainedLora, config_id: str, strength: float) -> bool:
        """Attach ``lora`` to the config ``config_id`` (a user config file); False on error.

        The outcome is in :attr:`attach_result`. The content library in memory is not
        reloaded: runs use the attached LoRA after the app is started again.
        """
        user_dir = self._user_content_dir
        if user_dir is None or self._content is None:
            raise RuntimeError("attaching needs the content library and the user content folder")
        strength = round(strength, 2)
        self._attaching = True
        self.attach_changed.emit()
        try:
            target = await asyncio.to_thread(
                attach_to_config,
                lora,
                config_id,
                strength,
                user_dir,
                builtin_dir=self._builtin_dir,
            )
        except asyncio.CancelledError:
            self._attaching = False
            raise
        except AppError as exc:
            log.info("cannot attach %s to %s: %s %s", lora.file.name, config_id, exc, exc.detail)
            result = AttachResult(
                lora.file.name,
                config_id,
                strength,
                exc.user_message,
                error_key=exc.key,
                error_params=tuple(exc.params.items()),
            )
        except (OSError, ValueError) as exc:
            log.info("cannot attach %s to %s: %s", lora.file.name, config_id, exc)
            result = AttachResult(
                lora.file.name,
                config_id,
                strength,
                str(exc),
                error_key="training.attach_files_failed",
            )
        else:
            log.info("attached %s to %s in %s", lora.file.name, config_id, target)
            result = AttachResult(lora.file.name, config_id, strength, target=target)
        self._attach_result, self._attaching = result, False
        self.attach_changed.emit()
        return result.ok

    def request_attach(self, lora: TrainedLora, config_id: str, strength: float) -> bool:
        """Start :meth:`attach` in the background (for buttons); False while one runs."""
        if self.attaching:
            return False
        self._attaching = True  # at once, so a second click is refused
        return self._actions.start("attach", self.attach(lora, config_id, strength))

    def _effective(self) -> Settings:
        """The settings a training uses (demo mode: the simulated trainer and model)."""
        settings = self._settings()
        return self._service.effective(settings) if self._service is not None else settings

    def settings_updated(self) -> None:
        """Settings changed: re-evaluate whether Start is possible."""
        self._emit_can_start(force=True)

    async def shutdown(self) -> None:
        """Cancel the scan, a running training and every other work of the page."""
        await self._actions.shutdown()

    # ------------------------------------------------------------------ emission helpers
    def _set_state(self, state: TrainingState) -> None:
        if state is self._state:
            return
        self._state = state
        self.state_changed.emit(state)
        self._emit_can_start()

    def _set_message_key(self, key: str) -> None:
        # Keys are recognised by the page (they start with "training.") and translated.
        self._set_message(key)

    def _set_error(self, exc: AppError) -> None:
        """Show an error: its catalogue key and parameters (the page translates them)."""
        if exc.key:
            self._set_message(exc.key, exc.params)
        else:
            self._set_message(exc.user_message)

    def _set_message(self, text: str, params: Mapping[str, str] | None = None) -> None:
        params = dict(params or {})
        if text != self._message or params != self._message_params:
            self._message, self._message_params = text, params
            self.message_changed.emit(text)

    def _emit_dataset(self) -> None:
        self.dataset_changed.emit()
        self._emit_can_start()

    def _emit_inputs(self) -> None:
        self.inputs_changed.emit()
        self._emit_can_start()

    def _emit_can_start(self, *, force: bool = False) -> None:
        value, blocker = self.can_start, self.start_blocker
        if force or value != self._last_can_start or blocker != self._last_blocker:
            self._last_can_start, self._last_blocker = value, blocker
            self.can_start_changed.emit(value)  # the page shows the reason with it
