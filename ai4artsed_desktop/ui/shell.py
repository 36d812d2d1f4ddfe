"""build_shell: translator, view-models, pages and the main window, wired together."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from ..backends.manager import BACKENDS, BackendManager
from ..backends.ollama import OllamaClient
from ..content.schema import ContentLibrary
from ..errors import AppError, ConfigError
from ..events import BackendState
from ..lab.app_actions import AppSeatActions
from ..lab.state import LAB_FOLDER
from ..models.catalogue import Catalogue, load_catalogue
from ..models.lesson_bundle import LessonBundleState, LessonBundleStatus, check_for_settings
from ..models.service import roots_from_settings
from ..paths import AppPaths, resources_dir
from ..pipeline.runner import RunServices
from ..settings import Settings
from ..settings_store import SettingsStore
from ..system.gpu import GpuProvider
from ..tasks import TaskRegistry
from ..teacher_lock import TeacherLock, default_path
from ..training.service import TrainingService
from . import excepthook
from .i18n import Translator
from .main_window import MainWindow
from .pages.create_page import CreatePage
from .pages.history_page import HistoryPage
from .pages.lab_page import LabPage
from .pages.settings_page import SettingsPage
from .pages.training_page import TrainingPage
from .theme import apply_theme
from .viewmodels.backends_vm import BackendsViewModel
from .viewmodels.bundle_vm import BundleViewModel
from .viewmodels.create_vm import CreateViewModel
from .viewmodels.history_vm import HistoryViewModel
from .viewmodels.lab_console_vm import LabConsoleViewModel
from .viewmodels.lab_seat_vm import LabSeatViewModel, default_seat_name
from .viewmodels.lesson_vm import LessonViewModel
from .viewmodels.lock_vm import LockViewModel
from .viewmodels.models_vm import ModelsViewModel
from .viewmodels.review_log_vm import ReviewLogViewModel
from .viewmodels.run_vm import RunViewModel
from .viewmodels.settings_vm import SettingsViewModel
from .viewmodels.status_vm import StatusViewModel
from .viewmodels.training_vm import TrainingViewModel
from .viewmodels.warmup_vm import WarmupViewModel
from .wheel_guard import guard_wheel
from .widgets.bundle_box import BundleBox
from .widgets.lab_seat_panel import LabSeatPanel
from .widgets.lesson_panel import LessonPanel
from .widgets.lock_dialog import LockButton
from .widgets.models_panel import ModelsPanel
from .widgets.output_picker import OutputPicker
from .widgets.pause_overlay import PauseOverlay
from .widgets.review_log_panel import ReviewLogPanel
from .widgets.status_bar import StatusBar
from .window_geometry import FILE_NAME as GEOMETRY_FILE

log = logging.getLogger(__name__)


@dataclass
class Shell:
    """The built UI and its view-models; :meth:`shutdown` stops their background work."""

    window: MainWindow
    status: StatusViewModel
    settings_vm: SettingsViewModel
    create_vm: CreateViewModel
    translator: Translator = field(repr=False)
    backends_vm: BackendsViewModel | None = None
    services: RunServices | None = None
    training: TrainingService | None = None
    run_vm: RunViewModel | None = None
    training_vm: TrainingViewModel | None = None
    lock_vm: LockViewModel | None = None
    lesson_vm: LessonViewModel | None = None
    warmup_vm: WarmupViewModel | None = None
    history_vm: HistoryViewModel | None = None
    review_vm: ReviewLogViewModel | None = None
    pause_overlay: PauseOverlay | None = None
    models_vm: ModelsViewModel | None = None
    bundle_vm: BundleViewModel | None = None
    lab_console_vm: LabConsoleViewModel | None = None
    lab_seat_vm: LabSeatViewModel | None = None
    seat_actions: AppSeatActions | None = None

    async def shutdown(self) -> None:
        """Stop timers and tasks, in reverse order of construction.

        The backend manager itself is shut down by its owner afterwards.
        """
        for lab_vm in (self.lab_seat_vm, self.lab_console_vm):
            if lab_vm is not None:  # the lab first: its commands use the services below
                await lab_vm.shutdown()
        if self.models_vm is not None:
            await self.models_vm.shutdown()  # partial downloads stay and continue later
        if self.bundle_vm is not None:
            await self.bundle_vm.shutdown()  # a cancelled copy leaves only a .part behind
        if self.review_vm is not None:
            await self.review_vm.shutdown()
        for school_vm in (self.warmup_vm, self.lesson_vm, self.lock_vm):
            if school_vm is not None:
                await school_vm.shutdown()
        if self.history_vm is not None:
            await self.history_vm.shutdown()  # runs waiting for Undo are deleted now
        if self.training_vm is not None:
            await self.training_vm.shutdown()
        if self.run_vm is not None:
            await self.run_vm.shutdown()
        if self.backends_vm is not None:
            await self.backends_vm.shutdown()
        await self.status.shutdown()
        self.settings_vm.shutdown()


def _show_content_problems(page: QWidget, content: ContentLibrary, translator: Translator) -> None:
    """Tell the teacher (on the Settings page) about skipped files and unknown keys."""
    if not content.problems or not isinstance(page, SettingsPage):
        return
    skipped = sum(1 for p in content.problems if not p.used)
    ignored = len(content.problems) - skipped
    page.banner.show_worded(
        lambda: translator.tr("content.problems", skipped=skipped, ignored=ignored),
        "\n".join(str(p) for p in content.problems),
    )


def lesson_bundle_notice(status: LessonBundleStatus) -> AppError | None:
    """What the teacher is told at start about the lesson's model bundle (None = nothing).

    An :class:`AppError` with the notice's catalogue key, so the banner rewords it when the
    language changes; its English message and detail are for the log.
    """
    params: dict[str, object] = {"location": status.location}
    if status.state is LessonBundleState.unreachable:
        key = "bundle.lesson_unreachable"
    elif status.state is LessonBundleState.refused:
        key = "bundle.lesson_refused"
    elif status.state is LessonBundleState.installable:
        key = "bundle.lesson_installable"
        params = {"count": len(status.missing), "size": f"{status.missing_bytes / 2**30:.1f}"}
    else:
        return None
    english = f"The lesson's model bundle {status.location}: {status.state.value}."
    return AppError(english, detail=status.detail, key=key, params=params)


def _check_lesson_bundle(window: MainWindow, settings: Settings, tasks: TaskRegistry) -> None:
    """Compare the lesson's model bundle with this seat's files in a worker thread.

    A problem, or files to install, show in the banner; nothing here can stop the start.
    """
    if not settings.lesson.bundle_location.strip():
        return

    async def check() -> None:
        status = await asyncio.to_thread(check_for_settings, settings)
        log.info(
            "Lesson model bundle %s: %s %s", status.location, status.state.value, status.detail
        )
        notice = lesson_bundle_notice(status)
        if notice is not None:
            window.banner.show_app_error(notice)

    tasks.spawn(check(), name="lesson-bundle-check")


def build_shell(
    *,
    paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    gpu: GpuProvider,
    tasks: TaskRegistry,
    demo: bool = False,
    backends: Sequence[str] = BACKENDS,
    manager: BackendManager | None = None,
    demo_forced: bool | None = None,
    services: RunServices | None = None,
    training: TrainingService | None = None,
    lock: TeacherLock | None = None,
) -> Shell:
    """Build the main window (not shown yet); the qasync loop must be running.

    With a ``manager`` the Settings page gets live backend cards, the status lights follow
    the real states, and the demo badge follows ``manager.demo`` (``demo`` and ``backends``
    are then ignored). ``services`` (the run pipeline) and ``training`` (the LoRA trainer)
    are None where they could not be set up; the pages then explain that. ``demo_forced``
    says that ``--demo`` was given on the command line
    (demo backends whatever the setting says); None infers it from the manager and settings.
    ``lock`` is the teacher lock (default: the lock file in the config folder).
    """
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app)
    translator = Translator(store.current.ui.language)
    excepthook.use_translator(translator)
    settings_vm = SettingsViewModel(store, translator)
    settings_vm.language_changed.connect(translator.set_language)
    create_vm = CreateViewModel(content, settings_vm)
    run_vm = RunViewModel(create_vm, settings_vm, services, tasks, default_lora_dir=paths.loras_dir)
    history_vm = HistoryViewModel(services, content, lambda: translator.language)
    backends_vm: BackendsViewModel | None = None
    if manager is not None:
        demo, backends = manager.demo, BACKENDS
    status = StatusViewModel(gpu, tasks, backends)
    if manager is not None:
        if demo_forced is None:
            demo_forced = manager.demo and not store.current.demo_mode
        backends_vm = BackendsViewModel(
            manager,
            settings_vm,
            tasks,
            status=status,
            demo_forced=demo_forced,
            translator=translator,
        )
    icons = resources_dir() / "icons"
    training_vm = (
        TrainingViewModel(
            training,
            lambda: settings_vm.current,
            paths.training_dir,
            content.presets,
            tasks,
            vram_total_gb=lambda: status.gpu.total_vram_gb if status.gpu else None,
            content=content,
            user_content_dir=paths.user_content_dir,
        )
        if training is not None
        else None
    )
    if training is not None:
        training.set_demo(demo)
    if training_vm is not None:
        settings_vm.settings_changed.connect(lambda _new: training_vm.settings_updated())
        if backends_vm is not None and training is not None:

            def demo_changed(now: bool) -> None:
                training.set_demo(now)
                training_vm.settings_updated()

            backends_vm.demo_changed.connect(demo_changed)
    training_page = TrainingPage(status, translator, training_vm, log_dir=paths.log_dir)
    lock_vm = LockViewModel(lock or TeacherLock(default_path(paths.config_dir)), translator)
    lesson_vm = LessonViewModel(settings_vm, content, translator)
    warmup_vm = WarmupViewModel(services, content, translator)
    lesson_panel = LessonPanel(lesson_vm, lock_vm, warmup_vm, translator)
    review_vm = ReviewLogViewModel(services.review_log if services else None, tasks)
    review_vm.watch_settings(settings_vm.current)  # from now on a switch is logged
    settings_vm.settings_changed.connect(review_vm.watch_settings)
    models_vm = _models_vm(content, settings_vm, tasks, translator, services, manager)
    bundle_vm = BundleViewModel(
        models_vm.catalogue,
        paths.config_dir,
        lambda: settings_vm.current,
        lambda: roots_from_settings(settings_vm.current),
        tasks,
        translator=translator,
        on_files_changed=models_vm.refresh,
    )
    lab_dir = paths.data_dir / LAB_FOLDER
    actions = AppSeatActions(
        seat_name=default_seat_name(),
        store=store,
        content=content,
        services=services,
        backend_states=(manager.states if manager is not None else lambda: status.backend_states),
        gpu=lambda: status.gpu,
    )
    seat_vm, seat_problem = _open_seat(lab_dir, actions, tasks, translator)
    console_vm = LabConsoleViewModel(lab_dir, lambda: settings_vm.current, tasks, translator)
    history_page = HistoryPage(
        translator, history_vm, kids=lambda: settings_vm.current.ui.ui_mode == "kids"
    )
    settings_vm.settings_changed.connect(lambda _new: history_page.mode_changed())
    pages: dict[str, QWidget] = {
        "create": CreatePage(
            create_vm, translator, icons / "configs", icons / "app" / "rule.svg", run_vm=run_vm
        ),
        "history": history_page,
        "training": training_page,
        "settings": SettingsPage(
            settings_vm,
            translator,
            paths.log_dir,
            backends_vm,
            lesson=lesson_panel,
            review=ReviewLogPanel(review_vm, translator),
            models=ModelsPanel(models_vm, translator, bundle=BundleBox(bundle_vm, translator)),
            lab=LabSeatPanel(seat_vm, translator) if seat_vm is not None else None,
        ),
        "lab": LabPage(console_vm, translator, paths.log_dir),
    }
    window = MainWindow(
        translator=translator,
        settings_vm=settings_vm,
        pages=pages,
        status_bar=StatusBar(status, translator),
        log_dir=paths.log_dir,
        icons_dir=icons / "app",
        demo=demo,
        lock_button=LockButton(lock_vm, translator),
        geometry_file=paths.config_dir / GEOMETRY_FILE,
    )
    if store.load_problems:
        window.show_settings_notice(store.load_problems, store.damaged_copy)
    _show_content_problems(pages["settings"], content, translator)
    if not demo:
        _check_lesson_bundle(window, settings_vm.current, tasks)
    window.set_quit_guard(lambda: _work_running(translator, run_vm, training_vm))
    translator.setParent(window)
    guard_wheel(window)  # no value changes by a wheel meant to scroll the page
    pause_overlay = PauseOverlay(window, translator)  # the lab console's "eyes on me"
    _wire_seat(actions, pause_overlay, run_vm, warmup_vm, tasks)
    _start_seat(window, actions, seat_vm, seat_problem)
    _wire_school(window, settings_vm, lock_vm, lesson_vm, services)
    training_page.settings_requested.connect(lambda: window.show_page("settings"))
    run_vm.busy_changed.connect(history_vm.on_create_run_ended)  # a finished run shows up
    history_vm.reopen_requested.connect(run_vm.open_record)
    history_vm.reopen_requested.connect(lambda _record: window.show_page("create"))
    history_vm.refresh()
    if backends_vm is not None:
        backends_vm.demo_changed.connect(window.set_demo)
        backends_vm.error_raised.connect(window.show_app_error_outside_settings)
    status.start()
    return Shell(
        window,
        status,
        settings_vm,
        create_vm,
        translator,
        backends_vm,
        services,
        training,
        run_vm,
        training_vm,
        history_vm=history_vm,
        lock_vm=lock_vm,
        lesson_vm=lesson_vm,
        warmup_vm=warmup_vm,
        review_vm=review_vm,
        pause_overlay=pause_overlay,
        lab_console_vm=console_vm,
        lab_seat_vm=seat_vm,
        seat_actions=actions,
        models_vm=models_vm,
        bundle_vm=bundle_vm,
    )


class _ManagerOllama:
    """Ollama for the Models tab: listed only while it runs, started by a "Get" click."""

    def __init__(self, manager: BackendManager) -> None:
        self._manager = manager

    def ready(self) -> bool:
        return self._manager.states().get("ollama") is BackendState.ready

    async def client(self) -> OllamaClient:
        return await self._manager.ollama()


def _models_vm(
    content: ContentLibrary,
    settings_vm: SettingsViewModel,
    tasks: TaskRegistry,
    translator: Translator,
    services: RunServices | None,
    manager: BackendManager | None,
) -> ModelsViewModel:
    """The Models tab's view-model; a broken catalogue leaves the tab saying so."""
    try:
        catalogue: Catalogue | None = load_catalogue()
    except AppError as exc:
        log.warning("Model catalogue not available: %s", exc)
        catalogue = None
    board = services.models if services is not None else None
    return ModelsViewModel(
        catalogue,
        content,
        lambda: roots_from_settings(settings_vm.current),
        tasks,
        translator=translator,
        on_files_changed=(lambda: board.recheck()) if board is not None else None,
        ollama=_ManagerOllama(manager) if manager is not None else None,
        roles=lambda: dataclasses.asdict(settings_vm.current.roles),
    )


