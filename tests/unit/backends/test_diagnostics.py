"""Diagnostics: raw child output to advice; ordered rules, first match wins."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.backends.diagnostics import RULES, diagnose, rule_key


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB", "cuda_oom"),
        ("OSError: [Errno 28] No space left on device", "disk_full"),
        ("Error: listen tcp 127.0.0.1:11434: bind: address already in use", "port_in_use"),
        ("OSError: [Errno 98] error while attempting to bind on address "
         "('127.0.0.1', 8188): address already in use", "port_in_use"),
        ("System.IO.IOException: Failed to bind to address http://127.0.0.1:7801", "port_in_use"),
        ("./launch-linux.sh: line 30: dotnet: command not found", "dotnet_missing"),
        ("10:20:04.507 [Warning] No backends present. Add one.", "swarm_no_backends"),
        ("RuntimeError: Found no NVIDIA driver on your system.", "no_gpu"),
        ("AssertionError: Torch not compiled with CUDA enabled", "no_gpu"),
        ("ModuleNotFoundError: No module named 'safetensors'", "missing_module"),
        ('Error: model "qwen3:8b" not found, try pulling it first', "model_not_found"),
        ("Value not in list: ckpt_name: 'sd35.safetensors' not in []", "model_not_found"),
        ("PermissionError: [Errno 13] Permission denied: '/models'", "permission_denied"),
    ],
)  # fmt: skip
def test_each_rule_recognises_its_output(line: str, key: str) -> None:
    assert rule_key(["some harmless line", line]) == key
    advice = diagnose(["some harmless line", line])
    assert advice is not None
    assert advice.detail_line == line
    assert advice.title
    assert advice.action


def test_missing_module_names_the_package() -> None:
    advice = diagnose(["ModuleNotFoundError: No module named 'comfy_extras.nodes'"])
    assert advice is not None
    assert advice.title == "A Python package is missing: comfy_extras.nodes."


def test_nothing_recognised_gives_none() -> None:
    assert diagnose(["Starting server", "To see the GUI go to: http://127.0.0.1:8188"]) is None
    assert diagnose([]) is None


def test_rule_order_wins_over_line_order() -> None:
    # A traceback mentions a permission problem and a missing module first, the real cause
    # (GPU memory) last: the more specific rule must win.
    lines = [
        "PermissionError: [Errno 13] Permission denied: '/tmp/cache'",
        "ModuleNotFoundError: No module named 'xformers'",
        "torch.OutOfMemoryError: CUDA out of memory.",
    ]
    assert rule_key(lines) == "cuda_oom"
    assert rule_key(lines[:2]) == "missing_module"
    assert rule_key(lines[:1]) == "permission_denied"


def test_disk_full_wins_over_permission_and_port_over_permission() -> None:
    assert rule_key(["Permission denied", "No space left on device"]) == "disk_full"
    assert rule_key(["bind: address already in use", "Permission denied"]) == "port_in_use"


def test_the_newest_matching_line_is_quoted() -> None:
    advice = diagnose(["No space left on device (1)", "x", "No space left on device (2)"])
    assert advice is not None
    assert advice.detail_line.endswith("(2)")


def test_rule_keys_are_unique() -> None:
    keys = [rule.key for rule in RULES]
    assert len(keys) == len(set(keys))
