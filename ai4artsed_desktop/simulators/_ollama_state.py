"""State of the Ollama simulator: model catalogue, installed and loaded models, keep_alive."""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: Server default when a request has no ``keep_alive`` (``OLLAMA_KEEP_ALIVE`` overrides it).
DEFAULT_KEEP_ALIVE_S = 300.0
#: What "forever" (a negative keep_alive) means: Go's largest duration, about 292 years.
FOREVER_S = (2**63 - 1) / 1e9
DEFAULT_NUM_CTX = 4096


class KeepAliveError(ValueError):
    """A ``keep_alive`` value the real server would refuse with HTTP 400."""


@dataclass(frozen=True)
class ModelSpec:
    """One model the simulator knows: what /api/tags, /api/show and /api/ps report."""

    name: str
    family: str
    parameter_size: str
    quantization: str
    size: int
    capabilities: tuple[str, ...]
    context_length: int = 32768
    #: A cloud model: Ollama forwards its requests to this host instead of loading it.
    remote_host: str = ""

    @property
    def digest(self) -> str:
        """Stable fake sha256 digest (hex, no prefix) derived from the name."""
        return hashlib.sha256(self.name.encode()).hexdigest()

    def has(self, capability: str) -> bool:
        """True when the model advertises ``capability`` ("thinking", "vision", ...)."""
        return capability in self.capabilities


_C = ("completion", "tools")
CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("qwen3:8b", "qwen3", "8.2B", "Q4_K_M", 5_225_388_164, (*_C, "thinking"), 40960),
        ModelSpec("qwen3:4b", "qwen3", "4.0B", "Q4_K_M", 2_497_293_918, (*_C, "thinking"), 40960),
        ModelSpec("llama3.2:3b", "llama", "3.2B", "Q4_K_M", 2_019_393_189, _C, 131072),
        ModelSpec("llama3.2:1b", "llama", "1.2B", "Q8_0", 1_321_098_329, _C, 131072),
        ModelSpec("qwen2.5-coder:7b", "qwen2", "7.6B", "Q4_K_M", 4_683_087_332, (*_C, "insert")),
        ModelSpec("llama-guard3:1b", "llama", "1.5B", "Q8_0", 1_600_071_600, ("completion",)),
        ModelSpec(
            "qwen2.5vl:7b",
            "qwen25vl",
            "8.3B",
            "Q4_K_M",
            5_969_245_856,
            ("completion", "vision"),
            128000,
        ),
        ModelSpec(
            "gemma3:4b", "gemma3", "4.3B", "Q4_K_M", 3_338_801_804, ("completion", "vision"), 131072
        ),
        ModelSpec("mistral:7b", "llama", "7.2B", "Q4_K_M", 4_372_824_384, _C),
        ModelSpec("smollm2:135m", "llama", "134.52M", "F16", 270_898_672, _C, 8192),
    )
}
DEFAULT_INSTALLED = (
    "qwen3:8b",
    "llama3.2:3b",
    "qwen2.5-coder:7b",
    "llama-guard3:1b",
    "qwen2.5vl:7b",
)


def normalize_name(name: str) -> str:
    """``qwen3`` -> ``qwen3:latest``; names with a tag are kept as they are."""
    name = name.strip()
    if ":" not in name.rsplit("/", 1)[-1]:
        return f"{name}:latest"
    return name


CLOUD_HOST = "https://ollama.com:443"


def is_cloud_name(name: str) -> bool:
    """Ollama's rule: a tag ``cloud`` or ending in ``-cloud`` names a cloud model."""
    tag = normalize_name(name).rpartition(":")[2].lower()
    return tag == "cloud" or tag.endswith("-cloud")


def spec_for(name: str, *, stub: bool = False) -> ModelSpec:
    """The catalogue entry for ``name``, or a plausible spec derived from the name itself.

    Cloud names, and ``stub`` (a pulled cloud stub whose name looks local), give a tiny
    manifest-only model with ``remote_host`` set.
    """
    name = normalize_name(name)
    if stub or is_cloud_name(name):
        return ModelSpec(name, "cloud", "", "", 384, ("completion", "tools"), 131072, CLOUD_HOST)
    if name in CATALOGUE:
        return CATALOGUE[name]
    base, _, tag = name.rpartition(":")
    family = re.sub(r"[^a-z]+.*$", "", base.rsplit("/", 1)[-1].lower()) or "llama"
    match = re.match(r"(\d+(?:\.\d+)?)([bm])", tag.lower())
    billions = float(match.group(1)) / (1000 if match.group(2) == "m" else 1) if match else 3.0
    caps: tuple[str, ...] = ("completion",)
    lowered = base.lower()
    if any(key in lowered for key in ("vl", "llava", "vision")):
        caps += ("vision",)
    if any(key in lowered for key in ("qwen3", "deepseek-r1", "gpt-oss", "magistral")):
        caps += ("thinking",)
    size = int(billions * 620_000_000) + 1_000_000
    return ModelSpec(name, family, f"{billions:.1f}B", "Q4_K_M", size, caps)


