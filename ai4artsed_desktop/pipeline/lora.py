"""LoRA injection into any ComfyUI API-format graph (product.md §5), and trigger words.

How the graph is read:

* **Samplers** are the nodes that take a ``model`` link and whose own output no other node
  takes as ``model`` (KSampler, SamplerCustom, BasicGuider, ...), counted among the nodes
  that feed an output node. A sampler that has another sampler upstream (an SDXL refiner
  pass working on the base pass's latent) is not a *primary* sampler.
* The **model source** of a sampler is found by following ``model`` links upstream through
  pass-through nodes (ModelSamplingSD3, LatentApplyOperationCFG, an existing LoraLoader ...)
  to the node that produces the model: CheckpointLoaderSimple output 0, UNETLoader output
  0, or any other model-producing node. LoRAs go right after it, so every patch downstream
  (sampling shift, CFG operations) sees the adapted model. Each distinct model source that
  feeds a primary sampler gets its own chain; a refiner's separate checkpoint is left alone.
* The **CLIP source** is found the same way from the nodes that take a ``clip`` link (text
  encoders, CLIPSetLastLayer) upstream of those samplers: CheckpointLoaderSimple output 1
  when the graph really uses it, otherwise CLIPLoader / DualCLIPLoader / TripleCLIPLoader
  output 0. If several feed the same samplers, the one most text encoders use is patched.
* One loader per LoRA is chained in order: ``LoraLoader`` (model and CLIP) when a CLIP
  source is consumed, ``LoraLoaderModelOnly`` when there is none or the LoRA was trained
  model-only. Then **every** link anywhere in the graph that pointed at the model output or
  the CLIP output is rewired to the end of the chain.
"""

from __future__ import annotations

import copy
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..content.schema import LoraRef
from ..errors import AppError
from .workflow import Graph, is_link, iter_links, output_nodes

Link = tuple[str, int]
"""A node output: ``(node id, output index)``."""

STRENGTH_LIMIT = 100.0
"""LoraLoader accepts strengths in [-100, 100] (protocols.md §2.14)."""


class LoraError(AppError):
    """A LoRA cannot be applied to a graph (never dropped silently)."""


@dataclass(frozen=True)
class LoraSpec:
    """A LoRA to apply.

    Attributes:
        file: File name as ComfyUI lists it under ``models/loras`` (may hold a subfolder).
        strength_model: How strongly the diffusion model is adapted.
        strength_clip: How strongly the text encoder is adapted.
        trigger: Word(s) the LoRA was trained on; see :func:`add_trigger_words`.
        model_only: The LoRA holds no text-encoder weights (trained UNet/MMDiT only), so
            ``LoraLoaderModelOnly`` is used even where a CLIP path exists.
    """

    file: str
    strength_model: float = 1.0
    strength_clip: float = 1.0
    trigger: str = ""
    model_only: bool = False

    @classmethod
    def from_ref(cls, ref: LoraRef) -> LoraSpec:
        """The spec of a config's LoRA: its one strength applies to model and CLIP alike."""
        return cls(ref.file, ref.strength, ref.strength, ref.trigger)


@dataclass(frozen=True)
class AppliedLora:
    """A LoRA that is in the graph now (for the run record).

    ``strength_clip`` is 0.0 and ``model_only`` True when it went in as LoraLoaderModelOnly.
    """

    file: str
    strength_model: float
    strength_clip: float
    node_id: str
    model_only: bool


@dataclass(frozen=True)
class InjectionResult:
    """The graph with the LoRAs in it, and what was applied where.

    Attributes:
        graph: The new graph (the input graph is left unchanged).
        applied: One entry per inserted loader node, in chain order.
        model_sources: The patched model outputs, as ``(node id, output index)``.
        clip_sources: The patched CLIP outputs (empty for model-only chains).
    """

    graph: Graph
    applied: tuple[AppliedLora, ...]
    model_sources: tuple[Link, ...] = ()
    clip_sources: tuple[Link, ...] = ()


@dataclass(frozen=True)
class _Target:
    model: Link
    clip: Link | None


class _HasTrigger(Protocol):
    @property
    def trigger(self) -> str: ...


# ---------------------------------------------------------------- reading the graph


def _consumers_of(graph: Mapping[str, Any]) -> dict[str, set[str]]:
    """Source node id -> ids of the nodes linking to it (any input)."""
    users: dict[str, set[str]] = {node_id: set() for node_id in graph}
    for node_id, _name, source, _index in iter_links(graph):
        if source in users:
            users[source].add(node_id)
    return users


