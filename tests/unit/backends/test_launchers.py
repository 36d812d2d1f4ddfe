"""Launchers: argv/env of every LaunchSpec, executable resolution, detection for doctor."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import stat
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.process import ProcessSupervisor
from ai4artsed_desktop.settings import BackendSettings, ComfySettings, Settings, TrainingSettings
from ai4artsed_desktop.system import processes
from tests.fakes.procs import start_foreign

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths in expectations")


def make_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_ollama_spec_has_an_explicit_port_in_ollama_host(tmp_path: Path) -> None:
    exe = make_exe(tmp_path / "bin" / "ollama")
    spec = launchers.ollama_spec(BackendSettings(path=str(exe), startup_timeout_s=42), port=12345)
    assert spec.argv == (str(exe), "serve")
    assert spec.env["OLLAMA_HOST"] == "127.0.0.1:12345"
    assert spec.port == 12345
    assert spec.startup_timeout == 42
    assert spec.ready_line is not None
    assert spec.ready_line.search('msg="Listening on 127.0.0.1:12345 (version 0.12.6)"')


def test_ollama_no_cloud_only_when_asked(tmp_path: Path) -> None:
    exe = make_exe(tmp_path / "bin" / "ollama")
    local = launchers.ollama_spec(BackendSettings(path=str(exe)), port=1, no_cloud=True)
    assert local.env["OLLAMA_NO_CLOUD"] == "1"
    assert "OLLAMA_NO_CLOUD" not in launchers.ollama_spec(BackendSettings(path=str(exe))).env


def test_ollama_default_port_and_folder_setting(tmp_path: Path) -> None:
    exe = make_exe(tmp_path / "ollama-dir" / "bin" / "ollama")
    spec = launchers.ollama_spec(BackendSettings(path=str(tmp_path / "ollama-dir")))
    assert spec.argv[0] == str(exe)
    assert spec.env["OLLAMA_HOST"] == "127.0.0.1:11434"
    assert launchers.DEFAULT_PORTS == {"ollama": 11434, "swarmui": 7801, "comfyui": 8188}


def test_ollama_not_on_path_keeps_the_bare_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert launchers.ollama_spec(BackendSettings()).argv[0] == "ollama"


def test_comfyui_spec_uses_the_folder_venv(tmp_path: Path) -> None:
    folder = tmp_path / "ComfyUI"
    python = make_exe(folder / "venv" / "bin" / "python")
    (folder / "main.py").write_text("")
    spec = launchers.comfyui_spec(BackendSettings(path=str(folder), port=9000))
    assert spec.argv == (
        str(python), str(folder / "main.py"), "--listen", "127.0.0.1", "--port", "9000",
        "--disable-auto-launch", "--preview-method", "auto",
    )  # fmt: skip
    assert spec.cwd == folder
    assert spec.env["PYTHONUNBUFFERED"] == "1"
    assert spec.required_paths == (folder / "main.py",)
    assert spec.ready_line is not None
    assert spec.ready_line.search("To see the GUI go to: http://127.0.0.1:9000")


def test_comfyui_python_order(tmp_path: Path) -> None:
    folder = tmp_path / "ComfyUI"
    folder.mkdir()
    assert launchers.comfyui_python(folder, "/opt/py/bin/python") == "/opt/py/bin/python"
    dot = make_exe(folder / ".venv" / "bin" / "python")
    assert launchers.comfyui_python(folder) == str(dot)
    main_setting = BackendSettings(path=str(folder / "main.py"))
    assert launchers.comfyui_dir(main_setting) == folder


def test_swarmui_spec_runs_the_launch_script_headless(tmp_path: Path) -> None:
    folder = tmp_path / "SwarmUI"
    spec = launchers.swarmui_spec(BackendSettings(path=str(folder)), port=7999)
    script = str(folder / "launch-linux.sh")
    assert spec.argv == (
        "bash", script, "--launch_mode", "none", "--port", "7999", "--host", "127.0.0.1",
    )  # fmt: skip
    assert spec.required_paths == (folder / "launch-linux.sh",)
    assert spec.ready_line is not None
    assert spec.ready_line.search("10:20:04.507 [Init] SwarmUI v0.9.8.2 - Local is now running.")


def test_swarmui_first_start_says_installing_and_waits_longer(tmp_path: Path) -> None:
    folder = tmp_path / "SwarmUI"
    folder.mkdir()
    fresh = launchers.swarmui_spec(BackendSettings(path=str(folder), startup_timeout_s=180))
    assert fresh.startup_timeout == launchers.SWARM_FIRST_START_S
    assert "installing" in fresh.starting_message
    assert fresh.installs
    built = folder / launchers.SWARM_BUILD_OUTPUT
    built.parent.mkdir(parents=True)
    built.write_bytes(b"MZ")
    again = launchers.swarmui_spec(BackendSettings(path=str(folder), startup_timeout_s=180))
    assert (again.startup_timeout, again.starting_message, again.installs) == (180, "", False)


def test_demo_specs_start_the_simulators_like_the_real_servers(tmp_path: Path) -> None:
    ollama = launchers.demo_spec("ollama", port=5001, work_dir=tmp_path)
    assert ollama.argv == (sys.executable, "-m", "ai4artsed_desktop.simulators.ollama", "serve")
    assert ollama.env["OLLAMA_HOST"] == "127.0.0.1:5001"
    assert Path(ollama.env["PYTHONPATH"], "ai4artsed_desktop", "__init__.py").is_file()
    comfy = launchers.demo_spec("comfyui", port=5002, work_dir=tmp_path)
    assert comfy.argv[-2:] == ("--port", "5002")
    assert comfy.cwd == tmp_path
    swarm = launchers.demo_spec("swarmui", port=5003, work_dir=tmp_path)
    assert "--launch_mode" in swarm.argv
    assert "5003" in swarm.argv
    with pytest.raises(ValueError, match="kohya"):
        launchers.demo_spec("kohya", port=1, work_dir=tmp_path)


def test_detect_reports_missing_backends_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = launchers.detect(Settings())
    assert set(found) == {"ollama", "comfyui", "swarmui", "kohya"}
    assert not found["ollama"].found
    assert "ollama.com" in found["ollama"].advice
    assert not found["swarmui"].found
    assert "Settings" in found["swarmui"].advice
    assert not found["kohya"].found
    assert found["kohya"].where == "(not set)"


def test_detect_finds_installs_remote_urls_and_demo_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "bin"
    make_exe(bindir / "ollama")
    make_exe(bindir / "python3")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    comfy = tmp_path / "ComfyUI"
    comfy.mkdir()
    (comfy / "main.py").write_text("")
    (comfy / "comfyui_version.py").write_text('__version__ = "0.3.64"\n')
    kohya = tmp_path / "sd-scripts"
    make_exe(kohya / "venv" / "bin" / "python")
    (kohya / "sd3_train_network.py").write_text("")
    settings = Settings(
        comfyui=BackendSettings(path=str(comfy)),
        swarmui=BackendSettings(mode="remote", url="http://gpu-server:7801"),
        training=TrainingSettings(kohya_dir=str(kohya)),
    )
    found = launchers.detect(settings)
    assert found["ollama"].found
    assert found["ollama"].where == str(bindir / "ollama")
    assert found["comfyui"].found
    assert found["comfyui"].version == "0.3.64"
    assert found["swarmui"].found
    assert found["swarmui"].mode == "remote"
    assert found["kohya"].found
    assert "sd3_train_network.py" in found["kohya"].version
    demo = launchers.detect(dataclasses.replace(settings, demo_mode=True))
    assert all(demo[n].mode == "demo" and demo[n].found for n in ("ollama", "comfyui", "swarmui"))


def test_kohya_without_venv_is_reported(tmp_path: Path) -> None:
    kohya = tmp_path / "sd-scripts"
    kohya.mkdir()
    (kohya / "train_network.py").write_text("")
    result = launchers.detect_kohya(Settings(training=TrainingSettings(kohya_dir=str(kohya))))
    assert not result.found
    assert "venv" in result.advice


@pytest.mark.asyncio
async def test_http_probe_answers_only_when_served() -> None:
    port = processes.free_port()
    probe = launchers.http_probe(port, "/")
    with pytest.raises(ConnectionRefusedError):
        await probe()
    server = start_foreign(port)
    try:
        assert await asyncio.wait_for(probe(), 5)
    finally:
        server.terminate()
        server.wait()


@pytest.mark.asyncio
async def test_missing_comfyui_folder_means_not_installed(tmp_path: Path) -> None:
    from ai4artsed_desktop.errors import BackendNotInstalled

    spec = launchers.comfyui_spec(
        BackendSettings(path=str(tmp_path / "nowhere")), python=sys.executable
    )
    sup = ProcessSupervisor(spec, log_dir=tmp_path, state_dir=tmp_path)
    with pytest.raises(BackendNotInstalled, match="Settings → Backends → ComfyUI"):
        await sup.ensure_ready()


@pytest.mark.usefixtures("expect_log_warnings")
def test_comfyui_launch_arguments_follow_and_cannot_move_the_server(tmp_path: Path) -> None:
    folder = tmp_path / "ComfyUI"
    make_exe(folder / "venv" / "bin" / "python")
    (folder / "main.py").write_text("")
    args = '--cpu --listen 0.0.0.0 --port=1 --lowvram --output-directory "/srv/comfy out"'
    spec = launchers.comfyui_spec(ComfySettings(path=str(folder), port=9000, launch_args=args))
    argv = list(spec.argv)
    assert argv[argv.index("--listen") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "9000"
    assert argv.count("--listen") == argv.count("--port") == 1
    assert argv[-4:] == ["--cpu", "--lowvram", "--output-directory", "/srv/comfy out"]
    assert "0.0.0.0" not in argv
    assert "--port=1" not in argv


def test_comfy_launch_args_survive_an_unclosed_quote() -> None:
    assert launchers.comfy_launch_args('--cpu --output-directory "/a') == (
        "--cpu",
        "--output-directory",
        '"/a',
    )
    assert launchers.comfy_launch_args("") == ()
