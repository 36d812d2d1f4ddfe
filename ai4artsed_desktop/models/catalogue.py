"""The model catalogue: where each model file comes from, how big it is, its hash and licence.

Data, not code: ``resources/models/catalogue.json``. Which file names fill which slot of an
output (variants, layouts) stays in the output configs (``RequiredModel``); the catalogue
adds, per file name, what is needed to get and check it, and per output which files the
one-click "get" fetches. ``verified`` is true only where size and SHA-256 were confirmed
from the publisher's own published values; a null hash is never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..content.schema import ContentLibrary, OutputConfig, Text, VramPreset
from ..errors import ConfigError
from ..paths import resources_dir
from ..pipeline.model_files import COMFY_FOLDERS, LocalModels

#: The catalogue format this code reads.
SCHEMA_VERSION = 1
BACKENDS = ("comfyui", "swarmui")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: A school's own catalogue may name a mirror on its network (http); the built-in one is https.
_SCHEMES = ("https://", "http://")


def catalogue_file() -> Path:
    """The built-in catalogue."""
    return resources_dir() / "models" / "catalogue.json"


@dataclass(frozen=True)
class Licence:
    """A model licence and what the teacher must know about it.

    Attributes:
        id: Short id (``stabilityai-community``).
        name: The licence's name.
        url: Where its text is.
        gated: The publisher lets only signed-in users who accepted it download (a token is
            needed).
        accept: The teacher confirms the licence in the app before the download starts.
        commercial: Commercial use is allowed.
        note: What it means for a school, in German and English.
    """

    id: str
    name: str
    url: str
    gated: bool
    accept: bool
    commercial: bool
    note: Text


@dataclass(frozen=True)
class ModelFile:
    """One model file as the catalogue knows it.

    Attributes:
        name: The file name on disk (what ComfyUI lists and the output configs name).
        folder: ComfyUI's logical models folder (``checkpoints``, ``text_encoders`` ...).
        role: What the file is (``checkpoint``, ``text_encoder``, ``vae``, ``lora``).
        size: The exact size in bytes as published; None when not confirmed.
        approx_size: The size to plan with (disk space, display), exact where ``size`` is.
        sha256: The published SHA-256 (lower case hex); None when not confirmed.
        verified: Size and hash were both confirmed from the publisher's own values.
        source: Where the values come from (for the note and ``models list --json``).
        licence: The licence.
        urls: Download addresses, first preferred.
    """

    name: str
    folder: str
    role: str
    size: int | None
    approx_size: int
    sha256: str | None
    verified: bool
    source: str
    licence: Licence
    urls: tuple[str, ...]

    @property
    def expected_size(self) -> int | None:
        """The size a whole copy must have, when known."""
        return self.size


@dataclass(frozen=True)
class OutputModels:
    """What the Models page fetches for one output.

    Attributes:
        output_id: The output.
        backend: ``comfyui`` or ``swarmui``: whose models folder receives the files.
        get: The file names one click downloads (one complete layout).
        subfolder: A subfolder below the backend's folder (SwarmUI's
            ``OfficialStableDiffusion``); empty for none.
    """

    output_id: str
    backend: str
    get: tuple[str, ...]
    subfolder: str = ""


@dataclass(frozen=True)
class OllamaModel:
    """A text model Ollama pulls by name.

    Attributes:
        name: The ``ollama pull`` name (``qwen3:8b``).
        approx_size: The download size to plan with (Ollama checks digests itself).
        licence: The licence.
    """

    name: str
    approx_size: int
    licence: Licence


@dataclass(frozen=True)
class PresetModel:
    """A role of a VRAM preset and the Ollama model that fills it."""

    role: str
    model: OllamaModel


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue.

    Attributes:
        schema: The format version (:data:`SCHEMA_VERSION`).
        version: The catalogue's own version (bundles record it).
        files: By file name.
        outputs: By output id.
        ollama: By pull name.
        targets: Backend -> logical folder -> folder relative to the backend's root.
        licences: By id.
    """

    schema: int
    version: str
    files: Mapping[str, ModelFile]
    outputs: Mapping[str, OutputModels]
    ollama: Mapping[str, OllamaModel]
    targets: Mapping[str, Mapping[str, str]]
    licences: Mapping[str, Licence]

    def file(self, name: str) -> ModelFile | None:
        """The entry for file ``name`` (a subfolder and the case are ignored)."""
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        found = self.files.get(base)
        if found is not None:
            return found
        folded = base.casefold()
        return next((f for n, f in self.files.items() if n.casefold() == folded), None)

    def sizes(self) -> dict[str, int]:
        """Confirmed sizes by lower-case file name (for the quick check at start)."""
        return {n.casefold(): f.size for n, f in self.files.items() if f.size is not None}

    def output_files(self, output_id: str) -> list[ModelFile]:
        """The files one click gets for ``output_id`` (empty when it needs none)."""
        entry = self.outputs.get(output_id)
        if entry is None:
            return []
        return [self.files[name] for name in entry.get]

    def preset_models(self, preset: VramPreset) -> list[PresetModel]:
        """The Ollama models of ``preset``'s roles, in role order (other providers skipped)."""
        found: list[PresetModel] = []
        for role, value in preset.roles.items():
            provider, _, name = value.strip().partition("/")
            if provider.strip().lower() != "ollama":
                continue
            model = self.ollama.get(name.strip())
            if model is not None:
                found.append(PresetModel(role, model))
        return found

    def target_dir(self, backend: str, folder: str, root: Path, subfolder: str = "") -> Path:
        """Where a file of logical ``folder`` goes below the backend folder ``root``.

        Raises:
            ConfigError: the catalogue names no folder for ``backend``/``folder``.
        """
        relative = self.targets.get(backend, {}).get(folder)
        if relative is None:
            raise ConfigError(
                f"The model catalogue has no {backend} folder for '{folder}' files.",
                detail=f"targets[{backend!r}][{folder!r}] missing",
                key="error.catalogue_no_folder",
                params={"backend": backend, "folder": folder},
            )
        place = root.joinpath(*relative.split("/"))
        return place.joinpath(*subfolder.split("/")) if subfolder else place

    def local_models(self, backend: str, root: Path) -> LocalModels:
        """The models folders of a backend installed at ``root``, with the confirmed sizes.

        ComfyUI uses its own search list (``clip`` besides ``text_encoders``); SwarmUI the
        catalogue's folders.
        """
        if backend == "comfyui":
            return LocalModels.of_comfyui(root, sizes=self.sizes())
        roots = {
            folder: (root.joinpath(*rel.split("/")),)
            for folder, rel in self.targets.get(backend, {}).items()
        }
        return LocalModels(roots, sizes=self.sizes())


