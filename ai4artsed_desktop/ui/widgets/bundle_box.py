"""The lab bundle box on the Models tab: export this PC's models, import a bundle.

Export and import ask for a folder (a USB stick, a share), show progress and can be
cancelled. The box is one compact row (title and buttons) so the model list above it keeps
the height; what a bundle is and this PC's signing key open under "More about it". A bundle
signed by a key this seat does not know asks the teacher to compare the fingerprint with
the one the teacher PC shows before anything is copied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import AppError
from ...models.bundle import BundleProgress, BundleReport, Outcome
from ..i18n import Translator, error_text
from ..theme import restyle
from ..viewmodels.bundle_vm import BundleViewModel

#: The outcomes the result line names with their reason (each has bundle.problem.<value>;
#: ``missing`` has one text for an export and one for an import).
PROBLEMS = (Outcome.damaged, Outcome.not_published, Outcome.missing, Outcome.failed)
#: Asks for a folder (None: cancelled); ``export`` tells which button asked.
FolderAsker = Callable[[bool], Path | None]
#: Asks whether to trust a key: ``(folder, fingerprint) -> confirmed``.
TrustAsker = Callable[[str, str], bool]


class BundleBox(QFrame):
    """Title, Export / Import / Cancel in one row; details, a progress bar and what happened."""

    def __init__(
        self,
        vm: BundleViewModel,
        translator: Translator,
        parent: QWidget | None = None,
        *,
        ask_folder: FolderAsker | None = None,
        ask_trust: TrustAsker | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bundleBox")
        self._vm = vm
        self._tr = translator
        self._ask_folder = ask_folder or self._folder_dialog
        self._ask_trust = ask_trust or self._trust_dialog
        #: What the result line says, kept (not its text) so a language switch rewords it:
        #: a finished export or import, a refusal, or a catalogue key (cancelled ...).
        self._said: tuple[str, BundleReport] | AppError | str | None = None
        self.title = QLabel()
        self.title.setObjectName("sectionHeading")
        self.more_button = QToolButton()
        self.more_button.setObjectName("linkButton")
        self.more_button.setCheckable(True)
        self.more_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details = QWidget()
        self.intro = QLabel()
        self.intro.setObjectName("hint")
        self.intro.setWordWrap(True)
        self.key_label = QLabel()
        self.key_label.setWordWrap(True)
        self.export_button = QPushButton()
        self.import_button = QPushButton()
        self.lesson_button = QPushButton()
        self.cancel_button = QPushButton()
        self.cancel_button.hide()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.hide()
        self.progress = QLabel()
        self.progress.setObjectName("hint")
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.hide()
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.title)
        for button in (self.export_button, self.import_button, self.lesson_button):
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.more_button)
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        details.addWidget(self.intro)
        details.addWidget(self.key_label)
        self.details.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.setSpacing(4)
        column.addLayout(row)
        column.addWidget(self.details)
        column.addWidget(self.bar)
        column.addWidget(self.progress)
        column.addWidget(self.result)
        self.more_button.toggled.connect(self._show_details)
        self.export_button.clicked.connect(self.export)
        self.import_button.clicked.connect(self.import_bundle)
        self.lesson_button.clicked.connect(self.import_lesson_bundle)
        self.cancel_button.clicked.connect(vm.cancel)
        vm.busy_changed.connect(self._on_busy)
        vm.progress.connect(self._on_progress)
        vm.finished.connect(self._on_finished)
        vm.untrusted.connect(self._on_untrusted)
        vm.error_raised.connect(self._say)
        vm.cancelled.connect(lambda: self._say("bundle.cancelled"))
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.title.setText(tr("bundle.title"))
        self.title.setToolTip(tr("bundle.intro"))
        self.intro.setText(tr("bundle.intro"))
        self.more_button.setText(tr("bundle.more"))
        self.more_button.setAccessibleName(tr("bundle.more"))
        self.more_button.setToolTip(tr("bundle.more_help"))
        for button, key in (
            (self.export_button, "bundle.export"),
            (self.import_button, "bundle.import"),
            (self.lesson_button, "bundle.import_lesson"),
            (self.cancel_button, "bundle.cancel"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
        self.export_button.setToolTip(tr("bundle.export_help"))
        self.import_button.setToolTip(tr("bundle.import_help"))
        self.lesson_button.setToolTip(tr("bundle.import_lesson_help"))
        self._show_key()
        self._on_busy(self._vm.busy)
        self._show_result()

    def _show_key(self) -> None:
        fpr = self._vm.key_fingerprint()
        text = self._tr.tr("bundle.key", fingerprint=fpr) if fpr else self._tr.tr("bundle.no_key")
        self.key_label.setText(text)

    # ------------------------------------------------------------------ actions
    def export(self) -> None:
        """Ask for a folder and export into it."""
        folder = self._ask_folder(True)
        if folder is not None:
            self._clear()
            self._vm.export(folder)

    def import_bundle(self) -> None:
        """Ask for a bundle folder and import from it."""
        folder = self._ask_folder(False)
        if folder is not None:
            self._clear()
            self._vm.import_from(folder)

    def import_lesson_bundle(self) -> None:
        """Import from the bundle the lesson profile names."""
        location = self._vm.lesson_location
        if location:
            self._clear()
            self._vm.import_from(Path(location))

    def _clear(self) -> None:
        self._say(None)

    def _say(self, said: tuple[str, BundleReport] | AppError | str | None) -> None:
        if isinstance(said, AppError):  # keep its words, not the frames it was raised in
            said = said.with_traceback(None)
        self._said = said
        self._show_result()

    def _show_result(self) -> None:
        said = self._said
        if isinstance(said, AppError):
            text = error_text(self._tr, said)
        elif isinstance(said, str):
            text = self._tr.tr(said)
        elif said is None:
            text = ""
        else:
            text = self._report_text(*said)
        self.result.setText(text)
        self.result.setVisible(bool(text))
        restyle(self.result, "errorText" if isinstance(said, AppError) else "")

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.more_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_untrusted(self, folder: str, fpr: str) -> None:
        # Said from inside the import's asyncio task: the question (a modal dialog with its
        # own event loop, in which qasync could step no other task) is asked after it.
        QTimer.singleShot(0, self, lambda: self._ask_about(folder, fpr))

    def _ask_about(self, folder: str, fpr: str) -> None:
        if self._ask_trust(folder, fpr):
            self._vm.import_from(Path(folder), confirmed=fpr)
        else:
            self._say("bundle.not_trusted")

    # ------------------------------------------------------------------ reactions
    def _on_busy(self, busy: bool) -> None:
        available = self._vm.available
        self.export_button.setEnabled(available and not busy)
        self.import_button.setEnabled(available and not busy)
        self.lesson_button.setVisible(bool(self._vm.lesson_location))
        self.lesson_button.setEnabled(available and not busy)
        self.cancel_button.setVisible(busy)
        self.bar.setVisible(busy)
        self.progress.setVisible(busy)
        if busy:
            self.bar.setValue(0)
            self.progress.setText(self._tr.tr("bundle.starting"))

    def _on_progress(self, step: BundleProgress) -> None:
        self.bar.setValue(round(step.fraction * 1000))
        gib = 2**30
        self.progress.setText(
            self._tr.tr(
                "bundle.progress",
                name=step.name,
                done=f"{step.done / gib:.1f}",
                total=f"{step.total / gib:.1f}",
            )
        )

    def _on_finished(self, kind: str, report: BundleReport) -> None:
        self._say((kind, report))
        self._show_key()

    def _report_text(self, kind: str, report: BundleReport) -> str:
        tr = self._tr.tr
        count = {o: len(report.named(o)) for o in Outcome}
        if kind == "export":
            text = tr(
                "bundle.exported",
                count=count[Outcome.exported],
                folder=str(report.folder),
                fingerprint=report.fingerprint,
            )
        else:
            text = tr(
                "bundle.imported",
                installed=count[Outcome.installed],
                intact=count[Outcome.intact],
            )
        for outcome in PROBLEMS:
            problems = report.named(outcome)
            if problems:
                key = f"bundle.problem.{outcome.value}"
                if outcome is Outcome.missing:
                    key += f"_{kind}"
                text += " " + tr(key, names=", ".join(r.name for r in problems))
        unknown = report.named(Outcome.unknown)
        if unknown:
            text += " " + tr("bundle.unknown", count=len(unknown))
        return text

    # ------------------------------------------------------------------ dialogs
    def _folder_dialog(self, export: bool) -> Path | None:
        title = self._tr.tr("bundle.choose_export" if export else "bundle.choose_import")
        chosen = QFileDialog.getExistingDirectory(self, title)
        return Path(chosen) if chosen else None

    def _trust_dialog(self, folder: str, fpr: str) -> bool:
        tr = self._tr.tr
        answer = QMessageBox.question(
            self,
            tr("bundle.trust_title"),
            tr("bundle.trust_question", folder=folder, fingerprint=fpr),
        )
        return answer == QMessageBox.StandardButton.Yes
