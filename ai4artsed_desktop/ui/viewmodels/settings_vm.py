"""SettingsViewModel: validated, atomic changes to the settings with Qt change signals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from ... import settings as settings_mod
from ...errors import ConfigError
from ...settings import Settings
from ...settings_store import SettingsStore
from ..i18n import Translator, error_text

log = logging.getLogger(__name__)


def _check_url(value: Any) -> str | None:
    """Extra check for ``*.url`` fields: empty, or an http(s) URL with a host."""
    if not isinstance(value, str) or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value.strip():
        return "error.settings.url"
    return None


# Checks the typed settings cannot express, by leaf name; each returns an i18n key or None.
EXTRA_CHECKS: dict[str, Callable[[Any], str | None]] = {"url": _check_url}


@dataclass(frozen=True)
class _Problem:
    """A refused value: its field, the catalogue key of the reason or the reason in English."""

    field: str
    key: str
    english: str = ""


class SettingsViewModel(QObject):
    """The settings of the running app, changed only through validated saves.

    Signals:
        settings_changed(object): the settings changed (new :class:`Settings`).
        language_changed(str): ``ui.language`` changed.
        error_occurred(str, str): a change was refused or not saved (message, detail).
        error_raised(AppError): the same error itself (a banner rewords it on a switch).
    """

    settings_changed = Signal(object)
    language_changed = Signal(str)
    error_occurred = Signal(str, str)
    error_raised = Signal(object)

    def __init__(
        self,
        store: SettingsStore,
        translator: Translator | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._tr = translator or Translator(store.current.ui.language, parent=self)
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_store_changed)

    @property
    def current(self) -> Settings:
        return self._store.current

    @property
    def language(self) -> str:
        return self._store.current.ui.language

    def value(self, dotted: str) -> Any:
        """The current value of one field, e.g. ``value("ollama.port")``."""
        obj: Any = self._store.current
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj

    def set_value(self, dotted: str, value: Any) -> bool:
        """Change and save one field; True on success, else ``error_occurred`` was emitted."""
        return self.apply({dotted: value})

    def apply(self, changes: Mapping[str, Any]) -> bool:
        """Validate every change, then save them together (all or nothing).

        Invalid values and save failures emit ``error_occurred``; the store keeps its old
        value, and the caller keeps the user's input (nothing is lost).
        """
        new, problems = self._build(changes)
        if problems:
            # Each problem in every language, so the banner can reword it on a switch.
            lines = {lang: self._problem_lines(problems, lang) for lang in self._tr.languages}
            english = lines.get("en") or self._problem_lines(problems, self._tr.language)
            self._raise(
                ConfigError(
                    f"Settings not changed: {'; '.join(english)}",
                    detail="\n".join(english),
                    key="error.settings.invalid",
                    params={f"fields_{lang}": "; ".join(text) for lang, text in lines.items()},
                )
            )
            return False
        try:
            self._store.replace(new)
        except ConfigError as exc:
            log.error("Saving settings failed: %s (%s)", exc.user_message, exc.detail)
            self._raise(
                ConfigError(exc.user_message, detail=exc.detail, key="error.settings.save_failed")
            )
            return False
        return True

    def _raise(self, error: ConfigError) -> None:
        self.error_occurred.emit(error_text(self._tr, error), error.detail)
        self.error_raised.emit(error)

    def _build(self, changes: Mapping[str, Any]) -> tuple[Settings, list[_Problem]]:
        new = self._store.current
        problems: list[_Problem] = []
        for dotted, value in changes.items():
            check = EXTRA_CHECKS.get(dotted.rpartition(".")[2])
            reason_key = check(value) if check else None
            if reason_key:
                problems.append(_Problem(dotted, reason_key))
                continue
            try:
                new = settings_mod.replace_path(new, dotted, value)
            except ValueError as exc:
                problems.append(_Problem(dotted, "", str(exc)))
        return new, problems

    def _problem_lines(self, problems: list[_Problem], language: str) -> list[str]:
        """``Label: reason`` for each problem, in ``language``."""
        lines = []
        for problem in problems:
            label_key = f"setting.{problem.field}.label"
            label = self._tr.text_in(language, label_key, {}) or problem.field
            keyed = self._tr.text_in(language, problem.key, {}) if problem.key else None
            lines.append(f"{label}: {keyed or problem.english}")
        return lines

    def _on_store_changed(self, old: Settings, new: Settings) -> None:
        self.settings_changed.emit(new)
        if old.ui.language != new.ui.language:
            self.language_changed.emit(new.ui.language)

    def shutdown(self) -> None:
        """Stop listening to the store."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
