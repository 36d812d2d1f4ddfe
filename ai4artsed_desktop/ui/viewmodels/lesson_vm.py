"""LessonViewModel: export and import lesson profiles (files are read and written off the UI)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ... import profiles
from ... import settings as settings_mod
from ...content.schema import ContentLibrary, InterceptionConfig, OutputConfig
from ...errors import ConfigError
from ...settings import Settings
from ...tasks import TaskRegistry
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
        busy_changed(bool): a file is being read or written.
    """

    profile_name_changed = Signal(str)
    exported = Signal(str)
    imported = Signal(str)
    failed = Signal(str, list)
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
        self._tasks = tasks or TaskRegistry("lesson")
        self._busy = False
        self._name = settings_vm.current.lesson.profile_name
        settings_vm.settings_changed.connect(self._on_settings_changed)

    @property
    def profile_name(self) -> str:
        return self._name

    @property
    def busy(self) -> bool:
        return self._busy

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
        self._spawn(self._export(path, name.strip() or "Lesson", configs, outputs), "export")

    def import_profile(self, path: Path) -> None:
        """Read, validate and (only without problems) apply the profile at ``path``."""
        self._spawn(self._import(path), "import")

    async def shutdown(self) -> None:
        """Cancel a running export or import."""
        await self._tasks.cancel_all()

    # ------------------------------------------------------------------ internals
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._busy:
            coro.close()
            return
        self._set_busy(True)
        self._tasks.spawn(coro, name=f"lesson-{name}")

    async def _export(
        self, path: Path, name: str, configs: Sequence[str], outputs: Sequence[str]
    ) -> None:
        settings = self._settings_vm.current
        try:
            await asyncio.to_thread(
                profiles.export_profile,
                settings,
                path,
                name=name,
                allowed_configs=list(configs),
                allowed_outputs=list(outputs),
            )
        except ConfigError as exc:
            log.error("Profile export failed: %s (%s)", exc.user_message, exc.detail)
            self.failed.emit(self._tr.tr("lesson.export_failed", path=str(path)), [exc.detail])
            return
        finally:
            self._set_busy(False)
        log.info("Lesson profile %r exported to %s", name, path)
        self.exported.emit(self._tr.tr("lesson.exported", name=name, path=str(path)))

    async def _import(self, path: Path) -> None:
        try:
            profile = await asyncio.to_thread(profiles.load_profile, path, self._content)
        except profiles.ProfileError as exc:
            log.info("Lesson profile %s refused: %d problem(s)", path, len(exc.problems))
            self._set_busy(False)
            problems = [str(p) for p in exc.problems]
            self.failed.emit(self._tr.tr("lesson.import_failed", path=path.name), problems)
            return
        self._set_busy(False)
        current = self._settings_vm.current
        changes = settings_changes(current, profiles.apply_profile(current, profile))
        if changes and not self._settings_vm.apply(changes):
            self.failed.emit(self._tr.tr("lesson.import_not_saved"), [])
            return
        log.info("Lesson profile %r applied from %s", profile.name, path)
        self.imported.emit(self._tr.tr("lesson.imported", name=profile.name))

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _on_settings_changed(self, settings: Settings) -> None:
        name = settings.lesson.profile_name
        if name != self._name:
            self._name = name
            self.profile_name_changed.emit(name)
