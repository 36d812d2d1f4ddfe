"""Turn raw child-process output into plain advice: ordered pattern rules, first match wins."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Advice:
    """What went wrong and what to do, for a student or teacher.

    Attributes:
        title: one short sentence naming the problem.
        action: what the user can do about it.
        detail_line: the raw output line that matched (for "copy details").
    """

    title: str
    action: str
    detail_line: str

    def __str__(self) -> str:
        return f"{self.title} {self.action}"


@dataclass(frozen=True)
class Rule:
    """One diagnosis: a pattern and the advice it produces (may use the match groups)."""

    key: str
    pattern: re.Pattern[str]
    title: Callable[[re.Match[str]], str]
    action: str


def _fixed(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


def _module_title(match: re.Match[str]) -> str:
    return f"A Python package is missing: {match.group(1)}."


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


#: Checked in this order; the first rule that matches any line wins. Specific causes come
#: before generic ones: "CUDA out of memory" inside a traceback must not be reported as a
#: missing package or a permission problem printed further up.
RULES: tuple[Rule, ...] = (
    Rule(
        "cuda_oom",
        _rx(
            r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory"
            r"|cudaErrorMemoryAllocation"
        ),
        _fixed("The graphics card ran out of memory."),
        "Close other AI programs, use a smaller model or image size, or lower the batch size.",
    ),
    Rule(
        "disk_full",
        _rx(r"No space left on device|ENOSPC|There is not enough space on the disk"),
        _fixed("The disk is full."),
        "Free some disk space (delete old runs or unused models) and try again.",
    ),
    Rule(
        "port_in_use",
        _rx(
            r"address already in use|EADDRINUSE|Only one usage of each socket address"
            r"|Failed to bind to address"
        ),
        _fixed("The network port is already used by another program."),
        "Stop the other program (perhaps an older copy of this server) "
        "or choose another port in Settings.",
    ),
    Rule(
        "dotnet_missing",
        _rx(
            r"dotnet: (command )?not found|'dotnet' is not recognized|You must install \.NET"
            r"|compatible framework version|install the \.NET"
        ),
        _fixed("SwarmUI needs Microsoft .NET, which was not found."),
        "Install the .NET 8 SDK from dotnet.microsoft.com and start SwarmUI again.",
    ),
    Rule(
        "swarm_no_backends",
        _rx(r"No backends (?:are )?present|no backends are available"),
        _fixed("SwarmUI runs, but it has no image backend yet (a fresh install)."),
        "Open SwarmUI once in a browser (its address is in Settings), finish its install "
        "steps and add a ComfyUI backend under Server, Backends; then start it here again.",
    ),
    Rule(
        "no_gpu",
        _rx(
            r"Found no NVIDIA driver|NVIDIA driver on your system is too old"
            r"|Torch not compiled with CUDA enabled|CUDA driver version is insufficient"
            r"|no CUDA-capable device|CUDA is not available|libcuda\.so[^ ]* cannot open"
        ),
        _fixed("No usable NVIDIA graphics card or driver was found."),
        "Install or update the NVIDIA driver, or use demo mode on computers without one.",
    ),
    Rule(
        "missing_module",
        _rx(r"ModuleNotFoundError: No module named '([^']+)'"),
        _module_title,
        "Install the server's requirements into its own Python environment "
        "(pip install -r requirements.txt in its folder).",
    ),
    Rule(
        "model_not_found",
        _rx(
            r"model ['\"]?[^'\" ]+['\"]? not found|pull model manifest|Model not found"
            r"|Value not in list: (ckpt|unet|lora|vae)_name"
            r"|No such file or directory: .*\.(safetensors|ckpt|gguf)"
        ),
        _fixed("A model file was not found."),
        "Download the model first, or pick a model that is installed.",
    ),
    Rule(
        "permission_denied",
        _rx(r"Permission denied|PermissionError|EACCES|Access is denied"),
        _fixed("The server was not allowed to open a file, folder or port."),
        "Check that the folders in Settings belong to you, and avoid ports below 1024.",
    ),
)


def diagnose(lines: Sequence[str]) -> Advice | None:
    """The advice of the first rule (in :data:`RULES` order) matching any line, or None.

    Within one rule the newest (last) matching line is quoted.
    """
    for rule in RULES:
        for line in reversed(lines):
            match = rule.pattern.search(line)
            if match:
                return Advice(rule.title(match), rule.action, line.strip())
    return None


def rule_key(lines: Sequence[str]) -> str | None:
    """The key of the rule :func:`diagnose` would use (for tests and telemetry-free stats)."""
    for rule in RULES:
        if any(rule.pattern.search(line) for line in lines):
            return rule.key
    return None
