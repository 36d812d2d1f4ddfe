"""Settings page: a form generated from ``settings.describe()``, saved through the VM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from ...pipeline.safety_policy import policy_help
from ...settings import Settings
from ..i18n import Translator
from ..viewmodels.backends_vm import BackendsViewModel
from ..viewmodels.settings_vm import SettingsViewModel
from ..widgets.error_banner import ErrorBanner
from ..widgets.lesson_panel import LessonPanel
from ..widgets.review_log_panel import ReviewLogPanel
from .backends_panel import BackendsPanel
from .settings_form import BACKEND_SECTIONS, FormSection, SettingEditor, fields_by_section

TAB_IDS = ("general", "backends", "models", "lesson", "review", "lab")


class SettingsPage(QWidget):
    """Edits a copy of the settings; "Save" applies all changes at once, "Revert" drops them.

    Two tabs: the general settings, and the backends (with live state and controls when a
    :class:`BackendsViewModel` is given).
    """

    def __init__(
        self,
        vm: SettingsViewModel,
        translator: Translator,
        log_dir: Path,
        backends_vm: BackendsViewModel | None = None,
        parent: QWidget | None = None,
        lesson: LessonPanel | None = None,
        review: ReviewLogPanel | None = None,
        models: QWidget | None = None,
        lab: QWidget | None = None,
    ):
        super().__init__(parent)
        self.lesson = lesson
        self._vm = vm
        self._tr = translator
        self.editors: dict[str, SettingEditor] = {}
        self.policy_label = QLabel()
        self.policy_label.setObjectName("hint")
        self.policy_label.setWordWrap(True)
        self._loaded: dict[str, Any] = {}
        self.groups: dict[str, QGroupBox] = {}
        self._sections: dict[str, FormSection] = {}
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.banner = ErrorBanner(translator, log_dir, self)
        self.saved_label = QLabel()
        self.saved_label.setObjectName("hint")
        self.save_button = QPushButton()
        self.save_button.setObjectName("primaryButton")
        self.save_button.setDefault(True)
        self.revert_button = QPushButton()
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        self._last_field: QWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)
        sections = fields_by_section()
        self.backends = BackendsPanel(
            {s: sections[s] for s in BACKEND_SECTIONS}, translator, log_dir, backends_vm
        )
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_general(sections), "")
        self.tabs.addTab(self.backends, "")
        self.models = models
        if models is not None:  # model files per output: state, download, licence
            self.tabs.addTab(models, "")
        if lesson is not None:  # profiles, teacher PIN, warm-up; research needs confirming
            self.tabs.addTab(lesson, "")
            lesson.research_bar.on_confirmed = self.save
        self.review = review
        if review is not None:  # the teacher's review log (the page is behind the PIN)
            self.tabs.addTab(review, "")
        self.lab = lab
        if lab is not None:  # this PC as a seat of the teacher's lab console
            self.tabs.addTab(lab, "")
        self._tab_ids = [t for t in TAB_IDS if t not in ("models", "lesson", "review", "lab")]
        self._tab_ids += ["models"] if models is not None else []
        self._tab_ids += ["lesson"] if lesson is not None else []
        self._tab_ids += ["review"] if review is not None else []
        self._tab_ids += ["lab"] if lab is not None else []
        self._register(self.backends.sections, self.backends.groups)
        self._build_layout()
        vm.settings_changed.connect(self._on_vm_settings_changed)
        vm.error_occurred.connect(self.banner.show_error)
        translator.language_changed.connect(self.retranslate)
        self._load(vm.current, force=True)
        self.retranslate()

    def _build_general(self, sections: dict[str, Any]) -> QWidget:
        form_host = QWidget()
        column = QVBoxLayout(form_host)
        column.setContentsMargins(0, 6, 12, 0)
        column.setSpacing(14)
        found: dict[str, FormSection] = {}
        groups: dict[str, QGroupBox] = {}
        for section, fields in sections.items():
            if section in BACKEND_SECTIONS:
                continue
            group = QGroupBox()
            found[section] = FormSection(QFormLayout(group), fields, self._tr, self)
            groups[section] = group
            column.addWidget(group)
            if section == "safety":  # the policy table, from the one table in code
                found[section].form.addRow(self.policy_label)
        column.addStretch(1)
        self._register(found, groups)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form_host)
        return scroll

    def _register(self, sections: dict[str, FormSection], groups: dict[str, QGroupBox]) -> None:
        self._sections.update(sections)
        self.groups.update(groups)
        for section in sections.values():
            for dotted, editor in section.editors.items():
                editor.edited.connect(self._update_buttons)
                self.editors[dotted] = editor

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.saved_label, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.banner)
        if self.lesson is not None:
            layout.addWidget(self.lesson.research_bar)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("settings.title"))
        self.policy_label.setText(policy_help(self._tr.language))
        for section, group in self.groups.items():
            group.setTitle(tr(f"settings.section.{section}"))
        for section_id, form_section in self._sections.items():
            if section_id not in BACKEND_SECTIONS:  # the panel retranslates its own
                form_section.retranslate()
        for index, tab_id in enumerate(self._tab_ids):
            self.tabs.setTabText(index, tr(f"settings.tab.{tab_id}"))
            self.tabs.setTabToolTip(index, tr(f"settings.tab.{tab_id}_help"))
        self.tabs.setAccessibleName(tr("settings.tabs_accessible"))
        self.tabs.tabBar().setAccessibleName(tr("settings.tabs_accessible"))
        self.save_button.setText(tr("settings.save"))
        self.save_button.setAccessibleName(tr("settings.save"))
        self.save_button.setToolTip(tr("settings.save_help"))
        self.revert_button.setText(tr("settings.revert"))
        self.revert_button.setAccessibleName(tr("settings.revert"))
        self.revert_button.setToolTip(tr("settings.revert_help"))
        if self.saved_label.text():
            self.saved_label.setText(tr("settings.saved"))

    # ------------------------------------------------------------------ state
    @property
    def current_tab(self) -> str:
        return self._tab_ids[self.tabs.currentIndex()]

    def show_tab(self, tab_id: str) -> None:
        self.tabs.setCurrentIndex(self._tab_ids.index(tab_id))

    def changes(self) -> dict[str, Any]:
        """Fields whose editor differs from the saved settings."""
        return {
            dotted: editor.value()
            for dotted, editor in self.editors.items()
            if editor.value() != self._vm.value(dotted)
        }

    def save(self) -> bool:
        changes = self.changes()
        if not changes:
            return True
        if self.lesson is not None and not self.lesson.research_bar.check(changes):
            return False
        ok = self._vm.apply(changes)
        if ok:
            self.banner.dismiss()
            self.saved_label.setText(self._tr.tr("settings.saved"))
        self._update_buttons()
        self._restore_focus()
        return ok

    def revert(self) -> None:
        self._load(self._vm.current, force=True)
        self.banner.dismiss()
        self._restore_focus()

    # ------------------------------------------------------------------ focus
    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        buttons = (self.save_button, self.revert_button)
        if new is not None and new not in buttons and self.isAncestorOf(new):
            self._last_field = new

    def _restore_focus(self) -> None:
        """After Save or Revert, focus goes back to the field last used.

        Save and Revert disable themselves; Qt would pass their focus on along the tab
        chain, out of the page (to the language box, where one arrow key switched the
        language).
        """
        if not self.isVisible():
            return
        focus = QApplication.focusWidget()
        buttons = (self.save_button, self.revert_button)
        if focus is not None and focus not in buttons and self.isAncestorOf(focus):
            return
        target = self._last_field
        if target is None or not isValid(target) or not target.isVisibleTo(self):
            target = self.tabs.tabBar()
        if target.isEnabled():
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _load(self, settings: Settings, *, force: bool) -> None:
        """Show ``settings``; without ``force`` only fields the user has not edited."""
        for dotted, editor in self.editors.items():
            new = self._vm.value(dotted)
            if force or editor.value() == self._loaded.get(dotted):
                editor.set_value(new)
            self._loaded[dotted] = new
        self._update_buttons()

    def _on_vm_settings_changed(self, settings: Settings) -> None:
        self._load(settings, force=False)

    def _update_buttons(self) -> None:
        dirty = bool(self.changes())
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        if dirty:
            self.saved_label.clear()
