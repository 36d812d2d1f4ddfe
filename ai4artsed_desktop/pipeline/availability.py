"""Which model and LoRA files an output needs that ComfyUI does not have (via /object_info).

Outputs with missing files are shown greyed out with the file named (product.md §3). The
lists come from the combo inputs of the loader nodes in ``/object_info/{class}``, in either
combo encoding (protocols.md §2.4); each class is fetched once per check.

Each model slot accepts several file names (``RequiredModel.variants``: the fp16 copy, the
fp8 text encoder ...) and an output may have other layouts (``OutputConfig.layouts``: SD 3.5
as one file with its encoders inside). :func:`resolve_models` picks the first layout whose
files are all there, matching names without regard to case and in any subfolder, and says
which names to write into the graph. Where the files are on this computer, each chosen file
is also checked for being whole (:mod:`.model_files`).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..backends.comfyui_parsing import NodeInfo, combo_options
from ..content.schema import OutputConfig, RequiredModel
from .model_files import FileCheck, LocalModels

LORA_CLASS = "LoraLoader"
LORA_INPUT = "lora_name"
LORA_FOLDER = "loras"


class ObjectInfoSource(Protocol):
    """What the checks need from a ComfyUI client (``ComfyClient`` has it)."""

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        """``/object_info`` (all classes) or ``/object_info/{node_class}``."""
        ...


class _HasFile(Protocol):
    @property
    def file(self) -> str: ...


@dataclass(frozen=True)
class MissingModel:
    """A file an output needs that ComfyUI cannot load right now.

    Attributes:
        file: The file name the workflow uses.
        folder: The ComfyUI models subfolder it belongs in (``checkpoints``, ``loras`` ...).
        node_class: The loader node that lists it.
        input: That node's input holding the file name.
        node_missing: ComfyUI does not even know ``node_class`` (too old, or a custom node
            pack is not installed); the file may be there.
        elsewhere: Names under which ComfyUI lists a file of the same name in another
            subfolder (LoRAs only: their graph needs the exact name, so it still counts as
            missing).
        variants: Other file names that would fill the same slot.
    """

    file: str
    folder: str
    node_class: str
    input: str
    node_missing: bool = False
    elsewhere: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class DamagedModel:
    """A file ComfyUI lists that is on this computer but cannot be loaded (empty, cut off).

    Attributes:
        file: The name as ComfyUI lists it (with its subfolder).
        folder: The ComfyUI models subfolder.
        path: Where it lies on this computer.
        check: What the quick header check found.
    """

    file: str
    folder: str
    path: str
    check: FileCheck


class ModelState(enum.Enum):
    """Whether an output's model files let it run here."""

    available = "available"
    missing = "missing"
    damaged = "damaged"
    unchecked = "unchecked"  # ComfyUI was not asked (yet), or could not be asked


@dataclass(frozen=True)
class ModelChoice:
    """What the graph of a run uses: a layout and, per slot, the name ComfyUI lists.

    Attributes:
        layout: The layout id; empty for the output's own template.
        workflow: The template file of that layout.
        files: ``(slot, listed name)`` per required model of the layout.
    """

    layout: str
    workflow: str
    files: tuple[tuple[RequiredModel, str], ...]


@dataclass(frozen=True)
class Availability:
    """One output's model files as ComfyUI and this computer see them.

    Attributes:
        output_id: The output.
        state: The verdict.
        choice: How the graph is built (when ``available``).
        missing: The files to get (when ``missing``): those of the layout closest to complete.
        damaged: The files to download again (when ``damaged``).
        files_checked: The chosen files were checked on disk (a local ComfyUI); False for a
            remote server, where /object_info tells only the names.
        detail: Why it is ``unchecked``, or a technical note.
    """

    output_id: str
    state: ModelState
    choice: ModelChoice | None = None
    missing: tuple[MissingModel, ...] = ()
    damaged: tuple[DamagedModel, ...] = ()
    files_checked: bool = False
    detail: str = field(default="", compare=False)

    @property
    def available(self) -> bool:
        """True when a run of this output can start (as far as its models go)."""
        return self.state is ModelState.available

    @property
    def reason(self) -> str:
        """A plain English sentence for a teacher (empty when available)."""
        if self.state is ModelState.missing:
            return describe_missing(self.missing)
        if self.state is ModelState.damaged:
            return describe_damaged(self.damaged)
        if self.state is ModelState.unchecked:
            return self.detail
        return ""


def _normal(name: str) -> str:
    return name.replace("\\", "/")


def _base(name: str) -> str:
    return _normal(name).rsplit("/", 1)[-1].lower()


