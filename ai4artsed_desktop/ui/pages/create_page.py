"""Create page, built around the result: idea -> rule -> texts -> result.

The left column is one scroll area with the steps in the order of the work: the idea, the
rule cards and the rules, Transform, the transformed text (a compact editable card), the
output tiles, Generate and the prompt card. The right side (:class:`RunPanel`) is the result:
at least half the window wide, never scrolled away, with the run's message, its stages,
real progress, the live preview and then the picture, player or sketch scaled to fit.
Ctrl+Enter runs the next step, Esc cancels.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...content.schema import MediaType
from ...events import RunResult, Stage
from ..i18n import Translator, user_message
from ..viewmodels.create_vm import CreateViewModel
from ..viewmodels.run_vm import RunPhase, RunViewModel
from ..widgets.config_picker import ConfigPicker
from ..widgets.expert_panel import ExpertPanel
from ..widgets.output_picker import KIND_KEYS, OutputPicker, model_label, output_kind
from ..widgets.result_view import ResultView
from ..widgets.stage_panel import StagePanel

#: The box each streamed text stage writes into.
_TEXT_STAGES = (Stage.interception, Stage.adaptation)
#: The steps column's width range; the result takes the rest (at least half the window).
STEPS_MIN_WIDTH = 320
STEPS_MAX_WIDTH = 560
PAGE_SPACING = 20
PAGE_MARGIN = 24


class WheelRouter(QObject):
    """Lets the wheel scroll the page's column instead of the boxes inside it.

    A text box or list inside the column keeps the wheel only while it has the focus (text
    boxes) or can still scroll that way (lists); otherwise the column scrolls, so no box
    under the mouse swallows the wheel.
    """

    def __init__(self, outer: QScrollArea) -> None:
        super().__init__(outer)
        self._outer = outer

    def watch(self, area: QAbstractScrollArea) -> None:
        area.viewport().installEventFilter(self)
        area.setProperty("wheelNeedsFocus", isinstance(area, QPlainTextEdit))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel:
            return False
        area = watched.parent()
        if not isinstance(area, QAbstractScrollArea):
            return False
        delta = event.angleDelta().y()  # type: ignore[attr-defined]
        bar = area.verticalScrollBar()
        can_scroll = bar.maximum() > bar.minimum() and (
            (delta > 0 and bar.value() > bar.minimum())
            or (delta < 0 and bar.value() < bar.maximum())
        )
        keeps = can_scroll and (not area.property("wheelNeedsFocus") or area.hasFocus())
        if keeps:
            return False
        QApplication.sendEvent(self._outer.verticalScrollBar(), event)
        return True


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
    """Binds two editors and the picker to a :class:`CreateViewModel`.

    With a ``run_vm`` the page also shows the run column (:class:`RunPanel`).
    """

    def __init__(
        self,
        vm: CreateViewModel,
        translator: Translator,
        icons_dir: Path,
        fallback_icon: Path,
        parent: QWidget | None = None,
        *,
        run_vm: RunViewModel | None = None,
    ):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._syncing = False  # True while the view-model's text is written into an editor
        self._create_editors()
        self.picker = ConfigPicker(vm, translator, icons_dir, fallback_icon, self)
        self.run_panel = RunPanel(run_vm, vm, translator, self) if run_vm is not None else None
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
        if run_vm is not None:
            run_vm.params.level_changed.connect(self._update_safety_label)
            run_vm.phase_changed.connect(self._follow_the_run)
        self._run_vm = run_vm
        self.retranslate()

    def _create_editors(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.safety_label = QLabel()  # the safety level, unobtrusive (run column only)
        self.safety_label.setObjectName("hint")
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
            edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.idea_edit.setFixedHeight(100)
        self.rules_edit.setFixedHeight(120)
        self.idea_heading.setBuddy(self.idea_edit)
        self.rules_heading.setBuddy(self.rules_edit)

    def _build_layout(self) -> None:
        column = QWidget()
        column.setObjectName("stepsColumn")
        steps = QVBoxLayout(column)
        steps.setContentsMargins(0, 0, 10, 12)
        steps.setSpacing(6)
        steps.addWidget(self.idea_heading)
        steps.addWidget(self.idea_edit)
        steps.addWidget(self.idea_hint)
        steps.addSpacing(8)
        self.picker.view.setFixedHeight(230)
        steps.addWidget(self.picker)
        steps.addSpacing(8)
        steps.addWidget(self.rules_heading)
        steps.addWidget(self.rules_edit)
        steps.addWidget(self.rules_hint)
        if self.run_panel is not None:
            steps.addSpacing(8)
            steps.addWidget(self.run_panel.steps)
        steps.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("stepsScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(column)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no dead Tab stop; follows focus
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps_scroll = scroll
        self.wheel_router = WheelRouter(scroll)
        for area in column.findChildren(QAbstractScrollArea):
            self.wheel_router.watch(area)
        columns = QHBoxLayout()
        columns.setSpacing(PAGE_SPACING)
        columns.addWidget(scroll)
        if self.run_panel is not None:
            columns.addWidget(self.run_panel, 1)
        else:
            scroll.setMaximumWidth(16777215)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title)
        title_row.addStretch(1)
        title_row.addWidget(self.safety_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, 16, PAGE_MARGIN, 12)
        layout.setSpacing(8)
        layout.addLayout(title_row)
        layout.addWidget(self.intro)
        layout.addLayout(columns, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Give the result at least half the window's width; the steps take the rest."""
        super().resizeEvent(event)
        if self.run_panel is None:
            return
        inner = self.width() - 2 * PAGE_MARGIN - PAGE_SPACING
        half_window = self.window().width() // 2 + 1
        width = max(STEPS_MIN_WIDTH, min(STEPS_MAX_WIDTH, inner - half_window))
        self.steps_scroll.setFixedWidth(width)

    def _follow_the_run(self, phase: str) -> None:
        """The transformed text arrived: bring it and Generate into view (the result is always)."""
        if self.run_panel is not None and phase == RunPhase.transformed.value:
            self.show_in_steps(self.run_panel.generate_button)  # the next step ...
            self.show_in_steps(self.run_panel.interception_card)  # ... under the new text

    def show_in_steps(self, widget: QWidget) -> None:
        """Scroll the steps column so that ``widget`` is in view."""
        self.steps_scroll.ensureWidgetVisible(widget, 0, 24)

    def focus_chain(self) -> list[QWidget]:
        """The page's controls in tab order (the window links them after its header)."""
        picker = self.picker
        chain: list[QWidget] = [
            self.idea_edit,
            self.rules_edit,
            picker.category_combo,
            picker.search_edit,
            picker.view,
        ]
        if self.run_panel is not None:
            chain += self.run_panel.focus_chain()
        return chain

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
        self._update_safety_label()
        if self.run_panel is not None:
            self.steps_scroll.setAccessibleName(tr("create.run_accessible"))

    def _update_safety_label(self, _level: str = "") -> None:
        if self._run_vm is None:
            self.safety_label.hide()
            return
        tr = self._tr.tr
        level = tr(f"setting.safety.level.choice.{self._run_vm.params.safety_level}")
        self.safety_label.setText(tr("create.safety_level", level=level))
        self.safety_label.setAccessibleName(tr("create.safety_level", level=level))
        self.safety_label.setToolTip(tr("create.safety_level_help"))

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


