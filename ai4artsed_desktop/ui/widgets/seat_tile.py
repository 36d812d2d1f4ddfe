"""SeatTile: one seat of the console's grid (name, lights, warm, stage, block, VRAM, answers).

A tile redraws only what changed (:meth:`show_seat` compares the new state with the shown
one), so a grid of 30 seats that push a status every few seconds stays light.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...lab.console import SeatResult, SeatView
from ...lab.seat_actions import SeatStatus
from ..i18n import Translator, problem_text, user_message
from ..theme import restyle, restyle_property
from ..viewmodels.lab_console_vm import SeatProgress
from .elided import ElidedCheckBox, ElidedLabel
from .status_bar import backend_display_name

TILE_WIDTH = 270
LIGHT_COLOURS = {"ready": "#2f9e5b", "starting": "#d99a1e", "error": "#d2453b", "off": "#8a9099"}
#: The order of the lights on a tile (the seat reports the ones it has).
LIGHT_ORDER = ("ollama", "comfyui", "swarmui")


@dataclass(frozen=True)
class TileState:
    """Everything a tile shows, to compare with what it shows now."""

    seat: SeatView
    selected: bool
    progress: SeatProgress | None
    outcome: SeatResult | None
    command: str
    language: str


def _gb(mb: int) -> str:
    return f"{mb / 1024:.1f}"


class SeatTile(QFrame):
    """One seat.

    Signals:
        selected_changed(str, bool): the teacher ticked or unticked the seat.
        blocked_requested(str): the teacher asked for the seat's blocked attempts.
    """

    selected_changed = Signal(str, bool)
    blocked_requested = Signal(str)

    def __init__(self, seat_id: str, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self.seat_id = seat_id
        self._tr = translator
        self._shown: TileState | None = None
        self.setObjectName("seatTile")
        self.setFixedWidth(TILE_WIDTH)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Every line of the tile fits or ends in "…" with the whole text in its tooltip.
        # Seat names often differ only at the end ("Raum 214 – Platz 07"): keep it.
        self.select = ElidedCheckBox(mode=Qt.TextElideMode.ElideMiddle)
        self.select.setObjectName("seatName")
        self.state_badge = QLabel()
        self.state_badge.setObjectName("seatState")
        self.lights = QLabel()
        self.lights.setTextFormat(Qt.TextFormat.RichText)
        self.lights.setWordWrap(True)  # three servers on a narrow tile: a second line
        self.warm = QLabel()
        self.stage = ElidedLabel()
        self.stage.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.block = ElidedLabel()
        self.block.setObjectName("seatBlock")
        self.vram = ElidedLabel()
        self.vram.setObjectName("hint")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.answer = ElidedLabel()
        self.blocked_button = QPushButton()
        self.blocked_button.setObjectName("seatBlockedButton")
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.select, 1)
        top.addWidget(self.state_badge)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(3)
        column.addLayout(top)
        state_row = QHBoxLayout()
        state_row.setSpacing(8)
        state_row.addWidget(self.warm)
        state_row.addWidget(self.stage, 1)
        bottom_row = QHBoxLayout()
        bottom_row.setSpacing(6)
        bottom_row.addWidget(self.vram, 1)
        bottom_row.addWidget(self.blocked_button)
        column.addWidget(self.lights)
        column.addLayout(state_row)
        column.addWidget(self.block)
        column.addWidget(self.progress)
        column.addWidget(self.answer)
        column.addLayout(bottom_row)
        self.select.toggled.connect(lambda on: self.selected_changed.emit(self.seat_id, on))
        self.blocked_button.clicked.connect(lambda: self.blocked_requested.emit(self.seat_id))

    def show_seat(self, state: TileState) -> bool:
        """Show ``state``; False (and nothing redrawn) when it is what the tile shows."""
        if state == self._shown:
            return False
        self._shown = state
        tr = self._tr.tr
        seat = state.seat
        self.select.blockSignals(True)
        self.select.setChecked(state.selected)
        self.select.blockSignals(False)
        self.select.setText(seat.name)
        self.select.setToolTip(tr("lab.tile.select_help", name=seat.name))
        self.select.setAccessibleName(tr("lab.tile.select_accessible", name=seat.name))
        badge, kind = self._badge(state)
        self.state_badge.setText(badge)
        seen = seat.last_seen if not seat.online else None
        self.state_badge.setToolTip(
            tr("lab.tile.last_seen", time=time.strftime("%H:%M", time.localtime(seen)))
            if seen
            else ""
        )
        for widget in (self, self.state_badge):
            restyle_property(widget, "seatKind", kind)
        self._show_status(state)
        self._show_progress(state.progress if state.command == "prepare" else None)
        self._show_answer(state)
        self.blocked_button.setText(tr("lab.tile.blocked"))
        self.blocked_button.setToolTip(tr("lab.tile.blocked_help", name=seat.name))
        self.blocked_button.setAccessibleName(tr("lab.tile.blocked_accessible", name=seat.name))
        self.blocked_button.setEnabled(seat.online)
        summary = [seat.name, badge, self.warm.text(), self.stage.text(), self.block.text()]
        self.setAccessibleName(" – ".join(t for t in summary if t))
        return True

    def _badge(self, state: TileState) -> tuple[str, str]:
        tr = self._tr.tr
        seat, status = state.seat, state.seat.status
        if not seat.online:
            return tr("lab.tile.offline"), "offline"
        if status is not None and status.paused:
            return tr("lab.tile.paused"), "paused"
        if status is not None and status.stage:
            return tr("lab.tile.running"), "running"
        return tr("lab.tile.online"), "online"

    def _show_status(self, state: TileState) -> None:
        tr = self._tr.tr
        status = state.seat.status
        for widget in (self.warm, self.stage, self.vram):
            widget.setVisible(state.seat.online)
        if status is None or not state.seat.online:
            # What an offline seat last said is stale: only its last block stays.
            seen = state.seat.last_seen
            self.lights.setText(
                tr("lab.tile.away", time=time.strftime("%H:%M", time.localtime(seen)))
                if seen and not state.seat.online
                else tr("lab.tile.no_status")
            )
            self.lights.setToolTip(tr("lab.tile.away_help"))
            self._show_block(status.last_block if status else "", status)
            return
        dots = []
        for name in sorted(status.backends, key=_light_order):
            light = status.backends[name]
            if light == "off":
                continue  # a server this seat does not use now (the tooltip lists it)
            colour = LIGHT_COLOURS.get(light, LIGHT_COLOURS["error"])
            label = backend_display_name(name)
            dots.append(f'<span style="color:{colour}">●</span>&nbsp;{label}')
        self.lights.setText("&nbsp; ".join(dots) or tr("lab.tile.servers_off"))
        self.lights.setToolTip(
            "\n".join(
                f"{backend_display_name(n)}: {tr(f'lab.light.{light}')}"
                for n, light in sorted(status.backends.items(), key=lambda i: _light_order(i[0]))
            )
        )
        self.warm.setText(tr("lab.tile.warm") if status.warm else tr("lab.tile.cold"))
        self.warm.setToolTip(tr("lab.tile.warm_help") if status.warm else tr("lab.tile.cold_help"))
        restyle(self.warm, "seatWarm" if status.warm else "seatCold")
        stage = tr(f"create.stage_{status.stage}") if status.stage else tr("lab.tile.idle")
        self.stage.setText(tr("lab.tile.stage", stage=stage))
        self._show_block(status.last_block, status)
        if status.vram_used_mb is not None and status.vram_total_mb:
            self.vram.setText(
                tr(
                    "lab.tile.vram",
                    used=_gb(status.vram_used_mb),
                    total=_gb(status.vram_total_mb),
                )
            )
        else:
            self.vram.setText(tr("lab.tile.no_gpu"))

    def _show_block(self, reason: str, status: SeatStatus | None) -> None:
        tr = self._tr.tr
        if reason and status is not None:
            when = time.strftime("%H:%M", time.localtime(status.last_block_at or 0))
            self.block.setText(tr("lab.tile.last_block", time=when, reason=reason))
            self.block.setToolTip(reason)
            restyle(self.block, "seatBlock")
        else:
            self.block.setText(tr("lab.tile.no_block"))
            self.block.setToolTip("")
            restyle(self.block, "hint")

    def _show_progress(self, progress: SeatProgress | None) -> None:
        self.progress.setVisible(progress is not None)
        if progress is None:
            return
        self.progress.setValue(round(progress.fraction * 100))
        state, _sep, rest = progress.message.partition(":")
        target, _sep, reason = rest.partition(":")
        key = f"lab.progress.{state}" if target or state == "done" else "lab.progress.begin"
        text = self._tr.tr(key, target=target, reason=reason)
        self.progress.setFormat(text if text != key else progress.message)
        self.progress.setToolTip(progress.message)

    def _show_answer(self, state: TileState) -> None:
        outcome = state.outcome
        if outcome is None or not state.command:
            self.answer.hide()
            return
        tr = self._tr.tr
        if outcome.ok:
            text = tr(f"lab.answer.ok.{state.command}")
            if state.command == "wipe" and isinstance(outcome.value, int):
                text = tr("lab.answer.ok.wiped", count=outcome.value)
            restyle(self.answer, "seatAnswerOk")
            tooltip = ""
        else:
            reason = self._reason(outcome)
            text = tr("lab.answer.failed", reason=reason)
            restyle(self.answer, "seatAnswerFailed")
            problems = [problem_text(self._tr, p) for p in outcome.error_problems]
            tooltip = "\n".join([reason, *problems])
        self.answer.setText(text)
        self.answer.setToolTip(tooltip)  # a failure's says it all; else the elided text
        self.answer.show()

    def _reason(self, outcome: SeatResult) -> str:
        """Why a seat did not do it, in the console's language.

        The text of its catalogue key (the seat's error, or the console's own refusal);
        the English text as sent for a key this console does not know, or none.
        """
        return user_message(self._tr, outcome.error_key, outcome.error_params, outcome.error) or "?"


def _light_order(name: str) -> int:
    return LIGHT_ORDER.index(name) if name in LIGHT_ORDER else len(LIGHT_ORDER)
