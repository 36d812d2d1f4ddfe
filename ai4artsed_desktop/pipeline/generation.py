"""The generation stage: route an output config to ComfyUI, SwarmUI, code or a cloud API.

Each route turns a final prompt into media bytes while reporting real progress; the runner
stores the files. Nothing here knows about Qt or the run record.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..backends.comfyui import ComfyClient
from ..backends.swarmui import SwarmClient
from ..backends.swarmui_parsing import Text2ImageParams
from ..backends.vram import VramArbiter
from ..content.loader import load_workflow
from ..content.schema import MediaType, OutputConfig, Route
from ..errors import (
    AppError,
    BackendRequestError,
    BackendUnavailable,
    ConfigError,
    UserCancelled,
)
from ..events import (
    JobFailed,
    JobFinished,
    JobInterrupted,
    JobPreview,
    JobProgress,
    OutputFile,
)
from .availability import ModelChoice, describe_missing, missing_loras
from .comfy_cleanup import run_prefix
from .lora import AppliedLora, LoraSpec, add_trigger_words, inject_loras
from .model_status import ModelStatusBoard
from .routing import RoutingError
from .workflow import Graph, apply_inputs, clip_seconds, set_filename_prefix, set_model_files

GIB = 2**30
#: Media types the platform tables may lack (Windows' has no FLAC or Opus).
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}


def guess_mime(filename: str) -> str:
    """The media type of a produced file, the same on every platform."""
    suffix = Path(filename).suffix.lower()
    return (
        MEDIA_TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )


CODE_FILES = {"p5": "sketch.js", "tone": "piece.js"}


@dataclass(frozen=True)
class GenerationJob:
    """What to generate."""

    run_id: str
    output: OutputConfig
    prompt: str
    negative: str = ""
    seed: int = 0
    values: Mapping[str, object] = field(default_factory=dict)  # size, steps, cfg, seconds, ...
    loras: Sequence[LoraSpec] = ()


@dataclass(frozen=True)
class Produced:
    """One file the backend produced (bytes fetched into memory)."""

    data: bytes = field(repr=False)
    filename: str
    mime: str
    kind: str  # "image", "audio", "music", "video", "code"
    server_file: OutputFile | None = None  # ComfyUI's own copy (removed once saved)


@dataclass(frozen=True)
class Step:
    """Progress of the generation (``preview`` holds an encoded frame when there is one)."""

    step: int = 0
    total: int = 0
    preview: bytes = field(default=b"", repr=False)
    preview_mime: str = "image/jpeg"


@dataclass
class GenerationOutcome:
    """Filled in while the generation runs (read it after the stream ended)."""

    files: list[Produced] = field(default_factory=list)
    prompt: str = ""
    applied: tuple[AppliedLora, ...] = ()
    graph: Graph | None = None


class Backends(Protocol):
    """Where the generation gets its clients (the BackendManager in the app)."""

    async def comfy(self) -> ComfyClient:
        """A ready ComfyUI client (direct or through SwarmUI)."""
        ...

    async def swarm(self) -> SwarmClient:
        """A ready SwarmUI client."""
        ...

    def engine_crash_since(self, since: float) -> str | None:
        """Why the app-managed image server died after ``since`` (monotonic), or None."""
        ...


def _media_kind(output: OutputConfig) -> str:
    return "music" if output.media is MediaType.music else output.media.value


def prepare_graph(
    job: GenerationJob, workflows_dir: Path, choice: ModelChoice | None = None
) -> tuple[Graph, str, tuple[AppliedLora, ...]]:
    """The exact graph to submit: template + mapped values + LoRAs (+ trigger words).

    ``choice`` (from the availability check) names the layout's template and the model file
    names this ComfyUI lists; without it the output's own template and names are used.

    Returns:
        The graph, the prompt as sent (with trigger words) and the LoRAs applied.

    Raises:
        ConfigError: the template or a mapping is broken.
        LoraError: a LoRA cannot be applied to this graph.
    """
    prompt = add_trigger_words(job.prompt, job.loras) if job.loras else job.prompt
    values: dict[str, object] = {**job.values, "prompt": prompt, "seed": job.seed}
    if job.negative:
        values["negative"] = job.negative
    template = load_workflow(job.output, workflows_dir, choice.workflow if choice else "")
    if choice is not None:
        template = set_model_files(template, choice.files)
    graph = apply_inputs(template, job.output, values)
    graph = set_filename_prefix(graph, run_prefix(job.run_id))
    applied: tuple[AppliedLora, ...] = ()
    if job.loras:
        result = inject_loras(graph, loras_for(job.output, job.loras))
        graph, applied = result.graph, result.applied
    return graph, prompt, applied


def loras_for(output: OutputConfig, loras: Sequence[LoraSpec]) -> list[LoraSpec]:
    """The LoRAs as injected into ``output``'s graph.

    Video models' LoRAs adapt the diffusion model only (their UMT5/T5 encoder is never
    trained), so they go in as ``LoraLoaderModelOnly``.
    """
    if output.media is not MediaType.video:
        return list(loras)
    return [replace(lora, model_only=True) for lora in loras]


#: Mapping keys that are texts or the seed: recorded elsewhere in the run, not as parameters.
_NOT_PARAMETERS = frozenset({"prompt", "negative", "seed", "tags", "lyrics"})
#: What SwarmUI's simple route takes from the values (Text2ImageParams).
_SWARM_PARAMETERS = ("width", "height", "steps", "cfg")


def used_parameters(job: GenerationJob, workflows_dir: Path) -> dict[str, object]:
    """The output parameters this generation really uses (for ``run.json``).

    ComfyUI outputs: every mapped setting as it stands in the graph to be submitted (the
    request's value, else the output's default, else the template's own), so a run records
    its steps and size even when nobody changed them. SwarmUI: width, height, steps and cfg
    as sent. Code and cloud outputs have none.

    Raises:
        ConfigError: the template or a value is broken (as the generation itself would).
    """
    output = job.output
    if output.route is Route.comfyui:
        graph, _, _ = prepare_graph(job, workflows_dir)
        used = {
            key: graph[targets[0].node]["inputs"][targets[0].input]
            for key, targets in output.mapping.items()
            if key not in _NOT_PARAMETERS and targets
        }
        frames, fps = used.get("frames"), used.get("fps")
        if isinstance(frames, int) and isinstance(fps, float):
            used["seconds"] = clip_seconds(frames, fps)
        return used
    if output.route is Route.swarmui_t2i:
        values = {**output.defaults, **job.values}
        return {key: values[key] for key in _SWARM_PARAMETERS if key in values}
    return {}


async def _check_available(
    client: ComfyClient, job: GenerationJob, models: ModelStatusBoard | None
) -> ModelChoice | None:
    """The layout and file names to use; raises when a model or LoRA file is missing or damaged.

    The board (when given) records the result, so Create greys the output at once.
    """
    board = models or ModelStatusBoard()
    result = await board.check(client, job.output)
    if result.missing or result.damaged:
        raise ConfigError(
            f"“{job.output.name.en}” cannot run here yet: {result.reason}",
            detail="\n".join(
                [result.reason]  # the UI's own words for it leave out file names
                + [f"{m.node_class}.{m.input}={m.file}" for m in result.missing]
                + [f"{d.path}: {d.check.detail}" for d in result.damaged]
            ),
            key="error.output_not_ready",
        )
    missing = await missing_loras(client, job.loras)
    if missing:
        raise ConfigError(
            f"“{job.output.name.en}” cannot run here yet: {describe_missing(missing)}",
            detail="\n".join(
                [describe_missing(missing)]
                + [f"{m.node_class}.{m.input}={m.file}" for m in missing]
            ),
            key="error.lora_missing",
        )
    return result.choice


async def _free_vram_if_tight(arbiter: VramArbiter | None, output: OutputConfig) -> None:
    if arbiter is not None and output.vram_gb > 0:
        await arbiter.ensure_free(int(output.vram_gb * GIB), for_=output.name.en)


async def run_comfy(
    job: GenerationJob,
    backends: Backends,
    workflows_dir: Path,
    outcome: GenerationOutcome,
    *,
    arbiter: VramArbiter | None = None,
    models: ModelStatusBoard | None = None,
) -> AsyncIterator[Step]:
    """Run the output's ComfyUI workflow; files land in ``outcome.files``.

    ``models`` checks the model files (and records what it found for Create and doctor).
    """
    prepare_graph(job, workflows_dir)  # a broken template fails before ComfyUI starts
    client = await backends.comfy()
    choice = await _check_available(client, job, models)
    graph, prompt, applied = prepare_graph(job, workflows_dir, choice)
    outcome.graph, outcome.prompt, outcome.applied = graph, prompt, applied
    await _free_vram_if_tight(arbiter, job.output)

    async def finished(event: JobFinished) -> None:
        await _collect(client, event.outputs, job.output, outcome)

    started = time.monotonic()
    try:
        async with aclosing(_steps(client.run(graph), finished)) as steps:
            async for step in steps:
                yield step
    except UserCancelled:
        raise
    except AppError as exc:
        # A lost connection, or a job that vanished from a restarted server: if the
        # supervisor saw the server die meanwhile, that is what the user must hear.
        cause = backends.engine_crash_since(started)
        if cause is None:
            raise
        raise _died(exc, cause) from exc


def _died(exc: AppError, cause: str) -> BackendUnavailable:
    """The failure explained by the server's death, with the supervisor's cause."""
    return BackendUnavailable(
        f"The image server stopped during the generation: {cause} The app starts it again; "
        "try once more in a minute, and see the log if it happens again.",
        detail=f"{cause}\n{exc.user_message} {exc.detail}".strip(),
        key="error.image_server_died",  # the cause (English, from the supervisor): detail
    )


async def _steps(
    events: AsyncGenerator[object, None], finished: Callable[[JobFinished], Awaitable[None]]
) -> AsyncGenerator[Step, None]:
    """Job events -> progress steps; ``finished`` fetches the files; failures raise.

    Raises:
        AppError: the server reported an execution error.
        UserCancelled: the job was interrupted on the server.
    """
    async with aclosing(events):
        async for event in events:
            if isinstance(event, JobProgress):
                yield Step(event.step, event.total)
            elif isinstance(event, JobPreview):
                yield Step(preview=event.image, preview_mime=event.mime)
            elif isinstance(event, JobFinished):
                await finished(event)
            elif isinstance(event, JobFailed):
                raise AppError(
                    f"The generation failed: {event.message}",
                    detail=event.detail or event.node,
                    key="error.generation_failed",
                    params={"message": event.message},
                )
            elif isinstance(event, JobInterrupted):
                raise UserCancelled()


async def _collect(
    client: ComfyClient,
    files: Sequence[OutputFile],
    output: OutputConfig,
    outcome: GenerationOutcome,
) -> None:
    wanted = [f for f in files if f.type == "output"] or list(files)
    if not wanted:
        raise AppError("The generation finished without producing a file.", key="error.no_file")
    for file in wanted:
        data = await client.view(file)
        mime = guess_mime(file.filename)
        name = Path(file.filename).name
        outcome.files.append(Produced(data, name, mime, _media_kind(output), server_file=file))


async def run_swarm(
    job: GenerationJob, backends: Backends, outcome: GenerationOutcome
) -> AsyncIterator[Step]:
    """SwarmUI's simple text-to-image route (GenerateText2ImageWS)."""
    prompt = add_trigger_words(job.prompt, job.loras) if job.loras else job.prompt
    outcome.prompt = prompt
    values = {**job.output.defaults, **job.values}
    params = Text2ImageParams(
        prompt=prompt,
        model=job.output.engine_options.get("model", ""),
        negative_prompt=job.negative,
        width=_int(values.get("width")),
        height=_int(values.get("height")),
        steps=_int(values.get("steps")),
        cfg_scale=_float(values.get("cfg")),
        seed=job.seed,
        loras=tuple(Path(lora.file).stem for lora in job.loras),
        lora_weights=tuple(lora.strength_model for lora in job.loras),
    )
    client = await backends.swarm()

    async def finished(event: JobFinished) -> None:
        for number, file in enumerate(event.outputs, start=1):
            data = await client.fetch_image(file.filename)
            suffix = Path(file.filename).suffix.lower() or ".png"
            name = f"ai4artsed_{job.run_id}_{number:05d}{suffix}"
            mime = guess_mime(name)
            outcome.files.append(Produced(data, name, mime, "image"))

    async with aclosing(_steps(client.generate_text2image_ws(params), finished)) as steps:
        async for step in steps:
            yield step


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def code_file(job: GenerationJob, code: str, outcome: GenerationOutcome) -> None:
    """Code outputs: the (checked) code itself is the result."""
    outcome.prompt = code
    name = CODE_FILES.get(job.output.framework, "code.js")
    outcome.files.append(Produced(code.encode("utf-8"), name, "text/javascript", "code"))


KeyGetter = Callable[[str], str | None]


def check_cloud_allowed(output: OutputConfig, local_only: bool) -> None:
    """Refuse a cloud output while local-only is on or the admin has not enabled it.

    Raises:
        RoutingError: the cloud route is not allowed here.
    """
    if local_only or not output.enabled:
        raise RoutingError(
            "Cloud image generation is switched off on this computer (local-only). "
            "Ask your teacher to choose a local image output.",
            detail=f"output {output.id}: local_only={local_only}, enabled={output.enabled}",
            key="error.cloud_image_off",
        )


async def run_cloud_image(
    job: GenerationJob,
    outcome: GenerationOutcome,
    *,
    local_only: bool,
    key_getter: KeyGetter = os.environ.get,
    base_url: str = "https://api.openai.com",
) -> None:
    """A cloud image API (OpenAI Images); only when the admin allowed cloud routes.

    Raises:
        AppError: cloud routes are off (local-only) or the output is disabled, the API key is
            missing, or the service refused the request.
    """
    check_cloud_allowed(job.output, local_only)
    key_name = job.output.engine_options.get("api_key_env", "OPENAI_API_KEY")
    key = key_getter(key_name)
    if not key:
        raise AppError(
            f"The cloud image service needs an API key in {key_name}.",
            key="error.cloud_image_key",
            params={"variable": key_name},
        )
    body = {
        "model": job.output.engine_options.get("model", "gpt-image-1"),
        "prompt": job.prompt,
        "n": 1,
        "size": job.output.engine_options.get("size", "1024x1024"),
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=180, trust_env=True) as http:
        resp = await http.post(
            "/v1/images/generations", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    data: Any = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    if resp.status_code != 200:
        message = (
            (data.get("error") or {}).get("message", resp.text[:200])
            if isinstance(data, dict)
            else ""
        )
        raise BackendRequestError(
            f"The cloud image service refused: {message}",
            detail=message,
            status=resp.status_code,
            key="error.cloud_image_refused",
            params={"status": resp.status_code},
        )
    try:
        image = base64.b64decode(data["data"][0]["b64_json"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise AppError(
            "The cloud image service sent an unexpected answer.",
            detail=str(exc),
            key="error.cloud_image_answer",
        ) from exc
    outcome.prompt = job.prompt
    outcome.files.append(Produced(image, "image.png", "image/png", "image"))


def planned(output: OutputConfig) -> AppError:
    """The error for an output that is planned but not available."""
    return AppError(
        f"“{output.name.en}” is planned and not available yet.",
        key="error.output_planned",
        params={"output_en": output.name.get("en"), "output_de": output.name.get("de")},
    )


def is_code(output: OutputConfig) -> bool:
    """True for the p5.js / Tone.js outputs."""
    return output.route is Route.code
