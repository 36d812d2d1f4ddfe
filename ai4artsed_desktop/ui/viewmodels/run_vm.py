"""RunViewModel: one pipeline run of the Create page (transform, edit, generate, cancel).

The view-model owns the current :class:`~ai4artsed_desktop.pipeline.runner.RunSession`.
``transform()`` starts a new session and runs it up to the interception; ``generate()`` asks
the session what to run (``RunSession.continue_with``: the student's texts are used, a new
output keeps the transformed text) and runs it. A reopened run comes from
``RunSession.replay``. Every run event becomes one Qt signal; the page only listens and
calls these methods.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import shutil
from collections.abc import Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...content.schema import ContentLibrary, OutputConfig
from ...content.schema import Route as OutputRoute
from ...errors import AppError
from ...events import (
    RunBlocked,
    RunCancelled,
    RunFailed,
    RunPreview,
    RunProgress,
    RunResult,
    RunStopped,
    Stage,
    StageChecking,
    StageCompleted,
    StageStarted,
    StageText,
)
from ...pipeline.availability import Availability, ModelState
from ...pipeline.model_status import ModelStatusBoard
from ...pipeline.runner import EDITABLE, RunEvent, RunRequest, RunServices, RunSession
from ...pipeline.safety_media import VISUAL_MEDIA, VisionState
from ...settings import Settings
from ...store.record import RunRecord
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..bindings import Binding
from .create_vm import CreateViewModel
from .params_vm import ParamsViewModel
from .settings_vm import SettingsViewModel

log = logging.getLogger(__name__)


class RunPhase(enum.Enum):
    """Where the Create page's run stands."""

    idle = "idle"
    transforming = "transforming"
    transformed = "transformed"  # the interception text is there, generation not yet
    generating = "generating"
    done = "done"
    blocked = "blocked"
    failed = "failed"
    cancelled = "cancelled"


class Unavailable(enum.Enum):
    """Why an output cannot run here."""

    planned = "planned"
    local_only = "local_only"
    disabled = "disabled"
    models_missing = "models_missing"  # ComfyUI lacks a model file (``models.missing``)
    models_damaged = "models_damaged"  # a model file is empty or cut off (``models.damaged``)
    no_vision = "no_vision"  # kids, media check on, no vision model (``vision.pull`` fixes it)


_MODEL_REASONS = {
    ModelState.missing: Unavailable.models_missing,
    ModelState.damaged: Unavailable.models_damaged,
}


@dataclass(frozen=True)
class OutputChoice:
    """An output as the picker shows it; ``unavailable`` is None when it can run.

    ``models`` is the latest check of its model files (None: never checked, or none
    needed); when they are missing or damaged it names each file and its folder.
    ``vision`` is the missing vision model when ``unavailable`` is ``no_vision``.
    """

    output: OutputConfig
    unavailable: Unavailable | None = None
    models: Availability | None = None
    vision: VisionState | None = None

    @property
    def runnable(self) -> bool:
        """True when a run with this output may start."""
        return self.unavailable is None


def output_choices(
    content: ContentLibrary, settings: Settings, models: ModelStatusBoard | None = None
) -> list[OutputChoice]:
    """Every output in display order with the reason it cannot run (if any).

    ``models``: outputs whose model files are missing or damaged cannot run either (an
    unchecked output can: ComfyUI may not have started yet). Image outputs cannot run at
    kids with the media check on while the board knows of no vision model.
    """
    choices = []
    safety = settings.safety
    vision = (
        models.images_unavailable(safety.level, media_check=safety.media_check) if models else None
    )
    for output in content.sorted_outputs():
        status = models.get(output.id) if models is not None else None
        reason: Unavailable | None = _MODEL_REASONS.get(status.state) if status else None
        missing_vision = vision if output.media in VISUAL_MEDIA else None
        if missing_vision is not None:
            reason = Unavailable.no_vision
        if output.route is OutputRoute.planned:
            reason = Unavailable.planned
        elif output.route is OutputRoute.cloud_image:
            if settings.safety.local_only:
                reason = Unavailable.local_only
            elif not output.enabled:
                reason = Unavailable.disabled
        missing_vision = missing_vision if reason is Unavailable.no_vision else None
        choices.append(OutputChoice(output, reason, status, missing_vision))
    return choices


