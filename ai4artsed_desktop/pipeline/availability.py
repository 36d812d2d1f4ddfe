"""Which model and LoRA files an output needs that ComfyUI does not have (via /object_info).

Outputs with missing files are shown greyed out with the file named (product.md §3). The
lists come from the combo inputs of the loader nodes in ``/object_info/{class}``, in either
combo encoding (protocols.md §2.4); each class is fetched once per check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ..backends.comfyui_parsing import NodeInfo, combo_options
from ..content.schema import OutputConfig, RequiredModel

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
            subfolder (the workflow needs the exact name, so it still counts as missing).
    """

    file: str
    folder: str
    node_class: str
    input: str
    node_missing: bool = False
    elsewhere: tuple[str, ...] = ()


def _normal(name: str) -> str:
    return name.replace("\\", "/")


def _base(name: str) -> str:
    return _normal(name).rsplit("/", 1)[-1].lower()


class _Lookup:
    """``/object_info/{class}`` answers, fetched once per class for one check."""

    def __init__(self, client: ObjectInfoSource) -> None:
        self._client = client
        self._infos: dict[str, NodeInfo | None] = {}

    async def missing(self, model: RequiredModel) -> MissingModel | None:
        if model.node_class not in self._infos:
            infos = await self._client.object_info(model.node_class)
            self._infos[model.node_class] = infos.get(model.node_class)
        info = self._infos[model.node_class]
        found = MissingModel(model.file, model.folder, model.node_class, model.input)
        if info is None:
            return replace(found, node_missing=True)
        options = combo_options(info.input_spec(model.input)) or []
        wanted = _normal(model.file)
        if any(_normal(option) == wanted for option in options):
            return None
        elsewhere = tuple(o for o in options if _base(o) == _base(model.file))
        return replace(found, elsewhere=elsewhere)


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


async def missing_models(client: ObjectInfoSource, output: OutputConfig) -> list[MissingModel]:
    """The ``required_models`` of ``output`` that ComfyUI does not list.

    Names are compared with forward and back slashes treated alike (Windows servers list subfolders
    with backslashes).

    Returns:
        The missing files in the order the output lists them; empty when all are there.

    Raises:
        BackendUnavailable, BackendRequestError, BackendProtocolError: ComfyUI could not be
            asked.
    """
    return await _check(client, output.required_models)


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
