"""History page: item model (qtmodeltester), search, filters, favourites, delete/undo, export,
reopen in Create, broken runs, empty and unavailable states."""

from __future__ import annotations

import asyncio
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtTest import QTest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.events import RunResult, Stage
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.runner import RunServices
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings import Settings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.record import (
    MediaRecord,
    RunRecord,
    SafetyDecision,
    StageRecord,
    utc_now,
)
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.history_page import ExportDialog, HistoryPage
from ai4artsed_desktop.ui.shell import build_shell
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.history_vm import DateFilter, HistoryViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase, RunViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel
from ai4artsed_desktop.ui.widgets.history_model import (
    FavouriteRole,
    HistoryListModel,
    IdeaRole,
    RunIdRole,
)
from tests.unit.store.helpers import inputs, local_noon_utc, png_bytes, video_bytes

from .helpers import run

CONTENT = load_content(resources_dir() / "configs")
RUNS = 30


def _make_run(store: RunStore, n: int, *, image: bool = True, **kw: str) -> RunRecord:
    config = kw.pop("config_id", "bauhaus" if n % 2 else "your_call")
    output = kw.pop("output_id", "sd15" if n % 3 else "p5js")
    record = store.new_run(inputs(f"Idee Nummer {n}", config_id=config, output_id=output, **kw))
    record.stages.append(
        StageRecord(Stage.interception, utc_now(), utc_now(), "sim", f"Verwandelt {n}")
    )
    record.stages.append(StageRecord(Stage.adaptation, utc_now(), utc_now(), "sim", f"prompt {n}"))
    record.safety.append(SafetyDecision(Stage.input_safety, "wordlist", "pass"))
    record.prompt = f"prompt {n}"
    record.seed = 1000 + n
    record.status = "done"
    record.owner = ""
    if image:
        store.add_media(record, png_bytes(), filename="image.png", mime="image/png", kind="image")
    else:
        store.save(record)
    return record


@pytest.fixture
def run_store(tmp_path: Path) -> Any:
    store = RunStore(tmp_path / "runs")
    yield store
    store.close()


@pytest.fixture
def filled(run_store: RunStore) -> list[RunRecord]:
    return [_make_run(run_store, n, image=n % 5 != 0) for n in range(RUNS)]


def _services(store: RunStore) -> RunServices:
    """Real pipeline services on ``store``; the demo backends are never started here."""
    paths = AppPaths.under(store.runs_dir.parent / "app")
    paths.ensure()
    manager = BackendManager(Settings(), paths, demo=True)
    return build_services(
        backends=manager,
        content=CONTENT,
        settings=Settings,
        store=store,
        workflows_dir=resources_dir() / "workflows",
    )


@pytest.fixture
def translator(qapp: Any) -> Translator:
    return Translator("en")


@pytest.fixture
def vm(qloop: Any, qtbot: Any, run_store: RunStore, translator: Translator) -> Any:
    model_vm = HistoryViewModel(
        _services(run_store), CONTENT, lambda: translator.language, page_size=10, undo_ms=60_000
    )
    yield model_vm
    _settle(qtbot, model_vm)
    task = asyncio.get_event_loop().create_task(model_vm.shutdown())
    qtbot.waitUntil(task.done, timeout=5000)


def _settle(qtbot: Any, vm: HistoryViewModel) -> None:
    qtbot.waitUntil(lambda: not vm.busy, timeout=5000)


def _loaded(qtbot: Any, vm: HistoryViewModel) -> list[str]:
    vm.refresh()
    _settle(qtbot, vm)
    return [r.id for r in vm.rows]


def _fetch_all(qtbot: Any, vm: HistoryViewModel) -> None:
    while vm.can_fetch_more:
        vm.fetch_more()
        _settle(qtbot, vm)


