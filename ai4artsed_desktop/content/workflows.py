"""ComfyUI API-format workflow templates: reading, checking against an output's mapping, copying."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .fields import FieldError, child, describe
from .schema import InputTarget, OutputConfig, RequiredModel, Route

WORKFLOW_FIELD = "workflow"


def workflow_path(output: OutputConfig, workflows_dir: Path, workflow: str = "") -> Path:
    """Where the template of ``output`` lives (``workflow``: a layout's template instead).

    A user output (``builtin=False``) may bring its own template in a ``workflows`` folder next
    to its ``outputs`` folder; otherwise the template comes from ``workflows_dir``.
    """
    name = workflow or output.workflow
    if not output.builtin and output.source is not None:
        own = output.source.parent.parent / "workflows" / name
        if own.is_file():
            return own
    return workflows_dir / name


def _check_link(graph: Mapping[str, Any], node_id: str, name: str, value: Any) -> None:
    looks_like_link = (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )
    if looks_like_link and value[0] not in graph:
        raise FieldError(
            WORKFLOW_FIELD,
            f"Input '{name}' of node '{node_id}' links to node '{value[0]}', "
            "which the workflow does not have.",
        )


def check_graph(graph: Any) -> dict[str, Any]:
    """Check the API-format shape ``{id: {"class_type": str, "inputs": {...}}}``.

    Links (``["<node id>", <output index>]``) must point at nodes of the graph.

    Returns:
        The graph, typed as a dict.

    Raises:
        FieldError: on field ``workflow``, naming the node that is wrong.
    """
    if not isinstance(graph, dict) or not graph:
        raise FieldError(WORKFLOW_FIELD, "The workflow must be a non-empty JSON object of nodes.")
    for node_id, node in graph.items():
        if not isinstance(node, dict):
            raise FieldError(WORKFLOW_FIELD, f"Node '{node_id}' is {describe(node)}, not a node.")
        class_type = node.get("class_type")
        if not isinstance(class_type, str) or not class_type:
            raise FieldError(WORKFLOW_FIELD, f"Node '{node_id}' has no 'class_type'.")
        inputs = node.get("inputs")
        if not isinstance(inputs, dict):
            raise FieldError(WORKFLOW_FIELD, f"Node '{node_id}' has no 'inputs' object.")
        for name, value in inputs.items():
            _check_link(graph, node_id, name, value)
    return graph


def read_graph(path: Path) -> dict[str, Any]:
    """Read and check the template at ``path``.

    Raises:
        FieldError: on field ``workflow`` when the file is missing, unreadable or malformed.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FieldError(
            WORKFLOW_FIELD, f"The workflow file '{path.name}' does not exist."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FieldError(
            WORKFLOW_FIELD, f"The workflow file '{path.name}' cannot be read: {exc}."
        ) from exc
    try:
        graph = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FieldError(
            WORKFLOW_FIELD,
            f"The workflow file '{path.name}' is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg}).",
        ) from None
    return check_graph(graph)


def check_mapping(graph: Mapping[str, Any], mapping: Mapping[str, tuple[InputTarget, ...]]) -> None:
    """Every mapping target must name a node of ``graph`` and an input that node has.

    Raises:
        FieldError: e.g. on field ``mapping.prompt[0].input``.
    """
    for key, targets in mapping.items():
        for index, target in enumerate(targets):
            where = child(child("mapping", key), index)
            node = graph.get(target.node)
            if node is None:
                raise FieldError(child(where, "node"), f"The workflow has no node '{target.node}'.")
            if target.input not in node["inputs"]:
                raise FieldError(
                    child(where, "input"),
                    f"Node '{target.node}' ({node['class_type']}) has no input '{target.input}'.",
                )


def check_required_models(graph: Mapping[str, Any], models: tuple[RequiredModel, ...]) -> None:
    """Every required model must be named by a node of that class, in that input.

    Raises:
        FieldError: on field ``required_models[i]``.
    """
    for index, model in enumerate(models):
        found = any(
            node["class_type"] == model.node_class and node["inputs"].get(model.input) == model.file
            for node in graph.values()
        )
        if not found:
            raise FieldError(
                child("required_models", index),
                f"The workflow has no {model.node_class} node whose {model.input} "
                f"is '{model.file}'.",
            )


def check_output_workflow(output: OutputConfig, workflows_dir: Path) -> None:
    """Check the template of a ComfyUI output, its mapping and its required models.

    Outputs on other routes have nothing to check here.

    Raises:
        FieldError: naming the field of the output config that is wrong.
    """
    if output.route is not Route.comfyui:
        return
    if not output.workflow:
        raise FieldError(WORKFLOW_FIELD, "A ComfyUI output needs a workflow file name.")
    graph = read_graph(workflow_path(output, workflows_dir))
    check_mapping(graph, output.mapping)
    check_required_models(graph, output.required_models)
    for index, layout in enumerate(output.layouts):
        where = child("layouts", index)
        try:
            if not layout.workflow:
                raise FieldError(WORKFLOW_FIELD, "A layout needs a workflow file name.")
            graph = read_graph(workflow_path(output, workflows_dir, layout.workflow))
            check_mapping(graph, output.mapping)
            check_required_models(graph, layout.required_models)
        except FieldError as exc:
            raise FieldError(child(where, exc.field), exc.problem) from None


def load_workflow(output: OutputConfig, workflows_dir: Path, workflow: str = "") -> dict[str, Any]:
    """A fresh, independent copy of the API-format graph of ``output``.

    The file is read and checked on every call, so callers may change the result freely.
    ``workflow`` names a layout's template instead of the output's own.

    Raises:
        ConfigError: the output has no ComfyUI workflow, or its template is missing or broken.
    """
    title = output.name.en or output.id
    if output.route is not Route.comfyui or not output.workflow:
        raise ConfigError(
            f"“{title}” does not use a ComfyUI workflow.",
            detail=f"output {output.id}: route {output.route.value}, workflow {output.workflow!r}",
            key="error.no_workflow",
            params={
                "output_en": output.name.get("en") or output.id,
                "output_de": output.name.get("de") or output.id,
            },
        )
    path = workflow_path(output, workflows_dir, workflow)
    try:
        graph = read_graph(path)
        check_mapping(graph, output.mapping)
    except FieldError as exc:
        raise ConfigError(
            f"The workflow of “{title}” is missing or broken. "
            "Reinstall the app or fix the file named in the details.",
            detail=f"{path}: {exc}",
            key="error.workflow_broken",
            params={
                "output_en": output.name.get("en") or output.id,
                "output_de": output.name.get("de") or output.id,
            },
        ) from None
    return graph
