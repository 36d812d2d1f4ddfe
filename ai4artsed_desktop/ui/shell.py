"""build_shell: translator, view-models, pages and the main window, wired together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtWidgets import QApplication, QWidget

from ..backends.manager import BACKENDS, BackendManager
from ..content.schema import ContentLibrary
from ..paths import AppPaths, resources_dir
from ..pipeline.runner import RunServices
from ..settings_store import SettingsStore
from ..system.gpu import GpuProvider
from ..tasks import TaskRegistry
from ..training.service import TrainingService
from . import excepthook
from .i18n import Translator
from .main_window import MainWindow
from .pages.create_page import CreatePage
from .pages.history_page import HistoryPage
from .pages.settings_page import SettingsPage
from .pages.training_page import TrainingPage
from .theme import apply_theme
from .viewmodels.backends_vm import BackendsViewModel
from .viewmodels.create_vm import CreateViewModel
from .viewmodels.run_vm import RunViewModel
from .viewmodels.settings_vm import SettingsViewModel
from .viewmodels.status_vm import StatusViewModel
from .viewmodels.training_vm import TrainingViewModel
from .widgets.status_bar import StatusBar


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

    async def shutdown(self) -> None:
        """Stop timers and tasks, in reverse order of construction.

        The backend manager itself is shut down by its owner afterwards.
        """
        if self.training_vm is not None:
            await self.training_vm.shutdown()
        if self.run_vm is not None:
            await self.run_vm.shutdown()
        if self.backends_vm is not None:
            await self.backends_vm.shutdown()
        await self.status.shutdown()
        self.settings_vm.shutdown()


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
) -> Shell:
    """Build the main window (not shown yet); the qasync loop must be running.

    With a ``manager`` the Settings page gets live backend cards, the status lights follow
    the real states, and the demo badge follows ``manager.demo`` (``demo`` and ``backends``
    are then ignored). ``services`` (the run pipeline) and ``training`` (the LoRA trainer)
    are None where they could not be set up; the pages then explain that. ``demo_forced``
    says that ``--demo`` was given on the command line
    (demo backends whatever the setting says); None infers it from the manager and settings.
    """
    app = QApplication.instance()
    if isinstance(app, QApplication):
        apply_theme(app)
    translator = Translator(store.current.ui.language)
    excepthook.use_translator(translator)
    settings_vm = SettingsViewModel(store, translator)
    settings_vm.language_changed.connect(translator.set_language)
    create_vm = CreateViewModel(content, settings_vm)
    run_vm = RunViewModel(create_vm, settings_vm, services, tasks)
    backends_vm: BackendsViewModel | None = None
    if manager is not None:
        demo, backends = manager.demo, BACKENDS
    status = StatusViewModel(gpu, tasks, backends)
    if manager is not None:
        if demo_forced is None:
            demo_forced = manager.demo and not store.current.demo_mode
        backends_vm = BackendsViewModel(
            manager, settings_vm, tasks, status=status, demo_forced=demo_forced
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
    if training_vm is not None:
        settings_vm.settings_changed.connect(lambda _new: training_vm.settings_updated())
    training_page = TrainingPage(status, translator, training_vm, log_dir=paths.log_dir)
    pages: dict[str, QWidget] = {
        "create": CreatePage(
            create_vm, translator, icons / "configs", icons / "app" / "rule.svg", run_vm=run_vm
        ),
        "history": HistoryPage(translator),
        "training": training_page,
        "settings": SettingsPage(settings_vm, translator, paths.log_dir, backends_vm),
    }
    window = MainWindow(
        translator=translator,
        settings_vm=settings_vm,
        pages=pages,
        status_bar=StatusBar(status, translator),
        log_dir=paths.log_dir,
        icons_dir=icons / "app",
        demo=demo,
    )
    translator.setParent(window)
    training_page.settings_requested.connect(lambda: window.show_page("settings"))
    if backends_vm is not None:
        backends_vm.demo_changed.connect(window.set_demo)
        backends_vm.error_occurred.connect(window.show_error_outside_settings)
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
    )
