"""ConfigPicker: rule cards (icon, name, short description) with category filter and search."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.create_vm import CreateViewModel
from .config_model import ChosenRole, ConfigIdRole, ConfigListModel, DescriptionRole

CARD_MIN_WIDTH = 240
CARD_HEIGHT = 92
CARD_SPACING = 4
ICON_SIZE = 40
ACCENT = QColor("#3b6fd1")
TEXT_COLOUR = QColor("#1f2430")


class CardView(QListView):
    """A wrapping list whose cards stretch so that the columns fill the width."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.card_width = CARD_MIN_WIDTH

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # QListView lays items out at a pitch of width + 2*spacing within the viewport size
        # minus the scroll bar extent (reserved even while the bar is hidden).
        extent = self.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar()
        )
        available = self.maximumViewportSize().width() - extent - CARD_SPACING - 2
        columns = max(1, available // (CARD_MIN_WIDTH + 2 * CARD_SPACING))
        width = max(CARD_MIN_WIDTH, available // columns - 2 * CARD_SPACING)
        if width != self.card_width:
            self.card_width = width
            self.scheduleDelayedItemsLayout()


class CardDelegate(QStyledItemDelegate):
    """Paints a config as a card: icon left, bold name, two lines of description."""

    def __init__(self, view: CardView):
        super().__init__(view)
        self._view = view

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(self._view.card_width, CARD_HEIGHT)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(3, 3, -3, -3)
        state = option.state
        chosen = bool(index.data(ChosenRole))
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        focused = bool(state & QStyle.StateFlag.State_HasFocus)
        background = QColor("#eef3fc") if chosen else QColor("#ffffff")
        if hovered and not chosen:
            background = QColor("#f7f9fc")
        border = ACCENT if chosen or focused else QColor("#d5dae1")
        painter.setPen(QPen(border, 2 if chosen or focused else 1))
        painter.setBrush(background)
        painter.drawRoundedRect(rect, 8, 8)
        icon_rect = QRect(rect.left() + 12, rect.top() + 12, ICON_SIZE, ICON_SIZE)
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:
            icon.paint(painter, icon_rect)
        text_left = icon_rect.right() + 12
        text_width = rect.right() - text_left - 10
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(TEXT_COLOUR)
        name_metrics = QFontMetrics(name_font)
        name = name_metrics.elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
            Qt.TextElideMode.ElideRight,
            text_width,
        )
        name_rect = QRect(text_left, rect.top() + 10, text_width, name_metrics.height())
        painter.drawText(
            name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name
        )
        self._paint_description(painter, option, index, text_left, name_rect.bottom() + 4, rect)
        painter.restore()

    def _paint_description(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
        left: int,
        top: int,
        card: QRect,
    ) -> None:
        font = QFont(option.font)
        font.setPointSizeF(max(font.pointSizeF() - 1.0, 8.0))
        painter.setFont(font)
        painter.setPen(QColor("#4f5661"))
        metrics = QFontMetrics(font)
        width = card.right() - left - 10
        lines = _wrap(str(index.data(DescriptionRole) or ""), metrics, width, max_lines=2)
        for i, line in enumerate(lines):
            y = top + i * metrics.lineSpacing()
            painter.drawText(
                QRect(left, y, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, line
            )


def _wrap(text: str, metrics: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines, eliding the last one."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if metrics.horizontalAdvance(candidate) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines - 1:
            current = " ".join(words[i:])
            break
    if current:
        lines.append(metrics.elidedText(current, Qt.TextElideMode.ElideRight, width))
    return lines[:max_lines]


class ConfigPicker(QWidget):
    """Category filter, search box and the card grid, bound to a :class:`CreateViewModel`."""

    def __init__(
        self,
        vm: CreateViewModel,
        translator: Translator,
        icons_dir: Path,
        fallback_icon: Path,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self.model = ConfigListModel(vm, icons_dir, fallback_icon, self)
        self.heading = QLabel()
        self.heading.setObjectName("sectionHeading")
        self.category_combo = QComboBox()
        # Its longest category in either language, never cut: the search box gives way.
        self.category_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.category_combo.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        self.search_edit = QLineEdit()
        self.search_edit.setClearButtonEnabled(True)
        self.view = self._make_view()
        self.empty_label = QLabel()
        self.empty_label.setObjectName("emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_label)
        self._build_layout()
        self.view.clicked.connect(self._on_view_activated)
        self.view.activated.connect(self._on_view_activated)
        self.category_combo.currentIndexChanged.connect(self._on_category_combo_changed)
        self.search_edit.textChanged.connect(vm.set_search_text)
        vm.visible_configs_changed.connect(self._sync_view)
        vm.selected_config_id_changed.connect(self._sync_view)
        vm.language_changed.connect(self._fill_categories)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._sync_view()

    def _make_view(self) -> CardView:
        view = CardView()
        view.setObjectName("configCards")
        view.setModel(self.model)
        view.setItemDelegate(CardDelegate(view))
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(True)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setSpacing(CARD_SPACING)
        view.setMouseTracking(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        return view

    def _build_layout(self) -> None:
        filters = QHBoxLayout()
        filters.setSpacing(8)
        filters.addWidget(self.category_combo)
        filters.addWidget(self.search_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.heading)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.heading.setText(tr("picker.heading"))
        self.category_combo.setAccessibleName(tr("picker.category"))
        self.category_combo.setToolTip(tr("picker.category_help"))
        self.search_edit.setPlaceholderText(tr("picker.search_placeholder"))
        self.search_edit.setAccessibleName(tr("picker.search"))
        self.view.setAccessibleName(tr("picker.cards"))
        self.view.setAccessibleDescription(tr("picker.cards_help"))
        self.empty_label.setText(tr("picker.no_match"))
        self._fill_categories()

    def _fill_categories(self, _language: str = "") -> None:
        combo = self.category_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self._tr.tr("picker.all_categories"), "")
        for category in self._vm.categories:
            combo.addItem(category.name.get(self._vm.language), category.id)
        combo.setCurrentIndex(max(combo.findData(self._vm.category_filter), 0))
        combo.blockSignals(False)

    def _on_category_combo_changed(self, index: int) -> None:
        self._vm.set_category_filter(str(self.category_combo.itemData(index) or ""))

    def _on_view_activated(self, index: QModelIndex) -> None:
        config_id = index.data(ConfigIdRole)
        if config_id:
            self._vm.choose_config(str(config_id))

    def _sync_view(self, _value: object = None) -> None:
        self.stack.setCurrentWidget(self.view if self.model.rowCount() else self.empty_label)
        row = self.model.row_of(self._vm.selected_config_id)
        if row >= 0:
            self.view.setCurrentIndex(self.model.index(row))
        else:
            self.view.clearSelection()
