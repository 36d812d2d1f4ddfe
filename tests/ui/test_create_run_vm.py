"""The run column without simulators: output choices, picker, result view, no run store."""

from __future__ import annotations

import json
import math
from array import array
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import Route, Text
from ai4artsed_desktop.events import RunResult, SavedFile, Stage
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.settings import SafetySettings, Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.simulators.comfy_flac import encode_flac
from ai4artsed_desktop.ui.i18n import Translator, catalogue_dir
from ai4artsed_desktop.ui.pages.create_page import CreatePage, RunPanel
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import (
    RunPhase,
    RunViewModel,
    Unavailable,
    output_choices,
)
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.audio_player import AudioPlayer
from ai4artsed_desktop.ui.widgets.result_view import SaveDialog
from ai4artsed_desktop.ui.widgets.stage_panel import BADGE_KEYS, badge_text
from ai4artsed_desktop.ui.widgets.video_player import VideoPlayer
from tests.unit.store.helpers import video_bytes

from .helpers import run

_SHIPPED = load_content(resources_dir() / "configs")
#: A planned output (none ships any more): the route must still show greyed, with its reason.
PLANNED = replace(
    _SHIPPED.outputs["sd15"],
    id="hologram_planned",
    name=Text("Hologramm (geplant)", "Hologram (planned)"),
    route=Route.planned,
    workflow="",
    mapping={},
    required_models=(),
    enabled=False,
)
CONTENT = replace(_SHIPPED, outputs={**_SHIPPED.outputs, PLANNED.id: PLANNED})


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


@pytest.fixture
def create_vm(settings_vm: SettingsViewModel) -> CreateViewModel:
    return CreateViewModel(CONTENT, settings_vm)


@pytest.fixture
def run_vm(create_vm: CreateViewModel, settings_vm: SettingsViewModel) -> RunViewModel:
    return RunViewModel(create_vm, settings_vm, None)


@pytest.fixture
def page(
    create_vm: CreateViewModel, run_vm: RunViewModel, translator: Translator, qtbot: Any
) -> CreatePage:
    widget = CreatePage(
        create_vm,
        translator,
        resources_dir() / "icons" / "configs",
        resources_dir() / "icons" / "app" / "rule.svg",
        run_vm=run_vm,
    )
    qtbot.addWidget(widget)
    widget.resize(1366, 768)
    widget.show()
    return widget


@pytest.fixture
def panel(page: CreatePage) -> RunPanel:
    assert page.run_panel is not None
    return page.run_panel


def test_planned_and_cloud_outputs_cannot_run_and_say_why() -> None:
    reasons = {c.output.id: c.unavailable for c in output_choices(CONTENT, Settings())}
    assert reasons["hologram_planned"] is Unavailable.planned
    assert reasons["wan22_video"] is None
    assert reasons["cloud_image"] is Unavailable.local_only
    assert reasons["sd15"] is None
    assert reasons["p5js"] is None
    online = Settings(safety=SafetySettings(local_only=False))
    reasons = {c.output.id: c.unavailable for c in output_choices(CONTENT, online)}
    assert reasons["cloud_image"] is Unavailable.disabled  # the admin did not enable it
    enabled = replace(CONTENT, outputs={**CONTENT.outputs})
    enabled.outputs["cloud_image"] = replace(CONTENT.outputs["cloud_image"], enabled=True)
    reasons = {c.output.id: c.unavailable for c in output_choices(enabled, online)}
    assert reasons["cloud_image"] is None


def test_the_default_output_follows_the_chosen_config(
    run_vm: RunViewModel, create_vm: CreateViewModel
) -> None:
    assert run_vm.selected_output_id == CONTENT.interceptions["your_call"].default_output
    create_vm.choose_config("p5_listifier")
    assert run_vm.selected_output_id == "p5js"
    assert not run_vm.select_output("hologram_planned")
    assert not run_vm.select_output("cloud_image")
    assert not run_vm.select_output("nonexistent")
    assert run_vm.select_output("sd15")
    assert run_vm.selected_output_id == "sd15"


def test_the_students_output_choice_survives_a_new_rule_that_supports_it(
    run_vm: RunViewModel, create_vm: CreateViewModel
) -> None:
    create_vm.choose_config("p5_listifier")
    assert run_vm.selected_output_id == "p5js"  # no choice yet: the rule's default
    assert run_vm.select_output("sd15")
    universal = next(c for c in CONTENT.interceptions.values() if not c.outputs)
    assert universal.default_output != "sd15"
    create_vm.choose_config(universal.id)
    assert run_vm.selected_output_id == "sd15"  # kept
    narrow = next(
        c for c in CONTENT.interceptions.values() if c.outputs and "sd15" not in c.outputs
    )
    create_vm.choose_config(narrow.id)
    assert run_vm.selected_output_id == narrow.default_output  # sd15 does not fit that rule


