"""OutputPicker: what the idea becomes, as a row of picture tiles with friendly names.

Kids see one tile per kind of result (Bild, Klang, Lied, Zeichen-Code, Musik-Code), never a
model name: big tiles, the picture above the name. Youth and experts see every output (a
dozen): compact tiles, the picture beside the kind and the model under it (wrapped onto a
second line when narrow), in as many columns as the steps column has room for, so that the
whole choice, the chosen tile included, fits on a small laptop's screen at once. An output
that cannot run here stays visible, greyed, with the reason on the tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QIcon,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyleOptionToolButton,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...content.schema import MediaType, OutputConfig
from ...paths import resources_dir
from ..i18n import Translator
from ..viewmodels.run_vm import OutputChoice, RunViewModel, Unavailable
from .model_problems import model_problems

#: The friendly name of each kind of result.
KIND_KEYS = {
    "image": "create.kind_image",
    "audio": "create.kind_audio",
    "music": "create.kind_music",
    "draw_code": "create.kind_draw_code",
    "music_code": "create.kind_music_code",
    "video": "create.kind_video",
}
REASON_KEYS = {
    Unavailable.planned: "create.output_planned",
    Unavailable.local_only: "create.output_local_only",
    Unavailable.disabled: "create.output_disabled",
    Unavailable.models_missing: "create.output_models_missing",
    Unavailable.models_damaged: "create.output_models_damaged",
    Unavailable.no_vision: "create.output_no_vision",
}
#: The reason in a few words, for the tile (the tooltip has the whole sentence).
SHORT_REASON_KEYS = {
    Unavailable.planned: "create.output_short_planned",
    Unavailable.local_only: "create.output_short_local_only",
    Unavailable.disabled: "create.output_short_disabled",
    Unavailable.models_missing: "create.output_short_models_missing",
    Unavailable.models_damaged: "create.output_short_models_damaged",
    Unavailable.no_vision: "create.output_short_no_vision",
}
TILE_WIDTH = 132
TILE_HEIGHT = 96
ICON_SIDE = 30
#: Compact tiles (youth, expert): narrowest width, the picture's side, inner margins.
COMPACT_WIDTH = 160
COMPACT_ICON = 22
COMPACT_PAD_X = 10
COMPACT_PAD_Y = 7
#: The model or reason under the kind wraps onto at most this many lines (then "…").
COMPACT_LINES = 2


def model_reason(choice: OutputChoice, tr: Callable[..., str]) -> str:
    """The reason an output cannot run, naming the first missing or damaged file.

    Without a vision model (kids) it names the ``ollama pull ...`` that fixes it.
    """
    assert choice.unavailable is not None
    key = REASON_KEYS[choice.unavailable]
    if choice.vision is not None:
        return tr(key, command=choice.vision.pull)
    models = choice.models
    if models is not None and models.missing:
        first = models.missing[0]
        return tr(key, file=first.file, folder=first.folder, more=len(models.missing) - 1)
    if models is not None and models.damaged:
        broken = models.damaged[0]
        return tr(key, file=broken.file, folder=broken.folder, more=len(models.damaged) - 1)
    return tr(key)


def output_kind(output: OutputConfig) -> str:
    """The kind of result an output makes (a key of :data:`KIND_KEYS`)."""
    if output.media is MediaType.code:
        return "music_code" if output.framework == "tone" else "draw_code"
    return str(output.media.value)


def model_label(output: OutputConfig, language: str) -> str:
    """The model part of an output's name ("Bild – SD 3.5 Large" -> "SD 3.5 Large")."""
    name = output.name.get(language)
    return name.split(" – ", 1)[1] if " – " in name else name


@dataclass(frozen=True)
class Tile:
    """One tile: the output it selects, its kind and why it cannot run (if so)."""

    choice: OutputChoice
    kind: str


