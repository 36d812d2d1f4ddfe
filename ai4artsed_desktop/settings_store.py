"""The live settings of a running app: current value, atomic save, change listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import settings as settings_mod
from .errors import ConfigError
from .settings import Settings

log = logging.getLogger(__name__)

Listener = Callable[[Settings, Settings], None]


class SettingsStore:
    """Holds the current :class:`Settings` and persists every change.

    Qt-free: the ``SettingsViewModel`` subscribes with :meth:`subscribe` and turns
    changes into signals.
    """

    def __init__(self, path: Path, initial: Settings | None = None) -> None:
        self.path = path
        self._current = initial if initial is not None else Settings()
        self._listeners: list[Listener] = []
        self.load_problems: tuple[str, ...] = ()
        #: Where the damaged file was copied at load (None when it was fine).
        self.damaged_copy: Path | None = None

    @classmethod
    def load(cls, path: Path) -> SettingsStore:
        """Load from ``path`` leniently (see :func:`settings.load`).

        A file with problems is copied aside first (``settings.json.corrupt-<time>``): the
        next save would otherwise replace what could not be read.
        """
        result = settings_mod.load(path)
        store = cls(path, result.settings)
        store.load_problems = result.problems
        if result.problems:
            store.damaged_copy = settings_mod.keep_damaged_copy(path)
        return store

    @property
    def current(self) -> Settings:
        """The settings now."""
        return self._current

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(old, new)`` after each change; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def replace(self, new: Settings) -> None:
        """Make ``new`` current and save it.

        Raises:
            ConfigError: the file could not be written (the in-memory value is unchanged).
        """
        if new == self._current:
            return
        try:
            settings_mod.save(new, self.path)
        except OSError as exc:
            raise ConfigError(
                "The settings could not be saved. Check that the disk is not full and the "
                "settings folder is writable.",
                detail=f"{self.path}: {exc}",
                key="error.settings_not_saved",
            ) from exc
        old, self._current = self._current, new
        for listener in list(self._listeners):
            listener(old, new)

    def set(self, dotted: str, value: Any) -> None:
        """Change one field by dotted name (``"ui.language"``) and save.

        Raises:
            ValueError: unknown field or invalid value.
            ConfigError: the file could not be written.
        """
        self.replace(settings_mod.replace_path(self._current, dotted, value))
