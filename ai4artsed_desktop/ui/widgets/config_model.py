"""ConfigListModel: the visible interception configs of a CreateViewModel as list rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QIcon

from ...content.schema import InterceptionConfig
from ..viewmodels.create_vm import CreateViewModel

ConfigIdRole = Qt.ItemDataRole.UserRole + 1
DescriptionRole = Qt.ItemDataRole.UserRole + 2
ChosenRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex


class ConfigListModel(QAbstractListModel):
    """Rows follow ``vm.visible_configs``; texts follow the content language."""

    def __init__(
        self,
        vm: CreateViewModel,
        icons_dir: Path,
        fallback_icon: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._vm = vm
        self._icons_dir = icons_dir
        self._fallback = fallback_icon
        self._icons: dict[str, QIcon] = {}
        self._rows: list[InterceptionConfig] = vm.visible_configs
        vm.visible_configs_changed.connect(self._on_vm_visible_configs_changed)
        vm.language_changed.connect(self._on_vm_texts_changed)
        vm.selected_config_id_changed.connect(self._on_vm_texts_changed)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        config = self._rows[index.row()]
        lang = self._vm.language
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return config.name.get(lang)
        if role in (
            DescriptionRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleDescriptionRole,
        ):
            return config.description.get(lang)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.icon(config)
        if role == ConfigIdRole:
            return config.id
        if role == ChosenRole:
            return config.id == self._vm.selected_config_id
        return None

    def row_of(self, config_id: str) -> int:
        """The row showing ``config_id``, or -1 when it is filtered out."""
        return next((i for i, c in enumerate(self._rows) if c.id == config_id), -1)

    def icon(self, config: InterceptionConfig) -> QIcon:
        icon = self._icons.get(config.icon)
        if icon is None:
            path = self._icons_dir / config.icon if config.icon else self._fallback
            icon = QIcon(str(path if path.is_file() else self._fallback))
            self._icons[config.icon] = icon
        return icon

    def _on_vm_visible_configs_changed(self, configs: list[InterceptionConfig]) -> None:
        self.beginResetModel()
        self._rows = list(configs)
        self.endResetModel()

    def _on_vm_texts_changed(self, _value: str = "") -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
