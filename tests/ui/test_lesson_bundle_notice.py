"""At start every seat checks the lesson's model bundle; problems show in the banner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.models.bundle import BundleEntry
from ai4artsed_desktop.models.lesson_bundle import LessonBundleState, LessonBundleStatus
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.i18n import Translator, error_text
from ai4artsed_desktop.ui.shell import lesson_bundle_notice

from .helpers import open_shell


@pytest.mark.parametrize("language", ["de", "en"])
def test_an_unreachable_bundle_is_told_at_start_and_the_window_works(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    tmp_path: Path,
    language: str,
) -> None:
    store.set("ui.language", language)
    store.set("lesson.bundle_location", str(tmp_path / "stick-not-plugged-in"))
    gpu = FakeGpuProvider(app_paths.data_dir / "no-gpu.json")
    with open_shell(
        qtbot, paths=app_paths, store=store, content=content, gpu=gpu, demo=False
    ) as shell:
        banner = shell.window.banner
        qtbot.waitUntil(banner.isVisible)
        text = banner.message_label.text() + banner.message_label.toolTip()
        assert "stick-not-plugged-in" in text
        assert ("USB-Stick" if language == "de" else "USB stick") in text
        assert "stick-not-plugged-in" in banner.detail  # what the check saw: the details
        other = "en" if language == "de" else "de"
        assert shell.settings_vm.set_value("ui.language", other)  # the notice follows
        text = banner.message_label.text() + banner.message_label.toolTip()
        assert ("USB-Stick" if other == "de" else "USB stick") in text
        assert "stick-not-plugged-in" in text
        shell.window.show_page("history")  # the window goes on working


def test_the_notice_for_files_to_install_counts_them(qapp: Any) -> None:
    entry = BundleEntry(
        "comfyui", "x.safetensors", "models/checkpoints/x.safetensors", 2**30, "0" * 64
    )
    status = LessonBundleStatus(LessonBundleState.installable, "E:/b", "", (entry, entry))
    notice = lesson_bundle_notice(status)
    assert notice is not None
    assert error_text(Translator("en"), notice).startswith("2 model files of the lesson (2.0 GB)")
    assert error_text(Translator("de"), notice).startswith("2 Modelldateien der Stunde (2.0 GB)")
    assert lesson_bundle_notice(LessonBundleStatus(LessonBundleState.complete, "E:/b")) is None
    refused = lesson_bundle_notice(
        LessonBundleStatus(LessonBundleState.refused, "E:/b", "signed by another key")
    )
    assert refused is not None
    assert "E:/b" in error_text(Translator("de"), refused)
    assert "Schlüssel" in error_text(Translator("de"), refused)
    assert refused.detail == "signed by another key"
