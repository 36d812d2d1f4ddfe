"""LabSeatPanel: join this PC to the teacher's lab console (a Settings tab, behind the PIN)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...settings import LAB_DEFAULT_PORT
from ..i18n import Translator
from ..theme import restyle, restyle_property
from ..viewmodels.lab_seat_vm import LabSeatViewModel

LINK_KINDS = {
    "online": "good",
    "connecting": "busy",
    "offline": "bad",
    "refused": "bad",
    "unpaired": "none",
}


class LabSeatPanel(QWidget):
    """The console's address, the class code, this seat's name; join, leave, and the link."""

    def __init__(
        self, vm: LabSeatViewModel, translator: Translator, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("labSeatPanel")
        self._vm = vm
        self._tr = translator
        self._message = ("", "")
        self.intro = QLabel()
        self.intro.setObjectName("hint")
        self.intro.setWordWrap(True)
        self.link_label = QLabel()
        self.link_label.setObjectName("labLink")
        self.link_label.setWordWrap(True)
        self.host_edit = QLineEdit()
        self.host_edit.setMaxLength(253)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(LAB_DEFAULT_PORT)
        self.code_edit = QLineEdit()
        self.code_edit.setMaxLength(16)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(64)
        self.name_edit.setText(vm.seat_name)
        self.host_label, self.port_label = QLabel(), QLabel()
        self.code_label, self.name_label = QLabel(), QLabel()
        form = QFormLayout()
        form.addRow(self.host_label, self.host_edit)
        form.addRow(self.port_label, self.port_spin)
        form.addRow(self.code_label, self.code_edit)
        form.addRow(self.name_label, self.name_edit)
        for label, field in (
            (self.host_label, self.host_edit),
            (self.port_label, self.port_spin),
            (self.code_label, self.code_edit),
            (self.name_label, self.name_edit),
        ):
            label.setBuddy(field)
        self.join_button = QPushButton()
        self.join_button.setObjectName("primaryButton")
        self.leave_button = QPushButton()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.join_button)
        buttons.addWidget(self.leave_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.intro)
        layout.addWidget(self.link_label)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        self.join_button.clicked.connect(self.join)
        self.code_edit.returnPressed.connect(self.join)
        self.leave_button.clicked.connect(vm.unpair)
        vm.link_changed.connect(lambda _link: self._show_link())
        vm.paired_changed.connect(lambda _paired: self._show_link())
        vm.busy_changed.connect(lambda _busy: self._show_link())
        vm.pair_failed.connect(self._on_pair_failed)
        vm.paired_with.connect(self._on_paired)
        translator.language_changed.connect(self.retranslate)
        self._fill_from_pairing()
        self.retranslate()

    def _fill_from_pairing(self) -> None:
        address = self._vm.console_address
        if address:
            host, _sep, port = address.rpartition(":")
            self.host_edit.setText(host)
            self.port_spin.setValue(int(port))
            self.name_edit.setText(self._vm.seat_name)

    def join(self) -> None:
        """Pair with the console in the fields (the old pairing stays until this works)."""
        host, code = self.host_edit.text().strip(), self.code_edit.text().strip()
        if not host or not code:
            self._message = ("lab.seat.fill_in", "")
            self._show_message(bad=True)
            return
        self._message = ("lab.seat.joining", "")
        self._show_message(bad=False)
        self._vm.pair(host, self.port_spin.value(), code, self.name_edit.text())

    def _on_pair_failed(self, message: str, detail: str) -> None:
        self._message = ("", message)
        self._show_message(bad=True)
        self.message_label.setToolTip(detail)

    def _on_paired(self, address: str) -> None:
        self.code_edit.clear()  # the code is not kept; the pairing is
        self._fill_from_pairing()
        self._message = ("lab.seat.joined", address)
        self._show_message(bad=False)

    def _show_message(self, *, bad: bool) -> None:
        key, text = self._message
        if key:
            text = self._tr.tr(key, address=text)
        self.message_label.setText(text)
        restyle(self.message_label, "errorText" if bad else "hint")

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.intro.setText(tr("lab.seat.intro"))
        self.host_label.setText(tr("lab.seat.host"))
        self.host_edit.setPlaceholderText(tr("lab.seat.host_placeholder"))
        self.host_edit.setAccessibleName(tr("lab.seat.host"))
        self.port_label.setText(tr("lab.seat.port"))
        self.port_spin.setAccessibleName(tr("lab.seat.port"))
        self.code_label.setText(tr("lab.seat.code"))
        self.code_edit.setPlaceholderText(tr("lab.seat.code_placeholder"))
        self.code_edit.setAccessibleName(tr("lab.seat.code"))
        self.name_label.setText(tr("lab.seat.name"))
        self.name_edit.setAccessibleName(tr("lab.seat.name"))
        self.name_edit.setToolTip(tr("lab.seat.name_help"))
        self.join_button.setText(tr("lab.seat.join"))
        self.join_button.setAccessibleName(tr("lab.seat.join"))
        self.leave_button.setText(tr("lab.seat.leave"))
        self.leave_button.setToolTip(tr("lab.seat.leave_help"))
        self.leave_button.setAccessibleName(tr("lab.seat.leave"))
        self._show_link()
        if self._message != ("", ""):
            self._show_message(bad=self.message_label.objectName() == "errorText")

    def _show_link(self) -> None:
        tr, vm = self._tr.tr, self._vm
        link = vm.link if vm.paired else "unpaired"
        text = tr(f"lab.seat.link.{link}", address=vm.console_address, name=vm.seat_name)
        if link in ("offline", "refused") and vm.last_error:
            self.link_label.setToolTip(vm.last_error)
        self.link_label.setText(text)
        restyle_property(self.link_label, "linkKind", LINK_KINDS.get(link, "none"))
        self.leave_button.setVisible(vm.paired)
        self.join_button.setEnabled(not vm.busy)
        self.join_button.setText(tr("lab.seat.rejoin") if vm.paired else tr("lab.seat.join"))