class RunPanel(QFrame):
    """The result side of the page, and the run's steps (``steps``) for the left column.

    ``steps`` holds Transform, the transformed-text card, the output tiles, the expert
    panel, Generate / Cancel and the prompt card; the page puts it into its steps column.
    The panel itself shows the run's message, its stages, progress and the result.
    """

    def __init__(
        self,
        run_vm: RunViewModel,
        create_vm: CreateViewModel,
        translator: Translator,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("resultPane")
        self._vm = run_vm
        self._create = create_vm
        self._tr = translator
        self._syncing = False  # True while run text is written into a box
        self._message: tuple[str, dict[str, str]] = ("", {})
        self._failure: tuple[str, dict[str, str], str] = ("", {}, "")  # key, params, English
        self._detail = ""
        self._translation = ""
        self._note = ""  # a message key shown under the run's message until the next start
        self._was_busy = False
        self._reason_language = ""  # the language of the last block reason
        self._steps_seen = False  # the generation reported real steps
        self._create_widgets()
        self._build_layout()
        self._connect()
        self.retranslate()
        self._update_state()
        self._apply_mode()

    # ------------------------------------------------------------------ building
    def _create_widgets(self) -> None:
        self.steps = QWidget()
        self.steps.setObjectName("runSteps")
        self.result_heading = QLabel()
        self.result_heading.setObjectName("sectionHeading")
        # The chosen output beside the heading: in view however the steps are scrolled.
        self.chosen_output = QLabel()
        self.chosen_output.setObjectName("chosenOutput")
        self.outputs = OutputPicker(self._vm, self._tr, self.steps)
        self.expert_panel = ExpertPanel(self._vm.params, self._tr, self.steps)
        self.transform_button = QPushButton()
        self.transform_button.setObjectName("primaryButton")  # the two steps that make things
        self.generate_button = QPushButton()
        self.generate_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton()
        self.message_label = QLabel()
        self.message_label.setObjectName("runMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton()
        self.details_button.setCheckable(True)
        self.details_text = QPlainTextEdit()
        self.details_text.setReadOnly(True)
        self.details_text.setMaximumHeight(100)
        self.details_text.hide()
        self.stages = StagePanel(self._vm, self._tr, self)
        self.interception_heading = QLabel()
        self.interception_heading.setObjectName("sectionHeading")
        self.interception_edit = QPlainTextEdit()
        self.interception_edit.setObjectName("interceptionEdit")
        self.prompt_heading = QLabel()
        self.prompt_heading.setObjectName("sectionHeading")
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setObjectName("promptEdit")
        self.translation_label = QLabel()
        self.translation_label.setObjectName("hint")
        self.translation_label.setWordWrap(True)
        for edit in (self.interception_edit, self.prompt_edit):
            edit.setTabChangesFocus(True)
            edit.setFixedHeight(110)
        self.interception_heading.setBuddy(self.interception_edit)
        self.prompt_heading.setBuddy(self.prompt_edit)
        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.result_view = ResultView(self._vm, self._tr, self)
        self.result_view.setMinimumHeight(220)
        # On the page (the parent), so Ctrl+Enter works while the idea is being typed.
        scope = self.parentWidget() or self
        self.run_shortcuts = [
            QShortcut(QKeySequence(Qt.Modifier.CTRL | key), scope)
            for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ]
        self.cancel_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), scope)

    def _build_layout(self) -> None:
        """Steps top to bottom in the order of the work (and of the Tab key); the result."""
        self.interception_card = _card(self.interception_heading, self.interception_edit)
        self.prompt_card = _card(self.prompt_heading, self.prompt_edit, self.translation_label)
        buttons = QHBoxLayout()
        for button in (self.generate_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        steps = QVBoxLayout(self.steps)
        steps.setContentsMargins(0, 0, 0, 0)
        steps.setSpacing(8)
        steps.addWidget(self.outputs)  # what it becomes, chosen with the rule, before the run
        steps.addWidget(self.expert_panel)
        steps.addWidget(self.transform_button, 0, Qt.AlignmentFlag.AlignLeft)
        steps.addWidget(self.interception_card)
        steps.addLayout(buttons)
        steps.addWidget(self.prompt_card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 12)
        layout.setSpacing(6)
        heading = QHBoxLayout()
        heading.setSpacing(10)
        heading.addWidget(self.result_heading)
        heading.addWidget(self.chosen_output)
        heading.addStretch(1)
        layout.addLayout(heading)
        layout.addWidget(self.message_label)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details_text)
        layout.addWidget(self.stages)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.result_view, 1)

    def _connect(self) -> None:
        vm = self._vm
        self.transform_button.clicked.connect(vm.transform)
        self.generate_button.clicked.connect(vm.generate)
        self.cancel_button.clicked.connect(vm.cancel)
        for shortcut in self.run_shortcuts:
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(vm.run_next)
        self.cancel_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancel_shortcut.activated.connect(vm.cancel)
        self.details_button.toggled.connect(self.details_text.setVisible)
        self.interception_edit.textChanged.connect(self._on_interception_edited)
        self.prompt_edit.textChanged.connect(self._on_prompt_edited)
        vm.stage_started.connect(self._on_stage_started)
        vm.stage_text.connect(self._on_stage_text)
        vm.stage_completed.connect(self._on_stage_completed)
        vm.progress.connect(self._on_progress)
        vm.blocked.connect(self._on_blocked)
        vm.stage_blocked.connect(self._on_stage_blocked)
        vm.failed.connect(self._on_failed)
        vm.cancelled.connect(lambda: self._say("create.cancelled"))
        vm.result.connect(self._on_result)
        vm.texts_kept.connect(self._on_texts_kept)
        vm.busy_changed.connect(self._update_state)
        vm.phase_changed.connect(self._update_state)
        vm.selected_output_changed.connect(self._update_state)
        self._create.idea_changed.connect(self._update_state)
        self._create.rules_changed.connect(self._update_state)
        self._tr.language_changed.connect(self.retranslate)
        vm.params.mode_changed.connect(self._apply_mode)

    def focus_chain(self) -> list[QWidget]:
        """The run column's controls in tab order (the order of the work)."""
        return [
            *self.outputs.focus_chain(),
            *self.expert_panel.focus_chain(),
            self.transform_button,
            self.interception_edit,
            self.generate_button,
            self.cancel_button,
            self.prompt_edit,
            self.details_button,
            self.result_view.save_button,
            self.result_view.folder_button,
        ]

    # ------------------------------------------------------------------ texts
    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        for button, key in (
            (self.transform_button, "create.transform"),
            (self.generate_button, "create.generate"),
            (self.cancel_button, "create.cancel"),
            (self.details_button, "create.details"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
        self.transform_button.setToolTip(tr("create.transform_tip"))
        self.generate_button.setToolTip(tr("create.generate_tip"))
        self.cancel_button.setToolTip(tr("create.cancel_tip"))
        for button in (self.transform_button, self.generate_button, self.cancel_button):
            button.setAccessibleDescription(button.toolTip())
        self.details_button.setAccessibleDescription(tr("create.details_help"))
        self.details_text.setAccessibleName(tr("create.details"))
        self.message_label.setAccessibleName(tr("create.message_accessible"))
        self.stages.setAccessibleName(tr("create.stages_accessible"))
        kids = self._vm.params.kids
        heading = tr("create.interception_heading_kids" if kids else "create.interception_heading")
        self.interception_heading.setText(heading)
        self.interception_edit.setAccessibleName(heading)
        self.interception_edit.setAccessibleDescription(tr("create.interception_placeholder"))
        self.interception_edit.setPlaceholderText(tr("create.interception_placeholder"))
        self.progress_bar.setAccessibleName(tr("create.progress_accessible"))
        self.result_heading.setText(tr("create.result_heading"))
        self._show_chosen_output()
        self._retranslate_prompt()
        self._show_message()

    def _retranslate_prompt(self) -> None:
        tr = self._tr.tr
        output = self._vm.selected_output
        code = output is not None and output.media is MediaType.code
        if code:
            heading = tr("create.code_heading")
        elif self._vm.params.kids:
            heading = tr("create.prompt_heading_kids")
        else:
            heading = tr("create.prompt_heading")
        self.prompt_heading.setText(heading)
        self.prompt_edit.setAccessibleName(heading)
        self.prompt_edit.setAccessibleDescription(tr("create.prompt_placeholder"))
        self.prompt_edit.setPlaceholderText(tr("create.prompt_placeholder"))
        self.translation_label.setText(
            tr("create.translated_prompt", text=self._translation) if self._translation else ""
        )

    def _show_chosen_output(self) -> None:
        """The kind of result (kids) or kind and model (youth, expert) chosen now."""
        tr = self._tr.tr
        output = self._vm.selected_output
        self.chosen_output.setVisible(output is not None)
        if output is None:
            return
        name = tr(KIND_KEYS.get(output_kind(output), "create.kind_image"))
        if not self._vm.params.kids:
            name = f"{name} – {model_label(output, self._tr.language)}"
        self.chosen_output.setText(name)
        self.chosen_output.setAccessibleName(tr("create.chosen_output_accessible", output=name))
        self.chosen_output.setToolTip(tr("create.chosen_output_help"))

    def _apply_mode(self, _mode: str = "") -> None:
        """Kids: no model names, simpler labels; expert: the expert panel."""
        params = self._vm.params
        self.expert_panel.setVisible(params.expert)
        self.stages.set_show_models(not params.kids)
        self.retranslate()

    def _say(self, key: str, detail: str = "", **fmt: str) -> None:
        self._message, self._detail = (key, fmt), detail
        self._show_message()

    def _on_blocked(self, reason: str) -> None:
        self._reason_language = self._tr.language  # the safety check answers in the run's
        self._say("create.blocked", reason=reason)

    def _show_message(self) -> None:
        key, fmt = self._message
        detail = self._detail
        if not key:
            key, fmt = self._idle_hint(), {}
        elif key == "create.blocked" and self._reason_language != self._tr.language:
            # The reason is in the language the run had: the message says it in the new
            # one, the reason itself waits under Details.
            key, fmt, detail = "create.blocked_switched", {}, fmt.get("reason", "")
        if key == "create.failed":  # the pipeline's message, in the UI language when known
            fmt = {"message": user_message(self._tr, *self._failure)}
        text = self._tr.tr(key, **fmt) if key else ""
        if self._note:
            text = f"{text}\n{self._tr.tr(self._note)}" if text else self._tr.tr(self._note)
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        self.details_text.setPlainText(detail)
        self.details_button.setVisible(bool(detail))
        self.details_text.setVisible(bool(detail) and self.details_button.isChecked())

    def _idle_hint(self) -> str:
        if not self._vm.available:
            return "create.no_run_store"
        if not self._create.idea.strip():
            return "create.empty_hint"
        if self._vm.selected_output is None:
            return "create.no_output"
        return ""

    @property
    def message(self) -> str:
        """The inline message shown now ("" when none)."""
        return self.message_label.text() if self.message_label.isVisible() else ""

    # ------------------------------------------------------------------ state
    def _update_state(self, _value: object = None) -> None:
        vm = self._vm
        busy = vm.busy
        if busy and not self._was_busy:
            self._note = ""  # a new start: the note of the last one is old
        self._was_busy = busy
        self.transform_button.setEnabled(vm.can_run)
        self.generate_button.setEnabled(vm.can_run)
        self.cancel_button.setEnabled(busy)
        self.outputs.setEnabled(not busy)
        self.interception_edit.setReadOnly(busy)
        self.prompt_edit.setReadOnly(busy)
        self.generate_button.setDefault(vm.has_transform)
        self._show_chosen_output()
        if not busy and vm.phase is not RunPhase.generating:  # the result takes its room
            self.progress_bar.hide()
        self._retranslate_prompt()
        self._show_message()

    def _on_stage_started(self, stage: Stage, _model: str) -> None:
        self.progress_bar.show()
        if stage is Stage.input_safety:
            self._clear_run()
        if stage in _TEXT_STAGES:
            self._write(self._box(stage), "")
        if stage in (Stage.interception, Stage.adaptation, Stage.translation):
            self._translation = ""
        if stage is Stage.generation:
            self._steps_seen = False
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat("")
            self.result_view.clear()
        elif self.progress_bar.maximum() != 0:
            self.progress_bar.setRange(0, 0)
        self._say("create.running")

    def _clear_run(self) -> None:
        for edit in (self.interception_edit, self.prompt_edit):
            self._write(edit, "")
        self._translation = ""
        self.result_view.clear()  # the stage panel resets itself on the first stage

    def _on_stage_text(self, stage: Stage, delta: str) -> None:
        if stage in _TEXT_STAGES:
            edit = self._box(stage)
            self._syncing = True
            try:
                cursor = edit.textCursor()
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.insertText(delta)
            finally:
                self._syncing = False

    def _on_stage_completed(self, stage: Stage, text: str, _badge: str) -> None:
        if stage in _TEXT_STAGES:
            self._write(self._box(stage), text)
        elif stage is Stage.translation:
            self._translation = text
            self._retranslate_prompt()
        if stage is Stage.interception:
            self._say("create.transformed")

    def _on_texts_kept(self, _stages: object) -> None:
        self._note = "create.texts_kept"
        self._show_message()

    def _on_stage_blocked(self, stage: Stage) -> None:
        """A blocked text is hidden for good (not undoable); the reason shows instead."""
        if stage in _TEXT_STAGES or stage is Stage.translation:
            edit = self._box(stage) if stage in _TEXT_STAGES else None
            if edit is not None:
                self._syncing = True
                try:
                    edit.setPlainText("")  # resets the undo stack: Ctrl+Z cannot bring it back
                finally:
                    self._syncing = False
            self._translation = ""
            self._retranslate_prompt()

    def _on_progress(self, step: int, total: int) -> None:
        self._steps_seen = True
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(step)
        self.progress_bar.setFormat(self._tr.tr("create.progress", step=step, total=total))

    def _on_failed(self, message: str, detail: str) -> None:
        key, params = self._vm.failure_key
        self._failure = (key, params, message)
        self._say("create.failed", detail=detail, message=message)

    def _on_result(self, _result: RunResult) -> None:
        if not self._steps_seen:  # code, cloud: no steps to show ("Schritt 1 von 1" says nothing)
            self.progress_bar.hide()
        self._say("create.done")

    def _box(self, stage: Stage) -> QPlainTextEdit:
        return self.interception_edit if stage is Stage.interception else self.prompt_edit

    def _write(self, edit: QPlainTextEdit, text: str) -> None:
        if text == edit.toPlainText():
            return
        self._syncing = True
        try:
            replace_text_undoably(edit, text)
        finally:
            self._syncing = False

    def _on_interception_edited(self) -> None:
        if not self._syncing and self._vm.session is not None:
            self._vm.set_stage_text(Stage.interception, self.interception_edit.toPlainText())

    def _on_prompt_edited(self) -> None:
        if not self._syncing and self._vm.session is not None:
            self._vm.set_stage_text(Stage.adaptation, self.prompt_edit.toPlainText())


def _card(heading: QLabel, edit: QPlainTextEdit, hint: QLabel | None = None) -> QFrame:
    """A compact card around a stage's editable text."""
    card = QFrame()
    card.setObjectName("stageCard")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(10, 8, 10, 8)
    layout.setSpacing(4)
    layout.addWidget(heading)
    layout.addWidget(edit)
    if hint is not None:
        layout.addWidget(hint)
    return card