def _upstream(graph: Mapping[str, Any], start: Iterable[str]) -> set[str]:
    """The nodes ``start`` depends on, through links of any kind (``start`` included)."""
    seen: set[str] = set()
    todo = [node_id for node_id in start if node_id in graph]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        for value in graph[node_id]["inputs"].values():
            if is_link(value) and value[0] in graph:
                todo.append(value[0])
    return seen


def _link_input(graph: Mapping[str, Any], node_id: str, name: str) -> Link | None:
    value = graph[node_id]["inputs"].get(name)
    if is_link(value) and value[0] in graph:
        return value[0], value[1]
    return None


def _trace(graph: Mapping[str, Any], node_id: str, name: str) -> Link | None:
    """Follow input ``name`` upstream through nodes that pass it on; the producing output."""
    link = _link_input(graph, node_id, name)
    seen = {node_id}
    while link is not None and link[0] not in seen:
        seen.add(link[0])
        further = _link_input(graph, link[0], name)
        if further is None:
            return link
        link = further
    return None


def _samplers(graph: Mapping[str, Any]) -> list[str]:
    """The primary samplers: model consumers that pass no model on and follow no sampler.

    Samplers that feed a known output node are preferred; if none does (custom output
    nodes), every sampler counts.
    """
    passes_model = {source for _node, name, source, _index in iter_links(graph) if name == "model"}
    sinks = [
        node_id
        for node_id in graph
        if node_id not in passes_model and _link_input(graph, node_id, "model") is not None
    ]
    live = _upstream(graph, output_nodes(graph))
    sinks = [sink for sink in sinks if sink in live] or sinks
    sink_set = set(sinks)
    primary = []
    for sink in sinks:
        ahead = _upstream(graph, (link[0] for link in _input_links(graph, sink)))
        if not (ahead & sink_set) - {sink}:
            primary.append(sink)
    return primary


def _input_links(graph: Mapping[str, Any], node_id: str) -> list[Link]:
    return [(value[0], value[1]) for value in graph[node_id]["inputs"].values() if is_link(value)]


def _clip_source(graph: Mapping[str, Any], samplers: Sequence[str]) -> Link | None:
    """The CLIP output most text encoders upstream of ``samplers`` use, if any."""
    votes: Counter[Link] = Counter()
    region = _upstream(graph, samplers)
    for node_id in graph:
        if node_id in region and _link_input(graph, node_id, "clip") is not None:
            source = _trace(graph, node_id, "clip")
            if source is not None:
                votes[source] += 1
    return votes.most_common(1)[0][0] if votes else None


def find_targets(graph: Mapping[str, Any]) -> list[tuple[Link, Link | None]]:
    """Where LoRAs would go: ``(model output, CLIP output or None)`` per model source.

    See the module docstring for the rules. A model source that is itself built from another
    one (a model merge fed by the checkpoint) is covered by that one and gets no chain of its
    own, so no path is patched twice. Empty when no sampler takes a model.
    """
    by_source: dict[Link, list[str]] = {}
    for sampler in _samplers(graph):
        source = _trace(graph, sampler, "model")
        if source is not None:
            by_source.setdefault(source, []).append(sampler)
    nodes = {source[0] for source in by_source}
    targets = []
    for source, users in by_source.items():
        ahead = _upstream(graph, (link[0] for link in _input_links(graph, source[0])))
        if not ahead & (nodes - {source[0]}):
            targets.append((source, _clip_source(graph, users)))
    return targets


# ---------------------------------------------------------------- changing the graph


class _Ids:
    """Fresh node ids: numbers above the largest numeric id, never one the graph has."""

    def __init__(self, graph: Mapping[str, Any]) -> None:
        numbers = [int(key) for key in graph if key.isascii() and key.isdigit()]
        self._next = max(numbers, default=0) + 1
        self._graph = graph

    def take(self) -> str:
        while str(self._next) in self._graph:
            self._next += 1
        node_id = str(self._next)
        self._next += 1
        return node_id


def _check_spec(spec: LoraSpec) -> None:
    name = spec.file.strip() if isinstance(spec.file, str) else ""
    problem = ""
    if not name:
        problem = "has no file name"
    else:
        for strength in (spec.strength_model, spec.strength_clip):
            if not math.isfinite(strength) or abs(strength) > STRENGTH_LIMIT:
                problem = f"has the strength {strength}, outside -100 to 100"
    if problem:
        label = name or "(unnamed)"
        raise LoraError(
            f"The style adapter “{label}” cannot be used: it {problem}.",
            detail=f"{problem}: {spec!r}",
            key="error.lora_unusable",
            params={"name": label},
        )


def _rewire(graph: Graph, old: Link, new: Link, skip: set[str]) -> None:
    for node_id, node in graph.items():
        if node_id in skip:
            continue
        inputs = node["inputs"]
        for name, value in inputs.items():
            if is_link(value) and (value[0], value[1]) == old:
                inputs[name] = [new[0], new[1]]


