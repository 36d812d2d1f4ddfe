"""Demo simulators start from source (``python -m``) and from a frozen bundle (hidden flag)."""

from __future__ import annotations

import sys

import pytest

from ai4artsed_desktop import sim_entry
from ai4artsed_desktop.__main__ import main


def test_from_source_a_simulator_is_a_python_module() -> None:
    assert sim_entry.simulator_argv("ollama", "serve") == (
        sys.executable, "-m", "ai4artsed_desktop.simulators.ollama", "serve",
    )  # fmt: skip
    assert sim_entry.simulator_argv("tests.fake_module", "--x")[1:] == (
        "-m", "tests.fake_module", "--x",
    )  # fmt: skip


def test_in_a_bundle_the_app_runs_the_simulator_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    argv = sim_entry.simulator_argv("ai4artsed_desktop.simulators.comfyui", "--port", "1")
    assert argv == (sys.executable, "--run-simulator", "comfyui", "--port", "1")


def test_the_hidden_flag_dispatches_to_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--run-simulator", "nope"]) == 2
    assert "ollama" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--run-simulator", "comfyui", "--help"])
    assert info.value.code == 0
    assert "--port" in capsys.readouterr().out
