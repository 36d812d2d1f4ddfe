"""Create page: the idea (WHAT) and the rules (HOW) side by side, above the rule picker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.create_vm import CreateViewModel
from ..widgets.config_picker import ConfigPicker


def replace_text_undoably(edit: QPlainTextEdit, text: str) -> None:
    """Replace the whole text as one undo step (Ctrl+Z brings the user's text back)."""
    cursor = edit.textCursor()
    cursor.beginEditBlock()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)
    cursor.endEditBlock()
    cursor.movePosition(QTextCursor.MoveOperation.Start)
    edit.setTextCursor(cursor)  # read from the top


class CreatePage(QWidget):
    """Binds two editors and the picker to a :class:`CreateViewModel`."""

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
        self._syncing = False  # True while the view-model's text is written into an editor
        self._create_editors()
        self.picker = ConfigPicker(vm, translator, icons_dir, fallback_icon, self)
        self._build_layout()
        self.idea_edit.setPlainText(vm.idea)
        self.rules_edit.setPlainText(vm.rules)
        self.idea_edit.textChanged.connect(self._on_idea_edit_changed)
        self.rules_edit.textChanged.connect(self._on_rules_edit_changed)
        vm.idea_changed.connect(self._on_vm_idea_changed)
        vm.rules_changed.connect(self._on_vm_rules_changed)
        vm.selected_config_id_changed.connect(self._update_rules_hint)
        vm.language_changed.connect(self._update_rules_hint)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def _create_editors(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.intro = QLabel()
        self.intro.setObjectName("pageIntro")
        self.intro.setWordWrap(True)
        self.idea_heading = QLabel()
        self.idea_heading.setObjectName("sectionHeading")
        self.rules_heading = QLabel()
        self.rules_heading.setObjectName("sectionHeading")
        self.idea_edit = QPlainTextEdit()
        self.idea_edit.setObjectName("ideaEdit")
        self.rules_edit = QPlainTextEdit()
        self.rules_edit.setObjectName("rulesEdit")
        self.rules_hint = QLabel()
        self.rules_hint.setObjectName("hint")
        self.rules_hint.setWordWrap(True)
        self.idea_hint = QLabel()
        self.idea_hint.setObjectName("hint")
        self.idea_hint.setWordWrap(True)
        for edit in (self.idea_edit, self.rules_edit):
            edit.setTabChangesFocus(True)
            edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            edit.setMinimumHeight(120)
        self.idea_heading.setBuddy(self.idea_edit)
        self.rules_heading.setBuddy(self.rules_edit)

    def _build_layout(self) -> None:
        editors = QGridLayout()
        editors.setHorizontalSpacing(16)
        editors.setVerticalSpacing(6)
        editors.addWidget(self.idea_heading, 0, 0)
        editors.addWidget(self.rules_heading, 0, 1)
        editors.addWidget(self.idea_edit, 1, 0)
        editors.addWidget(self.rules_edit, 1, 1)
        editors.addWidget(self.idea_hint, 2, 0)
        editors.addWidget(self.rules_hint, 2, 1)
        editors.setColumnStretch(0, 1)
        editors.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addLayout(editors, 2)
        layout.addWidget(self.picker, 3)

    def focus_chain(self) -> list[QWidget]:
        """The page's controls in tab order (the window links them after its header)."""
        picker = self.picker
        return [
            self.idea_edit,
            self.rules_edit,
            picker.category_combo,
            picker.search_edit,
            picker.view,
        ]

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("create.title"))
        self.intro.setText(tr("create.intro"))
        self.idea_heading.setText(tr("create.idea_heading"))
        self.rules_heading.setText(tr("create.rules_heading"))
        self.idea_edit.setPlaceholderText(tr("create.idea_placeholder"))
        self.idea_edit.setAccessibleName(tr("create.idea_accessible"))
        self.idea_edit.setAccessibleDescription(tr("create.idea_hint"))
        self.rules_edit.setPlaceholderText(tr("create.rules_placeholder"))
        self.rules_edit.setAccessibleName(tr("create.rules_accessible"))
        self.rules_edit.setAccessibleDescription(tr("create.rules_help"))
        self.idea_hint.setText(tr("create.idea_hint"))
        self._update_rules_hint()

    def _update_rules_hint(self, _value: str = "") -> None:
        config = self._vm.selected_config
        if config is None:
            text = self._tr.tr("create.rules_hint_none")
        elif not config.rules.get(self._vm.language):
            text = self._tr.tr("create.rules_hint_free", name=config.name.get(self._vm.language))
        else:
            text = self._tr.tr("create.rules_hint_config", name=config.name.get(self._vm.language))
        self.rules_hint.setText(text)

    def _on_idea_edit_changed(self) -> None:
        if not self._syncing:
            self._vm.set_idea(self.idea_edit.toPlainText())

    def _on_rules_edit_changed(self) -> None:
        if not self._syncing:
            self._vm.set_rules(self.rules_edit.toPlainText())

    def _on_vm_idea_changed(self, text: str) -> None:
        self._write(self.idea_edit, text)

    def _on_vm_rules_changed(self, text: str) -> None:
        self._write(self.rules_edit, text)

    def _write(self, edit: QPlainTextEdit, text: str) -> None:
        if text == edit.toPlainText():
            return
        self._syncing = True
        try:
            replace_text_undoably(edit, text)
        finally:
            self._syncing = False
