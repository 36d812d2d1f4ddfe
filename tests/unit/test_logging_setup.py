from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai4artsed_desktop import logging_setup


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    child_parent = logging.getLogger("ai4artsed.child")
    child_before = list(child_parent.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    for handler in list(child_parent.handlers):
        if handler not in child_before:
            child_parent.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("clean_logging")
def test_buffered_records_reach_the_app_log_and_children_get_own_files(tmp_path: Path) -> None:
    logging_setup.install_startup_buffer()
    logging.getLogger("ai4artsed_desktop.test").info("before configure")
    logging_setup.configure(tmp_path, console=False)
    logging_setup.log_banner("no NVIDIA GPU")
    logging_setup.child_logger("ollama").info('msg="Listening on 127.0.0.1:1"')
    logging.getLogger("ai4artsed.child.comfyui").info("Starting server")
    for handler in logging.getLogger().handlers:
        handler.flush()
    app_log = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert "before configure" in app_log
    assert "GPU: no NVIDIA GPU" in app_log
    assert "Listening on" not in app_log
    assert "Listening on" in (tmp_path / "ollama.log").read_text(encoding="utf-8")
    assert "Starting server" in (tmp_path / "comfyui.log").read_text(encoding="utf-8")


@pytest.mark.usefixtures("clean_logging")
def test_json_format(tmp_path: Path) -> None:
    logging_setup.configure(tmp_path, json_format=True, console=False)
    logging.getLogger("ai4artsed_desktop.x").info("hello %s", "world")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "app.log").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert record["message"] == "hello world"
    assert record["level"] == "INFO"


def test_banner_names_versions() -> None:
    lines = logging_setup.banner_lines("Fake GPU (8 GB)")
    assert lines[0].startswith("AI4ArtsEd Desktop ")
    assert any(line.startswith("PySide6 6.11") for line in lines)
    assert lines[-1] == "GPU: Fake GPU (8 GB)"