def match_name(options: Sequence[str], names: Sequence[str]) -> str | None:
    """The option ComfyUI lists for the first of ``names`` it has, or None.

    Exact names win, then the same path in other case, then the file name in any subfolder
    (the shallowest, then the first in sort order). Slashes and backslashes count alike.
    """
    exact = {_normal(option): option for option in options}
    for name in names:
        if _normal(name) in exact:
            return exact[_normal(name)]
    folded: dict[str, str] = {}
    for option in options:
        folded.setdefault(_normal(option).lower(), option)
    for name in names:
        if _normal(name).lower() in folded:
            return folded[_normal(name).lower()]
    for name in names:
        hits = [option for option in options if _base(option) == _base(name)]
        if hits:
            return min(hits, key=lambda option: (_normal(option).count("/"), option))
    return None


class _Lookup:
    """``/object_info/{class}`` answers, fetched once per class for one check."""

    def __init__(self, client: ObjectInfoSource) -> None:
        self._client = client
        self._infos: dict[str, NodeInfo | None] = {}

    async def _info(self, node_class: str) -> NodeInfo | None:
        if node_class not in self._infos:
            infos = await self._client.object_info(node_class)
            self._infos[node_class] = infos.get(node_class)
        return self._infos[node_class]

    async def missing(self, model: RequiredModel) -> MissingModel | None:
        """Exact-name check (LoRAs: the graph holds the name as written)."""
        info = await self._info(model.node_class)
        found = MissingModel(model.file, model.folder, model.node_class, model.input)
        if info is None:
            return replace(found, node_missing=True)
        options = combo_options(info.input_spec(model.input)) or []
        wanted = _normal(model.file)
        if any(_normal(option) == wanted for option in options):
            return None
        elsewhere = tuple(o for o in options if _base(o) == _base(model.file))
        return replace(found, elsewhere=elsewhere)

    async def find(self, slot: RequiredModel) -> str | MissingModel:
        """The listed name that fills ``slot``, or what is missing."""
        info = await self._info(slot.node_class)
        missing = MissingModel(
            slot.file, slot.folder, slot.node_class, slot.input, variants=slot.variants
        )
        if info is None:
            return replace(missing, node_missing=True)
        options = combo_options(info.input_spec(slot.input)) or []
        name = match_name(options, slot.names)
        return missing if name is None else name


async def _check(client: ObjectInfoSource, required: Iterable[RequiredModel]) -> list[MissingModel]:
    lookup = _Lookup(client)
    missing: list[MissingModel] = []
    seen: set[tuple[str, str, str]] = set()
    for model in required:
        key = (model.node_class, model.input, _normal(model.file))
        if key in seen:
            continue
        seen.add(key)
        result = await lookup.missing(model)
        if result is not None:
            missing.append(result)
    return missing


def _layouts(output: OutputConfig) -> list[tuple[str, str, tuple[RequiredModel, ...]]]:
    own = ("", output.workflow, output.required_models)
    return [own, *((lay.id, lay.workflow, lay.required_models) for lay in output.layouts)]


def _check_files(
    local: LocalModels, files: Sequence[tuple[RequiredModel, str]]
) -> list[DamagedModel]:
    damaged = []
    for slot, name in files:
        path = local.locate(slot.folder, name)
        if path is None:  # listed by ComfyUI but from a folder we do not know (extra paths)
            continue
        check = local.check(path)
        if check.damaged:
            damaged.append(DamagedModel(name, slot.folder, str(path), check))
    return damaged


async def resolve_models(
    client: ObjectInfoSource, output: OutputConfig, local: LocalModels | None = None
) -> Availability:
    """Which layout and file names ``output`` can use here, or what is missing or damaged.

    Layouts are tried in order (the output's own first); the first whose files are all listed
    (and, with ``local``, whole on disk) wins. When none is complete the answer names the
    damaged files of a layout that is otherwise complete, else the missing files of the
    layout with the most files present (the one the teacher began), then of the one that
    lacks the fewest.

    Args:
        client: Answers ``/object_info/{class}``.
        output: The output; one without required models is always available.
        local: The models folders of a ComfyUI on this computer (None for a remote one: the
            files are then known only by name).

    Raises:
        BackendUnavailable, BackendRequestError, BackendProtocolError: ComfyUI could not be
            asked.
    """
    lookup = _Lookup(client)
    incomplete: list[tuple[int, tuple[MissingModel, ...]]] = []  # (files present, missing)
    damaged_layouts: list[tuple[DamagedModel, ...]] = []
    for layout, workflow, slots in _layouts(output):
        files: list[tuple[RequiredModel, str]] = []
        missing: list[MissingModel] = []
        for slot in slots:
            found = await lookup.find(slot)
            if isinstance(found, MissingModel):
                missing.append(found)
            else:
                files.append((slot, found))
        if missing:
            incomplete.append((len(files), tuple(missing)))
            continue
        choice = ModelChoice(layout, workflow, tuple(files))
        if local is None:
            return Availability(output.id, ModelState.available, choice)
        damaged = await asyncio.to_thread(_check_files, local, files)
        if not damaged:
            return Availability(output.id, ModelState.available, choice, files_checked=True)
        damaged_layouts.append(tuple(damaged))
    if damaged_layouts:
        return Availability(
            output.id, ModelState.damaged, damaged=damaged_layouts[0], files_checked=True
        )
    # The layout the teacher has begun (most files present), else the one lacking fewest.
    closest = min(incomplete, key=lambda item: (-item[0], len(item[1])))
    return Availability(output.id, ModelState.missing, missing=closest[1])