def _open_seat(
    lab_dir: Path, actions: AppSeatActions, tasks: TaskRegistry, translator: Translator
) -> tuple[LabSeatViewModel | None, ConfigError | None]:
    """This PC's seat; None and the reason when its pairing file is broken (left as is)."""
    try:
        return LabSeatViewModel(lab_dir, actions, tasks, translator), None
    except ConfigError as exc:
        log.error("Lab seat unavailable: %s (%s)", exc.user_message, exc.detail)
        return None, exc


def _start_seat(
    window: MainWindow,
    actions: AppSeatActions,
    seat_vm: LabSeatViewModel | None,
    problem: ConfigError | None,
) -> None:
    """Connect a paired seat to its console in the background; say why there is no seat."""
    if seat_vm is not None:

        def named(_address: str = "") -> None:
            actions.seat_name = seat_vm.seat_name

        seat_vm.paired_with.connect(named)
        if seat_vm.paired:
            named()
            seat_vm.start()
    if problem is not None:
        window.banner.show_app_error(problem)  # in the UI language, follows a switch


def _wire_seat(
    actions: AppSeatActions,
    overlay: PauseOverlay,
    run_vm: RunViewModel,
    warmup_vm: WarmupViewModel,
    tasks: TaskRegistry,
) -> None:
    """What only the window knows, for the console: the stage, the pause screen, warm."""
    stage = [""]

    def started(step: object, _model: str) -> None:
        stage[0] = str(getattr(step, "value", step))

    def busy(now: bool) -> None:
        if not now:
            stage[0] = ""
            tasks.spawn(actions.refresh(), name="lab-seat-refresh")  # a block shows at once

    def pause(paused: bool, message: str) -> None:
        if paused:
            overlay.pause(message)
        else:
            overlay.resume()

    actions.set_hooks(stage=lambda: stage[0], show_pause=pause)
    run_vm.stage_started.connect(started)
    run_vm.busy_changed.connect(busy)
    warmup_vm.warm_changed.connect(lambda warm: actions.set_warm(bool(warm)))
    tasks.spawn(actions.refresh(), name="lab-seat-refresh")


