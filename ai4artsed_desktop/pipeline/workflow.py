"""Fill ComfyUI API-format templates: mapped values, file-name prefixes and uploaded images.

Every function returns a new graph and leaves the template it was given untouched, so one
loaded template can serve many runs. Graph shape: protocols.md §2.13.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from ..content.schema import InputTarget, OutputConfig, RequiredModel, VideoSpec
from ..errors import ConfigError

Graph = dict[str, Any]
"""An API-format graph: node id -> ``{"class_type": ..., "inputs": {...}}``."""

SEED_MAX = 2**64 - 1
"""The largest seed ComfyUI accepts (seeds are integers in [0, 2**64 - 1])."""

#: Semantic keys and input names whose values are whole numbers.
INT_NAMES = frozenset(
    {"seed", "noise_seed", "steps", "width", "height", "batch_size", "length", "frames"}
)
#: Semantic keys and input names whose values are floating-point numbers.
FLOAT_NAMES = frozenset(
    {
        "cfg",
        "seconds",
        "seconds_total",
        "seconds_start",
        "denoise",
        "shift",
        "lyrics_strength",
        "fps",
    }
)
#: Whole-number keys that must be at least 1.
_POSITIVE_NAMES = frozenset({"steps", "width", "height", "batch_size", "length", "frames"})
#: Output classes of a stock ComfyUI that a template may use (``output_node: true``).
OUTPUT_CLASSES = frozenset(
    {
        "SaveImage",
        "PreviewImage",
        "SaveAnimatedWEBP",
        "SaveAnimatedPNG",
        "SaveVideo",
        "SaveWEBM",
        "SaveAudio",
        "SaveAudioMP3",
        "SaveAudioOpus",
        "PreviewAudio",
    }
)
#: Output classes that write files named after a ``filename_prefix`` input.
SAVE_CLASSES = frozenset(
    {
        "SaveImage",
        "SaveAnimatedWEBP",
        "SaveAnimatedPNG",
        "SaveVideo",
        "SaveWEBM",
        "SaveAudio",
        "SaveAudioMP3",
        "SaveAudioOpus",
    }
)
_PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)*")
_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
)


class ImageUploader(Protocol):
    """What :func:`upload_inputs` needs from a ComfyUI client (``ComfyClient`` has it)."""

    async def upload_image(self, data: bytes, filename: str, *, overwrite: bool = False) -> str:
        """Upload ``data`` as ``filename``; returns the name the server stored it under."""
        ...


def is_link(value: object) -> bool:
    """True if ``value`` is an API-format link ``["<node id>", <output index>]``."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def iter_links(graph: Mapping[str, Any]) -> Iterator[tuple[str, str, str, int]]:
    """Every link of ``graph`` as ``(node id, input name, source node id, output index)``."""
    for node_id, node in graph.items():
        for name, value in node.get("inputs", {}).items():
            if is_link(value):
                yield node_id, name, value[0], value[1]


def output_nodes(
    graph: Mapping[str, Any], output_classes: frozenset[str] | set[str] = OUTPUT_CLASSES
) -> list[str]:
    """Ids of the nodes ComfyUI starts execution from, in graph order.

    Args:
        graph: An API-format graph.
        output_classes: Class names with ``output_node: true``; pass the names from
            ``/object_info`` to include custom output nodes.
    """
    return [node_id for node_id, node in graph.items() if node["class_type"] in output_classes]


def _title(output: OutputConfig) -> str:
    return output.name.en or output.id


def _check_targets(graph: Mapping[str, Any], output: OutputConfig) -> None:
    for key, targets in output.mapping.items():
        for target in targets:
            node = graph.get(target.node)
            if node is not None and target.input in node.get("inputs", {}):
                continue
            raise ConfigError(
                f"The output “{_title(output)}” cannot be used: its setting '{key}' points to "
                f"input '{target.input}' of node '{target.node}', which its workflow does not "
                "have. Fix the output file or reinstall the app.",
                detail=f"output {output.id}, mapping key {key!r}: node {target.node!r}, "
                f"input {target.input!r}; workflow {output.workflow!r} has nodes "
                f"{sorted(graph)}",
                key="error.output_broken",
                params={
                    "output_en": output.name.get("en") or output.id,
                    "output_de": output.name.get("de") or output.id,
                },
            )


def _value_kind(key: str, target: InputTarget, current: object) -> type:
    if key in INT_NAMES or target.input in INT_NAMES:
        return int
    if key in FLOAT_NAMES or target.input in FLOAT_NAMES:
        return float
    if isinstance(current, bool):
        return bool
    if isinstance(current, int):
        return int
    if isinstance(current, float):
        return float
    return str


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _convert(kind: type, value: object) -> object:
    if kind is int:
        return _to_int(value)
    if kind is float:
        return _to_float(value)
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


