"""``POST /prompt`` graph validation, following ComfyUI's ``validate_prompt`` (§2.5)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from .comfy_nodes import NODE_MAP, Inp, NodeDef
from .comfy_registry import Folders

Error = dict[str, Any]
_BUILTIN_TYPES = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}


@dataclass
class Validation:
    """The outcome: ``error`` is the top-level error object (None when accepted)."""

    error: Error | None
    outputs: list[str] = field(default_factory=list)
    node_errors: dict[str, Any] = field(default_factory=dict)


def _error(
    kind: str, message: str, details: str = "", extra: dict[str, Any] | None = None
) -> Error:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def _types_match(received: str, wanted: str) -> bool:
    if "*" in (received, wanted) or received == wanted:
        return True
    return bool(set(received.split(",")) & set(wanted.split(",")))


class _Validator:
    def __init__(self, prompt: dict[str, Any], folders: Folders) -> None:
        self.prompt = prompt
        self.folders = folders
        self.validated: dict[str, tuple[bool, list[Error]]] = {}

    def node(self, node_id: str) -> tuple[bool, list[Error]]:
        if node_id in self.validated:
            return self.validated[node_id]
        entry = self.prompt[node_id]
        definition = NODE_MAP[entry["class_type"]]
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            raise TypeError(f"inputs of node {node_id} is not an object")
        errors: list[Error] = []
        valid = True
        for inp in definition.inputs:
            if inp.name not in inputs:
                if not inp.optional:
                    errors.append(
                        _error(
                            "required_input_missing",
                            "Required input is missing",
                            inp.name,
                            {"input_name": inp.name},
                        )
                    )
                continue
            value = inputs[inp.name]
            if isinstance(value, list):
                error, upstream_ok = self._link(definition, inp, value)
                valid = valid and upstream_ok
            else:
                error = self._literal(inp, value, inputs)
            if error is not None:
                errors.append(error)
        result = (not errors and valid, errors)
        self.validated[node_id] = result
        return result

    def _config(self, inp: Inp) -> list[Any]:
        kind: Any = self.folders.combo_options(inp) if inp.kind == "COMBO" else inp.kind
        return [kind, dict(inp.opts)]

    def _link(self, node: NodeDef, inp: Inp, value: list[Any]) -> tuple[Error | None, bool]:
        del node
        if len(value) != 2:
            message = "Bad linked input, must be a length-2 list of [node_id, slot_index]"
            extra = {
                "input_name": inp.name,
                "input_config": self._config(inp),
                "received_value": value,
            }
            return _error("bad_linked_input", message, inp.name, extra), True
        source_id, slot = value
        source = self.prompt[source_id]  # a KeyError here is an exception during validation
        received = NODE_MAP[source["class_type"]].outputs[slot]
        if not _types_match(received, inp.kind):
            details = f"{inp.name}, received_type({received}) mismatch input_type({inp.kind})"
            extra = {
                "input_name": inp.name,
                "input_config": self._config(inp),
                "received_type": received,
                "linked_node": value,
            }
            return _error(
                "return_type_mismatch", "Return type mismatch between linked nodes", details, extra
            ), True
        ok, _errors = self.node(str(source_id))
        return None, ok

    def _literal(self, inp: Inp, value: Any, inputs: dict[str, Any]) -> Error | None:
        extra: dict[str, Any] = {"input_name": inp.name, "input_config": self._config(inp)}
        convert = _BUILTIN_TYPES.get(inp.kind)
        if convert is not None:
            try:
                value = convert(value)
            except Exception as exc:
                details = f"{inp.name}, {value}, {exc}"
                extra.update(received_value=value, exception_message=str(exc))
                message = f"Failed to convert an input value to a {inp.kind} value"
                return _error("invalid_input_type", message, details, extra)
            inputs[inp.name] = value
        extra["received_value"] = value
        low, high = inp.opts.get("min"), inp.opts.get("max")
        if low is not None and value < low:
            return _error(
                "value_smaller_than_min",
                f"Value {value} smaller than min of {low}",
                inp.name,
                extra,
            )
        if high is not None and value > high:
            return _error(
                "value_bigger_than_max", f"Value {value} bigger than max of {high}", inp.name, extra
            )
        if inp.kind == "COMBO":
            options = self.folders.combo_options(inp)
            if value not in options:
                if len(options) > 20:
                    listing, extra["input_config"] = f"(list of length {len(options)})", None
                else:
                    listing = str(options)
                details = f"{inp.name}: '{value}' not in {listing}"
                return _error("value_not_in_list", "Value not in list", details, extra)
        return None


def _check_classes(prompt: dict[str, Any]) -> tuple[list[str], Error | None]:
    outputs: list[str] = []
    for node_id, entry in prompt.items():
        if not isinstance(entry, dict) or "class_type" not in entry:
            message = "Cannot execute because a node is missing the class_type property."
            return [], _error("invalid_prompt", message, f"Node ID '#{node_id}'")
        class_type = entry["class_type"]
        node = NODE_MAP.get(class_type) if isinstance(class_type, str) else None
        if node is None:
            message = f"Cannot execute because node {class_type} does not exist."
            return [], _error("invalid_prompt", message, f"Node ID '#{node_id}'")
        if node.output_node:
            outputs.append(node_id)
    if not outputs:
        return [], _error("prompt_no_outputs", "Prompt has no outputs")
    return outputs, None


def _validate_output(validator: _Validator, output: str) -> tuple[bool, list[Error]]:
    try:
        return validator.node(output)
    except Exception as exc:  # a broken link (unknown node id, bad slot) raises, as in ComfyUI
        extra = {
            "exception_type": type(exc).__name__,
            "traceback": traceback.format_tb(exc.__traceback__),
        }
        reasons = [
            _error("exception_during_validation", "Exception when validating node", str(exc), extra)
        ]
        validator.validated[output] = (False, reasons)
        return False, reasons


def validate_prompt(
    prompt: dict[str, Any], folders: Folders, targets: list[str] | None = None
) -> Validation:
    """Validate a graph; on success ``outputs`` names the output nodes that will run.

    Args:
        prompt: the API-format graph (literal inputs are converted in place, like ComfyUI).
        folders: where combo option lists (model files, input images) come from.
        targets: ``partial_execution_targets``: only these output nodes count.
    """
    outputs, error = _check_classes(prompt)
    if error is not None:
        return Validation(error)
    if targets is not None:
        outputs = [o for o in outputs if o in targets]
        if not outputs:
            return Validation(_error("prompt_no_outputs", "Prompt has no outputs"))
    validator = _Validator(prompt, folders)
    good: list[str] = []
    failed: list[tuple[str, list[Error]]] = []
    node_errors: dict[str, Any] = {}
    for output in outputs:
        ok, reasons = _validate_output(validator, output)
        if ok:
            good.append(output)
            continue
        failed.append((output, reasons))
        for node_id, (node_ok, node_reasons) in validator.validated.items():
            if node_ok or not node_reasons:
                continue  # downstream of a failed node: not reported as an error itself
            entry = node_errors.setdefault(
                node_id,
                {"errors": node_reasons, "dependent_outputs": [],
                 "class_type": prompt[node_id]["class_type"]},
            )  # fmt: skip
            entry["dependent_outputs"].append(output)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for _o, errs in failed for e in errs)
        error = _error(
            "prompt_outputs_failed_validation", "Prompt outputs failed validation", details
        )
        return Validation(error, [], node_errors)
    return Validation(None, good, node_errors)