def _work_running(
    translator: Translator, run_vm: RunViewModel, training_vm: TrainingViewModel | None
) -> str:
    """What quitting now would stop ("" when nothing runs), for the "really quit?" question."""
    if training_vm is not None and training_vm.active:
        return translator.tr("house.quit_training")
    if run_vm.busy:
        return translator.tr("house.quit_run")
    return ""


def _wire_school(
    window: MainWindow,
    settings_vm: SettingsViewModel,
    lock_vm: LockViewModel,
    lesson_vm: LessonViewModel,
    services: RunServices | None,
) -> None:
    """Teacher lock -> hidden pages and the safety gate; lesson profile -> header and pickers."""
    window.set_locked(lock_vm.locked)
    lock_vm.locked_changed.connect(window.set_locked)
    if services is not None:
        gate = services.gate

        def research(confirmed: bool) -> None:
            if confirmed:
                gate.confirm_research()
            else:
                gate.research_confirmed = False

        lock_vm.research_changed.connect(research)
    window.set_profile_name(lesson_vm.profile_name)
    lesson_vm.profile_name_changed.connect(window.set_profile_name)
    run_panel = getattr(window.pages["create"], "run_panel", None)
    picker = getattr(run_panel, "outputs", None)
    if isinstance(picker, OutputPicker):
        picker.set_allowed(settings_vm.current.lesson.allowed_outputs)
        settings_vm.settings_changed.connect(
            lambda new: picker.set_allowed(new.lesson.allowed_outputs)
        )