def _chain(
    graph: Graph, target: _Target, loras: Sequence[LoraSpec], ids: _Ids
) -> list[AppliedLora]:
    """Insert one loader per LoRA after ``target`` and rewire every consumer to the end."""
    model_tail, clip_tail = target.model, target.clip
    applied: list[AppliedLora] = []
    for spec in loras:
        node_id = ids.take()
        model_only = spec.model_only or clip_tail is None
        inputs: dict[str, Any] = {"model": [model_tail[0], model_tail[1]]}
        if clip_tail is not None and not model_only:
            inputs["clip"] = [clip_tail[0], clip_tail[1]]
        inputs.update({"lora_name": spec.file, "strength_model": spec.strength_model})
        if not model_only:
            inputs["strength_clip"] = spec.strength_clip
        graph[node_id] = {
            "class_type": "LoraLoaderModelOnly" if model_only else "LoraLoader",
            "inputs": inputs,
            "_meta": {"title": f"LoRA {spec.file}"},
        }
        model_tail = (node_id, 0)
        if not model_only:
            clip_tail = (node_id, 1)
        clip_strength = 0.0 if model_only else spec.strength_clip
        applied.append(
            AppliedLora(spec.file, spec.strength_model, clip_strength, node_id, model_only)
        )
    added = {lora.node_id for lora in applied}
    _rewire(graph, target.model, model_tail, added)
    if target.clip is not None and clip_tail is not None and clip_tail != target.clip:
        _rewire(graph, target.clip, clip_tail, added)
    return applied


def _no_source_error(loras: Sequence[LoraSpec]) -> LoraError:
    names = ", ".join(f"“{spec.file}”" for spec in loras)
    noun = "style adapter" if len(loras) == 1 else "style adapters"
    return LoraError(
        f"The {noun} {names} cannot be used with this output: its workflow has no model "
        "a LoRA could adapt. Choose an image or sound output, or a rule without adapters.",
        detail="no sampler with a traceable 'model' input feeds an output node",
        key="error.lora_no_model",
        params={"count": len(loras)},
    )


def inject_loras(graph: Mapping[str, Any], loras: Sequence[LoraSpec]) -> InjectionResult:
    """Insert LoRA loaders into a copy of ``graph`` (rules: see the module docstring).

    Args:
        graph: An API-format graph (left unchanged).
        loras: The LoRAs, applied in this order (the first sits next to the model source).

    Returns:
        The new graph and the applied LoRAs. With no LoRAs, an unchanged copy.

    Raises:
        LoraError: a LoRA has no file name or an out-of-range strength, or the graph has no
            model source to patch; the message names the LoRA.
    """
    result: Graph = copy.deepcopy(dict(graph))
    if not loras:
        return InjectionResult(result, ())
    for spec in loras:
        _check_spec(spec)
    found = find_targets(result)
    if not found:
        raise _no_source_error(loras)
    ids = _Ids(result)
    applied: list[AppliedLora] = []
    clips: list[Link] = []
    for model, clip in found:
        # A CLIP shared with an earlier model source is already patched: model only here.
        target = _Target(model, clip if clip is not None and clip not in clips else None)
        chain = _chain(result, target, loras, ids)
        applied.extend(chain)
        if target.clip is not None and not all(lora.model_only for lora in chain):
            clips.append(target.clip)
    return InjectionResult(
        result, tuple(applied), tuple(model for model, _clip in found), tuple(clips)
    )


# ---------------------------------------------------------------- trigger words


def _contains_words(text: str, words: str) -> bool:
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(part) for part in words.split()) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def add_trigger_words(prompt: str, loras: Sequence[_HasTrigger]) -> str:
    """Put each LoRA's trigger word in front of ``prompt`` unless it is already there.

    The check is case-insensitive and matches whole words only (``ohwx`` is not found in
    ``ohwxyz``); a trigger shared by several LoRAs is added once.

    Args:
        prompt: The generation prompt.
        loras: ``LoraSpec`` or ``LoraRef`` objects (anything with a ``trigger``).

    Returns:
        ``"<trigger>, <trigger>, <prompt>"``, or ``prompt`` itself when nothing was missing.
    """
    missing: list[str] = []
    for lora in loras:
        trigger = " ".join(lora.trigger.split())
        if not trigger:
            continue
        if _contains_words(prompt, trigger) or any(_contains_words(m, trigger) for m in missing):
            continue
        missing.append(trigger)
    if not missing:
        return prompt
    body = prompt.strip()
    return ", ".join([*missing, body]) if body else ", ".join(missing)