def tiles_for(choices: list[OutputChoice], *, kids: bool, preferred: tuple[str, ...]) -> list[Tile]:
    """The tiles to show: every output, or for kids one per kind.

    A kind's tile for kids selects the first of ``preferred`` (the selected output, the
    rule's default) of that kind that can run, else the first one that can run, else the
    first (greyed with its reason).
    """
    if not kids:
        return [Tile(c, output_kind(c.output)) for c in choices]
    kinds: dict[str, list[OutputChoice]] = {}
    for choice in choices:
        kinds.setdefault(output_kind(choice.output), []).append(choice)
    tiles = []
    for kind, group in kinds.items():
        runnable = [c for c in group if c.runnable]
        liked = [c for p in preferred for c in runnable if c.output.id == p]
        tiles.append(Tile((liked or runnable or group)[0], kind))
    return tiles


class OutputTile(QToolButton):
    """A checkable tile: the kind's picture, its name and a second line (model or reason).

    ``text()`` is always the kind, or the kind and the second part on two lines (what screen
    readers and tests read).
    A compact tile paints it itself: the picture on the left, the kind in bold, the second
    part word-wrapped under it (at most :data:`COMPACT_LINES` lines, then "…" and the whole
    text in the tooltip).
    """

    def __init__(self, tile: Tile, parent: QWidget | None = None, *, compact: bool = False):
        super().__init__(parent)
        self.tile = tile
        self.compact = compact
        self.setObjectName("outputTile")
        self.setProperty("compact", compact)
        self.setCheckable(True)
        if compact:
            self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            self.setIconSize(QSize(COMPACT_ICON, COMPACT_ICON))
            self.setMinimumHeight(self.compact_height(COMPACT_WIDTH))
        else:
            self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            self.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
            self.setMinimumHeight(TILE_HEIGHT)
        # The picker decides the columns from the width it gets; a tile never asks for more
        # (else a grid laid out wide would keep the column wide after the window shrinks).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        icon = resources_dir() / "icons" / "outputs" / f"{tile.kind}.svg"
        if icon.is_file():
            self.setIcon(QIcon(str(icon)))
        self.setEnabled(tile.choice.runnable)

    @property
    def output_id(self) -> str:
        return self.tile.choice.output.id

    # ------------------------------------------------------------------ compact tiles
    def _parts(self) -> tuple[str, str]:
        kind, _sep, second = self.text().partition("\n")
        return kind, second

    def _kind_font(self) -> QFont:
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold)
        return font

    def _text_rect(self, width: int, height: int) -> QRect:
        left = COMPACT_PAD_X + COMPACT_ICON + 8
        return QRect(left, COMPACT_PAD_Y, width - left - COMPACT_PAD_X, height - 2 * COMPACT_PAD_Y)

    def second_lines(self, width: int) -> list[str]:
        """The second part word-wrapped to ``width`` (the last line elided when it overflows)."""
        _kind, second = self._parts()
        if not second:
            return []
        metrics = self.fontMetrics()
        text_width = self._text_rect(width, 0).width()
        lines: list[str] = []
        words = second.split()
        while words and len(lines) < COMPACT_LINES:
            line = words.pop(0)
            while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= text_width:
                line = f"{line} {words.pop(0)}"
            lines.append(line)
        if words or any(metrics.horizontalAdvance(line) > text_width for line in lines):
            rest = " ".join([lines.pop(), *words])
            lines.append(metrics.elidedText(rest, Qt.TextElideMode.ElideRight, text_width))
        return lines

    def is_elided(self, width: int | None = None) -> bool:
        """Whether the compact tile cuts its second part short at ``width`` (default: now)."""
        _kind, second = self._parts()
        return self.compact and " ".join(self.second_lines(width or self.width())) != " ".join(
            second.split()
        )

    def compact_height(self, width: int) -> int:
        """The height a compact tile needs at ``width``: the kind and the wrapped lines."""
        lines = max(1, len(self.second_lines(width))) if self._parts()[1] else 0
        kind_height = QFontMetrics(self._kind_font()).height()
        return 2 * COMPACT_PAD_Y + 4 + kind_height + lines * self.fontMetrics().height()

    def sizeHint(self) -> QSize:
        if not self.compact:
            return super().sizeHint()
        return QSize(COMPACT_WIDTH, self.compact_height(max(self.width(), COMPACT_WIDTH)))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint() if self.compact else super().minimumSizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.compact:
            super().paintEvent(event)
            return
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        option.text = ""
        option.icon = QIcon()
        painter = QStylePainter(self)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ToolButton, option)
        enabled = self.isEnabled()
        mode = QIcon.Mode.Normal if enabled else QIcon.Mode.Disabled
        top = (self.height() - COMPACT_ICON) // 2
        self.icon().paint(painter, QRect(COMPACT_PAD_X, top, COMPACT_ICON, COMPACT_ICON), mode=mode)
        group = QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled
        painter.setPen(self.palette().color(group, QPalette.ColorRole.ButtonText))
        kind, _second = self._parts()
        lines = self.second_lines(self.width())
        kind_font = self._kind_font()
        kind_height = QFontMetrics(kind_font).height()
        line_height = self.fontMetrics().height()
        rect = self._text_rect(self.width(), self.height())
        block = kind_height + len(lines) * line_height
        y = rect.top() + max(0, (rect.height() - block) // 2)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(kind_font)
        painter.drawText(QRect(rect.left(), y, rect.width(), kind_height), align, kind)
        painter.setFont(self.font())
        for index, line in enumerate(lines):
            row = QRect(
                rect.left(), y + kind_height + index * line_height, rect.width(), line_height
            )
            painter.drawText(row, align, line)


class OutputPicker(QWidget):
    """The tiles of the outputs; choosing a runnable one tells the view-model."""

    def __init__(self, vm: RunViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._allowed: tuple[str, ...] = ()  # the lesson profile's outputs; empty = all
        self._columns = 0
        self._refilling = False
        self.tiles: list[OutputTile] = []
        self.heading = QLabel()
        self.heading.setObjectName("sectionHeading")
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.heading)
        layout.addWidget(self.grid_host)
        self.group.buttonClicked.connect(self._on_clicked)
        vm.outputs_changed.connect(self.refill)
        vm.selected_output_changed.connect(self._select)
        vm.params.mode_changed.connect(self.refill)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        self.heading.setText(self._tr.tr("create.output_heading"))
        self.refill()

    def showEvent(self, event: QShowEvent) -> None:
        """Coming into view: a model file may have been copied in meanwhile; check again."""
        super().showEvent(event)
        self._vm.recheck_models()

    def tile_for(self, output_id: str) -> OutputTile | None:
        """The tile that selects ``output_id`` (None when no tile does)."""
        return next((t for t in self.tiles if t.output_id == output_id), None)

    def checked_tile(self) -> OutputTile | None:
        """The tile of the output chosen now."""
        return next((t for t in self.tiles if t.isChecked()), None)

    def focus_chain(self) -> list[QWidget]:
        return list(self.tiles)

    def set_allowed(self, output_ids: tuple[str, ...]) -> None:
        """Show only ``output_ids`` (a lesson profile's choice); empty shows every output."""
        if output_ids != self._allowed:
            self._allowed = output_ids
            self.refill()

    def refill(self, _value: object = None) -> None:
        """Rebuild the tiles (language, mode, availability or the lesson's outputs changed)."""
        for tile in self.tiles:
            self.group.removeButton(tile)
            tile.hide()
            tile.setParent(None)  # gone from the picker at once (not at the next loop turn)
            tile.deleteLater()
        choices = [c for c in self._vm.outputs if not self._allowed or c.output.id in self._allowed]
        default = self._vm.default_output_id
        preferred = tuple(p for p in (self._vm.selected_output_id, default) if p)
        kids = self._vm.params.kids
        tiles = tiles_for(choices, kids=kids, preferred=preferred)
        self.tiles = [OutputTile(tile, self.grid_host, compact=not kids) for tile in tiles]
        for tile in self.tiles:
            self.group.addButton(tile)
            self._label(tile)
        self._columns = 0
        self._arrange()
        self._select(self._vm.selected_output_id)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        spacing = self.grid.horizontalSpacing()
        compact = any(tile.compact for tile in self.tiles)
        if compact:  # narrow tiles whose model wraps under the kind
            needed = COMPACT_WIDTH
        else:  # as many columns as fit tiles wide enough for their longest name
            needed = max([TILE_WIDTH, *(tile.sizeHint().width() for tile in self.tiles)])
        columns = max(1, (self.width() + spacing) // (needed + spacing))
        columns = min(columns, max(1, len(self.tiles)))
        if columns != self._columns:
            self._columns = columns
            for tile in self.tiles:
                self.grid.removeWidget(tile)
            for i, tile in enumerate(self.tiles):
                self.grid.addWidget(tile, i // columns, i % columns)
            for column in range(self.grid.columnCount()):
                self.grid.setColumnStretch(column, 1 if column < columns else 0)
        if compact:
            self._fit_rows(columns, (self.width() - spacing * (columns - 1)) // columns)

    def _fit_rows(self, columns: int, width: int) -> None:
        """Give the compact tiles of each row the height its tallest one needs at ``width``."""
        for start in range(0, len(self.tiles), columns):
            row = self.tiles[start : start + columns]
            height = max(tile.compact_height(width) for tile in row)
            for tile in row:
                tile.setFixedHeight(height)

    def _label(self, tile: OutputTile) -> None:
        tr, lang = self._tr.tr, self._tr.language
        choice = tile.tile.choice
        name = tr(KIND_KEYS.get(tile.tile.kind, "create.kind_image"))
        kids = self._vm.params.kids
        second = "" if kids else model_label(choice.output, lang)
        tooltip = choice.output.description.get(lang)
        reason = ""
        if choice.unavailable is not None:
            short = tr(SHORT_REASON_KEYS[choice.unavailable])
            # Youth and experts see which model cannot run, kids only why.
            second = f"{second} · {short}" if second else short
            # Kids get the short reason only: no file names (a teacher sees them).
            reason = short if kids else model_reason(choice, tr)
            full = (
                ""
                if kids or choice.models is None
                else "\n".join(model_problems(choice.models, tr))
            )
            if choice.vision is not None:  # the teacher at a kids' PC needs the command
                full = model_reason(choice, tr) if kids else ""
            tooltip = "\n".join(part for part in (tooltip, reason, full) if part)
        seconds = tr("create.output_seconds", seconds=round(choice.output.estimated_seconds))
        tile.setText(f"{name}\n{second}" if second else name)
        if tile.compact and second:  # the whole name, should the tile cut it short
            tooltip = f"{name}: {second}\n{tooltip}" if tooltip else f"{name}: {second}"
        tile.setToolTip(f"{tooltip}\n{seconds}" if tooltip else seconds)
        tile.setAccessibleName(f"{name}, {second}" if second else name)
        if reason:
            tile.setAccessibleName(f"{name}, {reason}")
        tile.setAccessibleDescription(tile.toolTip())

    def _select(self, output_id: str) -> None:
        # An output the lesson does not allow: take the first allowed one that can run.
        blocked = bool(self._allowed) and output_id not in self._allowed
        if blocked and any(
            self._vm.select_output(allowed, by_user=False) for allowed in self._allowed
        ):
            return
        tile = self.tile_for(output_id)
        if tile is None and self._vm.params.kids and not self._refilling:
            self._refilling = True  # another output of a kind shown: its tile selects it now
            try:
                self.refill()
            finally:
                self._refilling = False
            return
        if tile is not None and not tile.isChecked():
            tile.setChecked(True)

    def _on_clicked(self, button: object) -> None:
        if isinstance(button, OutputTile) and not self._vm.select_output(button.output_id):
            self._select(self._vm.selected_output_id)
