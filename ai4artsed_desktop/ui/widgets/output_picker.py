"""OutputPicker: the outputs (image, sound, music, code) with speed; unrunnable ones greyed."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..i18n import Translator
from ..viewmodels.run_vm import OutputChoice, RunViewModel, Unavailable

ID_ROLE = Qt.ItemDataRole.UserRole

MEDIA_KEYS = {
    "image": "create.media_image",
    "audio": "create.media_audio",
    "music": "create.media_music",
    "video": "create.media_video",
    "code": "create.media_code",
}
REASON_KEYS = {
    Unavailable.planned: "create.output_planned",
    Unavailable.local_only: "create.output_local_only",
    Unavailable.disabled: "create.output_disabled",
    Unavailable.models_missing: "create.output_models_missing",
    Unavailable.models_damaged: "create.output_models_damaged",
}


def model_reason(choice: OutputChoice, tr: Callable[..., str]) -> str:
    """The short reason an output cannot run, naming the first missing or damaged file."""
    assert choice.unavailable is not None
    key = REASON_KEYS[choice.unavailable]
    models = choice.models
    if models is not None and models.missing:
        first = models.missing[0]
        return tr(key, file=first.file, folder=first.folder, more=len(models.missing) - 1)
    if models is not None and models.damaged:
        broken = models.damaged[0]
        return tr(key, file=broken.file, folder=broken.folder, more=len(models.damaged) - 1)
    return tr(key)


class OutputPicker(QWidget):
    """A list of every output; selecting a runnable one tells the view-model."""

    def __init__(self, vm: RunViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._filling = False
        self._allowed: tuple[str, ...] = ()  # the lesson profile's outputs; empty = all
        self.heading = QLabel()
        self.heading.setObjectName("sectionHeading")
        self.list = QListWidget()
        self.list.setObjectName("outputList")
        self.list.setMinimumHeight(110)
        self.heading.setBuddy(self.list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.list)
        self.list.currentItemChanged.connect(self._on_current_changed)
        vm.outputs_changed.connect(self.refill)
        vm.selected_output_changed.connect(self._select)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        self.heading.setText(self._tr.tr("create.output_heading"))
        self.list.setAccessibleName(self._tr.tr("create.output_accessible"))
        self.refill()

    def item_for(self, output_id: str) -> QListWidgetItem | None:
        """The list entry of ``output_id`` (None if unknown)."""
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(ID_ROLE) == output_id:
                return item
        return None

    def set_allowed(self, output_ids: tuple[str, ...]) -> None:
        """Show only ``output_ids`` (a lesson profile's choice); empty shows every output."""
        if output_ids != self._allowed:
            self._allowed = output_ids
            self.refill()

    def refill(self) -> None:
        """Rebuild the entries (language, availability or the lesson's outputs changed)."""
        self._filling = True
        try:
            self.list.clear()
            for choice in self._vm.outputs:
                if not self._allowed or choice.output.id in self._allowed:
                    self.list.addItem(self._item(choice))
        finally:
            self._filling = False
        self._select(self._vm.selected_output_id)

    def _item(self, choice: OutputChoice) -> QListWidgetItem:
        output, tr = choice.output, self._tr.tr
        lang = self._tr.language
        seconds = round(output.estimated_seconds)
        text = tr(
            "create.output_entry",
            name=output.name.get(lang),
            media=tr(MEDIA_KEYS.get(output.media.value, "create.media_image")),
            seconds=seconds,
        )
        item = QListWidgetItem()
        item.setData(ID_ROLE, output.id)
        tooltip = output.description.get(lang)
        if choice.unavailable is not None:
            reason = model_reason(choice, tr)
            text = f"{text} — {reason}"
            full = choice.models.reason if choice.models is not None else ""
            tooltip = "\n".join(part for part in (tooltip, reason, full) if part)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)
        item.setText(text)
        item.setToolTip(tooltip)
        return item

    def _select(self, output_id: str) -> None:
        # An output the lesson does not allow: take the first allowed one that can run.
        blocked = bool(self._allowed) and output_id not in self._allowed
        if blocked and any(
            self._vm.select_output(allowed, by_user=False) for allowed in self._allowed
        ):
            return
        item = self.item_for(output_id)
        if item is not None and item is not self.list.currentItem():
            self._filling = True
            try:
                self.list.setCurrentItem(item)
            finally:
                self._filling = False

    def _on_current_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if self._filling or current is None:
            return
        if not self._vm.select_output(str(current.data(ID_ROLE))):
            self._select(self._vm.selected_output_id)