async def missing_models(client: ObjectInfoSource, output: OutputConfig) -> list[MissingModel]:
    """The model files ``output`` lacks on this ComfyUI (see :func:`resolve_models`).

    Names are compared with forward and back slashes treated alike (Windows servers list
    subfolders with backslashes), without regard to case, in any subfolder, and with every
    variant of a slot accepted.

    Returns:
        The missing files of the layout closest to complete, in the order it lists them;
        empty when one layout has every file.

    Raises:
        BackendUnavailable, BackendRequestError, BackendProtocolError: ComfyUI could not be
            asked.
    """
    result = await resolve_models(client, output)
    return list(result.missing)


async def missing_loras(client: ObjectInfoSource, loras: Sequence[_HasFile]) -> list[MissingModel]:
    """The LoRA files (``LoraSpec`` or ``LoraRef``) that LoraLoader does not list.

    Raises:
        BackendUnavailable, BackendRequestError, BackendProtocolError: ComfyUI could not be
            asked.
    """
    required = [RequiredModel(LORA_CLASS, LORA_INPUT, lora.file, LORA_FOLDER) for lora in loras]
    return await _check(client, required)


def _sentence(item: MissingModel) -> str:
    kind = "LoRA file" if item.folder == LORA_FOLDER else "Model file"
    if item.node_missing:
        return (
            f"{kind} '{item.file}' cannot be loaded: ComfyUI has no '{item.node_class}' node; "
            "update ComfyUI."
        )
    sentence = f"{kind} '{item.file}' is missing; put it into ComfyUI/models/{item.folder}."
    if item.variants:
        others = " or ".join(f"'{name}'" for name in item.variants)
        sentence = (
            f"{kind} '{item.file}' (or {others}) is missing; "
            f"put it into ComfyUI/models/{item.folder}."
        )
    if item.elsewhere:
        places = ", ".join(f"'{name}'" for name in item.elsewhere)
        sentence += f" (ComfyUI has it as {places}, in another folder.)"
    return sentence


def describe_missing(missing: MissingModel | Iterable[MissingModel]) -> str:
    """Plain sentences for a teacher, one per missing file.

    Example: ``Model file 'sd3.5_large.safetensors' is missing; put it into
    ComfyUI/models/checkpoints.``
    """
    items = [missing] if isinstance(missing, MissingModel) else list(missing)
    return " ".join(_sentence(item) for item in items)


_HEALTH_WORDS = {
    "empty": "is empty",
    "truncated": "is cut off (the download did not finish)",
    "bad_header": "is not a readable model file",
    "unreadable": "cannot be read",
    "wrong_size": "has another size than the published file",
}


def describe_damaged(damaged: Iterable[DamagedModel]) -> str:
    """Plain sentences for a teacher, one per damaged file.

    Example: ``Model file 'v1-5-pruned-emaonly.safetensors' in ComfyUI/models/checkpoints is
    cut off (the download did not finish); download it again.``
    """
    return " ".join(
        f"Model file '{item.file}' in ComfyUI/models/{item.folder} "
        f"{_HEALTH_WORDS.get(item.check.health.value, 'is damaged')}; download it again."
        for item in damaged
    )


class FolderListing:
    """``/object_info`` answers for the loader inputs of ``slots``, read from folders on disk.

    For doctor when the ComfyUI the app starts is not running: its models folders show what
    it would list. Every node class counts as known (only a running server can tell).
    """

    def __init__(self, local: LocalModels, slots: Iterable[RequiredModel]) -> None:
        self._local = local
        self._inputs: dict[str, dict[str, str]] = {}
        for slot in slots:
            self._inputs.setdefault(slot.node_class, {})[slot.input] = slot.folder

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        """The named class (or every class of the slots) with its file lists."""
        classes = [node_class] if node_class is not None else list(self._inputs)
        result: dict[str, NodeInfo] = {}
        for name in classes:
            inputs = self._inputs.get(name)
            if inputs is None:
                continue
            listed = {
                key: [await asyncio.to_thread(self._local.names, folder), {}]
                for key, folder in inputs.items()
            }
            result[name] = NodeInfo(name, listed, {}, (), False)
        return result