def test_model_passes_qtmodeltester_while_paging_and_loading_thumbnails(
    vm: HistoryViewModel, qtbot: Any, qtmodeltester: Any, filled: list[RunRecord], translator: Any
) -> None:
    model = HistoryListModel(vm, translator)
    _loaded(qtbot, vm)
    assert model.rowCount() == 10  # the first page only
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    _settle(qtbot, vm)
    assert model.rowCount() == 20
    qtmodeltester.check(model)  # the tester keeps watching (and fetches more itself)
    _settle(qtbot, vm)
    _fetch_all(qtbot, vm)
    assert model.rowCount() == RUNS
    assert not model.canFetchMore(QModelIndex())
    newest = model.index(0)
    assert newest.data(RunIdRole) == filled[-1].id  # newest first
    assert newest.data(IdeaRole) == f"Idee Nummer {RUNS - 1}"
    assert f"Idee Nummer {RUNS - 1}" in newest.data(Qt.ItemDataRole.ToolTipRole)
    for row in range(model.rowCount()):
        model.index(row).data(Qt.ItemDataRole.DecorationRole)  # placeholders, queue loads
    _settle(qtbot, vm)
    with_thumb = {r.id for r in filled if r.media}
    assert all(model.cached_thumbnail(i) is not None for i in with_thumb)
    assert all(model.cached_thumbnail(r.id) is None for r in filled if not r.media)
    pixmap = newest.data(Qt.ItemDataRole.DecorationRole)
    assert not pixmap.isNull()
    assert pixmap.width() <= 160
    qtmodeltester.check(model)


def test_tiles_of_runs_without_a_result_say_why(
    vm: HistoryViewModel, qtbot: Any, run_store: RunStore, translator: Translator
) -> None:
    ended = {}
    for n, status in enumerate(("done", "blocked", "failed", "cancelled")):
        record = _make_run(run_store, n, image=False, output_id="sd15")
        record.status = status
        run_store.save(record)
        ended[status] = record.id
    model = HistoryListModel(vm, translator)
    _loaded(qtbot, vm)

    def tiles() -> dict[str, Any]:
        rows = {model.index(r).data(RunIdRole): model.index(r) for r in range(model.rowCount())}
        return {s: rows[i].data(Qt.ItemDataRole.DecorationRole).toImage() for s, i in ended.items()}

    english = tiles()
    assert len({bytes(image.constBits()) for image in english.values()}) == 4  # all differ
    translator.set_language("de")
    german = tiles()
    assert german["done"] == english["done"]  # a plain mark: no words on it
    for status in ("blocked", "failed", "cancelled"):
        assert german[status] != english[status]  # the status word is translated