def _name_list(raw: str | None, default: tuple[str, ...]) -> list[str]:
    if raw is None:
        return list(default)
    return [normalize_name(part) for part in raw.split(",") if part.strip()]


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Parse a Go duration (``5m``, ``1h30m``, ``-1s``, ``0``) or plain seconds (``-1``).

    Returns:
        Seconds; negative values mean "keep forever".

    Raises:
        KeepAliveError: for an empty string or anything else Go would refuse.
    """
    body = text.strip()
    if re.fullmatch(r"[-+]?\d+", body):
        return float(int(body))
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if not body:
        raise KeepAliveError(f'time: invalid duration "{text}"')
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(body):
        raise KeepAliveError(f'time: invalid duration "{text}"')
    return sign * total


def parse_keep_alive(value: object, default_s: float) -> float:
    """Seconds to keep a model loaded after a request (negative: forever).

    ``None`` (absent or JSON null) gives the server default. Numbers are seconds, strings
    are Go durations; every other JSON type raises :class:`KeepAliveError`.
    """
    if value is None:
        return default_s
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KeepAliveError(f"Unsupported type: '{type(value).__name__}'")
    if isinstance(value, str):
        return parse_go_duration(value)
    if math.isnan(value):
        raise KeepAliveError("keep_alive must be a number of seconds")
    return float(value)


def _default_keep_alive(env: Mapping[str, str]) -> float:
    raw = env.get("OLLAMA_KEEP_ALIVE")
    if not raw:
        return DEFAULT_KEEP_ALIVE_S
    try:
        return parse_go_duration(raw)
    except KeepAliveError:
        return DEFAULT_KEEP_ALIVE_S


def _env_ms(env: Mapping[str, str], key: str) -> float:
    try:
        return max(0.0, float(env.get(key, "0") or 0)) / 1000.0
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class Timing:
    """Delays the simulator plays out, in seconds (all from ``FAKE_OLLAMA_*_MS``)."""

    discovery: float = 0.0
    load: float = 0.0
    unload: float = 0.0
    token: float = 0.0
    pull_step: float = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Timing:
        """Read ``FAKE_OLLAMA_{DISCOVERY,LOAD,UNLOAD,TOKEN,PULL}_MS``."""
        return cls(
            discovery=_env_ms(env, "FAKE_OLLAMA_DISCOVERY_MS"),
            load=_env_ms(env, "FAKE_OLLAMA_LOAD_MS"),
            unload=_env_ms(env, "FAKE_OLLAMA_UNLOAD_MS"),
            token=_env_ms(env, "FAKE_OLLAMA_TOKEN_MS"),
            pull_step=_env_ms(env, "FAKE_OLLAMA_PULL_MS"),
        )


#: The request options that shape Ollama's runner (``api.Runner``: num_ctx, num_batch,
#: num_gpu, main_gpu, use_mmap, num_thread). ``needsReload`` in Ollama's scheduler
#: reloads the model when any of them differs from the loaded runner's.
RUNNER_KEYS = ("num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread")
#: Ollama's defaults for the runner options besides num_ctx (api.DefaultOptions).
_RUNNER_DEFAULTS: dict[str, object] = {
    "num_batch": 512,
    "num_gpu": -1,
    "main_gpu": 0,
    "use_mmap": None,
    "num_thread": 0,
}

RunnerOptions = tuple[tuple[str, object], ...]


def runner_options(options: Mapping[str, object], default_num_ctx: int) -> RunnerOptions:
    """The runner-shaping options of a request, with Ollama's defaults filled in.

    ``num_gpu: -1`` ("as many layers as fit") never forces a reload, as in Ollama.
    """
    values: dict[str, object] = {"num_ctx": int(str(options.get("num_ctx") or default_num_ctx))}
    for key, default in _RUNNER_DEFAULTS.items():
        value = options.get(key)
        values[key] = default if value is None else value
    return tuple((key, values[key]) for key in RUNNER_KEYS)


def _same_runner(loaded: RunnerOptions, wanted: RunnerOptions) -> bool:
    a, b = dict(loaded), dict(wanted)
    if b.get("num_gpu") == -1 or a.get("num_gpu") == -1:  # sched.go: -1 is never a reason
        a["num_gpu"] = b["num_gpu"] = -1
    return a == b


@dataclass
class Loaded:
    """A model resident in (simulated) memory."""

    spec: ModelSpec
    num_ctx: int
    expires: float  # time.time() seconds
    in_flight: int = 0
    unload_pending: bool = False
    runner: RunnerOptions = ()

    @property
    def size(self) -> int:
        """Resident size: weights plus a KV cache that grows with ``num_ctx``."""
        return self.spec.size + self.num_ctx * 36_864


@dataclass
class ModelStore:
    """Installed models, the pullable registry and the loaded set with expiry times."""

    installed: dict[str, tuple[ModelSpec, datetime]] = field(default_factory=dict)
    registry: set[str] = field(default_factory=set)
    loaded: dict[str, Loaded] = field(default_factory=dict)
    default_keep_alive: float = DEFAULT_KEEP_ALIVE_S
    default_num_ctx: int = DEFAULT_NUM_CTX
    timing: Timing = field(default_factory=Timing)
    #: ``OLLAMA_NO_CLOUD=1``: requests for cloud models are refused with 403.
    no_cloud: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ModelStore:
        """Build the store from ``FAKE_OLLAMA_MODELS``, ``FAKE_OLLAMA_REGISTRY`` and friends."""
        env = os.environ if env is None else env
        now = datetime.now(UTC).astimezone()
        names = _name_list(env.get("FAKE_OLLAMA_MODELS"), DEFAULT_INSTALLED)
        stubs = set(_name_list(env.get("FAKE_OLLAMA_CLOUD_STUBS"), ()))
        names += [n for n in stubs if n not in names]
        installed = {n: (spec_for(n, stub=n in stubs), now - timedelta(days=3)) for n in names}
        registry = set(_name_list(env.get("FAKE_OLLAMA_REGISTRY"), tuple(CATALOGUE)))
        try:
            num_ctx = int(env.get("OLLAMA_CONTEXT_LENGTH", "") or DEFAULT_NUM_CTX)
        except ValueError:
            num_ctx = DEFAULT_NUM_CTX
        return cls(
            installed=installed,
            registry=registry | set(names),
            default_keep_alive=_default_keep_alive(env),
            default_num_ctx=num_ctx,
            timing=Timing.from_env(env),
            no_cloud=env.get("OLLAMA_NO_CLOUD", "").strip().lower() in ("1", "true", "yes"),
        )

    def find(self, name: str) -> ModelSpec | None:
        """The installed model called ``name`` (normalised, any case, as Ollama), or None."""
        wanted = normalize_name(name).lower()
        entry = next((e for n, e in self.installed.items() if n.lower() == wanted), None)
        return entry[0] if entry else None

    def install(self, name: str) -> None:
        """Add a pulled model to the installed set (keeps an existing entry's spec)."""
        name = normalize_name(name)
        self.installed[name] = (spec_for(name), datetime.now(UTC).astimezone())

    def delete(self, name: str) -> bool:
        """Remove an installed model (and unload it); False when it was not installed."""
        name = normalize_name(name)
        self.loaded.pop(name, None)
        return self.installed.pop(name, None) is not None

    def purge(self) -> None:
        """Drop loaded models whose expiry passed and that no request is using."""
        now = time.time()
        for name in [n for n, m in self.loaded.items() if m.in_flight == 0 and m.expires <= now]:
            del self.loaded[name]

    def needs_load(self, spec: ModelSpec, runner: RunnerOptions) -> bool:
        """True when the model is not resident or its runner options differ (a reload)."""
        self.purge()
        current = self.loaded.get(spec.name)
        return current is None or not _same_runner(current.runner, runner)

    def is_reload(self, spec: ModelSpec) -> bool:
        """True when ``spec`` is resident now (so loading it again is a reload)."""
        self.purge()
        return spec.name in self.loaded

    def acquire(self, spec: ModelSpec, runner: RunnerOptions) -> Loaded:
        """Mark the model resident (with ``runner``) and count one request in flight.

        A reload replaces the resident runner; its expiry then comes from the request
        that caused it (:meth:`release`), as in Ollama.
        """
        current = self.loaded.get(spec.name)
        if current is None or not _same_runner(current.runner, runner):
            num_ctx = int(str(dict(runner).get("num_ctx", self.default_num_ctx)))
            current = Loaded(spec, num_ctx, expires=time.time() + FOREVER_S, runner=runner)
            self.loaded[spec.name] = current
        current.in_flight += 1
        current.unload_pending = False
        return current

    def release(self, loaded: Loaded, keep_alive: float) -> None:
        """End one request: restart the expiry timer (``0`` -> unload after the delay)."""
        loaded.in_flight = max(0, loaded.in_flight - 1)
        self.set_expiry(loaded, 0 if loaded.unload_pending else keep_alive)

    def set_expiry(self, loaded: Loaded, keep_alive: float) -> None:
        """Apply a keep_alive to a resident model."""
        if keep_alive < 0:
            loaded.expires = time.time() + FOREVER_S
        elif keep_alive == 0:
            loaded.expires = time.time() + self.timing.unload
        else:
            loaded.expires = time.time() + keep_alive

    def unload(self, name: str) -> None:
        """Schedule an unload (takes effect after ``FAKE_OLLAMA_UNLOAD_MS``)."""
        spec = self.find(name)
        current = self.loaded.get(spec.name) if spec is not None else None
        if current is not None:
            current.unload_pending = current.in_flight > 0
            self.set_expiry(current, 0)
