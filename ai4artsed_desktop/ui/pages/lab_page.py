"""LabPage: the teacher's console for a whole computer lab (behind the teacher PIN).

Top: open or close the class, this PC's address and the class code, large, for the board.
Then the class commands in the order of a lesson: push the lesson, prepare, "eyes on me" and
back, collect the portfolios, wipe. Commands go to the ticked seats, or to all seats when
none is ticked; the line above the grid says which. Below: one tile per seat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..theme import restyle
from ..viewmodels.lab_console_vm import COMMANDS, LabConsoleViewModel
from ..widgets.error_banner import ErrorBanner
from ..widgets.path_dialog import open_folder
from ..widgets.review_log_panel import local_time
from ..widgets.seat_tile import TILE_WIDTH, SeatTile, TileState

Confirm = Callable[[int], bool]
GRID_SPACING = 10
BLOCKED_COLUMNS = ("time", "stage", "text", "reason")


class LabPage(QWidget):
    """The console page, bound to a :class:`LabConsoleViewModel`."""

    def __init__(
        self,
        vm: LabConsoleViewModel,
        translator: Translator,
        log_dir: Path,
        parent: QWidget | None = None,
        *,
        confirm_wipe: Confirm | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("labPage")
        self._vm = vm
        self._tr = translator
        self._confirm_wipe = confirm_wipe or self._ask_wipe
        self.tiles: dict[str, SeatTile] = {}
        self._columns = 0
        self._summary: tuple[str, dict[str, str]] = ("", {})
        self._collected_dir = ""
        self.banner = ErrorBanner(translator, log_dir)
        self._build_header()
        self._build_commands()
        self._build_grid()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 14, 20, 10)
        layout.setSpacing(10)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addWidget(self.class_box)
        layout.addWidget(self.command_box)
        layout.addWidget(self.banner)
        layout.addLayout(self._scope_row)
        layout.addWidget(self.grid_scroll, 1)
        self._connect()
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._on_listening_changed(vm.listening)

    # ------------------------------------------------------------------ building
    def _build_header(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.intro = QLabel()
        self.intro.setObjectName("hint")
        self.intro.setWordWrap(True)
        self.class_box = QFrame()
        self.class_box.setObjectName("labClassBox")
        self.listen_button = QPushButton()
        self.listen_button.setObjectName("primaryButton")
        self.address_label = QLabel()
        self.address_label.setObjectName("labAddress")
        self.address_label.setWordWrap(True)
        self.address_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_caption = QLabel()
        self.code_caption.setObjectName("hint")
        self.code_label = QLabel()
        self.code_label.setObjectName("labClassCode")
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.new_code_button = QPushButton()
        code_column = QVBoxLayout()
        code_column.setSpacing(0)
        code_column.addWidget(self.code_caption)
        code_column.addWidget(self.code_label)
        row = QHBoxLayout(self.class_box)
        row.setContentsMargins(14, 10, 14, 10)
        row.setSpacing(14)
        row.addWidget(self.listen_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.address_label, 1)
        row.addLayout(code_column)
        row.addWidget(self.new_code_button, 0, Qt.AlignmentFlag.AlignVCenter)

    def _build_commands(self) -> None:
        self.command_box = QFrame()
        self.command_box.setObjectName("labCommands")
        self.buttons: dict[str, QPushButton] = {}
        for name in COMMANDS:
            button = QPushButton()
            button.setObjectName("dangerButton" if name == "wipe" else f"lab_{name}")
            self.buttons[name] = button
        self.buttons["pause"].setObjectName("labPauseButton")
        self.pause_message = QLineEdit()
        self.pause_message.setMaxLength(500)
        self.pause_message.setMinimumWidth(180)
        self.cancel_button = QPushButton()
        grid = QGridLayout(self.command_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        grid.addWidget(self.buttons["push"], 0, 0)
        grid.addWidget(self.buttons["prepare"], 0, 1)
        grid.addWidget(self.buttons["collect"], 0, 2)
        grid.addWidget(self.buttons["wipe"], 0, 3)
        grid.addWidget(self.cancel_button, 0, 4)
        grid.addWidget(self.buttons["pause"], 1, 0)
        grid.addWidget(self.pause_message, 1, 1, 1, 2)
        grid.addWidget(self.buttons["resume"], 1, 3)
        grid.setColumnStretch(5, 1)

    def _build_grid(self) -> None:
        self.scope_label = QLabel()
        self.scope_label.setWordWrap(True)
        self.clear_selection_button = QPushButton()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("labSummary")
        self.summary_label.setWordWrap(True)
        self.open_folder_button = QPushButton()
        self._scope_row = QVBoxLayout()
        first = QHBoxLayout()
        first.addWidget(self.scope_label, 1)
        first.addWidget(self.clear_selection_button)
        second = QHBoxLayout()
        second.addWidget(self.summary_label, 1)
        second.addWidget(self.open_folder_button)
        self._scope_row.addLayout(first)
        self._scope_row.addLayout(second)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid_host = QWidget()
        self.grid_host.setObjectName("labGrid")
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(GRID_SPACING)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.empty_label)
        column.addWidget(self.grid_host)
        column.addStretch(1)
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.grid_scroll.setWidget(holder)

    def _connect(self) -> None:
        vm = self._vm
        self.listen_button.clicked.connect(self._on_listen_clicked)
        self.new_code_button.clicked.connect(vm.new_code)
        self.buttons["push"].clicked.connect(vm.push_profile)
        self.buttons["prepare"].clicked.connect(vm.prepare_lesson)
        self.buttons["pause"].clicked.connect(lambda: vm.pause(self.pause_message.text()))
        self.buttons["resume"].clicked.connect(vm.resume)
        self.buttons["collect"].clicked.connect(vm.collect_portfolios)
        self.buttons["wipe"].clicked.connect(self.wipe)
        self.cancel_button.clicked.connect(vm.cancel)
        self.clear_selection_button.clicked.connect(vm.clear_selection)
        self.open_folder_button.clicked.connect(self._open_collected)
        vm.listening_changed.connect(self._on_listening_changed)
        vm.code_changed.connect(lambda _code: self._show_class())
        vm.seats_changed.connect(self.show_seats)
        vm.selection_changed.connect(self.show_seats)
        vm.busy_changed.connect(lambda _busy: self._update_buttons())
        vm.busy_changed.connect(lambda _busy: self._show_summary())
        vm.command_finished.connect(self._on_command_finished)
        vm.collected.connect(self._on_collected)
        vm.blocked_ready.connect(self._show_blocked)
        vm.error_occurred.connect(self.banner.show_error)

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.title.setText(tr("lab.title"))
        self.intro.setText(tr("lab.intro"))
        self.code_caption.setText(tr("lab.code_caption"))
        self.new_code_button.setText(tr("lab.new_code"))
        self.new_code_button.setToolTip(tr("lab.new_code_help"))
        self.new_code_button.setAccessibleName(tr("lab.new_code"))
        for name, button in self.buttons.items():
            button.setText(tr(f"lab.command.{name}"))
            button.setToolTip(tr(f"lab.command.{name}_help"))
            button.setAccessibleName(tr(f"lab.command.{name}"))
        self.pause_message.setPlaceholderText(tr("lab.pause_message"))
        self.pause_message.setAccessibleName(tr("lab.pause_message"))
        self.cancel_button.setText(tr("lab.cancel"))
        self.cancel_button.setToolTip(tr("lab.cancel_help"))
        self.cancel_button.setAccessibleName(tr("lab.cancel"))
        self.clear_selection_button.setText(tr("lab.clear_selection"))
        self.clear_selection_button.setAccessibleName(tr("lab.clear_selection"))
        self.open_folder_button.setText(tr("lab.open_portfolios"))
        self.open_folder_button.setAccessibleName(tr("lab.open_portfolios"))
        self.empty_label.setText(tr("lab.empty"))
        self._on_listening_changed(self._vm.listening)
        self._show_summary()
        for tile in self.tiles.values():
            tile.show_seat(self._tile_state(tile.seat_id, force=True))
        self._show_scope()

    def _on_listening_changed(self, listening: bool) -> None:
        tr = self._tr.tr
        self.listen_button.setText(tr("lab.stop") if listening else tr("lab.start"))
        self.listen_button.setAccessibleName(self.listen_button.text())
        self.listen_button.setToolTip(tr("lab.stop_help") if listening else tr("lab.start_help"))
        self._show_class()
        self._update_buttons()
        self.show_seats()

    def _show_class(self) -> None:
        tr, vm = self._tr.tr, self._vm
        self.code_label.setText(vm.class_code or "–")
        self.code_label.setAccessibleName(tr("lab.code_accessible", code=vm.class_code or "–"))
        self.new_code_button.setVisible(vm.listening)
        if not vm.listening:
            self.address_label.setText(tr("lab.closed", port=vm.port))
        elif vm.addresses:
            text = tr("lab.open_at", address=vm.addresses[0], port=vm.port)
            others = ", ".join(vm.addresses[1:])
            self.address_label.setText(
                text + ("\n" + tr("lab.other_addresses", others=others) if others else "")
            )
        else:
            self.address_label.setText(tr("lab.open_no_network", port=vm.port))
        if vm.pairing_locked:
            self.address_label.setText(self.address_label.text() + "\n" + tr("lab.locked"))
        self.address_label.setAccessibleName(self.address_label.text())

    def _update_buttons(self) -> None:
        vm = self._vm
        ready = vm.listening and not vm.busy and bool(vm.seats)
        for button in self.buttons.values():
            button.setEnabled(ready)
        attention = vm.listening and not vm.attention_busy and bool(vm.seats)
        for name in ("pause", "resume"):  # "eyes on me" also while a warm-up runs
            self.buttons[name].setEnabled(attention)
        self.buttons["push"].setEnabled(ready and bool(vm.lesson_profile))
        tr = self._tr.tr
        if vm.lesson_profile:
            self.buttons["push"].setText(tr("lab.command.push_named", name=vm.lesson_profile))
        else:
            self.buttons["push"].setText(tr("lab.command.push"))
            self.buttons["push"].setToolTip(tr("lab.command.push_none"))
        self.cancel_button.setVisible(vm.busy)
        self.listen_button.setEnabled(not vm.starting)

    # ------------------------------------------------------------------ seats
    def _tile_state(self, seat_id: str, *, force: bool = False) -> TileState:
        vm = self._vm
        seat = next(s for s in vm.seats if s.seat_id == seat_id)
        # Every heartbeat renews last_seen; a tile shows it only while the seat is away.
        shown = seat if not seat.online else dataclasses.replace(seat, last_seen=None)
        return TileState(
            seat=shown,
            selected=seat_id in vm.selected,
            progress=vm.progress(seat_id),
            outcome=vm.outcome(seat_id),
            command=vm.last_command,
            language=self._tr.language + ("!" if force else ""),
        )

    def show_seats(self) -> None:
        """Bring the grid in line with the view-model (only changed tiles redraw)."""
        seats = self._vm.seats
        ids = [seat.seat_id for seat in seats]
        layout_changed = ids != list(self.tiles)
        for seat_id in set(self.tiles) - set(ids):
            tile = self.tiles.pop(seat_id)
            self.grid.removeWidget(tile)
            tile.deleteLater()
        if layout_changed:
            ordered: dict[str, SeatTile] = {}
            for seat_id in ids:
                tile = self.tiles.get(seat_id) or self._new_tile(seat_id)
                ordered[seat_id] = tile
            self.tiles = ordered
            self._columns = 0
            self._relayout()
        for seat_id, tile in self.tiles.items():
            tile.show_seat(self._tile_state(seat_id))
        self.empty_label.setVisible(not seats)
        self._show_scope()
        self._update_buttons()

    def _new_tile(self, seat_id: str) -> SeatTile:
        tile = SeatTile(seat_id, self._tr, self.grid_host)
        tile.selected_changed.connect(self._vm.set_selected)
        tile.blocked_requested.connect(self._vm.blocked_attempts)
        return tile

    def _relayout(self) -> None:
        width = self.grid_scroll.viewport().width() - 4
        columns = max(1, (width + GRID_SPACING) // (TILE_WIDTH + GRID_SPACING))
        if columns == self._columns:
            return
        self._columns = columns
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
        for index, tile in enumerate(self.tiles.values()):
            self.grid.addWidget(tile, index // columns, index % columns)
            tile.show()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()

    def _show_scope(self) -> None:
        tr, vm = self._tr.tr, self._vm
        total = len(vm.seats)
        online = sum(1 for s in vm.seats if s.online)
        chosen = len(vm.selected & {s.seat_id for s in vm.seats})
        if not vm.listening:
            text = ""
        elif chosen:
            text = tr("lab.scope_selected", count=chosen, total=total, online=online)
        else:
            text = tr("lab.scope_all", total=total, online=online)
        self.scope_label.setText(text)
        self.clear_selection_button.setVisible(bool(chosen))

    # ------------------------------------------------------------------ outcomes
    def _on_command_finished(self, name: str, good: int, bad: int) -> None:
        self._summary = (name, {"good": str(good), "bad": str(bad)})
        self._show_summary()

    def _show_summary(self) -> None:
        name, counts = self._summary
        tr = self._tr.tr
        text = ""
        key = ""
        if self._vm.busy and self._vm.last_command:
            command = tr(f"lab.command.{self._vm.last_command}").rstrip(" …")
            text = tr("lab.summary.running", command=command)
        elif name:
            command = tr(f"lab.command.{name}").rstrip(" …")
            good, bad = int(counts["good"]), int(counts["bad"])
            key = "lab.summary.partly" if bad else "lab.summary.done"
            if bad:
                text = tr(key, command=command, good=good, bad=bad)
            else:
                text = self._tr.plural(key, good, command=command)
        self.summary_label.setText(text)
        restyle(self.summary_label, "labSummaryBad" if key == "lab.summary.partly" else "")
        self.open_folder_button.setVisible(bool(self._collected_dir))

    def _on_collected(self, folder: str) -> None:
        self._collected_dir = folder
        self._show_summary()
        self.open_folder_button.setToolTip(folder)

    def _open_collected(self) -> None:
        if self._collected_dir:
            open_folder(Path(self._collected_dir), self._tr, self)

    def _on_listen_clicked(self) -> None:
        if self._vm.listening:
            self._vm.stop_listening()
        else:
            self.banner.dismiss()
            self._vm.start_listening()

    def wipe(self) -> None:
        """Ask, then wipe the (ticked) seats; seats not collected refuse on their own."""
        count = len(self._vm.selected) or len(self._vm.seats)
        if self._confirm_wipe(count):
            self._vm.wipe()

    def _ask_wipe(self, count: int) -> bool:
        tr = self._tr.tr
        box = QMessageBox(
            QMessageBox.Icon.Warning, tr("lab.wipe_title"), tr("lab.wipe_question", count=count)
        )
        box.setInformativeText(tr("lab.wipe_informative"))
        box.setParent(self, box.windowFlags())
        wipe = box.addButton(tr("lab.wipe_confirm"), QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton(tr("lab.wipe_keep"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is wipe

    def _show_blocked(self, seat_id: str, rows: list[dict[str, object]]) -> None:
        name = next((s.name for s in self._vm.seats if s.seat_id == seat_id), seat_id)
        dialog = BlockedDialog(name, rows, self._tr, self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()


class BlockedDialog(QDialog):
    """A seat's blocked attempts, newest first (the page is behind the PIN already)."""

    def __init__(
        self, seat_name: str, rows: list[dict[str, object]], translator: Translator, parent: QWidget
    ) -> None:
        super().__init__(parent)
        tr = translator.tr
        self.setObjectName("labBlockedDialog")
        self.setWindowTitle(tr("lab.blocked_title", name=seat_name))
        self.resize(820, 420)
        self.table = QTableWidget(len(rows), len(BLOCKED_COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setHorizontalHeaderLabels([tr(f"review.column.{c}") for c in BLOCKED_COLUMNS])
        self.table.setAccessibleName(tr("lab.blocked_title", name=seat_name))
        header = self.table.horizontalHeader()
        for column, name in enumerate(BLOCKED_COLUMNS):
            stretch = name in ("text", "reason")
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch
                if stretch
                else QHeaderView.ResizeMode.ResizeToContents,
            )
        for row, entry in enumerate(rows):
            values = {
                "time": local_time(str(entry.get("time", ""))),
                "stage": tr(f"review.stage.{entry.get('stage', '')}"),
                "text": str(entry.get("text", "")),
                "reason": str(entry.get("reason", "")) or "–",
            }
            for column, name in enumerate(BLOCKED_COLUMNS):
                item = QTableWidgetItem(values[name])
                item.setToolTip(values[name])
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        self.empty = QLabel(tr("review.empty"))
        self.empty.setVisible(not rows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
