"""The command line as a user runs it: real subprocesses, isolated --data-dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop import __version__

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    # Nothing from the developer's PATH may be "detected" as a backend.
    full_env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin"
    return subprocess.run(
        [sys.executable, "-m", "ai4artsed_desktop", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"AI4ArtsEd Desktop {__version__}"


def test_smoke_test_starts_window_and_quits_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli("--smoke-test", "--data-dir", str(data), "--log-format", "json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (data / "logs" / "app.log").read_text().splitlines()]
    messages = [r["message"] for r in records]
    assert any(m.startswith("AI4ArtsEd Desktop ") for m in messages)
    assert any(m.startswith("Window shown") for m in messages)
    assert "Exit with code 0" in messages
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]


def test_doctor_without_backends_exits_1_with_advice(tmp_path: Path) -> None:
    result = run_cli("doctor", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert "Ollama" in result.stdout
    assert "ollama.com" in result.stdout.lower() or "install" in result.stdout.lower()


def test_doctor_json(tmp_path: Path) -> None:
    result = run_cli("doctor", "--json", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"python", "qt", "paths", "gpu", "ollama", "swarmui", "comfyui", "kohya"} <= names
    ollama = next(c for c in report["checks"] if c["name"] == "ollama")
    assert ollama["ok"] is False
    assert ollama["required"] is True
    assert ollama["advice"]
    assert report["ok"] is False


def test_configs_json_lists_builtin_and_reports_broken_user_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    user = data / "config" / "configs" / "interception"
    user.mkdir(parents=True)
    (user / "broken_rule.json").write_text('{"id": "broken_rule", "name": ', encoding="utf-8")
    result = run_cli("configs", "--json", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    configs = listing["interception"]
    assert len(configs) >= 15
    for config in configs:
        assert config["name"]["de"]
        assert config["name"]["en"]
        if config["id"] != "your_call":
            assert config["has_rules"] == {"de": True, "en": True}
    outputs = {o["id"] for o in listing["outputs"]}
    assert {"sd35_large", "sdxl", "sd15", "stable_audio", "ace_step", "p5js", "tonejs"} <= outputs
    skipped = listing["skipped"]
    assert any("broken_rule.json" in s["file"] for s in skipped)


@pytest.mark.parametrize("command", ["configs", "doctor"])
def test_text_output_is_readable(tmp_path: Path, command: str) -> None:
    result = run_cli(command, "--data-dir", str(tmp_path / "d"))
    assert result.stdout.strip()
    assert "Traceback" not in result.stdout + result.stderr
