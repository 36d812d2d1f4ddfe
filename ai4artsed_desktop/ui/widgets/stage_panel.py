"""StagePanel: one line per pipeline stage with its state and badge ("safety passed")."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ...events import Stage
from ...pipeline.runner import STAGES
from ..i18n import Translator
from ..viewmodels.run_vm import RunViewModel

STAGE_KEYS = {
    Stage.input_safety: "create.stage_input_safety",
    Stage.interception: "create.stage_interception",
    Stage.adaptation: "create.stage_adaptation",
    Stage.translation: "create.stage_translation",
    Stage.output_safety: "create.stage_output_safety",
    Stage.generation: "create.stage_generation",
    Stage.media_check: "create.stage_media_check",
}
#: The rows of the panel: the pipeline's stages, then the media check (part of generation).
ROWS = (*STAGES, Stage.media_check)
#: The pipeline's badge strings and the keys that translate them.
BADGE_KEYS = {
    "safety passed": "create.badge_safety_passed",
    "not checked": "create.badge_not_checked",
    "translated": "create.badge_translated",
    "LoRA applied": "create.badge_lora_applied",
    "kept": "create.badge_kept",
    "cut off": "create.badge_cut_off",
}


COLUMNS = 3


def badge_text(translator: Translator, badge: str) -> str:
    """The badge in the UI language (an unknown badge is shown as it is)."""
    key = BADGE_KEYS.get(badge)
    return translator.tr(key) if key else badge


class StagePanel(QWidget):
    """Shows how far the run got: waiting, running (model), done (badge), stopped."""

    def __init__(self, vm: RunViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = translator
        self._states: dict[Stage, tuple[str, dict[str, str]]] = {}
        self._show_models = True
        self.names: dict[Stage, QLabel] = {}
        self.states: dict[Stage, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(0)
        for i, stage in enumerate(ROWS):  # compact: three stages a row, state under name
            name, state = QLabel(), QLabel()
            state.setObjectName("hint")
            state.setContentsMargins(0, 0, 0, 6)
            self.names[stage], self.states[stage] = name, state
            row, column = (i // COLUMNS) * 2, i % COLUMNS
            grid.addWidget(name, row, column)
            grid.addWidget(state, row + 1, column)
        for column in range(COLUMNS):
            grid.setColumnStretch(column, 1)
        vm.stage_started.connect(self._on_started)
        vm.stage_completed.connect(self._on_completed)
        vm.stage_checking.connect(self._on_checking)
        vm.blocked.connect(lambda _reason: self._stop("create.state_blocked"))
        vm.failed.connect(lambda _m, _d: self._stop("create.state_failed"))
        vm.cancelled.connect(lambda: self._stop("create.state_cancelled"))
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def state_text(self, stage: Stage) -> str:
        """The state shown for ``stage`` ("" while it has not run)."""
        return self.states[stage].text()

    def set_show_models(self, show: bool) -> None:
        """Name the model of a running stage (youth, expert) or not (kids mode)."""
        if show != self._show_models:
            self._show_models = show
            self.retranslate()

    def reset(self, first: Stage = Stage.input_safety) -> None:
        """Forget the states of ``first`` and every later stage."""
        for stage in ROWS[ROWS.index(first) :]:
            self._states.pop(stage, None)
        self.retranslate()

    def retranslate(self, _language: str = "") -> None:
        for stage in ROWS:
            self.names[stage].setText(self._tr.tr(STAGE_KEYS[stage]))
            key, fmt = self._states.get(stage, ("", {}))
            if key == "create.state_running_model" and not self._show_models:
                key = "create.state_running"
            text = self._tr.tr(key, **fmt) if key else ""
            self.states[stage].setText(text)
            self.states[stage].setAccessibleName(f"{self.names[stage].text()}: {text}")
        # The media check only looks at pictures and films: a row for it appears once it
        # runs (or says "not checked"), never under a sound, a piece of code or a block.
        checked = Stage.media_check in self._states
        self.names[Stage.media_check].setVisible(checked)
        self.states[Stage.media_check].setVisible(checked)
        self.setVisible(bool(self._states))  # nothing ran yet: no empty list of stages

    def _set(self, stage: Stage, key: str, **fmt: str) -> None:
        self._states[stage] = (key, fmt)
        self.retranslate()

    def _on_started(self, stage: Stage, model: str) -> None:
        if stage not in STAGE_KEYS:
            return
        self.reset(stage)
        if stage in STAGES:  # a stage before it that said nothing had nothing to do
            for earlier in STAGES[: STAGES.index(stage)]:
                self._states.setdefault(earlier, ("create.state_skipped", {}))
        if model:
            self._set(stage, "create.state_running_model", model=model)
        else:
            self._set(stage, "create.state_running")

    def _on_completed(self, stage: Stage, _text: str, badge: str) -> None:
        if stage not in STAGE_KEYS:
            return
        key = BADGE_KEYS.get(badge)
        self._set(stage, key or "create.state_done")

    def _on_checking(self, stage: Stage) -> None:
        if stage is Stage.media_check:  # the picture was made; now it is looked at
            self._set(Stage.generation, "create.state_done")
        self._set(stage, "create.state_checking")

    def _stop(self, key: str) -> None:
        busy = ("create.state_run", "create.state_checking")
        running = [s for s, (k, _f) in self._states.items() if k.startswith(busy)]
        for stage in running:
            self._set(stage, key)
