"""ErrorBanner: inline message, copy details, open log folder, close."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.widgets.error_banner import MAX_MESSAGE_CHARS, ErrorBanner


def _banner(qtbot: Any, app_paths: AppPaths) -> ErrorBanner:
    banner = ErrorBanner(Translator("en"), app_paths.log_dir)
    qtbot.addWidget(banner)
    return banner


def test_hidden_until_an_error_is_shown(qapp: Any, qtbot: Any, app_paths: AppPaths) -> None:
    banner = _banner(qtbot, app_paths)
    assert banner.isHidden()
    banner.show_error("Ollama is not running. Start it in Settings.", "connect refused")
    assert banner.isVisible()
    assert banner.message_label.text() == "Ollama is not running. Start it in Settings."
    banner.close_button.click()
    assert banner.isHidden()


def test_long_message_is_shortened_with_full_tooltip(
    qapp: Any, qtbot: Any, app_paths: AppPaths
) -> None:
    banner = _banner(qtbot, app_paths)
    long = "word " * 200
    banner.show_error(long)
    assert len(banner.message_label.text()) == MAX_MESSAGE_CHARS
    assert banner.message_label.toolTip() == long


def test_copy_details_puts_message_and_detail_on_clipboard(
    qapp: Any, qtbot: Any, app_paths: AppPaths
) -> None:
    banner = _banner(qtbot, app_paths)
    banner.show_error("Saving failed.", "OSError: disk full")
    banner.copy_button.click()
    assert QGuiApplication.clipboard().text() == "Saving failed.\n\nOSError: disk full"


def test_open_log_folder(
    qapp: Any, qtbot: Any, app_paths: AppPaths, opened_folders: list[Path]
) -> None:
    banner = _banner(qtbot, app_paths)
    banner.show_error("x")
    banner.log_button.click()
    assert opened_folders == [app_paths.log_dir]
    assert banner.log_button.accessibleName() == "Open log folder"