class RunViewModel(QObject):
    """The run of the Create page: state, actions and the run's events as signals.

    Signals:
        stage_started(object, str): a stage (``Stage``) began, with the model doing it.
        stage_text(object, str): a streamed piece of a text stage's output.
        stage_completed(object, str, str): a stage finished: stage, full text, badge.
        progress(int, int): generation steps done and total.
        preview(bytes): a live preview frame (encoded image).
        stage_checking(object): the safety check looks at the stage's text or image now.
        stage_blocked(object): safety stopped the run at this stage (its text must go).
        blocked(str): safety stopped the run (student-friendly reason).
        failed(str, str): the run failed: message and technical detail.
        cancelled(): the user cancelled the run.
        result(object): the run is complete (a ``RunResult``).
        texts_kept(object): Generate started a new run that could not use the student's
            texts of these stages (a tuple of ``Stage``); they are saved in the run before.
        busy_changed(bool): a run is in progress or not.
        phase_changed(str): the ``RunPhase`` value changed.
        selected_output_changed(str): another output was selected.
        outputs_changed(): the outputs' availability changed (settings, or a check of the
            model files: ``outputs`` then carries each output's ``models``).
        file_saved(str): "Save as" copied the result to this path.
        save_failed(str, str): "Save as" failed: message and detail.
    """

    stage_started = Signal(object, str)
    stage_text = Signal(object, str)
    stage_completed = Signal(object, str, str)
    progress = Signal(int, int)
    preview = Signal(bytes)
    stage_checking = Signal(object)
    stage_blocked = Signal(object)
    blocked = Signal(str)
    failed = Signal(str, str)
    cancelled = Signal()
    result = Signal(object)
    texts_kept = Signal(object)
    busy_changed = Signal(bool)
    phase_changed = Signal(str)
    selected_output_changed = Signal(str)
    outputs_changed = Signal()
    file_saved = Signal(str)
    save_failed = Signal(str, str)

    def __init__(
        self,
        create_vm: CreateViewModel,
        settings_vm: SettingsViewModel,
        services: RunServices | None,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        default_lora_dir: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._create = create_vm
        self._settings_vm = settings_vm
        self._services = services
        self._tasks = tasks or TaskRegistry("create-run")
        self._failure_key: tuple[str, dict[str, str]] = ("", {})
        #: UI mode, safety level and the expert parameters the requests take.
        self.params = ParamsViewModel(
            settings_vm, default_lora_dir=default_lora_dir, tasks=self._tasks, parent=self
        )
        self._session: RunSession | None = None
        self._action = AsyncAction("create-run", self._tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)
        self._busy_tasks: set[asyncio.Task[None]] = set()
        self._phase = RunPhase.idle
        self._last_result: RunResult | None = None
        self._models = services.models if services is not None else None
        self._choices = output_choices(create_vm.content, settings_vm.current, self._models)
        self._selected = self._default_output()
        # The student picked the output: a new rule keeps it when it supports it.
        self._pinned = False
        self._bindings = [
            Binding(settings_vm.settings_changed, self._on_settings_changed),
            Binding(create_vm.selected_config_id_changed, self._on_config_changed),
            Binding(self.selected_output_changed, self._sync_params),
        ]
        self._forget_models = (
            self._models.add_listener(self._on_models_checked) if self._models else None
        )
        self._vision_role = settings_vm.current.roles.vision
        self._sync_params()

    # ------------------------------------------------------------------ properties
    @property
    def available(self) -> bool:
        """False when the run services could not be set up (no run store)."""
        return self._services is not None

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def failure_key(self) -> tuple[str, dict[str, str]]:
        """The catalogue key and parameters of the last ``failed`` message ("" for none).

        The page shows that text in the UI language; the English message that ``failed``
        carries is the fallback for a message without a key.
        """
        return self._failure_key

    @property
    def phase(self) -> RunPhase:
        return self._phase

    @property
    def session(self) -> RunSession | None:
        return self._session

    @property
    def last_result(self) -> RunResult | None:
        return self._last_result

    @property
    def outputs(self) -> list[OutputChoice]:
        return list(self._choices)

    def recheck_models(self) -> bool:
        """Check the outputs' model files again if the image engine is ready (starts nothing).

        The vision model is looked up again too (while Ollama is ready). ``outputs_changed``
        follows when something changed. False when no model files were checked.
        """
        if self._models is None:
            return False
        self._models.recheck_vision()
        return self._models.recheck()

    def output_choice(self, output_id: str) -> OutputChoice | None:
        """The choice of ``output_id`` (runnable or not), None if unknown."""
        return next((c for c in self._choices if c.output.id == output_id), None)

    @property
    def selected_output_id(self) -> str:
        return self._selected

    @property
    def default_output_id(self) -> str:
        """The output the chosen rule brings (or the first that can run)."""
        return self._default_output()

    @property
    def selected_output(self) -> OutputConfig | None:
        return self._create.content.outputs.get(self._selected)

    @property
    def can_run(self) -> bool:
        """A run may start now: services, an idea, a runnable output and nothing running."""
        return (
            self.available
            and not self.busy
            and bool(self._create.idea.strip())
            and self._choice(self._selected) is not None
        )

    @property
    def has_transform(self) -> bool:
        """Generate goes on from the transformed text (RunSession.keeps_interception)."""
        return self._session is not None and self._session.keeps_interception(self._request())

    @property
    def next_action(self) -> str:
        """What Ctrl+Enter does now: ``"transform"`` or ``"generate"``."""
        return "generate" if self.has_transform else "transform"

    def edited(self, stage: Stage) -> bool:
        """True when the user changed the text of ``stage`` since it ran."""
        return self._session is not None and self._session.drafted(stage)

    # ------------------------------------------------------------------ actions
    def select_output(self, output_id: str, *, by_user: bool = True) -> bool:
        """Select a runnable output; False (nothing changes) for any other.

        A choice ``by_user`` stays when another rule is chosen (if that rule supports it);
        otherwise each rule brings its own default output.
        """
        if self._choice(output_id) is None:
            return False
        self._pinned = by_user
        if output_id != self._selected:
            self._selected = output_id
            self.selected_output_changed.emit(output_id)
        return True

    def set_stage_text(self, stage: Stage, text: str) -> None:
        """The user's text of an editable stage (the session's draft; see RunSession.draft)."""
        if stage not in EDITABLE:
            raise ValueError(f"stage {stage.value} is not editable")
        if self._session is not None and self._session.text(stage) and not self.busy:
            self._session.draft(stage, text)

    def transform(self) -> bool:
        """Start a new run and stop after the interception; False when none can start."""
        if not self.can_run:
            return False
        self._start(self._transform, RunPhase.transforming)
        return True

    def generate(self) -> bool:
        """Run the rest (applying an edit first); False when no run can start."""
        if not self.can_run:
            return False
        self._start(self._generate, RunPhase.generating)
        return True

    def run_next(self) -> bool:
        """Ctrl+Enter: transform, or generate when the inputs were transformed already."""
        return self.generate() if self.has_transform else self.transform()

    def cancel(self) -> bool:
        """Cancel the run in progress (the stage in flight stops); False when none runs."""
        return self._action.cancel()

    def open_record(self, record: RunRecord) -> None:
        """Show a saved run (reopened from the History page) as the run here.

        The idea, rules, config and output come back; ``RunSession.replay`` gives the events
        that show the run as it ended and the session that continues it (edit a text, press
        Generate: same folder, same seed, the prompt checked again). The run shown before
        is left (its texts saved). Ignored while a run is in progress.
        """
        if self.busy:
            log.info("Run %s not reopened: a run is in progress", record.id)
            return
        if self._services is None:
            log.info("Run %s not reopened: no run store", record.id)
            return
        inputs = record.inputs
        self._create.restore(inputs.idea, inputs.rules, inputs.config_id)
        self.select_output(inputs.output_id)
        self._leave()
        self._last_result = None
        self._session, events = RunSession.replay(self._services, record)
        for event in events:
            self._dispatch(event)

    def save_result_as(self, source: Path, target: Path) -> None:
        """Copy a result file to ``target`` in a worker thread (``file_saved`` when done)."""
        task = self._tasks.spawn(self._copy(source, target), name="create-save-as")
        self._busy_tasks.add(task)
        task.add_done_callback(self._busy_tasks.discard)

    async def shutdown(self) -> None:
        """Cancel the run and any copy in progress; stop listening to settings."""
        for binding in self._bindings:
            binding.disconnect()
        if self._forget_models is not None:
            self._forget_models()
        await self.params.shutdown()
        await self._action.shutdown()
        running = [t for t in self._busy_tasks if not t.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if self._session is not None:  # the student's texts are saved, the run "stopped"
            await self._session.stop()

    # ------------------------------------------------------------------ run work
    def _start(self, work: Callable[[], Coroutine[Any, Any, None]], phase: RunPhase) -> None:
        self._set_phase(phase)
        self._action.start(
            work(),
            name=f"create-{phase.value}",
            error=self._on_run_error,
            cancelled=self._on_run_cancelled,
            crashed=lambda _exc: self._set_phase(RunPhase.failed),  # the registry logs it
        )

    def _on_run_error(self, exc: AppError) -> None:
        """An error of the run itself (the pipeline's own come as events) becomes ``failed``."""
        log.info("Run could not start: %s (%s)", exc.user_message, exc.detail)
        self._set_phase(RunPhase.failed)
        self._failure_key = (exc.key, dict(exc.params))
        self.failed.emit(exc.user_message, exc.detail)

    def _on_run_cancelled(self) -> None:
        if self._phase is not RunPhase.cancelled:
            self._set_phase(RunPhase.cancelled)
            self.cancelled.emit()

    async def _transform(self) -> None:
        await self._fresh(Stage.interception)

    async def _fresh(self, until: Stage | None) -> None:
        """A new session from the current inputs, run up to ``until`` (all when None)."""
        services = self._services
        assert services is not None, "can_run checks the services"
        previous, self._session = self._session, None
        self._last_result = None
        if previous is not None:
            await previous.stop()  # the student's texts there are saved
        self._session = RunSession(services, self._request())
        await self._consume(self._session, until)

    async def _generate(self) -> None:
        previous = self._session
        if previous is None or not previous.text(Stage.interception):
            await self._fresh(None)
            return
        session = await previous.continue_with(self._request())
        self._session = session
        dropped = previous.dropped_on(session)
        if dropped:
            self.texts_kept.emit(dropped)
        await self._consume(session, None)

    async def _consume(self, session: RunSession, until: Stage | None) -> None:
        async with aclosing(session.advance(until)) as events:
            async for event in events:
                self._dispatch(event)

    def _leave(self) -> None:
        """Let go of the session shown now; its drafts are saved in the background."""
        session, self._session = self._session, None
        if session is not None:
            self._tasks.spawn(session.stop(), name="create-leave-run")

    def _dispatch(self, event: RunEvent) -> None:
        if isinstance(event, StageText):
            self.stage_text.emit(event.stage, event.delta)
        elif isinstance(event, StageStarted):
            self.stage_started.emit(event.stage, event.model)
        elif isinstance(event, StageChecking):
            self.stage_checking.emit(event.stage)
        elif isinstance(event, StageCompleted):
            self.stage_completed.emit(event.stage, event.text, event.badge)
        elif isinstance(event, RunProgress):
            self.progress.emit(event.step, event.total)
        elif isinstance(event, RunPreview):
            self.preview.emit(event.image)
        else:
            self._dispatch_end(event)

    def _dispatch_end(self, event: RunEvent) -> None:
        if isinstance(event, RunResult):
            self._last_result = event
            record = self._session.record if self._session is not None else None
            self.params.note_seed(record.seed if record is not None else None)
            self._set_phase(RunPhase.done)
            self.result.emit(event)
        elif isinstance(event, RunBlocked):
            self._set_phase(RunPhase.blocked)
            self.stage_blocked.emit(event.stage)
            self.blocked.emit(event.reason)
        elif isinstance(event, RunFailed):
            self._set_phase(RunPhase.failed)
            self._failure_key = (event.key, dict(event.params))
            self.failed.emit(event.message, event.detail)
        elif isinstance(event, RunCancelled):
            self._set_phase(RunPhase.cancelled)
            self.cancelled.emit()
        elif isinstance(event, RunStopped):
            has_text = self._session is not None and bool(self._session.text(Stage.interception))
            self._set_phase(RunPhase.transformed if has_text else RunPhase.cancelled)
            if not has_text:
                self.cancelled.emit()

    async def _copy(self, source: Path, target: Path) -> None:
        try:
            await asyncio.to_thread(shutil.copyfile, source, target)
        except OSError as exc:
            log.info("Save as %s failed: %s", target, exc)
            self.save_failed.emit(str(target), str(exc))
            return
        self.file_saved.emit(str(target))

    # ------------------------------------------------------------------ helpers
    def _request(self) -> RunRequest:
        settings = self._settings_vm.current
        create = self._create
        values, seed, loras = self.params.request_fields()
        return RunRequest(
            idea=create.idea,
            output_id=self._selected,
            config_id=create.selected_config_id,
            rules=create.rules,
            level=settings.safety.level,
            lang=create.language,
            ui_mode=settings.ui.ui_mode,
            seed=seed,
            loras=loras,
            values=values,
        )

    def build_request(self) -> RunRequest:
        """The request a run started now would get (what the expert panel set included)."""
        return self._request()

    def _sync_params(self, _value: object = None) -> None:
        self.params.set_output(self.selected_output, self._create.selected_config)

    def _set_phase(self, phase: RunPhase) -> None:
        if phase is not self._phase:
            self._phase = phase
            self.phase_changed.emit(phase.value)

    def _choice(self, output_id: str) -> OutputChoice | None:
        """The runnable choice of ``output_id`` (None if unknown or not runnable)."""
        return next((c for c in self._choices if c.output.id == output_id and c.runnable), None)

    def _default_output(self) -> str:
        config = self._create.selected_config
        if config is not None and self._choice(config.default_output) is not None:
            return config.default_output
        runnable = [c.output.id for c in self._choices if c.runnable]
        return runnable[0] if runnable else ""

    def _reselect(self, prefer_default: bool) -> None:
        if prefer_default or self._choice(self._selected) is None:
            chosen = self._default_output()
            if chosen != self._selected:
                self._selected = chosen
                self.selected_output_changed.emit(chosen)

    def _on_models_checked(self) -> None:
        self._on_settings_changed(self._settings_vm.current)

    def _on_settings_changed(self, settings: Settings) -> None:
        if self._models is not None and settings.roles.vision != self._vision_role:
            self._vision_role = settings.roles.vision
            self._models.recheck_vision()  # another vision model: is it installed?
        choices = output_choices(self._create.content, settings, self._models)
        if choices != self._choices:
            self._choices = choices
            self.outputs_changed.emit()
            self._reselect(prefer_default=False)

    def _on_config_changed(self, _config_id: str) -> None:
        config = self._create.selected_config
        keep = self._pinned and config is not None and config.supports(self._selected)
        self._reselect(prefer_default=not keep)
        self._sync_params()
