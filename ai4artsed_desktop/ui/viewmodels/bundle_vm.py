"""BundleViewModel: the offline lab bundle's export and import for the Models tab.

The work (:mod:`ai4artsed_desktop.models.bundle`) runs in a worker thread; its progress is
handed to the Qt loop with ``call_soon_threadsafe``. A bundle signed by a key this seat
does not trust yet ends in :attr:`BundleViewModel.untrusted`: the tab shows the
fingerprint, and only a confirmed fingerprint is used (and remembered) for the next try.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...errors import AppError, UserCancelled
from ...models.bundle import (
    KEY_FILE,
    TRUST_FILE,
    BundleProgress,
    BundleReport,
    BundleUntrusted,
    TrustStore,
    export_bundle,
    fingerprint,
    import_bundle,
    load_or_create_key,
    normalize_fingerprint,
)
from ...models.catalogue import Catalogue, PlannedFile, planned_files
from ...models.service import ModelRoots
from ...settings import Settings
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..i18n import Translator, error_text

log = logging.getLogger(__name__)


class BundleViewModel(QObject):
    """Export this PC's model files to a folder, or import a bundle from one.

    Signals:
        busy_changed(bool): an export or import started or ended.
        progress(object): a :class:`BundleProgress` (at most one per percent).
        finished(str, object): ``("export" | "import", BundleReport)``.
        untrusted(str, str): the bundle in a folder (first) is signed by a key with this
            fingerprint (second) that the seat does not trust yet; nothing was copied.
        failed(str, str): the bundle was refused or could not be written: message (in the UI
            language with a translator), detail.
        error_raised(AppError): the same error itself, right after ``failed`` (the box
            rewords it when the language changes).
        cancelled(): Cancel stopped it; no half-copied file is left under a final name.
    """

    busy_changed = Signal(bool)
    progress = Signal(object)
    finished = Signal(str, object)
    untrusted = Signal(str, str)
    failed = Signal(str, str)
    error_raised = Signal(object)
    cancelled = Signal()

    def __init__(
        self,
        catalogue: Catalogue | None,
        config_dir: Path,
        settings: Callable[[], Settings],
        roots: Callable[[], ModelRoots],
        tasks: TaskRegistry | None = None,
        *,
        translator: Translator | None = None,
        on_files_changed: Callable[[], object] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalogue = catalogue
        self._config_dir = config_dir
        self._settings = settings
        self._roots = roots
        self._on_files_changed = on_files_changed
        self._tr = translator
        self._action = AsyncAction("bundle", tasks, self, translator=translator)
        self._action.busy_changed.connect(self.busy_changed)
        self._action.failed.connect(self.failed)
        self._action.error_raised.connect(self.error_raised)
        self._cancel = threading.Event()
        self._percent = -1

    # ------------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        """False without a catalogue (nothing could be placed)."""
        return self._catalogue is not None

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def lesson_location(self) -> str:
        """The bundle folder the applied lesson profile names ("" = none)."""
        return self._settings().lesson.bundle_location

    def key_fingerprint(self) -> str:
        """This PC's signing key fingerprint, "" while it has none (the first export makes it)."""
        path = self._config_dir / KEY_FILE
        if not path.is_file():
            return ""
        try:
            return fingerprint(load_or_create_key(path).public_key())
        except AppError as exc:
            log.warning("Bundle signing key unusable: %s", exc)
            return ""

    def _folders(self) -> dict[str, Path]:
        roots = self._roots()
        return {b: p for b in ("comfyui", "swarmui") if (p := roots.get(b)) is not None}

    def _planned(self) -> list[PlannedFile]:
        assert self._catalogue is not None
        folders = self._folders()
        if not folders:
            raise AppError(
                "No ComfyUI or SwarmUI folder is set on this computer (Settings, Backends); "
                "the model files would have nowhere to go.",
                key="error.bundle_no_folder",
            )
        return planned_files(self._catalogue, folders)

    # ------------------------------------------------------------------ progress
    def _step(self, loop: asyncio.AbstractEventLoop, step: BundleProgress) -> None:
        percent = int(step.fraction * 100)
        if percent != self._percent:  # worker thread: hand over to the Qt loop
            self._percent = percent
            loop.call_soon_threadsafe(self.progress.emit, step)

    def _begin(self) -> Callable[[BundleProgress], None]:
        self._percent = -1
        loop = asyncio.get_running_loop()
        return lambda step: self._step(loop, step)

    def _start(self, work: Coroutine[Any, Any, BundleReport | None], kind: str, **kw: Any) -> bool:
        if self._action.busy:
            work.close()
            return False
        self._cancel = threading.Event()  # before the start: a quick Cancel is not lost
        return self._action.start(work, done=lambda report: self._done(kind, report), **kw)

    def _done(self, kind: str, report: BundleReport | None) -> None:
        if report is None:
            self.cancelled.emit()
            return
        for problem in report.problems:  # the box names them; the reasons go to the log
            log.warning(
                "%s of %s: %s (%s)", kind, problem.name, problem.outcome.value, problem.detail
            )
        if kind == "import" and self._on_files_changed is not None:
            self._on_files_changed()
        self.finished.emit(kind, report)

    # ------------------------------------------------------------------ actions
    def export(self, folder: Path) -> bool:
        """Copy every model file this PC has into ``folder`` (signed); False while busy."""
        if self._catalogue is None:
            return False
        return self._start(self._export(folder), "export")

    async def _export(self, folder: Path) -> BundleReport | None:
        assert self._catalogue is not None
        step = self._begin()
        planned = [p for p in self._planned() if p.path.is_file()]
        if not planned:
            raise AppError(
                "None of the catalogue's model files is in this computer's ComfyUI or SwarmUI "
                "folder; there is nothing to export.",
                key="error.bundle_nothing",
            )
        key = await asyncio.to_thread(load_or_create_key, self._config_dir / KEY_FILE)
        try:
            return await asyncio.to_thread(
                export_bundle,
                planned,
                self._folders(),
                folder,
                key,
                catalogue=self._catalogue,
                progress=step,
                cancel=self._cancel,
            )
        except UserCancelled:
            return None

    def import_from(self, folder: Path, *, confirmed: str = "") -> bool:
        """Verify the bundle in ``folder`` and install its files; False while busy.

        ``confirmed``: a fingerprint the teacher has just compared and confirmed.
        """
        if self._catalogue is None:
            return False
        return self._start(
            self._import(folder, normalize_fingerprint(confirmed)),
            "import",
            error=lambda exc: self._import_refused(folder, exc),
        )

    async def _import(self, folder: Path, confirmed: str) -> BundleReport | None:
        step = self._begin()
        store = TrustStore(self._config_dir / TRUST_FILE)
        lesson_key = normalize_fingerprint(self._settings().lesson.bundle_key)

        def trusted(fpr: str) -> bool:
            return fpr in (confirmed, lesson_key) or store.trusts(fpr)

        planned = self._planned()
        try:
            report = await asyncio.to_thread(
                import_bundle, folder, planned, trusted=trusted, progress=step, cancel=self._cancel
            )
        except UserCancelled:
            return None
        if confirmed and report.fingerprint == confirmed:
            try:
                await asyncio.to_thread(store.add, confirmed)
            except OSError as exc:
                log.warning("The confirmed bundle key could not be remembered: %s", exc)
        return report

    def _import_refused(self, folder: Path, exc: AppError) -> None:
        if isinstance(exc, BundleUntrusted):
            self.untrusted.emit(str(folder), exc.fingerprint)
        else:
            message = exc.user_message if self._tr is None else error_text(self._tr, exc)
            self.failed.emit(message, exc.detail)
            self.error_raised.emit(exc)

    def cancel(self) -> None:
        """Stop the running export or import; nothing half-copied stays under its name."""
        self._cancel.set()

    async def shutdown(self) -> None:
        """Stop the work (the worker thread ends at its next chunk) and wait for it."""
        self._cancel.set()
        await self._action.shutdown()
