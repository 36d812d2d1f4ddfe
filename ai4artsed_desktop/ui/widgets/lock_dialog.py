"""The header's teacher-lock button and its PIN prompt (errors shown inline in the prompt)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..viewmodels.lock_vm import LockViewModel

#: Wide enough for the prompt and the longer messages to wrap into a few lines, not many.
MIN_WIDTH = 380


class LockDialog(QDialog):
    """Asks for the teacher PIN; a wrong PIN or the wait after many tries shows below it."""

    def __init__(self, vm: LockViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self.setObjectName("lockDialog")
        self.setMinimumWidth(MIN_WIDTH)
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.prompt.setBuddy(self.pin_edit)
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.unlock_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        layout = self._layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addWidget(self.pin_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        vm.unlock_failed.connect(self._show_error)
        vm.locked_changed.connect(self._on_locked_changed)
        vm.busy_changed.connect(lambda busy: self.unlock_button.setEnabled(not busy))
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.setWindowTitle(tr("lock.dialog_title"))
        self.prompt.setText(tr("lock.dialog_prompt"))
        self.pin_edit.setAccessibleName(tr("lock.pin_field"))
        self.unlock_button.setText(tr("lock.unlock"))
        self.unlock_button.setAccessibleName(tr("lock.unlock"))
        self.cancel_button.setText(tr("lock.cancel"))
        self.cancel_button.setAccessibleName(tr("lock.cancel"))
        self.error_label.setAccessibleName(tr("lock.error_accessible"))

    def start(self) -> None:
        """Show the prompt with an empty field."""
        self.pin_edit.clear()
        self.error_label.hide()
        self.open()
        self.pin_edit.setFocus()

    def submit(self) -> None:
        """Check the entered PIN (the dialog closes when it unlocks)."""
        self.error_label.hide()
        self._vm.unlock(self.pin_edit.text())

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self._fit()
        self.pin_edit.selectAll()
        self.pin_edit.setFocus()

    def _fit(self) -> None:
        """Grow (never shrink) to the height the wrapped texts need at this width.

        A dialog's size is fixed when it is first shown; a message that wraps onto more
        lines (the wait after many wrong PINs) was squeezed into one line's height.
        """
        layout = self._layout
        layout.activate()
        needed = (
            layout.totalHeightForWidth(self.width())
            if layout.hasHeightForWidth()
            else layout.totalSizeHint().height()
        )
        if needed > self.height():
            self.resize(self.width(), needed)

    def _on_locked_changed(self, locked: bool) -> None:
        if not locked:
            self.pin_edit.clear()
            self.accept()


class LockButton(QPushButton):
    """Shows "Unlock" while locked (opens the PIN prompt), else "Lock"; hidden without a PIN."""

    def __init__(self, vm: LockViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self.setObjectName("lockButton")
        self.dialog = LockDialog(vm, translator, self)
        self.clicked.connect(self._on_clicked)
        vm.locked_changed.connect(lambda _locked: self.retranslate())
        vm.pin_set_changed.connect(lambda _set: self.retranslate())
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        key = "lock.unlock_button" if self._vm.locked else "lock.lock_button"
        self.setText(tr(key))
        self.setAccessibleName(tr(key))
        self.setToolTip(tr(f"{key}_help"))
        if not self._vm.is_set:
            self.hide()
        elif self.parentWidget() is not None:  # never pop up as a window of its own
            self.show()

    def _on_clicked(self) -> None:
        if self._vm.locked:
            self.dialog.start()
        else:
            self._vm.lock()