_KIND_WORDS = {int: "a whole number", float: "a number", bool: "yes or no", str: "a text"}


def _coerce(
    output: OutputConfig, key: str, target: InputTarget, current: object, value: object
) -> object:
    """Convert ``value`` to the type of the target input, or raise ``ConfigError``."""
    where = f"output {output.id}, key {key!r} -> node {target.node!r} input {target.input!r}"
    if is_link(current):
        raise ConfigError(
            f"The output “{_title(output)}” cannot be used: its setting '{key}' points to a "
            "connection between nodes, not to a value.",
            detail=f"{where} holds the link {current!r}",
            key="error.output_broken",
            params={
                "output_en": output.name.get("en") or output.id,
                "output_de": output.name.get("de") or output.id,
            },
        )
    kind = _value_kind(key, target, current)
    converted = _convert(kind, value)
    problem = "" if converted is not None else f"must be {_KIND_WORDS[kind]}"
    if isinstance(converted, int) and not isinstance(converted, bool):
        if (key == "seed" or target.input in ("seed", "noise_seed")) and not (
            0 <= converted <= SEED_MAX
        ):
            problem = f"must lie between 0 and {SEED_MAX}"
        elif (key in _POSITIVE_NAMES or target.input in _POSITIVE_NAMES) and converted < 1:
            problem = "must be at least 1"
    if problem:
        raise ConfigError(
            f"The setting '{key}' of “{_title(output)}” {problem}, not {value!r}.",
            detail=f"{where}: value {value!r} ({type(value).__name__})",
            key="error.output_setting",
            params={
                "setting": key,
                "output_en": output.name.get("en") or output.id,
                "output_de": output.name.get("de") or output.id,
            },
        )
    return converted


