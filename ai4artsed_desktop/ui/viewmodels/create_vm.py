"""CreateViewModel: the idea (WHAT), the rules (HOW) and the config picker's state."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ...content.schema import Category, ContentLibrary, InterceptionConfig
from ...settings import Settings
from .settings_vm import SettingsViewModel

DEFAULT_CONFIG_ID = "your_call"


class CreateViewModel(QObject):
    """State of the Create page.

    ``choose_config`` fills the rules with the config's rules in the current language; the
    rules stay editable. A language switch re-fills them only while the user has not edited
    them. The idea is never touched by anything but the user.

    Signals:
        idea_changed(str), rules_changed(str), selected_config_id_changed(str),
        category_filter_changed(str), search_text_changed(str),
        visible_configs_changed(list): state changes.
        language_changed(str): content texts must be shown in another language.
    """

    idea_changed = Signal(str)
    rules_changed = Signal(str)
    selected_config_id_changed = Signal(str)
    category_filter_changed = Signal(str)
    search_text_changed = Signal(str)
    visible_configs_changed = Signal(list)
    language_changed = Signal(str)

    def __init__(
        self,
        content: ContentLibrary,
        settings_vm: SettingsViewModel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._content = content
        self._settings_vm = settings_vm
        self._language = settings_vm.language
        self._safety_level = settings_vm.current.safety.level
        self._allowed = settings_vm.current.lesson.allowed_configs  # empty = all
        self._idea = ""
        self._rules = ""
        self._filled_rules = ""  # what choose_config put there; differs once the user edits
        self._selected = DEFAULT_CONFIG_ID if DEFAULT_CONFIG_ID in content.interceptions else ""
        self._category = ""
        self._search = ""
        self._visible = self._compute_visible()
        settings_vm.settings_changed.connect(self._on_settings_changed)

    # ------------------------------------------------------------------ properties
    @property
    def content(self) -> ContentLibrary:
        return self._content

    @property
    def language(self) -> str:
        return self._language

    @property
    def idea(self) -> str:
        return self._idea

    @property
    def rules(self) -> str:
        return self._rules

    @property
    def rules_edited(self) -> bool:
        """True once the user changed the rules a config filled in."""
        return self._rules != self._filled_rules

    @property
    def selected_config_id(self) -> str:
        return self._selected

    @property
    def selected_config(self) -> InterceptionConfig | None:
        return self._content.interceptions.get(self._selected)

    @property
    def category_filter(self) -> str:
        """The category id shown, or ``""`` for all categories."""
        return self._category

    @property
    def search_text(self) -> str:
        return self._search

    @property
    def visible_configs(self) -> list[InterceptionConfig]:
        return list(self._visible)

    @property
    def categories(self) -> list[Category]:
        """Categories that hold at least one config, in display order."""
        used = {c.category for c in self._content.interceptions.values()}
        cats = [c for c in self._content.categories.values() if c.id in used]
        return sorted(cats, key=lambda c: (c.order, c.id))

    # ------------------------------------------------------------------ user actions
    def set_idea(self, text: str) -> None:
        if text != self._idea:
            self._idea = text
            self.idea_changed.emit(text)

    def set_rules(self, text: str) -> None:
        if text != self._rules:
            self._rules = text
            self.rules_changed.emit(text)

    def choose_config(self, config_id: str) -> None:
        """Select a config and fill the rules with its rules in the current language.

        Raises:
            KeyError: ``config_id`` is not in the content library.
        """
        config = self._content.interceptions[config_id]
        if config_id != self._selected:
            self._selected = config_id
            self.selected_config_id_changed.emit(config_id)
        self._filled_rules = config.rules.get(self._language)
        self.set_rules(self._filled_rules)

    def restore(self, idea: str, rules: str, config_id: str) -> None:
        """Bring back a saved run's idea, rules and config; the rules stay as saved.

        A config that is not installed any more leaves the selection as it is.
        """
        config = self._content.interceptions.get(config_id)
        if config is not None:
            if config_id != self._selected:
                self._selected = config_id
                self.selected_config_id_changed.emit(config_id)
            self._filled_rules = config.rules.get(self._language)
        self.set_rules(rules)
        self.set_idea(idea)

    def set_category_filter(self, category_id: str) -> None:
        if category_id and category_id not in self._content.categories:
            raise KeyError(category_id)
        if category_id != self._category:
            self._category = category_id
            self.category_filter_changed.emit(category_id)
            self._refilter()

    def set_search_text(self, text: str) -> None:
        if text != self._search:
            self._search = text
            self.search_text_changed.emit(text)
            self._refilter()

    # ------------------------------------------------------------------ internals
    def _matches(self, config: InterceptionConfig, needle: str) -> bool:
        if self._category and config.category != self._category:
            return False
        if self._safety_level not in config.audience.safety_levels:
            return False
        if self._allowed and config.id not in self._allowed:
            return False
        if not needle:
            return True
        haystack = f"{config.name.get(self._language)}\n{config.description.get(self._language)}"
        return needle in haystack.casefold()

    def _compute_visible(self) -> list[InterceptionConfig]:
        needle = self._search.strip().casefold()
        return [c for c in self._content.sorted_interceptions() if self._matches(c, needle)]

    def _refilter(self) -> None:
        visible = self._compute_visible()
        if [c.id for c in visible] != [c.id for c in self._visible]:
            self._visible = visible
            self.visible_configs_changed.emit(list(visible))

    def _on_settings_changed(self, settings: Settings) -> None:
        self._safety_level = settings.safety.level
        self._allowed = settings.lesson.allowed_configs
        if settings.ui.language != self._language:
            self._switch_language(settings.ui.language)
        self._refilter()

    def _switch_language(self, language: str) -> None:
        edited = self.rules_edited
        self._language = language
        config = self.selected_config
        if config is not None and not edited:
            self._filled_rules = config.rules.get(language)
            self.set_rules(self._filled_rules)
        self.language_changed.emit(language)