def test_picker_greys_out_what_cannot_run_with_the_reason(
    panel: RunPanel, run_vm: RunViewModel, settings_vm: SettingsViewModel
) -> None:
    settings_vm.set_value("ui.ui_mode", "expert")
    picker = panel.outputs
    assert len(picker.tiles) == len(CONTENT.outputs)
    for output_id, reason, short in (
        ("hologram_planned", "kommt später", "kommt später"),
        ("cloud_image", "nur lokale Dienste erlaubt", "nicht erlaubt"),
    ):
        tile = picker.tile_for(output_id)
        assert tile is not None
        assert not tile.isEnabled()
        assert short in tile.text()
        assert reason in tile.toolTip()
        assert reason in tile.accessibleName()
    sd15 = picker.tile_for("sd15")
    assert sd15 is not None
    assert sd15.isEnabled()
    assert sd15.text() == "Bild\nSD 1.5 (klein)"  # the kind, and the model for experts
    assert "8 Sekunden" in sd15.toolTip()
    sd15.click()
    assert run_vm.selected_output_id == "sd15"
    settings_vm.set_value("ui.language", "en")
    sd15 = picker.tile_for("sd15")
    assert sd15 is not None
    assert sd15.text() == "Picture\nSD 1.5 (small)"
    assert picker.checked_tile() is sd15


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("de", ["Bild", "Klang", "Lied", "Zeichen-Code", "Musik-Code", "Film"]),
        ("en", ["Picture", "Sound", "Song", "Drawing code", "Music code", "Film"]),
    ],
)
def test_kids_see_one_tile_per_kind_and_no_model_names(
    panel: RunPanel,
    run_vm: RunViewModel,
    settings_vm: SettingsViewModel,
    language: str,
    names: list[str],
) -> None:
    settings_vm.set_value("ui.ui_mode", "kids")
    settings_vm.set_value("ui.language", language)
    picker = panel.outputs
    texts = [tile.text().split("\n")[0] for tile in picker.tiles]
    assert sorted(texts) == sorted(names)
    models = {"SD", "SDXL", "ACE", "Stable Audio", "p5", "Tone", "SwarmUI", "OpenAI"}
    for tile in picker.tiles:
        shown = f"{tile.text()} {tile.accessibleName()}"
        assert not any(model in shown for model in models), shown
    picture = next(t for t in picker.tiles if t.tile.kind == "image")
    picture.click()
    assert run_vm.selected_output is not None
    assert run_vm.selected_output.media.value == "image"
    film = next(t for t in picker.tiles if t.tile.kind == "video")
    assert film.isEnabled()
    film.click()
    assert run_vm.selected_output_id == "wan22_video"


def test_without_a_run_store_the_page_explains_and_cannot_run(
    page: CreatePage,
    panel: RunPanel,
    run_vm: RunViewModel,
    create_vm: CreateViewModel,
    qtbot: Any,
) -> None:
    qtbot.keyClicks(page.idea_edit, "Ein Wal")
    assert create_vm.idea == "Ein Wal"
    assert "Verlauf kann nicht geöffnet werden" in panel.message
    assert not panel.transform_button.isEnabled()
    assert not panel.generate_button.isEnabled()
    assert not run_vm.transform()
    assert not run_vm.generate()
    assert not run_vm.run_next()
    assert not run_vm.cancel()
    assert run_vm.phase is RunPhase.idle


def test_code_outputs_label_the_prompt_box_as_code(
    panel: RunPanel, create_vm: CreateViewModel
) -> None:
    assert panel.prompt_heading.text() == "Prompt für das Modell"
    create_vm.choose_config("p5_listifier")
    assert panel.prompt_heading.text() == "Code"
    assert panel.prompt_edit.accessibleName() == "Code"


def test_stage_texts_only_for_editable_stages(run_vm: RunViewModel) -> None:
    with pytest.raises(ValueError, match="not editable"):
        run_vm.set_stage_text(Stage.generation, "x")
    run_vm.set_stage_text(Stage.interception, "x")  # no session yet: nothing to apply
    assert not run_vm.edited(Stage.interception)


def test_the_media_check_row_shows_only_once_that_check_runs(
    panel: RunPanel, run_vm: RunViewModel
) -> None:
    stages = panel.stages
    run_vm.stage_started.emit(Stage.generation, "")
    run_vm.stage_completed.emit(Stage.generation, "", "")  # a sound: nothing to look at
    assert stages.names[Stage.generation].isVisibleTo(panel)
    assert not stages.names[Stage.media_check].isVisibleTo(panel)
    run_vm.stage_checking.emit(Stage.media_check)  # a picture is being looked at
    assert stages.names[Stage.media_check].isVisibleTo(panel)
    assert stages.state_text(Stage.media_check)
    stages.reset()  # a new run
    run_vm.stage_started.emit(Stage.input_safety, "")
    assert not stages.names[Stage.media_check].isVisibleTo(panel)


