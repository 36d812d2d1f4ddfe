"""Settings → Models: each output's model files, one click to get them (behind the PIN).

A card per output: its state (ready, missing, damaged, folder not set up), the files one
click downloads with size, licence and whether the catalogue's size and checksum are the
publisher's own ("verified") or not ("unverified": only size and header can be checked),
then Get / Pause / Resume / Cancel / Check fully and a progress bar with speed and time
left. A licence the publisher wants accepted is shown and confirmed in a dialog first.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...errors import AppError
from ...models.progress import Phase, TransferProgress
from ..formatting import gb
from ..i18n import Translator, error_text
from ..theme import restyle, restyle_property
from ..viewmodels.models_vm import FileRow, ModelsViewModel, OutputRow, state_counts

#: Confirms the licences of an output's files (True: accepted).
LicenceConfirm = Callable[[OutputRow], bool]


def _duration(tr: Callable[..., str], seconds: float) -> str:
    if seconds < 90:
        return tr("models.eta_seconds", count=str(max(1, round(seconds))))
    if seconds < 90 * 60:
        return tr("models.eta_minutes", count=str(round(seconds / 60)))
    return tr("models.eta_hours", count=f"{seconds / 3600:.1f}")


def progress_text(tr: Callable[..., str], event: TransferProgress) -> str:
    """``1.2 of 4.3 GB · 45.0 MB/s · about 2 minutes left`` (and the paused/checking forms)."""
    done = tr("models.size", size=gb(event.done))
    if event.phase is Phase.checking:
        return tr("models.progress_checking", done=done)
    if event.phase is Phase.verifying:
        return tr("models.progress_verifying")
    amount = (
        tr("models.progress_of", done=gb(event.done), total=gb(event.total))
        if event.total
        else done
    )
    if event.phase is Phase.paused:
        return tr("models.progress_paused", amount=amount)
    if event.phase is Phase.retrying:
        return tr("models.progress_retrying", amount=amount)
    parts = [amount]
    if event.speed > 0:
        parts.append(tr("models.speed", speed=f"{event.speed / 1e6:.1f}"))
    if event.eta is not None:
        parts.append(_duration(tr, event.eta))
    return " · ".join(parts)


class LicenceDialog(QDialog):
    """Shows the licences of an output's files; OK only once "I accept" is ticked."""

    def __init__(self, row: OutputRow, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        tr = translator.tr
        lang = translator.language
        self.setWindowTitle(tr("models.licence_title", output=row.name.get(lang)))
        column = QVBoxLayout(self)
        column.setSpacing(12)
        intro = QLabel(tr("models.licence_intro"))
        intro.setWordWrap(True)
        column.addWidget(intro)
        for file in row.licences:
            text = QLabel(
                f"<b>{file.licence}</b> ({file.name})<br>{file.licence_note.get(lang)}<br>"
                f'<a href="{file.licence_url}">{file.licence_url}</a>'
            )
            text.setWordWrap(True)
            text.setOpenExternalLinks(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            column.addWidget(text)
            if file.gated:
                gated = QLabel(tr("models.licence_gated"))
                gated.setObjectName("hint")
                gated.setWordWrap(True)
                column.addWidget(gated)
        self.accept_box = QCheckBox(tr("models.licence_accept"))
        self.accept_box.setAccessibleName(tr("models.licence_accept"))
        column.addWidget(self.accept_box)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(tr("models.licence_ok"))
        ok.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("models.cancel"))
        self.accept_box.toggled.connect(ok.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        column.addWidget(self.buttons)
        self.setMinimumWidth(520)


class OutputCard(QFrame):
    """One output: state, files, buttons, progress."""

    def __init__(self, output_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output_id = output_id
        self.setObjectName("modelCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setObjectName("modelCardTitle")
        self.state = QLabel()
        self.state.setObjectName("modelState")
        self.files = QLabel()
        self.files.setWordWrap(True)
        self.files.setTextFormat(Qt.TextFormat.RichText)
        self.files.setOpenExternalLinks(True)
        self.folder = QLabel()
        self.folder.setObjectName("hint")
        self.folder.setWordWrap(True)
        self.get_button = QPushButton()
        self.get_button.setObjectName("primaryButton")
        self.pause_button = QPushButton()
        self.cancel_button = QPushButton()
        self.check_button = QPushButton()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.progress = QLabel()
        self.progress.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.state)
        top.addStretch(1)
        for button in (self.check_button, self.cancel_button, self.pause_button, self.get_button):
            top.addWidget(button)
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 10, 12, 10)
        column.setSpacing(6)
        column.addLayout(top)
        column.addWidget(self.files)
        column.addWidget(self.folder)
        column.addWidget(self.bar)
        column.addWidget(self.progress)


class ModelsPanel(QWidget):
    """The Models tab."""

    def __init__(
        self,
        vm: ModelsViewModel,
        translator: Translator,
        parent: QWidget | None = None,
        *,
        confirm_licence: LicenceConfirm | None = None,
        bundle: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._vm = vm
        #: The lab bundle box (export / import), below the outputs.
        self.bundle = bundle
        self._tr = translator
        self._confirm = confirm_licence or self._ask_licence
        self.cards: dict[str, OutputCard] = {}
        #: What the message line says: an error, an output whose files all arrived (its
        #: id), or nothing; kept (not its text) so a language switch rewords it.
        self._said: AppError | str | None = None
        self.intro = QLabel()
        self.intro.setObjectName("hint")
        self.intro.setWordWrap(True)
        self.summary = QLabel()
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.refresh_button = QPushButton()
        self.refresh_button.clicked.connect(vm.refresh)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.refresh_button)
        self._list = QWidget()
        self._list_column = QVBoxLayout(self._list)
        self._list_column.setContentsMargins(0, 0, 8, 0)
        self._list_column.setSpacing(10)
        self._list_column.addStretch(1)
        scroll = self.list_area = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.intro)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)
        if bundle is not None:
            layout.addWidget(bundle)
        vm.rows_changed.connect(self._show_rows)
        vm.progress.connect(self._on_progress)
        vm.busy_changed.connect(lambda output_id, _busy: self._update_card(output_id))
        vm.error_raised.connect(self._on_error)
        vm.downloaded.connect(self._on_downloaded)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def showEvent(self, event: QShowEvent) -> None:
        """Check the files each time the teacher opens the tab (someone may have copied)."""
        super().showEvent(event)
        self._vm.refresh()

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.intro.setText(tr("models.intro"))
        self.refresh_button.setText(tr("models.refresh"))
        self.refresh_button.setAccessibleName(tr("models.refresh"))
        self.refresh_button.setToolTip(tr("models.refresh_help"))
        self._show_message()
        self._show_rows()

    def _show_message(self) -> None:
        tr, said = self._tr.tr, self._said
        if not self._vm.available:
            text = tr("models.no_catalogue")
        elif isinstance(said, AppError):
            text = error_text(self._tr, said)
        elif said is not None:
            row = self._vm.row(said)
            text = tr("models.done", output=row.name.get(self._tr.language) if row else said)
        else:
            text = ""
        self.message.setText(text)
        bad = not self._vm.available or isinstance(said, AppError)
        restyle(self.message, "errorText" if bad else "hint")

    def _show_rows(self) -> None:
        rows = self._vm.rows
        wanted = [r.output_id for r in rows]
        for output_id in list(self.cards):
            if output_id not in wanted:
                self.cards.pop(output_id).deleteLater()
        for index, row in enumerate(rows):
            card = self.cards.get(row.output_id)
            if card is None:
                card = self._new_card(row.output_id)
                self._list_column.insertWidget(index, card)
            self._update_card(row.output_id)
        counts = state_counts(rows)
        self.summary.setText(
            self._tr.tr(
                "models.summary",
                ok=str(counts["ok"]),
                missing=str(counts["missing"]),
                damaged=str(counts["damaged"]),
            )
            if rows
            else ""
        )

    def _new_card(self, output_id: str) -> OutputCard:
        card = OutputCard(output_id)
        card.get_button.clicked.connect(lambda: self.get(output_id))
        card.pause_button.clicked.connect(lambda: self._pause_or_resume(output_id))
        card.cancel_button.clicked.connect(lambda: self._vm.cancel(output_id))
        card.check_button.clicked.connect(lambda: self._vm.check_fully(output_id))
        self.cards[output_id] = card
        return card

    def _where(self, row: OutputRow) -> str:
        tr = self._tr.tr
        if row.ollama:
            roles = ", ".join(tr(f"setting.roles.{role}.label") for role in row.roles)
            return tr("models.ollama_where", name=row.files[0].name, roles=roles)
        return tr("models.folder", folder=row.folder) if row.folder else tr("models.no_folder")

    def _file_line(self, file: FileRow, ollama: bool = False) -> str:
        tr = self._tr.tr
        state = tr(f"models.file_state.{file.state}")
        if ollama:
            size = tr("models.size", size=gb(file.size)) if file.size else "?"
            licence = (
                f'<a href="{file.licence_url}">{file.licence}</a>'
                if file.licence
                else tr("models.not_in_catalogue")
            )
            return f"<b>{file.name}</b> · {size} · {state}<br>{licence}"
        trust = tr("models.verified") if file.verified else tr("models.unverified")
        if file.hashed and file.state == "ok":
            state = tr("models.file_state.hash_ok")
        return (
            f"<b>{file.name}</b> · {tr('models.size', size=gb(file.size))} · {state}<br>"
            f'<a href="{file.licence_url}">{file.licence}</a> · <i>{trust}</i>'
        )

    def _update_card(self, output_id: str) -> None:
        card, row = self.cards.get(output_id), self._vm.row(output_id)
        if card is None or row is None:
            return
        tr = self._tr.tr
        busy = self._vm.busy(output_id)
        card.title.setText(row.name.get(self._tr.language))
        card.state.setText(tr(f"models.state.{row.state}"))
        restyle_property(card.state, "state", row.state)
        card.files.setText("<br>".join(self._file_line(f, row.ollama) for f in row.files))
        card.folder.setText(self._where(row))
        can_get = (row.state in ("missing", "damaged") and row.to_get > 0) or (
            row.ollama and row.state != "ok" and self._vm.can_pull
        )
        card.get_button.setText(
            tr("models.get", size=tr("models.size", size=gb(row.to_get)))
            if row.to_get
            else tr("models.get_plain")
        )
        card.get_button.setVisible(can_get and not busy)
        card.get_button.setAccessibleName(card.get_button.text())
        card.get_button.setToolTip(tr("models.get_help"))
        paused = self._vm.paused(output_id)
        card.pause_button.setText(tr("models.resume" if paused else "models.pause"))
        card.pause_button.setAccessibleName(card.pause_button.text())
        downloading = busy and output_id in self._vm.last_progress
        card.pause_button.setVisible(downloading)
        card.cancel_button.setText(tr("models.cancel"))
        card.cancel_button.setAccessibleName(tr("models.cancel"))
        card.cancel_button.setToolTip(tr("models.cancel_help"))
        card.cancel_button.setVisible(downloading)
        card.check_button.setText(tr("models.check"))
        card.check_button.setAccessibleName(tr("models.check"))
        card.check_button.setToolTip(tr("models.check_help"))
        present = any(f.state == "ok" for f in row.files)
        card.check_button.setVisible(present and not busy and not row.ollama)
        card.bar.setVisible(downloading)
        card.progress.setVisible(downloading or (busy and not downloading))
        if busy and not downloading:
            card.progress.setText(tr("models.checking"))
        event = self._vm.last_progress.get(output_id)
        if event is not None:
            self._show_progress(card, event)

    def _show_progress(self, card: OutputCard, event: TransferProgress) -> None:
        fraction = event.fraction
        if fraction is None:
            card.bar.setRange(0, 0)
        else:
            card.bar.setRange(0, 1000)
            card.bar.setValue(round(fraction * 1000))
        card.progress.setText(f"{event.name}: {progress_text(self._tr.tr, event)}")

    def _on_progress(self, output_id: str, event: TransferProgress) -> None:
        card = self.cards.get(output_id)
        if card is None:
            return
        if card.bar.isHidden():
            self._update_card(output_id)
        self._show_progress(card, event)

    def _on_downloaded(self, output_id: str) -> None:
        self._said = output_id
        self._show_message()

    def _on_error(self, error: AppError) -> None:
        self._said = error.with_traceback(None)  # its words, not the frames it was raised in
        self._show_message()

    # ------------------------------------------------------------------ actions
    def get(self, output_id: str) -> None:
        """Start the download of ``output_id``, confirming its licences first where asked."""
        row = self._vm.row(output_id)
        if row is None:
            return
        accepted = False
        if row.needs_acceptance:
            if not self._confirm(row):
                return
            accepted = True
        self._said = None
        self._show_message()
        self._vm.get(output_id, accepted=accepted)

    def _pause_or_resume(self, output_id: str) -> None:
        if self._vm.paused(output_id):
            self._vm.resume(output_id)
        else:
            self._vm.pause(output_id)
        self._update_card(output_id)

    def _ask_licence(self, row: OutputRow) -> bool:
        return LicenceDialog(row, self._tr, self).exec() == QDialog.DialogCode.Accepted