def test_a_film_shows_its_first_frame_with_a_play_sign(
    vm: HistoryViewModel, qtbot: Any, run_store: RunStore, translator: Translator
) -> None:
    film = _make_run(run_store, 1, image=False, output_id="wan22_video")
    run_store.add_media(
        film, video_bytes(((30, 160, 60), (200, 30, 30))), filename="film.mp4",
        mime="video/mp4", kind="video",
    )  # fmt: skip
    picture = _make_run(run_store, 2, output_id="sd15")
    lost = _make_run(run_store, 3, image=False, output_id="wan22_video")
    lost.media.append(MediaRecord("gone.mp4", "video/mp4", "video", "0" * 64))
    run_store.save(lost)
    empty = _make_run(run_store, 4, image=False, output_id="sd15")
    model = HistoryListModel(vm, translator)
    _loaded(qtbot, vm)
    rows = {model.index(r).data(RunIdRole): model.index(r) for r in range(model.rowCount())}
    for run_id in rows:
        rows[run_id].data(Qt.ItemDataRole.DecorationRole)  # queue the loads
    qtbot.waitUntil(lambda: model.cached_thumbnail(film.id) is not None, timeout=5000)
    qtbot.waitUntil(lambda: model.cached_thumbnail(picture.id) is not None, timeout=5000)
    tile = rows[film.id].data(Qt.ItemDataRole.DecorationRole).toImage()
    corner = tile.pixelColor(3, 3)
    assert corner.green() > 120  # the first frame (green), not the second (red)
    assert corner.red() < 80
    centre = tile.pixelColor(tile.width() // 2, tile.height() // 2)
    assert min(centre.red(), centre.green(), centre.blue()) > 200  # the white play sign
    image_tile = rows[picture.id].data(Qt.ItemDataRole.DecorationRole).toImage()
    middle = image_tile.pixelColor(image_tile.width() // 2, image_tile.height() // 2)
    assert middle.green() < 100  # a picture gets no play sign
    without = rows[lost.id].data(Qt.ItemDataRole.DecorationRole).toImage()
    nothing = rows[empty.id].data(Qt.ItemDataRole.DecorationRole).toImage()
    assert without != nothing  # a film without a thumbnail has a mark of its own


def test_search_and_filters_narrow_the_grid(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    _loaded(qtbot, vm)
    assert vm.total == RUNS
    vm.set_search_text("Nummer 7")
    assert vm.busy  # debounced: nothing read yet
    wanted = ["Idee Nummer 27", "Idee Nummer 17", "Idee Nummer 7"]  # substrings, newest first
    qtbot.waitUntil(lambda: [r.idea for r in vm.rows] == wanted, timeout=3000)
    vm.set_search_text("")
    vm.set_config_filter("bauhaus")
    _settle(qtbot, vm)
    _fetch_all(qtbot, vm)
    assert {r.config_id for r in vm.rows} == {"bauhaus"}
    assert len(vm.rows) == RUNS // 2
    vm.set_output_filter("p5js")
    _settle(qtbot, vm)
    assert {(r.config_id, r.output_id) for r in vm.rows} == {("bauhaus", "p5js")}
    vm.set_config_filter("")
    vm.set_output_filter("")
    old = filled[0]
    old.created_at = local_noon_utc(2020, 1, 1)
    run_store.save(old)
    vm.set_date_filter(DateFilter.week)
    _settle(qtbot, vm)
    _fetch_all(qtbot, vm)
    assert old.id not in {r.id for r in vm.rows}
    assert len(vm.rows) == RUNS - 1
    vm.set_date_filter(DateFilter.all)
    _settle(qtbot, vm)
    assert vm.total == RUNS


def test_favourite_toggles_persist_and_filter(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select(ids[:2])
    vm.toggle_favourite()
    _settle(qtbot, vm)
    assert all(run_store.load(i).favourite for i in ids[:2])
    assert [r.favourite for r in vm.rows[:3]] == [True, True, False]
    vm.set_favourites_only(True)
    _settle(qtbot, vm)
    assert [r.id for r in vm.rows] == ids[:2]
    vm.select(ids[:1])
    vm.toggle_favourite()  # unmarking under "favourites only" drops it from the grid
    _settle(qtbot, vm)
    assert not run_store.load(ids[0]).favourite
    assert [r.id for r in vm.rows] == ids[1:2]


def test_delete_then_undo_keeps_the_run(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select([ids[0]])
    vm.delete_selected()
    assert ids[0] not in [r.id for r in vm.rows]
    assert vm.pending_delete == [ids[0]]
    assert run_store.folder(ids[0]).is_dir()  # nothing removed during the undo window
    vm.set_search_text("Idee")  # a refresh meanwhile keeps it hidden
    _settle(qtbot, vm)
    assert ids[0] not in [r.id for r in vm.rows]
    vm.undo_delete()
    _settle(qtbot, vm)
    assert vm.pending_delete == []
    assert next(r.id for r in vm.rows) == ids[0]
    assert run_store.folder(ids[0]).is_dir()


def test_delete_without_undo_removes_the_folder_and_keeps_paging_in_step(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select(ids[2:4])
    vm.delete_selected()
    vm.commit_delete()  # the banner was dismissed
    _settle(qtbot, vm)
    assert not run_store.folder(ids[2]).exists()
    assert not run_store.folder(ids[3]).exists()
    assert vm.total == RUNS - 2
    _fetch_all(qtbot, vm)
    shown = [r.id for r in vm.rows]
    assert len(shown) == len(set(shown)) == RUNS - 2  # no run skipped or repeated


def test_a_second_delete_closes_the_first_undo_window(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select([ids[0]])
    vm.delete_selected()
    vm.select([ids[1]])
    vm.delete_selected()
    _settle(qtbot, vm)
    assert not run_store.folder(ids[0]).exists()
    assert run_store.folder(ids[1]).is_dir()
    assert vm.pending_delete == [ids[1]]
    vm.undo_delete()
    _settle(qtbot, vm)
    assert ids[1] in [r.id for r in vm.rows]


def test_store_work_is_keyed_by_what_it_touches(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], run_store: RunStore
) -> None:
    ids = _loaded(qtbot, vm)
    keys: list[tuple[str, bool]] = []
    vm._actions.busy_changed.connect(lambda key, busy: keys.append((key, busy)))
    vm.select([ids[0]])
    vm.toggle_favourite()
    vm.toggle_favourite()  # a double click on the same runs while the first write runs
    vm.select([ids[1]])
    vm.toggle_favourite()  # other runs: their own work, queued on the store lock
    _settle(qtbot, vm)
    started = [key for key, busy in keys if busy]
    assert started.count(f"favourite:{ids[0]}") == 1
    assert started.count(f"favourite:{ids[1]}") == 1
    assert run_store.load(ids[0]).favourite
    assert run_store.load(ids[1]).favourite
    assert not vm._actions.any_busy


def test_export_writes_a_portfolio_zip(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], tmp_path: Path
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select(ids[:3])
    target = tmp_path / "out" / "portfolio.zip"
    target.parent.mkdir()
    with qtbot.waitSignal(vm.exported, timeout=5000) as done:
        vm.export_selected(target)
    assert done.args == [str(target)]
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert "index.html" in names
        html = archive.read("index.html").decode()
    assert "Idee Nummer 29" in html
    assert sum(n.endswith("run.json") for n in names) == 3


def test_export_to_an_unwritable_place_says_so_inline(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], tmp_path: Path
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select(ids[:1])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with qtbot.waitSignal(vm.message, timeout=5000) as said:
        vm.export_selected(blocker / "p.zip")
    key, fields = said.args  # the error's own catalogue key: the page shows it translated
    assert key == "error.not_saved_portfolio"
    assert fields == {"folder": str(blocker)}
    assert Translator("de").tr(key, **fields).startswith("Die Mappe konnte nicht in ")


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    return SettingsViewModel(store, translator)


def test_reopen_emits_the_record_and_open_record_fills_create(
    vm: HistoryViewModel,
    qtbot: Any,
    filled: list[RunRecord],
    run_store: RunStore,
    settings_vm: SettingsViewModel,
) -> None:
    target = filled[7]  # bauhaus, sd15, with an image
    record = run_store.load(target.id)
    record.stages[0] = replace(record.stages[0], edited_text="Meine Fassung")
    record.inputs = replace(record.inputs, rules="Eigene Regeln")
    run_store.save(record)
    _loaded(qtbot, vm)
    vm.select([target.id])
    with qtbot.waitSignal(vm.reopen_requested, timeout=5000) as asked:
        vm.reopen_selected()
    reopened = asked.args[0]
    assert isinstance(reopened, RunRecord)
    assert reopened.id == target.id
    create_vm = CreateViewModel(CONTENT, settings_vm)
    run_vm = RunViewModel(create_vm, settings_vm, _services(run_store))
    texts: dict[Stage, str] = {}
    run_vm.stage_completed.connect(lambda stage, text, _badge: texts.__setitem__(stage, text))
    with qtbot.waitSignal(run_vm.result, timeout=1000) as shown:
        run_vm.open_record(reopened)
    assert create_vm.idea == "Idee Nummer 7"
    assert create_vm.rules == "Eigene Regeln"  # as saved, not re-filled from the config
    assert create_vm.selected_config_id == "bauhaus"
    assert run_vm.selected_output_id == "sd15"
    assert texts[Stage.interception] == "Meine Fassung"
    assert texts[Stage.adaptation] == "prompt 7"
    assert run_vm.phase is RunPhase.done
    result = shown.args[0]
    assert isinstance(result, RunResult)
    assert [f.path for f in result.media] == [run_store.folder(target.id) / "image.png"]
    assert result.media[0].path.is_file()
    assert run_vm.can_run
    assert run_vm.next_action == "generate"  # edits continue the reopened run
    assert run_vm.session is not None
    assert run_vm.session.run_id == target.id


def test_reopen_waits_while_create_runs(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord]
) -> None:
    ids = _loaded(qtbot, vm)
    vm.select(ids[:1])
    vm.on_create_run_ended(True)
    assert not vm.can_reopen
    with qtbot.waitSignal(vm.message, timeout=1000) as said:
        vm.reopen_selected()
    assert said.args[0] == "history.reopen_busy"
    vm.on_create_run_ended(False)  # the run ended: the grid reloads
    _settle(qtbot, vm)
    assert vm.can_reopen is False  # the refresh cleared the selection


@pytest.mark.usefixtures("expect_log_warnings")  # the store warns about the broken run
def test_page_shows_grid_details_broken_runs_and_undo(
    qloop: Any, qtbot: Any, run_store: RunStore, translator: Translator, opened_folders: Any
) -> None:
    runs = [_make_run(run_store, n) for n in range(3)]
    broken = run_store.runs_dir / "20200101-120000-abcdef"
    broken.mkdir()
    (broken / "run.json").write_text("{not json")
    store = RunStore(run_store.runs_dir)  # opening finds the broken folder
    history = HistoryViewModel(_services(store), CONTENT, lambda: translator.language)
    page = HistoryPage(translator, history)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    history.refresh()
    _settle(qtbot, history)
    assert page.model is not None
    assert page.model.rowCount() == 3
    assert page.stack.currentWidget() is page.view
    assert page.broken_label.isVisible()
    assert "20200101-120000-abcdef" in page.broken_label.text()
    assert not page.delete_button.isEnabled()
    page.view.selectionModel().select(
        page.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    _settle(qtbot, history)
    assert history.selected_ids == [runs[-1].id]
    details = page.details_view.toPlainText()
    assert "Idee Nummer 2" in details
    assert "Verwandelt 2" in details
    assert "1002" in details
    assert "1 passed, 0 blocked, 0 not checked" in details
    assert page.reopen_button.isEnabled()
    assert page.folder_button.isEnabled()
    page.folder_button.click()
    assert opened_folders == [store.folder(runs[-1].id)]
    page.favourite_button.click()
    _settle(qtbot, history)
    assert page.model.index(0).data(FavouriteRole) is True
    assert page.favourite_button.text() == "Remove favourite"
    page.delete_button.click()
    assert page.undo_banner.isVisible()
    assert page.model.rowCount() == 2
    page.undo_button.click()
    _settle(qtbot, history)
    assert not page.undo_banner.isVisible()
    assert page.model.rowCount() == 3
    translator.set_language("de")
    assert page.favourites_check.text() == "Nur Favoriten"
    assert page.search_edit.accessibleName()
    task = asyncio.get_event_loop().create_task(history.shutdown())
    qtbot.waitUntil(task.done, timeout=5000)
    store.close()


def test_page_export_asks_for_the_target(
    vm: HistoryViewModel,
    qtbot: Any,
    filled: list[RunRecord],
    translator: Translator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = HistoryPage(translator, vm)
    qtbot.addWidget(page)
    _loaded(qtbot, vm)
    vm.select([r.id for r in vm.rows[:2]])
    monkeypatch.setattr(ExportDialog, "ask", classmethod(lambda *_a: tmp_path / "mappe"))
    with qtbot.waitSignal(vm.exported, timeout=5000):
        page.export_button.click()
    assert (tmp_path / "mappe.zip").is_file()
    assert "mappe.zip" in page.message


def test_empty_state_teaches_and_filters_say_no_match(
    vm: HistoryViewModel, qtbot: Any, translator: Translator
) -> None:
    page = HistoryPage(translator, vm)
    qtbot.addWidget(page)
    page.show()
    _loaded(qtbot, vm)
    assert page.stack.currentWidget() is page.empty_state
    assert "Your runs will appear here" in page.empty_text.text()
    vm.set_favourites_only(True)
    _settle(qtbot, vm)
    assert page.empty_heading.text() == "No matching runs"


def test_without_a_run_store_the_page_explains(qapp: Any, qtbot: Any) -> None:
    translator = Translator("en")
    history = HistoryViewModel(None, CONTENT, lambda: translator.language)
    page = HistoryPage(translator, history)
    qtbot.addWidget(page)
    assert not history.available
    assert page.model is None
    assert "history is not available" in page.unavailable_label.text()
    history.refresh()  # nothing to read, nothing breaks
    assert history.rows == []


def test_shell_refreshes_after_a_run_and_reopens_in_create(
    qloop: Any,
    qtbot: Any,
    app_paths: Any,
    store: SettingsStore,
    fake_gpu: Any,
    run_store: RunStore,
) -> None:
    tasks = TaskRegistry("test")
    shell = build_shell(
        paths=app_paths,
        store=store,
        content=CONTENT,
        gpu=fake_gpu,
        tasks=tasks,
        demo=True,
        services=_services(run_store),
    )
    qtbot.addWidget(shell.window)
    history, run_vm = shell.history_vm, shell.run_vm
    assert history is not None
    assert run_vm is not None
    _settle(qtbot, history)
    assert history.rows == []
    made = _make_run(run_store, 3)  # as if the Create page had just finished it
    run_vm.busy_changed.emit(False)
    _settle(qtbot, history)
    assert [r.id for r in history.rows] == [made.id]
    history.select([made.id])
    shell.window.show_page("history")
    history.reopen_selected()
    qtbot.waitUntil(lambda: shell.window.current_page == "create", timeout=5000)
    assert shell.create_vm.idea == "Idee Nummer 3"
    assert run_vm.phase is RunPhase.done
    run(qtbot, shell.shutdown())
    run(qtbot, tasks.cancel_all())


def test_selected_count_follows_every_ctrl_click(
    vm: HistoryViewModel, qtbot: Any, filled: list[RunRecord], translator: Any
) -> None:
    """Two, three, four tiles: the details say 4, not the 2 of the first multi-selection."""
    page = HistoryPage(translator, vm)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    vm.refresh()
    _settle(qtbot, vm)
    assert page.model is not None
    for row in range(4):
        rect = page.view.visualRect(page.model.index(row))
        modifier = Qt.KeyboardModifier.ControlModifier if row else Qt.KeyboardModifier.NoModifier
        QTest.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
        _settle(qtbot, vm)
        assert len(vm.selected_ids) == row + 1
        text = page.details_view.toPlainText()
        if row:
            assert text.startswith(f"{row + 1} runs selected"), text
    QTest.mouseClick(
        page.view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ControlModifier,
        page.view.visualRect(page.model.index(3)).center(),
    )
    _settle(qtbot, vm)
    assert page.details_view.toPlainText().startswith("3 runs selected")


def test_kids_see_no_model_seed_or_file_names_in_the_details(
    qloop: Any, qtbot: Any, run_store: RunStore, translator: Translator
) -> None:
    made = _make_run(run_store, 2)  # sd15, a seed, an image file
    kids = [True]
    history = HistoryViewModel(_services(run_store), CONTENT, lambda: translator.language)
    page = HistoryPage(translator, history, kids=lambda: kids[0])
    qtbot.addWidget(page)
    page.show()
    history.refresh()
    _settle(qtbot, history)
    history.select([made.id])
    _settle(qtbot, history)
    shown = page.details_view.toPlainText()
    assert "Idee Nummer 2" in shown
    assert "Picture" in shown  # the kind of result ...
    for hidden in ("SD 1.5", "1002", "image.png"):  # ... not the model, seed or file
        assert hidden not in shown, hidden
    kids[0] = False
    history.select([])
    _settle(qtbot, history)
    history.select([made.id])
    _settle(qtbot, history)
    shown = page.details_view.toPlainText()
    assert "SD 1.5" in shown
    assert "image.png" in shown


def test_kids_filter_outputs_by_kind_never_by_model(
    qloop: Any, qtbot: Any, run_store: RunStore, translator: Translator
) -> None:
    made = {o: _make_run(run_store, n, output_id=o) for n, o in enumerate(("sd15", "sdxl", "p5js"))}
    kids = [True]
    history = HistoryViewModel(_services(run_store), CONTENT, lambda: translator.language)
    page = HistoryPage(translator, history, kids=lambda: kids[0])
    qtbot.addWidget(page)
    page.show()
    history.refresh()
    _settle(qtbot, history)

    def entries() -> list[str]:
        return [page.output_combo.itemText(i) for i in range(page.output_combo.count())]

    names = entries()
    assert names[0] == "All outputs"
    assert "Picture" in names
    assert "Drawing code" in names
    assert len(names) == len(set(names))  # one entry per kind
    model_names = {o.name.get("en") for o in CONTENT.outputs.values()}
    model_names |= {o.name.get("de") for o in CONTENT.outputs.values()}
    assert not model_names & set(names)
    page.output_combo.setCurrentIndex(names.index("Picture"))
    page.output_combo.activated.emit(names.index("Picture"))
    _settle(qtbot, history)
    assert {r.id for r in history.rows} == {made["sd15"].id, made["sdxl"].id}  # every picture
    translator.set_language("de")
    try:
        german = entries()
        assert "Bild" in german
        assert "Zeichen-Code" in german
        assert not model_names & set(german)
        assert page.output_combo.currentText() == "Bild"  # the filter stays
    finally:
        translator.set_language("en")
    kids[0] = False  # an expert now: the kind widens to every output, then models are named
    page.mode_changed()
    _settle(qtbot, history)
    assert page.output_combo.currentIndex() == 0
    assert len(history.rows) == 3
    assert CONTENT.outputs["sd15"].name.get("en") in entries()
    page.output_combo.setCurrentIndex(page.output_combo.findData("sdxl"))
    page.output_combo.activated.emit(page.output_combo.currentIndex())
    _settle(qtbot, history)
    kids[0] = True  # back to kids: the expert's model becomes its kind
    page.mode_changed()
    _settle(qtbot, history)
    assert page.output_combo.currentText() == "Picture"
    assert {r.id for r in history.rows} == {made["sd15"].id, made["sdxl"].id}