def test_a_stage_with_nothing_to_do_says_so(
    panel: RunPanel, run_vm: RunViewModel, translator: Translator
) -> None:
    stages = panel.stages
    for stage in (Stage.input_safety, Stage.interception, Stage.adaptation):
        run_vm.stage_started.emit(stage, "")
        run_vm.stage_completed.emit(stage, "text", "safety passed")
    run_vm.stage_started.emit(Stage.output_safety, "")  # an English prompt: no translation
    assert stages.state_text(Stage.translation) == translator.tr("create.state_skipped")
    assert stages.state_text(Stage.adaptation) == translator.tr("create.badge_safety_passed")


def test_every_pipeline_badge_is_translated(translator: Translator) -> None:
    assert set(BADGE_KEYS) == {
        "safety passed",
        "not checked",
        "translated",
        "LoRA applied",
        "kept",
        "cut off",
    }
    for lang in ("de", "en"):
        catalogue = json.loads((catalogue_dir() / f"create.{lang}.json").read_text("utf-8"))
        assert set(BADGE_KEYS.values()) <= set(catalogue)
    assert badge_text(translator, "translated") == "übersetzt"
    assert badge_text(translator, "something new") == "something new"


def _png(path: Path) -> Path:
    image = QImage(64, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    assert image.save(str(path))
    return path


def test_an_image_result_is_shown_saved_and_its_folder_opened(
    panel: RunPanel,
    run_vm: RunViewModel,
    qloop: Any,
    qtbot: Any,
    tmp_path: Path,
    opened_folders: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    source = _png(folder / "image.png")
    view = panel.result_view
    run_vm.result.emit(RunResult("r1", folder, (SavedFile(source, "image/png"),)))
    assert view.image.width() == 64
    assert view.save_button.isVisible()
    assert view.folder_button.isVisible()
    assert "image.png" in view.file_label.text()

    target = tmp_path / "copy.png"
    monkeypatch.setattr(SaveDialog, "ask", classmethod(lambda cls, *_a: target))
    saved: list[str] = []
    run_vm.file_saved.connect(saved.append)
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(saved))
    assert target.read_bytes() == source.read_bytes()
    assert "Gespeichert" in view.file_label.text()
    qtbot.mouseClick(view.folder_button, Qt.MouseButton.LeftButton)
    assert opened_folders == [folder]


def test_a_sound_result_shows_the_player_its_file_and_folder(
    panel: RunPanel, run_vm: RunViewModel, tmp_path: Path
) -> None:
    sound = tmp_path / "sound.flac"
    tone = array("h", (int(8000 * math.sin(i / 8)) for i in range(8000)))
    sound.write_bytes(encode_flac((tone,), 8000, {}))
    run_vm.result.emit(RunResult("r2", tmp_path, (SavedFile(sound, "audio/flac"),)))
    view = panel.result_view
    assert view.image.isNull()
    assert not view.save_button.isVisible()
    assert view.folder_button.isVisible()
    assert "sound.flac" in view.file_label.text()
    player = view.findChild(AudioPlayer, "audioPlayer")
    assert player is not None
    assert player.isVisibleTo(view)


def test_a_film_result_shows_the_video_player_and_can_be_saved(
    panel: RunPanel,
    run_vm: RunViewModel,
    tmp_path: Path,
    qtbot: Any,
    qloop: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    film = tmp_path / "film.mp4"
    film.write_bytes(video_bytes(((40, 90, 200),) * 6))
    run_vm.result.emit(RunResult("r3", tmp_path, (SavedFile(film, "video/mp4"),)))
    view = panel.result_view
    player = view.findChild(VideoPlayer, "videoPlayer")
    assert player is not None
    assert player.isVisibleTo(view)
    assert player.source == film
    assert not player.poster.isNull()  # the first frame shows before it plays
    assert not view.image_label.isVisibleTo(view)  # the player takes the room
    assert view.save_button.isVisible()
    assert "film.mp4" in view.file_label.text()
    asked: list[Path] = []
    monkeypatch.setattr(SaveDialog, "ask", lambda *_a: asked.append(_a[2]) or None)
    view.save_button.click()
    assert asked == [Path.home() / "film.mp4"]
    qtbot.waitUntil(lambda: player.duration_ms > 0, timeout=10_000)
    view.clear()  # a new run starts: the film stops and goes
    assert player.source is None
    assert not player.isVisibleTo(view)


def test_previews_show_and_broken_frames_are_skipped(
    panel: RunPanel, run_vm: RunViewModel, tmp_path: Path
) -> None:
    run_vm.preview.emit(b"not an image")
    assert panel.result_view.image.isNull()
    run_vm.preview.emit(_png(tmp_path / "p.png").read_bytes())
    assert panel.result_view.image.height() == 32


def test_shutdown_without_a_run_is_quick(run_vm: RunViewModel, qloop: Any, qtbot: Any) -> None:
    run(qtbot, run_vm.shutdown())
    assert not run_vm.busy
