"""ModelsViewModel: each output's model files for the Models tab (state, get, pause, cancel).

The states come from :mod:`ai4artsed_desktop.models.service` (the same on-disk check Create
and doctor use); downloads run through :class:`~ai4artsed_desktop.models.download.Downloader`,
one output at a time per output, several outputs side by side. The tab sits on the Settings
page, which the teacher lock hides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from ...content.schema import ContentLibrary, Text
from ...errors import AppError, UserCancelled
from ...models.catalogue import Catalogue
from ...models.download import Downloader, default_token
from ...models.ollama_pull import Puller, pull_model
from ...models.progress import Phase, TransferControl, TransferProgress
from ...models.service import (
    ModelRoots,
    OutputModelsStatus,
    OutputState,
    output_status,
    requests_for,
)
from ...models.verify import FileState, verify_path
from ...tasks import TaskRegistry
from ..async_action import AsyncActions
from ..i18n import Translator, error_text

log = logging.getLogger(__name__)

REFRESH = "refresh"


@dataclass(frozen=True)
class FileRow:
    """One file of an output as the tab shows it."""

    name: str
    size: int
    state: str  # a FileState value
    verified: bool  # the catalogue's size and hash are the publisher's own
    licence: str
    licence_url: str
    licence_note: Text
    accept: bool  # the licence must be confirmed before the download
    gated: bool  # the publisher wants a sign-in and a token
    hashed: bool = False  # a full check compared every byte


@dataclass(frozen=True)
class OutputRow:
    """One output on the tab (or, with ``ollama``, one text model Ollama pulls)."""

    output_id: str
    name: Text
    state: str  # an OutputState value, or "unknown" (Ollama not running)
    reason: str
    folder: str
    files: tuple[FileRow, ...]
    to_get: int  # bytes one click downloads
    needs_acceptance: bool
    ollama: bool = False
    roles: tuple[str, ...] = ()  # the model roles an Ollama model fills

    @property
    def licences(self) -> list[FileRow]:
        """The files to get whose licence must be confirmed, one per licence."""
        seen: dict[str, FileRow] = {}
        for row in self.files:
            if row.accept and row.state != FileState.ok.value:
                seen.setdefault(row.licence, row)
        return list(seen.values())


def _row(status: OutputModelsStatus, hashed: dict[str, str]) -> OutputRow:
    files = []
    for report in status.files:
        file = report.file
        state = hashed.get(file.name, report.state.value)
        files.append(
            FileRow(
                name=file.name,
                size=file.approx_size,
                state=state,
                verified=file.verified,
                licence=file.licence.name,
                licence_url=file.licence.url,
                licence_note=file.licence.note,
                accept=file.licence.accept,
                gated=file.licence.gated,
                hashed=file.name in hashed,
            )
        )
    return OutputRow(
        output_id=status.output.id,
        name=status.output.name,
        state=status.state.value,
        reason=status.reason,
        folder=str(status.folder or ""),
        files=tuple(files),
        to_get=sum(r.file.approx_size for r in status.to_get),
        needs_acceptance=status.needs_acceptance,
    )


#: The row id prefix of Ollama models.
OLLAMA = "ollama/"


class OllamaAccess(Protocol):
    """What the tab needs of Ollama: whether it runs, and a client (starting it on a click)."""

    def ready(self) -> bool:
        """True while Ollama is ready (the tab never starts it just to look)."""
        ...

    async def client(self) -> OllamaLike:
        """A ready client; may start Ollama."""
        ...


class OllamaLike(Puller, Protocol):
    """An Ollama client as far as the tab uses it."""

    async def tags(self) -> list[Any]:
        """The installed models (objects with a ``name``)."""
        ...


def _ollama_row(
    catalogue: Catalogue, name: str, roles: tuple[str, ...], installed: set[str] | None
) -> OutputRow:
    entry = catalogue.ollama.get(name)
    state = "unknown" if installed is None else ("ok" if name in installed else "missing")
    licence = entry.licence if entry is not None else None
    file = FileRow(
        name=name,
        size=entry.approx_size if entry is not None else 0,
        state=state,
        verified=False,
        licence=licence.name if licence else "",
        licence_url=licence.url if licence else "",
        licence_note=licence.note if licence else Text("", ""),
        accept=bool(licence and licence.accept),
        gated=False,
    )
    return OutputRow(
        output_id=OLLAMA + name,
        name=Text(name, name),
        state=state,
        reason="",
        folder="",
        files=(file,),
        to_get=file.size if state != "ok" else 0,
        needs_acceptance=file.accept and state != "ok",
        ollama=True,
        roles=roles,
    )


def _installed(tags: list[Any]) -> set[str]:
    names = set()
    for model in tags:
        name = str(getattr(model, "name", ""))
        names.add(name)
        if name.endswith(":latest"):
            names.add(name.removesuffix(":latest"))
    return names


class ModelsViewModel(QObject):
    """The Models tab's state and actions.

    Signals:
        rows_changed(): :attr:`rows` changed.
        progress(str, object): an output's download progressed (``TransferProgress``).
        busy_changed(str, bool): work for an output (its id) started or ended.
        failed(str, str): a download or check failed: message (in the UI language with a
            translator) and detail.
        error_raised(AppError): the same error itself, right after ``failed`` (the tab
            rewords it when the language changes).
        downloaded(str): every file of an output arrived (its id).
    """

    rows_changed = Signal()
    progress = Signal(str, object)
    busy_changed = Signal(str, bool)
    failed = Signal(str, str)
    error_raised = Signal(object)
    downloaded = Signal(str)

    def __init__(
        self,
        catalogue: Catalogue | None,
        content: ContentLibrary,
        roots: Callable[[], ModelRoots],
        tasks: TaskRegistry | None = None,
        *,
        translator: Translator | None = None,
        token: Callable[[], str | None] = default_token,
        on_files_changed: Callable[[], object] | None = None,
        downloader: type[Downloader] = Downloader,
        ollama: OllamaAccess | None = None,
        roles: Callable[[], dict[str, str]] = dict,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalogue = catalogue
        self._content = content
        self._roots = roots
        self._token = token
        self._on_files_changed = on_files_changed
        self._downloader = downloader
        self._ollama = ollama
        self._roles = roles
        self._tr = translator
        self._ollama_rows: list[OutputRow] = []
        self._actions = AsyncActions("models", tasks, self, translator=translator)
        self._actions.busy_changed.connect(self.busy_changed)
        self._actions.failed.connect(self.failed)
        self._actions.error_raised.connect(self.error_raised)
        self._controls: dict[str, TransferControl] = {}
        self._statuses: dict[str, OutputModelsStatus] = {}
        self._hashed: dict[str, dict[str, str]] = {}
        self.rows: list[OutputRow] = []
        self.last_progress: dict[str, TransferProgress] = {}

    @property
    def catalogue(self) -> Catalogue | None:
        """The model catalogue (None: it could not be read)."""
        return self._catalogue

    @property
    def available(self) -> bool:
        """False when the catalogue could not be read (the tab says so)."""
        return self._catalogue is not None

    @property
    def can_pull(self) -> bool:
        """True when Ollama models can be pulled from the tab (a backend manager is there)."""
        return self._ollama is not None

    def busy(self, output_id: str) -> bool:
        """True while ``output_id`` downloads or is checked."""
        return self._actions.busy(output_id)

    def paused(self, output_id: str) -> bool:
        """True while the download of ``output_id`` is paused."""
        control = self._controls.get(output_id)
        return control is not None and control.paused

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Check every output's files again (quick check: sizes and headers)."""
        if self._catalogue is not None:
            self._actions.start(REFRESH, self._refresh(), replace=True)

    async def _refresh(self) -> None:
        catalogue = self._catalogue
        assert catalogue is not None
        roots = self._roots()
        statuses = {}
        for output in self._content.sorted_outputs():
            if output.enabled and output.id in catalogue.outputs:
                statuses[output.id] = await output_status(catalogue, output, roots)
        self._statuses = statuses
        self._ollama_rows = await self._ollama_state(catalogue)
        self._publish()

    async def _ollama_state(self, catalogue: Catalogue) -> list[OutputRow]:
        """The Ollama models the model roles name, installed or not (unknown while off)."""
        wanted: dict[str, list[str]] = {}
        for role, value in self._roles().items():
            provider, _, name = value.strip().partition("/")
            if provider.strip().lower() == "ollama" and name.strip():
                wanted.setdefault(name.strip(), []).append(role)
        installed: set[str] | None = None
        if wanted and self._ollama is not None and self._ollama.ready():
            try:
                installed = _installed(await (await self._ollama.client()).tags())
            except AppError as exc:
                log.info("Ollama models not listed: %s", exc)
        return [_ollama_row(catalogue, n, tuple(r), installed) for n, r in wanted.items()]

    def _publish(self) -> None:
        self.rows = [_row(s, self._hashed.get(i, {})) for i, s in self._statuses.items()]
        self.rows += self._ollama_rows
        self.rows_changed.emit()

    def row(self, output_id: str) -> OutputRow | None:
        """The row of ``output_id``."""
        return next((r for r in self.rows if r.output_id == output_id), None)

    # ------------------------------------------------------------------ downloads
    def get(self, output_id: str, *, accepted: bool = False) -> bool:
        """Download the missing or damaged files of ``output_id``.

        False (nothing starts) while its licence is not ``accepted`` where it must be, while
        it is busy, or when there is nothing to get.
        """
        if output_id.startswith(OLLAMA):
            return self._pull(output_id, accepted=accepted)
        status = self._statuses.get(output_id)
        if status is None or not status.to_get or self._actions.busy(output_id):
            return False
        if status.needs_acceptance and not accepted:
            return False
        control = TransferControl()
        self._controls[output_id] = control
        return self._actions.start(
            output_id,
            self._download(output_id, status, control),
            done=lambda _r: self._ended(output_id),
            error=lambda exc: self._download_failed(output_id, exc),
            cancelled=lambda: self._ended(output_id),
        )

    async def _download(
        self, output_id: str, status: OutputModelsStatus, control: TransferControl
    ) -> None:
        def tell(event: TransferProgress) -> None:
            self.last_progress[output_id] = event
            self.progress.emit(output_id, event)

        try:
            for request in requests_for(status):
                downloader = self._downloader(
                    request, token=self._token(), control=control, listener=tell
                )
                await downloader.run()
            self.downloaded.emit(output_id)
        except UserCancelled:
            log.info("Download of %s cancelled", output_id)

    def _pull(self, row_id: str, *, accepted: bool) -> bool:
        row = self.row(row_id)
        if row is None or row.state == "ok" or self._ollama is None or self._actions.busy(row_id):
            return False
        if row.needs_acceptance and not accepted:
            return False
        control = TransferControl()
        self._controls[row_id] = control
        return self._actions.start(
            row_id,
            self._pull_work(row_id, row.files[0].name, control),
            done=lambda _r: self._ended(row_id),
            error=lambda exc: self._download_failed(row_id, exc),
            cancelled=lambda: self._ended(row_id),
        )

    async def _pull_work(self, row_id: str, name: str, control: TransferControl) -> None:
        assert self._ollama is not None

        def tell(event: TransferProgress) -> None:
            self.last_progress[row_id] = event
            self.progress.emit(row_id, event)

        try:
            client = await self._ollama.client()
            await pull_model(client, name, control=control, listener=tell)
            self.downloaded.emit(row_id)
        except UserCancelled:
            log.info("Pull of %s cancelled", name)

    def _ended(self, output_id: str) -> None:
        self._controls.pop(output_id, None)
        self.last_progress.pop(output_id, None)
        self._hashed.pop(output_id, None)
        if self._on_files_changed is not None:
            self._on_files_changed()
        self.refresh()

    def _download_failed(self, output_id: str, exc: AppError) -> None:
        message = exc.user_message if self._tr is None else error_text(self._tr, exc)
        self.failed.emit(message, exc.detail)
        self.error_raised.emit(exc)
        self._ended(output_id)

    def pause(self, output_id: str) -> None:
        """Pause the download of ``output_id`` (the connection closes; bytes are kept)."""
        control = self._controls.get(output_id)
        if control is not None:
            control.pause()
            self.progress.emit(output_id, self._paused_event(output_id))

    def _paused_event(self, output_id: str) -> TransferProgress:
        last = self.last_progress.get(output_id)
        if last is None:
            return TransferProgress(output_id, Phase.paused, 0, None)
        return TransferProgress(last.name, Phase.paused, last.done, last.total)

    def resume(self, output_id: str) -> None:
        """Continue a paused download."""
        control = self._controls.get(output_id)
        if control is not None:
            control.resume()

    def cancel(self, output_id: str) -> None:
        """Stop the download of ``output_id`` and delete its partial file."""
        control = self._controls.get(output_id)
        if control is not None:
            control.cancel()

    # ------------------------------------------------------------------ full check
    def check_fully(self, output_id: str) -> bool:
        """Hash every present file of ``output_id`` against its published SHA-256."""
        status = self._statuses.get(output_id)
        if status is None or self._actions.busy(output_id):
            return False  # Ollama models have no full check here: Ollama checks digests
        return self._actions.start(
            output_id, self._check(output_id, status), done=lambda _r: self._publish()
        )

    async def _check(self, output_id: str, status: OutputModelsStatus) -> None:
        found: dict[str, str] = {}
        for report in status.files:
            if report.state is not FileState.ok or report.path is None:
                continue
            full = await asyncio.to_thread(verify_path, report.file, report.path, full=True)
            found[report.file.name] = full.state.value
            log.info("Full check of %s: %s", report.path, full.detail)
        self._hashed[output_id] = found

    async def shutdown(self) -> None:
        """Stop downloads (their parts stay and continue next time) and checks."""
        await self._actions.shutdown()


def state_counts(rows: list[OutputRow]) -> dict[str, int]:
    """How many outputs are in each state (for the tab's summary line)."""
    counts = {state.value: 0 for state in OutputState}
    for row in rows:
        if not row.ollama:
            counts[row.state] += 1
    return counts
