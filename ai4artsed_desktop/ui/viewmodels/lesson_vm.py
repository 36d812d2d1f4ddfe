"""LessonViewModel: export and import lesson profiles (files are read and written off the UI)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ... import profiles
from ... import settings as settings_mod
from ...content.schema import ContentLibrary, InterceptionConfig, OutputConfig
from ...errors import AppError, ConfigError
from ...profiles import ProfileError
from ...settings import LessonSettings, Settings
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..i18n import Translator
from .settings_vm import SettingsViewModel

log = logging.getLogger(__name__)


def settings_changes(old: Settings, new: Settings) -> dict[str, Any]:
    """Every leaf field (hidden ones included) that differs, by dotted name."""
    changes: dict[str, Any] = {}
    for dotted, _field in settings_mod.describe(include_hidden=True):
        before: Any = old
        after: Any = new
        for part in dotted.split("."):
            before, after = getattr(before, part), getattr(after, part)
        if before != after:
            changes[dotted] = list(after) if isinstance(after, tuple) else after
    return changes


class LessonViewModel(QObject):
    """Lesson profiles of this seat.

    Signals:
        profile_name_changed(str): the active profile's name ("" = none).
        exported(str): a profile was written; the message names the file.
        imported(str): a profile was applied; the message names it.
        failed(str, list): export/import failed: a message and the problems (texts);
            on any problem nothing was applied.
        refused(str, list): an imported profile has problems and nothing was applied: the
            file's name and its problems (``ContentProblem``, each with a catalogue key, so
            the page words them in its language and again after a switch).
        busy_changed(bool): a file is being read or written.
        allowed_changed(): the lesson settings (name or allowed lists) changed.
    """

    profile_name_changed = Signal(str)
    allowed_changed = Signal()
    exported = Signal(str)
    imported = Signal(str)
    failed = Signal(str, list)
    refused = Signal(str, list)
    busy_changed = Signal(bool)

    def __init__(
        self,
        settings_vm: SettingsViewModel,
        content: ContentLibrary,
        translator: Translator,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings_vm = settings_vm
        self._content = content
        self._tr = translator
        self._action = AsyncAction("lesson", tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)
        self._name = settings_vm.current.lesson.profile_name
        self._lesson_now = settings_vm.current.lesson
        settings_vm.settings_changed.connect(self._on_settings_changed)

    @property
    def profile_name(self) -> str:
        return self._name

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def configs(self) -> list[InterceptionConfig]:
        return self._content.sorted_interceptions()

    @property
    def outputs(self) -> list[OutputConfig]:
        return self._content.sorted_outputs()

    @property
    def allowed_configs(self) -> tuple[str, ...]:
        return self._settings_vm.current.lesson.allowed_configs

    @property
    def allowed_outputs(self) -> tuple[str, ...]:
        return self._settings_vm.current.lesson.allowed_outputs

    def export(self, path: Path, name: str, configs: Sequence[str], outputs: Sequence[str]) -> None:
        """Write the current settings as a profile allowing ``configs`` and ``outputs``.

        An empty list allows everything (as in the profile format).
        """
        name = name.strip() or "Lesson"

        def exported(_profile: profiles.Profile) -> None:
            log.info("Lesson profile %r exported to %s", name, path)
            self.exported.emit(self._tr.tr("lesson.exported", name=name, path=str(path)))

        def refused(exc: AppError) -> None:
            log.error("Profile export failed: %s (%s)", exc.user_message, exc.detail)
            self.failed.emit(self._tr.tr("lesson.export_failed", path=str(path)), [exc.detail])

        work = asyncio.to_thread(
            profiles.export_profile,
            self._settings_vm.current,
            path,
            name=name,
            allowed_configs=list(configs),
            allowed_outputs=list(outputs),
        )
        self._action.start(
            work, name="lesson-export", done=exported, error=refused, catch=(ConfigError,)
        )

    @property
    def active(self) -> bool:
        """True while a profile (a name or any restriction) applies on this seat."""
        lesson = self._settings_vm.current.lesson
        return bool(
            lesson.profile_name
            or lesson.allowed_configs
            or lesson.allowed_outputs
            or lesson.bundle_location
        )

    def apply_here(
        self, name: str, configs: Sequence[str], outputs: Sequence[str], *, keep_bundle: bool = True
    ) -> bool:
        """Make ``configs`` and ``outputs`` the lesson's choice on this seat now.

        An empty list allows everything (as in the profile format); the lesson's model
        bundle stays unless ``keep_bundle`` is False. False when the settings could not be
        saved (``failed`` says so).
        """
        current = self._settings_vm.current
        lesson = LessonSettings(name.strip(), tuple(configs), tuple(outputs))
        if keep_bundle:
            old = current.lesson
            lesson = dataclasses.replace(
                lesson, bundle_location=old.bundle_location, bundle_key=old.bundle_key
            )
        changes = settings_changes(current, dataclasses.replace(current, lesson=lesson))
        if changes and not self._settings_vm.apply(changes):
            self.failed.emit(self._tr.tr("house.lesson_not_saved"), [])
            return False
        if changes:
            log.info("Lesson settings changed here: %s", lesson)
        return True

    def switch_off(self) -> bool:
        """End the active profile: no name, every rule and output allowed, no bundle."""
        if not self.apply_here("", [], [], keep_bundle=False):
            return False
        log.info("Lesson profile switched off")
        return True

    def import_profile(self, path: Path) -> None:
        """Read, validate and (only without problems) apply the profile at ``path``."""

        def refused(exc: AppError) -> None:
            problems = list(exc.problems) if isinstance(exc, ProfileError) else []
            log.info("Lesson profile %s refused: %s", path, "; ".join(str(p) for p in problems))
            self.refused.emit(path.name, problems)

        self._action.start(
            asyncio.to_thread(profiles.load_profile, path, self._content),
            name="lesson-import",
            done=lambda profile: self._apply(profile, path),
            error=refused,
            catch=(ProfileError,),
        )

    async def shutdown(self) -> None:
        """Cancel a running export or import."""
        await self._action.shutdown()

    # ------------------------------------------------------------------ internals
    def _apply(self, profile: profiles.Profile, path: Path) -> None:
        current = self._settings_vm.current
        changes = settings_changes(current, profiles.apply_profile(current, profile))
        if changes and not self._settings_vm.apply(changes):
            self.failed.emit(self._tr.tr("lesson.import_not_saved"), [])
            return
        log.info("Lesson profile %r applied from %s", profile.name, path)
        self.imported.emit(self._tr.tr("lesson.imported", name=profile.name))

    def _on_settings_changed(self, settings: Settings) -> None:
        name = settings.lesson.profile_name
        if name != self._name:
            self._name = name
            self.profile_name_changed.emit(name)
        if settings.lesson != self._lesson_now:
            self._lesson_now = settings.lesson
            self.allowed_changed.emit()
