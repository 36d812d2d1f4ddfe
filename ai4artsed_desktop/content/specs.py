"""The conversion table of every content record: which JSON field becomes what, within limits."""

from __future__ import annotations

from .fields import (
    boolean,
    choice,
    dict_of,
    enum_value,
    integer,
    list_of,
    nullable,
    number,
    record,
    scalar,
    string,
    text,
)
from .schema import (
    LORA_FAMILIES,
    Audience,
    Category,
    DataProtection,
    InputTarget,
    InterceptionConfig,
    LlmParams,
    LoraRef,
    MediaType,
    ModelLayout,
    ModelRoleInfo,
    OutputConfig,
    Provider,
    RequiredModel,
    Route,
    VideoSpec,
    VramPreset,
)

SAFETY_LEVELS = ("kids", "youth", "adult", "research")
FRAMEWORKS = ("", "p5", "tone")

ID_PATTERN = r"[a-z0-9][a-z0-9_\-]{0,63}"
ID_HINT = "lowercase letters, digits, '_' and '-' (at most 64, starting with a letter or digit)"

ID = string(pattern=ID_PATTERN, hint=ID_HINT)
TEXT = text()
ORDER = integer(-10_000, 10_000)
NONEMPTY = string(nonempty=True)

ICON = string(
    pattern=r"(?:[A-Za-z0-9][A-Za-z0-9_\-.]*\.(?:svg|png))?",
    hint="a plain .svg or .png file name (or an empty text)",
)
WORKFLOW_FILE = string(
    pattern=r"(?:[A-Za-z0-9][A-Za-z0-9_\-.]*\.json)?",
    hint="a plain .json file name from the workflows folder (or an empty text)",
)
LORA_FILE = string(
    pattern=r"(?!.*\.\.)[\w][\w\-. /]*\.safetensors",
    hint="a .safetensors file name inside the LoRA folder",
)
MODEL_REF = string(
    pattern=r"[a-z0-9][a-z0-9_\-]*/\S+",
    hint="a provider and a model name, e.g. ollama/qwen3:8b",
)

LLM = record(
    LlmParams,
    {"temperature": number(0, 2), "top_p": number(0, 1), "max_tokens": integer(1, 8192)},
)
LORA = record(
    LoraRef,
    {
        "file": LORA_FILE,
        "strength": number(-5, 5),
        "trigger": string(),
        "family": choice(LORA_FAMILIES),
    },
)
AUDIENCE = record(
    Audience,
    {
        "min_age": integer(0, 99),
        "safety_levels": list_of(choice(SAFETY_LEVELS), nonempty=True, unique=True),
    },
)

INTERCEPTION = record(
    InterceptionConfig,
    {
        "id": ID,
        "name": TEXT,
        "description": TEXT,
        "rules": text(allow_blank=True),
        "category": ID,
        "icon": ICON,
        "order": ORDER,
        "llm": LLM,
        "outputs": list_of(ID, unique=True),
        "default_output": ID,
        "loras": list_of(LORA),
        "audience": AUDIENCE,
    },
)

TARGET = record(InputTarget, {"node": NONEMPTY, "input": NONEMPTY})
REQUIRED_MODEL = record(
    RequiredModel,
    {
        "node_class": NONEMPTY,
        "input": NONEMPTY,
        "file": NONEMPTY,
        "folder": NONEMPTY,
        "variants": list_of(NONEMPTY, unique=True),
    },
)
LAYOUT = record(
    ModelLayout,
    {
        "id": ID,
        "workflow": WORKFLOW_FILE,
        "required_models": list_of(REQUIRED_MODEL, nonempty=True),
    },
)

VIDEO = record(VideoSpec, {"frame_step": integer(1, 64), "max_frames": integer(1, 100_000)})

OUTPUT = record(
    OutputConfig,
    {
        "id": ID,
        "name": TEXT,
        "description": TEXT,
        "media": enum_value(MediaType),
        "route": enum_value(Route),
        "order": ORDER,
        "workflow": WORKFLOW_FILE,
        "mapping": dict_of(list_of(TARGET, nonempty=True), key=NONEMPTY),
        "defaults": dict_of(scalar(allow_bool=False), key=NONEMPTY),
        "adaptation": nullable(TEXT),
        "adaptation_role": ID,
        "required_models": list_of(REQUIRED_MODEL),
        "layouts": list_of(LAYOUT),
        "estimated_seconds": number(0, 86_400),
        "vram_gb": number(0, 1024),
        "data_protection": enum_value(DataProtection),
        "enabled": boolean(),
        "needs_english": boolean(),
        "framework": choice(FRAMEWORKS),
        "engine_options": dict_of(string(), key=NONEMPTY),
        "lora_family": choice(LORA_FAMILIES),
        "video": nullable(VIDEO),
    },
)

BASE_URL = string(
    pattern=r"(?:https?://[^\s/?#]+(?:/[^\s?#]*)?)?",
    hint="an http:// or https:// address such as http://192.168.1.20:8080/v1",
)
ENV_NAME = string(
    pattern=r"(?:[A-Za-z_][A-Za-z0-9_]{0,127})?",
    hint="the name of an environment variable, e.g. LAB_LLM_KEY",
)
PROVIDER = record(
    Provider,
    {
        "id": ID,
        "name": TEXT,
        "data_protection": enum_value(DataProtection),
        "local": boolean(),
        "base_url": BASE_URL,
        "api_key_env": ENV_NAME,
    },
)
ROLE = record(
    ModelRoleInfo,
    {"id": ID, "name": TEXT, "description": TEXT, "local_only": boolean()},
)
CATEGORY = record(Category, {"id": ID, "name": TEXT, "order": ORDER})
PRESET = record(
    VramPreset,
    {
        "tier_gb": integer(0, 1024),
        "name": TEXT,
        "roles": dict_of(MODEL_REF, key=ID),
        "outputs": list_of(ID, unique=True),
        "training": dict_of(scalar(allow_bool=True), key=NONEMPTY),
    },
)
