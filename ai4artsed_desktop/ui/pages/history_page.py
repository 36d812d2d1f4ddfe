"""History page: the saved runs as a thumbnail grid with search, filters and details.

Everything the page does goes through :class:`HistoryViewModel`; the page shows its state,
asks for the export target and opens folders. Without a run store it explains that the
history is unavailable.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...store.record import RunRecord, SafetyDecision
from ...store.runs import BrokenRun
from ..desktop import FolderOpener
from ..i18n import Translator, localized_params
from ..viewmodels.history_vm import DateFilter, HistoryViewModel, RunDetails
from ..widgets.history_model import STATUS_KEYS, THUMB_SIDE, HistoryListModel, RunIdRole, local_time
from ..widgets.output_picker import KIND_KEYS, output_kind
from ..widgets.stage_panel import STAGE_KEYS

#: Broken runs named in the notice before "and N more".
MAX_BROKEN_NAMED = 3
_DATE_KEYS = {
    DateFilter.all: "history.date_all",
    DateFilter.today: "history.date_today",
    DateFilter.week: "history.date_week",
}


class ExportDialog:
    """Asks where to write the portfolio ZIP; tests replace :meth:`ask`."""

    @classmethod
    def ask(cls, parent: QWidget, title: str, suggested: Path) -> Path | None:
        """The chosen path, or None when the user cancelled."""
        chosen, _filter = QFileDialog.getSaveFileName(parent, title, str(suggested), "ZIP (*.zip)")
        return Path(chosen) if chosen else None


class HistoryPage(QWidget):
    """The grid of saved runs and the details of the selected one."""

    def __init__(
        self,
        translator: Translator,
        vm: HistoryViewModel | None = None,
        parent: QWidget | None = None,
        *,
        kids: Callable[[], bool] = lambda: False,
    ):
        super().__init__(parent)
        self._tr = translator
        self._kids = kids  # kids mode: no model or file names in the details
        self._vm = vm if vm is not None and vm.available else None
        self._message: tuple[str, dict[str, str]] = ("", {})
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.unavailable_label = QLabel()
        self.unavailable_label.setObjectName("emptyState")
        self.unavailable_label.setWordWrap(True)
        self.unavailable_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        self.model: HistoryListModel | None = None
        if self._vm is None:
            layout.addStretch(1)
            layout.addWidget(self.unavailable_label)
            layout.addStretch(2)
        else:
            self.unavailable_label.hide()
            self._build(self._vm, layout)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ building
    def _build(self, vm: HistoryViewModel, layout: QVBoxLayout) -> None:
        self._create_filters()
        self._create_banners()
        self._create_grid(vm)
        self._create_details()
        filters = QHBoxLayout()
        filters.addWidget(self.search_edit, 3)
        for combo in (self.config_combo, self.output_combo, self.date_combo):
            filters.addWidget(combo, 2)
        filters.addWidget(self.favourites_check)
        banner = QHBoxLayout(self.undo_banner)
        banner.setContentsMargins(10, 6, 10, 6)
        banner.addWidget(self.undo_label, 1)
        banner.addWidget(self.undo_button)
        banner.addWidget(self.dismiss_button)
        details = QWidget()
        side = QVBoxLayout(details)
        side.setContentsMargins(8, 0, 0, 0)
        side.addWidget(self.details_heading)
        side.addWidget(self.details_view, 1)
        buttons = QHBoxLayout()
        for button in (self.favourite_button, self.reopen_button, self.delete_button):
            buttons.addWidget(button)
        side.addLayout(buttons)
        more = QHBoxLayout()
        more.addWidget(self.export_button)
        more.addWidget(self.folder_button)
        more.addStretch(1)
        side.addLayout(more)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.stack)
        splitter.addWidget(details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout.addLayout(filters)
        layout.addWidget(self.broken_label)
        layout.addWidget(self.undo_banner)
        layout.addWidget(self.message_label)
        layout.addWidget(splitter, 1)
        self._connect(vm)
        for first, second in itertools.pairwise(self.focus_chain()):
            QWidget.setTabOrder(first, second)
        self._update_state()

    def _create_filters(self) -> None:
        self.search_edit = QLineEdit()
        self.search_edit.setClearButtonEnabled(True)
        self.config_combo = QComboBox()
        self.output_combo = QComboBox()
        self.date_combo = QComboBox()
        self.favourites_check = QCheckBox()

    def _create_banners(self) -> None:
        self.broken_label = QLabel()
        self.broken_label.setObjectName("hint")
        self.broken_label.setWordWrap(True)
        self.broken_label.hide()
        self.undo_banner = QFrame()
        self.undo_banner.setObjectName("undoBanner")
        self.undo_banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.undo_label = QLabel()
        self.undo_button = QPushButton()
        self.dismiss_button = QPushButton()
        self.undo_banner.hide()
        self.message_label = QLabel()
        self.message_label.setObjectName("runMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()

    def _create_grid(self, vm: HistoryViewModel) -> None:
        self.model = HistoryListModel(vm, self._tr, self)
        self.view = QListView()
        self.view.setObjectName("historyGrid")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setWordWrap(True)
        self.view.setSpacing(8)
        self.view.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.view.setGridSize(QSize(THUMB_SIDE + 28, THUMB_SIDE + 60))
        self.view.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        self.empty_heading = QLabel()
        self.empty_heading.setObjectName("emptyHeading")
        self.empty_heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("emptyState")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty = QWidget()
        column = QVBoxLayout(empty)
        column.addStretch(1)
        column.addWidget(self.empty_heading)
        column.addWidget(self.empty_text)
        column.addStretch(2)
        self.empty_state = empty
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(empty)

    def _create_details(self) -> None:
        self.details_heading = QLabel()
        self.details_heading.setObjectName("sectionHeading")
        self.details_view = QTextBrowser()
        self.details_view.setObjectName("historyDetails")
        self.details_view.setOpenLinks(False)
        self.details_view.setMinimumWidth(280)
        self.favourite_button = QPushButton()
        self.reopen_button = QPushButton()
        self.delete_button = QPushButton()
        self.export_button = QPushButton()
        self.folder_button = QPushButton()

    def _connect(self, vm: HistoryViewModel) -> None:
        self.search_edit.textChanged.connect(vm.set_search_text)
        self.config_combo.activated.connect(
            lambda _i: vm.set_config_filter(str(self.config_combo.currentData() or ""))
        )
        self.output_combo.activated.connect(
            lambda _i: vm.set_output_filter(self._output_data(self.output_combo.currentIndex()))
        )
        self.date_combo.activated.connect(
            lambda _i: vm.set_date_filter(DateFilter(self.date_combo.currentData()))
        )
        self.favourites_check.toggled.connect(vm.set_favourites_only)
        self.view.selectionModel().selectionChanged.connect(self._on_view_selection)
        self.favourite_button.clicked.connect(vm.toggle_favourite)
        self.reopen_button.clicked.connect(vm.reopen_selected)
        self.delete_button.clicked.connect(vm.delete_selected)
        self.export_button.clicked.connect(self.export)
        self.folder_button.clicked.connect(self.open_folder)
        self.undo_button.clicked.connect(vm.undo_delete)
        self.dismiss_button.clicked.connect(vm.commit_delete)
        self.view.doubleClicked.connect(lambda _index: vm.reopen_selected())
        vm.rows_reset.connect(self._update_state)
        vm.rows_appended.connect(self._update_state)
        vm.rows_removed.connect(self._update_state)
        vm.row_changed.connect(self._update_state)
        vm.loading_changed.connect(self._update_state)
        vm.selection_changed.connect(self._on_selection_changed)
        vm.create_busy_changed.connect(self._update_state)
        vm.details_changed.connect(self._show_details)
        vm.broken_changed.connect(self._show_broken)
        vm.pending_delete_changed.connect(self._show_undo)
        vm.message.connect(self._say)

    def focus_chain(self) -> list[QWidget]:
        """The page's controls in tab order."""
        if self._vm is None:
            return []
        return [
            self.search_edit,
            self.config_combo,
            self.output_combo,
            self.date_combo,
            self.favourites_check,
            self.undo_button,
            self.dismiss_button,
            self.view,
            self.details_view,
            self.favourite_button,
            self.reopen_button,
            self.delete_button,
            self.export_button,
            self.folder_button,
        ]

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.title.setText(tr("history.title"))
        self.setAccessibleName(tr("history.title"))
        self.unavailable_label.setText(tr("history.unavailable"))
        self.unavailable_label.setAccessibleName(tr("history.unavailable"))
        if self._vm is None:
            return
        self.search_edit.setPlaceholderText(tr("history.search_placeholder"))
        self.search_edit.setAccessibleName(tr("history.search_accessible"))
        self.favourites_check.setText(tr("history.favourites_only"))
        self.favourites_check.setAccessibleName(tr("history.favourites_only"))
        self.view.setAccessibleName(tr("history.grid_accessible"))
        self.view.setAccessibleDescription(tr("history.grid_description"))
        self.details_heading.setText(tr("history.details_heading"))
        self.details_view.setAccessibleName(tr("history.details_heading"))
        for button, key in (
            (self.favourite_button, "history.favourite"),
            (self.reopen_button, "history.reopen"),
            (self.delete_button, "history.delete"),
            (self.export_button, "history.export"),
            (self.folder_button, "history.open_folder"),
            (self.undo_button, "history.undo"),
            (self.dismiss_button, "history.dismiss"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
        self.reopen_button.setToolTip(tr("history.reopen_tip"))
        self.delete_button.setToolTip(tr("history.delete_tip"))
        self.export_button.setToolTip(tr("history.export_tip"))
        self.dismiss_button.setToolTip(tr("history.dismiss_tip"))
        self._fill_combos(self._vm)
        self._show_broken(self._vm.broken_runs)
        self._show_undo(len(self._vm.pending_delete))
        self._show_details(self._vm.details)
        self._show_message()
        self._update_state()

    def _fill_combos(self, vm: HistoryViewModel) -> None:
        tr = self._tr.tr
        self.config_combo.clear()
        self.config_combo.addItem(tr("history.all_configs"), "")
        for item_id, name in vm.config_choices():
            self.config_combo.addItem(name, item_id)
        self.config_combo.setCurrentIndex(max(self.config_combo.findData(vm.config_filter), 0))
        self._fill_output_combo(vm)
        self.config_combo.setAccessibleName(tr("history.config_filter"))
        self.output_combo.setAccessibleName(tr("history.output_filter"))
        self.date_combo.clear()
        for value, key in _DATE_KEYS.items():
            self.date_combo.addItem(tr(key), value.value)
        self.date_combo.setCurrentIndex(self.date_combo.findData(vm.date_filter.value))
        self.date_combo.setAccessibleName(tr("history.date_filter"))

    def _say(self, key: str, fields: dict[str, str]) -> None:
        self._message = (key, dict(fields))
        self._show_message()

    def _show_message(self) -> None:
        key, fields = self._message
        fields = localized_params(fields, self._tr.language)  # an error naming an output
        self.message_label.setText(self._tr.tr(key, **fields) if key else "")
        self.message_label.setVisible(bool(key))

    @property
    def message(self) -> str:
        """The inline message shown now ("" when none)."""
        return self.message_label.text() if not self.message_label.isHidden() else ""

    # ------------------------------------------------------------------ state
    def _update_state(self, _value: object = None) -> None:
        vm = self._vm
        if vm is None:
            return
        tr = self._tr.tr
        empty = not vm.rows and not vm.loading
        self.stack.setCurrentWidget(self.empty_state if empty else self.view)
        key = "history.no_matches" if vm.filtered else "history.empty_text"
        heading = "history.no_matches_heading" if vm.filtered else "history.empty_heading"
        self.empty_heading.setText(tr(heading))
        self.empty_text.setText(tr(key))
        self.empty_text.setAccessibleName(tr(heading))
        count = len(vm.selected_ids)
        self.favourite_button.setEnabled(count > 0)
        self.delete_button.setEnabled(count > 0)
        self.export_button.setEnabled(count > 0)
        self.reopen_button.setEnabled(vm.can_reopen)
        self.folder_button.setEnabled(vm.details is not None)
        chosen = vm.selected
        unmark = bool(chosen) and all(r.favourite for r in chosen)
        self.favourite_button.setText(tr("history.unfavourite" if unmark else "history.favourite"))
        self.favourite_button.setAccessibleName(self.favourite_button.text())
        if vm.create_busy:
            self.reopen_button.setToolTip(tr("history.reopen_busy"))
        else:
            self.reopen_button.setToolTip(tr("history.reopen_tip"))

    def _on_selection_changed(self, run_ids: list[str]) -> None:
        self._update_state()
        if len(run_ids) != 1:  # 2 -> 3 selected: no details change, but the count does
            self._show_details(None)

    def _on_view_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._vm is None:
            return
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        model = self.view.model()
        ids = [str(model.index(row, 0).data(RunIdRole)) for row in rows]
        self._vm.select(ids)

    def _show_broken(self, broken: list[BrokenRun]) -> None:
        if not broken:
            self.broken_label.hide()
            return
        names = ", ".join(b.run_id for b in broken[:MAX_BROKEN_NAMED])
        more = len(broken) - MAX_BROKEN_NAMED
        text = self._tr.plural("history.broken", len(broken), names=names)
        if more > 0:
            text += " " + self._tr.plural("history.broken_more", more)
        self.broken_label.setText(text)
        self.broken_label.setToolTip("\n".join(f"{b.run_id}: {b.reason}" for b in broken))
        self.broken_label.setAccessibleName(text)
        self.broken_label.show()

    def _show_undo(self, count: int) -> None:
        self.undo_label.setText(self._tr.plural("history.deleted", count))
        self.undo_banner.setAccessibleName(self.undo_label.text())
        self.undo_banner.setVisible(count > 0)

    # ------------------------------------------------------------------ details
    def _show_details(self, details: RunDetails | None) -> None:
        self._update_state()
        if details is None:
            count = len(self._vm.selected_ids) if self._vm else 0
            key = "history.details_many" if count > 1 else "history.details_none"
            self.details_view.setHtml(f"<p>{html.escape(self._tr.tr(key, count=str(count)))}</p>")
            return
        self.details_view.setHtml(self._details_html(details))

    def _fill_output_combo(self, vm: HistoryViewModel) -> None:
        """Every output by name; for kids one entry per kind ("Bild" = all picture outputs).

        A switch between kids and experts widens a chosen filter, never hides runs: an
        expert's model becomes its kind, a kid's kind becomes "all outputs".
        """
        combo = self.output_combo
        combo.clear()
        combo.addItem(self._tr.tr("history.all_outputs"), "")
        current = vm.output_filter
        if self._kids():
            kinds: dict[str, list[str]] = {}
            for output in vm.content.sorted_outputs():
                kinds.setdefault(output_kind(output), []).append(output.id)
            for kind, ids in kinds.items():
                combo.addItem(self._tr.tr(KIND_KEYS[kind]), "\n".join(ids))
            chosen = {current} if isinstance(current, str) else set(current)
            index = next((i for i, ids in enumerate(kinds.values(), 1) if chosen & set(ids)), 0)
        else:
            for item_id, name in vm.output_choices():
                combo.addItem(name, item_id)
            index = combo.findData(current) if isinstance(current, str) else 0
        combo.setCurrentIndex(max(index, 0))
        if self._output_data(combo.currentIndex()) != current:
            vm.set_output_filter(self._output_data(combo.currentIndex()))

    def _output_data(self, index: int) -> str | tuple[str, ...]:
        """The filter an output-combo entry stands for: one id, a kind's ids (kids) or ""."""
        data = str(self.output_combo.itemData(index) or "")
        return tuple(data.split("\n")) if data and self._kids() else data

    def mode_changed(self) -> None:
        """Kids or experts now: the output filter and the details name things accordingly."""
        if self._vm is not None:
            self._fill_output_combo(self._vm)
            self._show_details(self._vm.details)

    def _output_name(self, output_id: str) -> str:
        """The output's name; for kids its kind only ("Bild", never "SD 3.5 Large")."""
        assert self._vm is not None
        output = self._vm.content.outputs.get(output_id)
        if self._kids() and output is not None:
            return self._tr.tr(KIND_KEYS[output_kind(output)])
        return self._vm.output_name(output_id)

    def _details_html(self, details: RunDetails) -> str:
        tr = self._tr.tr
        record = details.record
        vm = self._vm
        assert vm is not None
        parts: list[tuple[str, str]] = [
            (tr("history.field_date"), local_time(record.created_at)),
            (tr("history.field_status"), self._status(record)),
            (tr("history.field_idea"), record.inputs.idea),
            (tr("history.field_rules"), record.inputs.rules or tr("history.your_call")),
            (tr("history.field_config"), vm.config_name(record.inputs.config_id)),
            (tr("history.field_output"), self._output_name(record.inputs.output_id)),
        ]
        for stage in record.stages:
            if stage.final_text:
                key = STAGE_KEYS.get(stage.stage)
                label = tr(key) if key else stage.stage.value
                if stage.edited_text is not None:
                    label = tr("history.edited", stage=label)
                parts.append((label, stage.final_text))
        if record.code:
            parts.append((tr("history.field_code"), record.code))
        elif record.prompt:
            parts.append((tr("history.field_prompt"), record.prompt))
        kids = self._kids()
        if record.seed is not None and not kids:
            parts.append((tr("history.field_seed"), str(record.seed)))
        if record.models and not kids:
            models = ", ".join(f"{k}: {v}" for k, v in record.models.items())
            parts.append((tr("history.field_models"), models))
        if record.loras_applied:
            loras = ", ".join(f"{x['file']} ({x['strength']:g})" for x in record.loras_applied)
            parts.append((tr("history.field_loras"), loras))
        parts.append((tr("history.field_safety"), self._safety(record.safety)))
        media = ", ".join(path.name for _item, path in details.media)
        if kids and media:
            media = tr("create.result_files_kids")  # a file name means nothing to a child
        parts.append((tr("history.field_media"), media or tr("history.no_media")))
        return "".join(
            f"<p><b>{html.escape(label)}</b><br>{html.escape(value).replace(chr(10), '<br>')}</p>"
            for label, value in parts
        )

    def _status(self, record: RunRecord) -> str:
        text = self._tr.tr(STATUS_KEYS.get(record.status, "history.status_failed"))
        if record.error and record.error.get("message"):
            text += f" — {record.error['message']}"
        return text

    def _safety(self, decisions: list[SafetyDecision]) -> str:
        tr = self._tr.tr
        if not decisions:
            return tr("history.safety_none")
        passed = sum(d.result == "pass" for d in decisions)
        blocked = sum(d.result == "block" for d in decisions)
        unchecked = sum(d.result == "unavailable" for d in decisions)
        return tr(
            "history.safety_summary",
            passed=str(passed),
            blocked=str(blocked),
            unchecked=str(unchecked),
        )

    # ------------------------------------------------------------------ actions
    def export(self) -> None:
        """Ask for the ZIP's place and let the view-model write it."""
        vm = self._vm
        if vm is None or not vm.selected_ids:
            return
        suggested = Path.home() / "portfolio.zip"
        target = ExportDialog.ask(self, self._tr.tr("history.export_title"), suggested)
        if target is not None:
            if target.suffix.lower() != ".zip":
                target = target.with_suffix(".zip")
            vm.export_selected(target)

    def open_folder(self) -> None:
        """Show the selected run's folder in the file manager."""
        if self._vm is not None and self._vm.details is not None:
            FolderOpener.open(self._vm.details.folder)

    def shutdown(self) -> None:
        """Stop loading thumbnails."""
        if self.model is not None:
            self.model.shutdown()
