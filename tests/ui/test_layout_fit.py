"""Nothing cut off, nothing out of reach at 1366 × 768 (the demo window, the real content).

* Create, youth and expert: the dozen output tiles fit the steps column's height at once, so
  scrolling to the choice shows the chosen tile; no tile cuts its model name; the result pane
  (never scrolled away) names the chosen output.
* Settings → Models: the lab bundle row leaves the model list most of the height.
* Lab console: a seat tile's lines fit its width or end in "…" with the whole text at hand.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.lab.console import SeatView
from ai4artsed_desktop.lab.seat_actions import SeatStatus
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.theme import apply_theme
from ai4artsed_desktop.ui.widgets.bundle_box import BundleBox
from ai4artsed_desktop.ui.widgets.elided import ElidedCheckBox, ElidedLabel
from ai4artsed_desktop.ui.widgets.models_panel import ModelsPanel
from ai4artsed_desktop.ui.widgets.seat_tile import SeatTile, TileState

from .helpers import open_shell

REAL = load_content(resources_dir() / "configs", None)
#: The Models tab's list of outputs keeps at least this much of a 768 px high window.
MODELS_LIST_MIN_HEIGHT = 330


@pytest.fixture
def real_shell(
    qloop: Any, qtbot: Any, app_paths: AppPaths, store: SettingsStore, fake_gpu: FakeGpuProvider
) -> Any:
    with open_shell(
        qtbot, paths=app_paths, store=store, content=REAL, gpu=fake_gpu, demo=True
    ) as built:
        yield built


def _in_view(widget: QWidget, viewport: QWidget) -> bool:
    """``widget`` lies wholly inside ``viewport`` (the visible part of a scroll area)."""
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("mode", ["expert", "youth"])
def test_every_output_tile_fits_and_the_chosen_film_is_in_view_at_1366x768(
    real_shell: Shell, qtbot: Any, language: str, mode: str
) -> None:
    shell = real_shell
    assert shell.settings_vm.set_value("ui.language", language)
    assert shell.settings_vm.set_value("ui.ui_mode", mode)
    shell.window.show_page("create")
    page = shell.window.pages["create"]
    assert isinstance(page, CreatePage)
    panel, run_vm = page.run_panel, shell.run_vm
    assert panel is not None
    assert run_vm is not None
    assert run_vm.select_output("wan22_video")
    picker = panel.outputs
    viewport = page.steps_scroll.viewport()
    QApplication.processEvents()
    laptop = viewport.width()
    # Maximised on a big screen first (three columns there), then back to the laptop size:
    # the column shrinks back with the window (nothing cut off at the right).
    shell.window.resize(1920, 1080)
    qtbot.waitUntil(lambda: viewport.width() > laptop + 100 and picker.width() > 500)
    for _ in range(3):  # laid out there in full
        QApplication.processEvents()
    shell.window.resize(1366, 768)
    qtbot.waitUntil(lambda: viewport.width() == laptop)
    for _ in range(3):  # the posted layout requests of column, picker and grid
        QApplication.processEvents()
    assert page.steps_scroll.widget().width() <= viewport.width()
    assert len(picker.tiles) == len(REAL.outputs) >= 12
    # The whole choice fits the visible column at once ...
    assert picker.height() <= viewport.height(), (picker.height(), viewport.height())
    # ... so scrolled to it, the chosen tile (the last but one) is in view, uncut.
    bar = page.steps_scroll.verticalScrollBar()
    bar.setValue(picker.mapTo(page.steps_scroll.widget(), QPoint(0, 0)).y())
    chosen = picker.checked_tile()
    assert chosen is not None
    assert chosen.output_id == "wan22_video"
    qtbot.waitUntil(lambda: _in_view(chosen, viewport))
    for tile in picker.tiles:
        assert tile.compact
        assert not tile.is_elided(), tile.text()  # "SD-Turbo (ohne Grafikkarte)" wraps whole
        assert tile.height() >= tile.compact_height(tile.width()), tile.text()
        right = tile.mapTo(viewport, QPoint(tile.width(), 0)).x()
        assert right <= viewport.width(), tile.text()
    # The result pane names the choice, whatever the column shows.
    assert panel.chosen_output.text() == "Film – Wan 2.2 (5B)"
    assert panel.chosen_output.visibleRegion().boundingRect() == panel.chosen_output.rect()


def test_kids_see_the_kinds_as_big_tiles_and_the_chosen_kind_without_a_model(
    real_shell: Shell, qtbot: Any
) -> None:
    shell = real_shell
    assert shell.settings_vm.set_value("ui.language", "de")
    assert shell.settings_vm.set_value("ui.ui_mode", "kids")
    shell.window.show_page("create")
    page = shell.window.pages["create"]
    assert isinstance(page, CreatePage)
    panel, run_vm = page.run_panel, shell.run_vm
    assert panel is not None
    assert run_vm is not None
    assert run_vm.select_output("wan22_video")
    QApplication.processEvents()
    picker = panel.outputs
    assert not any(tile.compact for tile in picker.tiles)
    assert picker.height() <= page.steps_scroll.viewport().height()
    assert panel.chosen_output.text() == "Film"  # no model name for kids
    assert "Wan" not in panel.chosen_output.accessibleName()


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_models_list_keeps_most_of_the_height_at_1366x768(
    real_shell: Shell, qtbot: Any, language: str
) -> None:
    shell = real_shell
    assert shell.settings_vm.set_value("ui.language", language)
    shell.window.show_page("settings")
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    page.show_tab("models")
    panel = page.models
    assert isinstance(panel, ModelsPanel)
    box = panel.bundle
    assert isinstance(box, BundleBox)
    qtbot.waitUntil(lambda: bool(panel.cards))
    QApplication.processEvents()
    assert panel.list_area.height() >= MODELS_LIST_MIN_HEIGHT, panel.list_area.height()
    # The bundle's actions are there, uncut, in one row under the list.
    buttons = [box.export_button, box.import_button, box.more_button]
    for button in buttons:
        assert button.visibleRegion().boundingRect() == button.rect(), button.text()
    assert len({b.mapTo(box, QPoint(0, 0)).y() for b in buttons[:2]}) == 1
    # What a bundle is and this PC's key open on demand; the list keeps a good share.
    assert not box.intro.isVisible()
    box.more_button.click()
    QApplication.processEvents()
    assert box.intro.isVisible()
    assert box.key_label.isVisible()
    assert panel.list_area.height() >= MODELS_LIST_MIN_HEIGHT // 2
    for label in (box.intro, box.key_label):
        assert label.height() >= label.heightForWidth(label.width()) - 1  # not cut off


def _seat(name: str, **status: Any) -> SeatView:
    values: dict[str, Any] = {
        "backends": {"ollama": "ready", "comfyui": "starting", "swarmui": "error"},
        "warm": True,
        "stage": "output_safety",
        "last_block": "Dein Prompt nennt eine echte Person, das ist hier nicht erlaubt.",
        "last_block_at": time.time(),
        "vram_used_mb": 10 * 1024,
        "vram_total_mb": 12 * 1024,
    }
    values.update(status)
    return SeatView(
        seat_id=name,
        name=name,
        online=True,
        address="127.0.0.1:1",
        status=SeatStatus(seat_name=name, **values),
        last_seen=None,
        collected_at=None,
        wiped_at=None,
    )


def _fits(label: QLabel) -> bool:
    needed = label.fontMetrics().horizontalAdvance(label.text())
    return needed <= label.contentsRect().width()


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_seat_tile_shows_the_gpu_line_whole_and_elides_long_names_with_a_tooltip(
    qapp: Any, qtbot: Any, language: str
) -> None:
    apply_theme(qapp)
    translator = Translator(language)
    tiles = []
    names = ("PC-03", "Raum 214 – Fensterplatz am Gang 07", "Raum 214 – Fensterplatz am Gang 08")
    for name in names:
        tile = SeatTile(name, translator)
        qtbot.addWidget(tile)
        tile.show_seat(TileState(_seat(name), False, None, None, "", language))
        tile.show()
        tiles.append(tile)
    qtbot.waitUntil(lambda: all(t.isVisible() for t in tiles))
    QApplication.processEvents()
    short, long, neighbour = tiles
    # "GPU 10.0 / 12.0 GB" and the stage fit whole beside their neighbours.
    for tile in tiles:
        assert tile.vram.text() == "GPU 10.0 / 12.0 GB"
        assert _fits(tile.vram), (tile.vram.width(), tile.vram.text())
        assert not tile.vram.is_elided()
        assert not tile.stage.is_elided(), tile.stage.text()
        assert tile.blocked_button.visibleRegion().boundingRect() == tile.blocked_button.rect()
        # Three server lights wrap inside the tile instead of running off its edge.
        lights = tile.lights
        assert lights.x() + lights.width() <= tile.contentsRect().right() + 1
        assert lights.height() >= lights.heightForWidth(lights.width()) - 1
        # The block reason is one elided line; its tooltip has the reason whole.
        assert tile.block.is_elided()
        assert "nicht erlaubt" in tile.block.toolTip()
    assert not short.select.is_elided()
    # A long seat name is shortened in the middle: its end (the seat number) tells two
    # seats apart. It is whole in the tooltip and for screen readers.
    assert isinstance(long.select, ElidedCheckBox)
    assert long.select.is_elided()
    assert "…" in long.select.shown_text()
    assert long.select.shown_text().endswith("07")
    assert neighbour.select.shown_text().endswith("08")
    assert "Raum 214 – Fensterplatz am Gang 07" in long.select.toolTip()
    assert long.select.text() == "Raum 214 – Fensterplatz am Gang 07"
    assert "Raum 214 – Fensterplatz am Gang 07" in long.accessibleName()


def test_an_elided_label_without_a_tooltip_of_its_own_shows_the_whole_text_in_one(
    qapp: Any, qtbot: Any
) -> None:
    label = ElidedLabel("Prüfung des Prompts und noch viel mehr Text")
    qtbot.addWidget(label)
    label.resize(80, 20)
    label.show()
    qtbot.waitExposed(label)
    assert label.is_elided()
    assert label.toolTip() == "Prüfung des Prompts und noch viel mehr Text"
    label.resize(label.fontMetrics().horizontalAdvance(label.text()) + 20, 20)
    qtbot.waitUntil(lambda: not label.is_elided())
    assert label.toolTip() == ""
    label.setToolTip("Was die Sicherheitsprüfung blockiert hat")
    label.resize(80, 20)
    qtbot.waitUntil(label.is_elided)
    assert label.toolTip() == "Was die Sicherheitsprüfung blockiert hat"