@dataclass(frozen=True)
class PlannedFile:
    """A catalogue file and where it belongs under one models folder."""

    file: ModelFile
    backend: str
    path: Path
    outputs: tuple[str, ...]


def planned_files(catalogue: Catalogue, roots: Mapping[str, Path]) -> list[PlannedFile]:
    """Every file the catalogue's outputs get, with its expected path.

    Args:
        catalogue: The catalogue.
        roots: Backend -> its folder (ComfyUI's install folder, SwarmUI's); backends not
            named are left out.

    Returns:
        One entry per (backend, file), in catalogue order, naming the outputs that use it.
    """
    by_key: dict[tuple[str, str], PlannedFile] = {}
    for entry in catalogue.outputs.values():
        root = roots.get(entry.backend)
        if root is None:
            continue
        for name in entry.get:
            model = catalogue.files[name]
            key = (entry.backend, name)
            known = by_key.get(key)
            if known is not None:
                by_key[key] = PlannedFile(
                    model, entry.backend, known.path, (*known.outputs, entry.output_id)
                )
                continue
            place = catalogue.target_dir(entry.backend, model.folder, root, entry.subfolder)
            by_key[key] = PlannedFile(model, entry.backend, place / name, (entry.output_id,))
    return list(by_key.values())


# ---------------------------------------------------------------------------------- loading
def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(
        f"The model catalogue is broken at {where}: {problem}.",
        detail=f"catalogue {where}: {problem}",
        key="error.catalogue_broken",  # the place (in English) is in the detail
    )


