"""Validation of GenerateText2Image parameters for the SwarmUI simulator."""

from __future__ import annotations

import secrets
from typing import Any

from .swarm_common import RouteError, SwarmLog
from .swarm_engine import GenRequest
from .swarm_models import ModelCatalog

#: Root-level keys the simulator understands; others are ignored with a warning.
KNOWN_PARAMS = frozenset(
    {
        "session_id", "images", "prompt", "negativeprompt", "model", "width", "height",
        "aspectratio", "steps", "cfgscale", "seed", "noseedincrement", "sampler", "scheduler",
        "loras", "loraweights", "loratencweights", "batchsize", "sigmashift", "vae",
        "donotsave", "presets", "extra_metadata", "internalbackendtype",
    }
)  # fmt: skip


def int_param(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """An integer parameter (ints, integral floats and digit strings are accepted)."""
    value = body.get(key, default)
    if isinstance(value, bool):
        raise RouteError(f"Invalid value for parameter {key}: '{value}' is not a number.")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise RouteError(f"Invalid value for parameter {key}: '{value}' is not an integer.")
    if not low <= number <= high:
        raise RouteError(f"Invalid value for parameter {key}: {number} is not in [{low}, {high}].")
    return number


def list_param(value: Any) -> list[str]:
    """A list parameter: a comma-separated string or a JSON array (joined like Swarm does)."""
    if value is None:
        return []
    if isinstance(value, list):
        value = ",".join(str(item) for item in value)
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _weights(body: dict[str, Any], key: str, count: int) -> list[float]:
    weights = list_param(body.get(key))
    if key in body and len(weights) != count:
        raise RouteError(
            f"Parameter {key} has {len(weights)} entries but loras has {count}; "
            "every LoRA needs exactly one weight."
        )
    try:
        return [float(weight) for weight in weights]
    except ValueError as exc:
        raise RouteError(f"Invalid value for parameter {key}: {exc}") from exc


def _resolve(catalog: ModelCatalog, subtype: str, param: str, given: str) -> str:
    info = catalog.find(subtype, given)
    if info is None:
        raise RouteError(
            f"Invalid model value for param {param} - '{given}' - "
            "are you sure that model name is correct?"
        )
    return info.name


def _metadata(
    body: dict[str, Any], model: str, loras: list[str], weights: list[float]
) -> dict[str, Any]:
    """The generation parameters stored in the PNG and sent with progress frames."""
    metadata: dict[str, Any] = {
        "negativeprompt": str(body.get("negativeprompt") or ""),
        "model": model,
        "cfgscale": body.get("cfgscale", 7.0),
        "sampler": body.get("sampler", "euler"),
        "scheduler": body.get("scheduler", "normal"),
        "loras": loras,
        "loraweights": weights,
    }
    extra = body.get("extra_metadata")
    if isinstance(extra, dict):
        metadata["extra_metadata"] = {str(k): str(v) for k, v in extra.items()}
    return metadata


def build_request(
    body: dict[str, Any], catalog: ModelCatalog, session_id: str, log: SwarmLog
) -> GenRequest:
    """Validate a GenerateText2Image body; raises :class:`RouteError` like Swarm's 200 errors."""
    for key in body:
        if key not in KNOWN_PARAMS:
            log.warning(
                f"T2I request had parameter '{key}', but that parameter is unrecognized, skipping."
            )
    if "images" not in body:
        raise RouteError("Missing required parameter 'images'")
    images = int_param(body, "images", 1, 0, 100)
    given_model = str(body.get("model") or "").strip()
    if not given_model:
        raise RouteError("No model input given. Did your UI load properly?")
    model = _resolve(catalog, "Stable-Diffusion", "Model", given_model)
    loras = [_resolve(catalog, "LoRA", "LoRAs", name) for name in list_param(body.get("loras"))]
    weights = _weights(body, "loraweights", len(loras))
    _weights(body, "loratencweights", len(loras))
    seed = int_param(body, "seed", -1, -1, 2**63 - 1)
    if seed == -1:
        seed = secrets.randbelow(2**31)
    prompt = str(body.get("prompt") or "")
    width = int_param(body, "width", 1024, 16, 16384)
    height = int_param(body, "height", 1024, 16, 16384)
    steps = int_param(body, "steps", 20, 0, 500)
    metadata = _metadata(body, model, loras, weights)
    metadata.update({"prompt": prompt, "width": width, "height": height, "steps": steps})
    return GenRequest(
        session_id=session_id,
        prompt=prompt,
        model=model,
        images=images,
        seed=seed,
        seed_increment=not bool(body.get("noseedincrement", False)),
        steps=steps,
        width=width,
        height=height,
        donotsave=bool(body.get("donotsave", False)),
        metadata=metadata,
    )
