"""What the Models page and ``models list|get|verify`` share: folders, per-output state, plans.

An output's state comes from the same check Create and doctor use
(:func:`~ai4artsed_desktop.pipeline.availability.resolve_models` over the models folders on
disk, every variant and layout accepted, each chosen file's size and header checked); the
catalogue adds what one click would download and its licence.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..backends import launchers
from ..content.schema import OutputConfig
from ..pipeline.availability import FolderListing, ModelState, resolve_models
from ..pipeline.model_files import LocalModels
from ..settings import Settings
from .catalogue import Catalogue, ModelFile, OutputModels
from .download import DownloadRequest
from .verify import FileReport, FileState, verify_files, verify_path


@dataclass(frozen=True)
class ModelRoots:
    """The install folders whose models folders receive downloads (None: not set up)."""

    comfyui: Path | None = None
    swarmui: Path | None = None

    def get(self, backend: str) -> Path | None:
        """The folder of ``backend`` (``comfyui``/``swarmui``)."""
        return self.comfyui if backend == "comfyui" else self.swarmui


def roots_from_settings(settings: Settings) -> ModelRoots:
    """The ComfyUI and SwarmUI folders the settings name (remote servers have none here)."""
    comfy = None
    if not (settings.comfyui.mode == "remote" and settings.comfyui.url.strip()):
        comfy = launchers.comfyui_dir(settings.comfyui)
    swarm = None
    if not (settings.swarmui.mode == "remote" and settings.swarmui.url.strip()):
        path = settings.swarmui.path.strip()
        swarm = Path(path).expanduser() if path else None
    return ModelRoots(comfy, swarm)


class OutputState(enum.Enum):
    """One output's models as the Models page shows them."""

    ok = "ok"
    missing = "missing"
    damaged = "damaged"
    no_folder = "no_folder"  # the backend's folder is not set (or it is a remote server)


@dataclass(frozen=True)
class OutputModelsStatus:
    """An output, its state and the files one click gets.

    Attributes:
        output: The output config.
        entry: Its catalogue entry.
        state: The verdict.
        reason: A plain sentence for a teacher (empty when ok).
        files: The state of each file one click gets.
        folder: Where the files go (None without a folder).
    """

    output: OutputConfig
    entry: OutputModels
    state: OutputState
    reason: str
    files: tuple[FileReport, ...]
    folder: Path | None

    @property
    def to_get(self) -> tuple[FileReport, ...]:
        """The files a click downloads: missing, damaged or not the published bytes."""
        if self.state is OutputState.ok:
            return ()
        return tuple(
            r
            for r in self.files
            if r.state in (FileState.missing, FileState.damaged, FileState.hash_mismatch)
        )

    @property
    def needs_acceptance(self) -> bool:
        """A licence of the files to get must be confirmed first."""
        return any(r.file.licence.accept for r in self.to_get)


def local_models(catalogue: Catalogue, backend: str, roots: ModelRoots) -> LocalModels | None:
    """The models folders of ``backend`` with the published sizes, or None without a folder."""
    root = roots.get(backend)
    return catalogue.local_models(backend, root) if root is not None else None


def _target(catalogue: Catalogue, entry: OutputModels, file: ModelFile, root: Path) -> Path:
    return catalogue.target_dir(entry.backend, file.folder, root, entry.subfolder) / file.name


async def output_status(
    catalogue: Catalogue, output: OutputConfig, roots: ModelRoots
) -> OutputModelsStatus:
    """The state of ``output``'s model files on this computer (quick checks only).

    Raises:
        KeyError: the catalogue has no entry for ``output``.
    """
    entry = catalogue.outputs[output.id]
    root = roots.get(entry.backend)
    files = [catalogue.files[name] for name in entry.get]
    if root is None:
        reports = tuple(FileReport(f, FileState.missing, None) for f in files)
        return OutputModelsStatus(output, entry, OutputState.no_folder, "", reports, None)
    local = catalogue.local_models(entry.backend, root)
    folder = catalogue.target_dir(entry.backend, files[0].folder, root, entry.subfolder)
    if entry.backend == "comfyui":
        slots = [
            *output.required_models,
            *(s for lay in output.layouts for s in lay.required_models),
        ]
        result = await resolve_models(FolderListing(local, slots), output, local)
        reports = tuple(
            await asyncio.to_thread(
                verify_files, files, local, expected=lambda f: _target(catalogue, entry, f, root)
            )
        )
        state = {
            ModelState.available: OutputState.ok,
            ModelState.damaged: OutputState.damaged,
        }.get(result.state, OutputState.missing)
        return OutputModelsStatus(output, entry, state, result.reason, reports, folder)
    targets = [(f, _target(catalogue, entry, f, root)) for f in files]
    reports = tuple(await asyncio.to_thread(lambda: [verify_path(f, path) for f, path in targets]))
    state = _state_of(reports)
    reason = " ".join(r.detail for r in reports if r.state is not FileState.ok)
    return OutputModelsStatus(output, entry, state, reason, reports, folder)


def _state_of(reports: Iterable[FileReport]) -> OutputState:
    states = {r.state for r in reports}
    if FileState.damaged in states or FileState.hash_mismatch in states:
        return OutputState.damaged
    if FileState.missing in states:
        return OutputState.missing
    return OutputState.ok


def model_page(url: str) -> str:
    """The publisher's page of a Hugging Face file address (where a licence is accepted)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if (parts.hostname or "").endswith("huggingface.co") and len(segments) >= 2:
        return f"https://huggingface.co/{segments[0]}/{segments[1]}"
    return url


def download_request(file: ModelFile, target: Path) -> DownloadRequest:
    """What the downloader needs for ``file`` at ``target``."""
    return DownloadRequest(
        name=file.name,
        urls=file.urls,
        target=target,
        size=file.size,
        sha256=file.sha256,
        approx_size=file.approx_size,
        licence_page=model_page(file.urls[0]),
    )


def requests_for(status: OutputModelsStatus) -> list[DownloadRequest]:
    """Download requests for the files of ``status`` that are missing or damaged."""
    requests = []
    for report in status.to_get:
        if report.path is None:
            continue
        requests.append(download_request(report.file, report.path))
    return requests