def _get(record: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in record:
        raise _fail(where, f"'{key}' is missing")
    value = record[key]
    if isinstance(value, bool) and kind is not bool:
        raise _fail(f"{where}.{key}", "a number was expected")
    if not isinstance(value, kind):
        raise _fail(f"{where}.{key}", f"{type(value).__name__} is not allowed here")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object was expected")
    return value


def _size(value: Any, where: str, *, nullable: bool) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(where, "a positive whole number of bytes was expected")
    return value


def _licence(key: str, raw: Any) -> Licence:
    where = f"licences.{key}"
    record = _object(raw, where)
    note = _object(_get(record, "note", dict, where), f"{where}.note")
    return Licence(
        id=key,
        name=_get(record, "name", str, where),
        url=_get(record, "url", str, where),
        gated=_get(record, "gated", bool, where),
        accept=_get(record, "accept", bool, where),
        commercial=_get(record, "commercial", bool, where),
        note=Text(de=_get(note, "de", str, where), en=_get(note, "en", str, where)),
    )


def _model_file(
    name: str, raw: Any, licences: Mapping[str, Licence], folders: Iterable[str]
) -> ModelFile:
    where = f"files.{name}"
    record = _object(raw, where)
    folder = _get(record, "folder", str, where)
    if folder not in folders:
        raise _fail(f"{where}.folder", f"'{folder}' is not a known models folder")
    sha = record.get("sha256")
    if sha is not None and (not isinstance(sha, str) or not _SHA256.fullmatch(sha)):
        raise _fail(f"{where}.sha256", "64 lower-case hex digits or null were expected")
    size = _size(record.get("size"), f"{where}.size", nullable=True)
    verified = _get(record, "verified", bool, where)
    if verified and (size is None or sha is None):
        raise _fail(where, "'verified' is true but the size or the hash is null")
    licence_id = _get(record, "licence", str, where)
    if licence_id not in licences:
        raise _fail(f"{where}.licence", f"unknown licence '{licence_id}'")
    urls = _get(record, "urls", list, where)
    if not urls or not all(isinstance(u, str) and u.startswith(_SCHEMES) for u in urls):
        raise _fail(f"{where}.urls", "one or more https:// (or http://) addresses were expected")
    approx = _size(record.get("approx_size"), f"{where}.approx_size", nullable=False)
    assert approx is not None
    return ModelFile(
        name=name,
        folder=folder,
        role=_get(record, "role", str, where),
        size=size,
        approx_size=size if size is not None else approx,
        sha256=sha,
        verified=verified,
        source=_get(record, "source", str, where),
        licence=licences[licence_id],
        urls=tuple(urls),
    )


def parse_catalogue(raw: Any) -> Catalogue:
    """Check and convert the catalogue's JSON.

    Raises:
        ConfigError: the data does not follow the format (the message names the place).
    """
    top = _object(raw, "the top")
    schema = _get(top, "schema", int, "the top")
    if schema != SCHEMA_VERSION:
        raise _fail("schema", f"version {schema} is not {SCHEMA_VERSION} (update the app)")
    targets_raw = _object(_get(top, "targets", dict, "the top"), "targets")
    targets: dict[str, dict[str, str]] = {}
    for backend in BACKENDS:
        folders = _object(targets_raw.get(backend), f"targets.{backend}")
        if not all(isinstance(v, str) and v for v in folders.values()):
            raise _fail(f"targets.{backend}", "folder names must be text")
        targets[backend] = dict(folders)
    licences = {
        key: _licence(key, value)
        for key, value in _object(_get(top, "licences", dict, "the top"), "licences").items()
    }
    known_folders = set(COMFY_FOLDERS) & set(targets["comfyui"])
    files = {
        name: _model_file(name, value, licences, known_folders)
        for name, value in _object(_get(top, "files", dict, "the top"), "files").items()
    }
    outputs: dict[str, OutputModels] = {}
    for output_id, value in _object(_get(top, "outputs", dict, "the top"), "outputs").items():
        where = f"outputs.{output_id}"
        record = _object(value, where)
        backend = _get(record, "backend", str, where)
        if backend not in BACKENDS:
            raise _fail(f"{where}.backend", f"'{backend}' is not one of {', '.join(BACKENDS)}")
        names = _get(record, "get", list, where)
        for name in names:
            if name not in files:
                raise _fail(f"{where}.get", f"'{name}' has no entry under files")
            if files[name].folder not in targets[backend]:
                raise _fail(f"{where}.get", f"{backend} has no folder for '{name}'")
        subfolder = record.get("subfolder", "")
        if not isinstance(subfolder, str) or ".." in subfolder.split("/"):
            raise _fail(f"{where}.subfolder", "a plain relative folder name was expected")
        outputs[output_id] = OutputModels(output_id, backend, tuple(names), subfolder)
    ollama: dict[str, OllamaModel] = {}
    for name, value in _object(_get(top, "ollama", dict, "the top"), "ollama").items():
        where = f"ollama.{name}"
        record = _object(value, where)
        licence_id = _get(record, "licence", str, where)
        if licence_id not in licences:
            raise _fail(f"{where}.licence", f"unknown licence '{licence_id}'")
        approx = _size(record.get("approx_size"), f"{where}.approx_size", nullable=False)
        assert approx is not None
        ollama[name] = OllamaModel(name, approx, licences[licence_id])
    return Catalogue(
        schema=schema,
        version=_get(top, "version", str, "the top"),
        files=files,
        outputs=outputs,
        ollama=ollama,
        targets=targets,
        licences=licences,
    )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read the catalogue (the built-in one by default).

    Raises:
        ConfigError: the file cannot be read or is broken.
    """
    path = path or catalogue_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            "The model catalogue cannot be read; reinstall the app.",
            detail=f"{path}: {exc}",
            key="error.catalogue_unreadable",
        ) from exc
    except ValueError as exc:
        raise ConfigError(
            "The model catalogue is not valid JSON; reinstall the app.",
            detail=f"{path}: {exc}",
            key="error.catalogue_not_json",
        ) from exc
    return parse_catalogue(raw)


def uncovered_names(catalogue: Catalogue, outputs: Iterable[OutputConfig]) -> list[str]:
    """File names that the outputs' slots accept but the catalogue has no entry for."""
    missing: list[str] = []
    for output in outputs:
        slots = [*output.required_models]
        for layout in output.layouts:
            slots.extend(layout.required_models)
        for slot in slots:
            for name in slot.names:
                if catalogue.file(name) is None and name not in missing:
                    missing.append(name)
    return missing


def outputs_of(content: ContentLibrary, catalogue: Catalogue) -> list[OutputConfig]:
    """The enabled outputs the catalogue can fetch models for, in display order."""
    return [o for o in content.sorted_outputs() if o.enabled and o.id in catalogue.outputs]