def video_frames(seconds: float, fps: float, spec: VideoSpec) -> int:
    """The frame count for a clip of about ``seconds`` at ``fps`` that ``spec``'s model takes.

    The count has the form ``frame_step * n + 1`` with ``n`` at least 1, rounded to the
    nearest such count and cut to the longest the model takes (``max_frames``, itself
    rounded down to that form).

    Raises:
        ValueError: ``seconds`` or ``fps`` is not a positive finite number.
    """
    if not (math.isfinite(seconds) and math.isfinite(fps) and seconds > 0 and fps > 0):
        raise ValueError(f"no clip of {seconds!r} s at {fps!r} fps")
    step = spec.frame_step
    longest = max(1, (spec.max_frames - 1) // step)
    steps = min(longest, max(1, round(seconds * fps / step)))
    return step * steps + 1


def clip_seconds(frames: int, fps: float) -> float:
    """The length in seconds a user chose for ``frames`` at ``fps`` (``frames - 1`` intervals)."""
    return round((frames - 1) / fps, 2) if fps > 0 else 0.0


def _with_frames(output: OutputConfig, values: Mapping[str, object]) -> Mapping[str, object]:
    """``values`` plus ``frames`` from ``seconds`` and ``fps`` for a video output."""
    if output.video is None or "frames" not in output.mapping or "frames" in values:
        return values
    seconds = _to_float(values.get("seconds", output.defaults.get("seconds")))
    fps = _to_float(values.get("fps", output.defaults.get("fps")))
    if seconds is None or fps is None or seconds <= 0 or fps <= 0:
        raise ConfigError(
            f"The length of a clip of “{_title(output)}” must be a positive number of seconds "
            "at a positive frame rate.",
            detail=f"output {output.id}: seconds {values.get('seconds')!r} "
            f"(default {output.defaults.get('seconds')!r}), fps {values.get('fps')!r} "
            f"(default {output.defaults.get('fps')!r})",
            key="error.output_setting",
            params={
                "setting": "seconds",
                "output_en": output.name.get("en") or output.id,
                "output_de": output.name.get("de") or output.id,
            },
        )
    return {**values, "frames": video_frames(seconds, fps, output.video)}


def apply_inputs(
    graph: Mapping[str, Any], output: OutputConfig, values: Mapping[str, object]
) -> Graph:
    """A copy of ``graph`` with the output's mapped values written into it.

    Each mapping key is written to **all** its targets. A key missing from ``values`` takes
    ``output.defaults[key]``; a key with neither keeps the template's value. Keys of ``values``
    that the output does not map are ignored (an output without a negative prompt simply has
    none). Values are converted to the input's type: whole numbers for seed, steps, width and
    height, floats for cfg and seconds, otherwise the type the template holds there. A video
    output (``output.video``) gets ``frames`` from ``seconds`` and ``fps`` by its frame rule
    (:func:`video_frames`) unless ``values`` names ``frames`` itself.

    Args:
        graph: The template (left unchanged).
        output: The output config whose ``mapping`` and ``defaults`` apply.
        values: Semantic key -> value for this run (``prompt``, ``seed``, ...).

    Returns:
        The filled graph.

    Raises:
        ConfigError: a mapping target names a node or input the graph lacks, points at a
            link, or a value cannot be converted or is out of range (seeds: 0..2**64-1).
    """
    _check_targets(graph, output)
    values = _with_frames(output, values)
    result: Graph = copy.deepcopy(dict(graph))
    for key, targets in output.mapping.items():
        if key in values:
            value = values[key]
        elif key in output.defaults:
            value = output.defaults[key]
        else:
            continue
        for target in targets:
            inputs = result[target.node]["inputs"]
            inputs[target.input] = _coerce(output, key, target, inputs[target.input], value)
    return result


def set_model_files(graph: Mapping[str, Any], files: Sequence[tuple[RequiredModel, str]]) -> Graph:
    """A copy of ``graph`` whose loader nodes name the files ComfyUI really lists.

    Each ``(slot, name)`` replaces the template's ``slot.file`` in every ``slot.node_class``
    node's ``slot.input`` by ``name`` (``SD1.5/v1-5-pruned-emaonly-fp16.safetensors``, say):
    ComfyUI accepts only a name from its own list.
    """
    result: Graph = copy.deepcopy(dict(graph))
    for slot, name in files:
        for node in result.values():
            inputs = node.get("inputs", {})
            if node.get("class_type") == slot.node_class and inputs.get(slot.input) == slot.file:
                inputs[slot.input] = name
    return result


def set_filename_prefix(graph: Mapping[str, Any], prefix: str) -> Graph:
    """A copy of ``graph`` whose saving nodes name their files after ``prefix``.

    The template's subfolder is kept (``audio/ai4artsed_sao`` becomes ``audio/<prefix>``), so
    audio keeps landing in ``audio/``; a ``prefix`` with its own ``/`` replaces the whole
    value. ComfyUI appends ``_00001_.png`` and so on (protocols.md §2.14).

    Raises:
        ValueError: ``prefix`` is empty or not a safe relative name (letters, digits, ``_``,
            ``-``, ``.``, and ``/`` between parts; no ``..``).
    """
    if not _PREFIX_PATTERN.fullmatch(prefix) or ".." in prefix.split("/"):
        raise ValueError(f"unsafe file name prefix {prefix!r}")
    result: Graph = copy.deepcopy(dict(graph))
    for node in result.values():
        if node["class_type"] not in SAVE_CLASSES:
            continue
        inputs = node["inputs"]
        old = inputs.get("filename_prefix")
        folder = old.rpartition("/")[0] if isinstance(old, str) and "/" not in prefix else ""
        inputs["filename_prefix"] = f"{folder}/{prefix}" if folder else prefix
    return result


def image_extension(data: bytes) -> str:
    """The file extension matching the image bytes (``.png`` when unknown)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    for signature, extension in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return extension
    return ".png"


async def upload_inputs(
    client: ImageUploader,
    graph: Mapping[str, Any],
    images: Mapping[str, bytes],
    *,
    name_prefix: str = "ai4artsed",
) -> Graph:
    """Upload input images and point the ``LoadImage`` nodes at them.

    Each image is uploaded under a name derived from its content
    (``<name_prefix>_<hash><ext>``), so the same picture is stored once. The graph gets the
    name **the server returned**, which differs when the name was taken by another file
    (protocols.md §2.10).

    Args:
        client: The ComfyUI client.
        graph: The graph (left unchanged).
        images: ``LoadImage`` node id -> encoded image bytes.
        name_prefix: Start of the uploaded file names.

    Returns:
        A copy of ``graph`` with the stored names in the nodes' ``image`` inputs.

    Raises:
        ConfigError: a key is not the id of a ``LoadImage``-like node (one with an ``image``
            input) of the graph, or the image is empty.
        BackendUnavailable, BackendRequestError, BackendProtocolError: the upload failed.
    """
    result: Graph = copy.deepcopy(dict(graph))
    for node_id, data in images.items():
        node = result.get(node_id)
        if node is None or "image" not in node.get("inputs", {}) or not data:
            raise ConfigError(
                "The picture for this output cannot be used.",
                key="error.output_picture",
                detail=f"node {node_id!r}: "
                + ("no such node with an 'image' input" if data else "empty image data")
                + f"; graph nodes {sorted(result)}",
            )
        digest = hashlib.sha256(data).hexdigest()[:16]
        filename = f"{name_prefix}_{digest}{image_extension(data)}"
        node["inputs"]["image"] = await client.upload_image(data, filename)
    return result
