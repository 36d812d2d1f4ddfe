"""Every folder the app uses, computed in one place; ``--data-dir`` overrides them all."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from . import APP_ID

RESOURCES_ENV = "AI4ARTSED_RESOURCES"


@dataclass(frozen=True)
class AppPaths:
    """The app's folders. Nothing here touches the disk until :meth:`ensure` is called."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> AppPaths:
        """Per-user folders from platformdirs (XDG on Linux, AppData on Windows)."""
        dirs = platformdirs.PlatformDirs(APP_ID, appauthor=False)
        return cls(
            config_dir=Path(dirs.user_config_dir),
            data_dir=Path(dirs.user_data_dir),
            cache_dir=Path(dirs.user_cache_dir),
            log_dir=Path(dirs.user_log_dir),
        )

    @classmethod
    def under(cls, base: Path) -> AppPaths:
        """All folders below one base folder (portable installs, tests, smoke tests)."""
        base = base.expanduser().resolve()
        return cls(
            config_dir=base / "config",
            data_dir=base / "data",
            cache_dir=base / "cache",
            log_dir=base / "logs",
        )

    @classmethod
    def from_cli(cls, data_dir: str | os.PathLike[str] | None) -> AppPaths:
        """``--data-dir`` if given, else the per-user defaults."""
        return cls.under(Path(data_dir)) if data_dir else cls.default()

    # -- derived locations ---------------------------------------------------------
    @property
    def settings_file(self) -> Path:
        """The typed settings (JSON)."""
        return self.config_dir / "settings.json"

    @property
    def user_content_dir(self) -> Path:
        """User configs that extend or override the built-in content."""
        return self.config_dir / "configs"

    @property
    def runs_dir(self) -> Path:
        """One folder per run (store)."""
        return self.data_dir / "runs"

    @property
    def training_dir(self) -> Path:
        """Training projects (datasets, TOML, logs)."""
        return self.data_dir / "training"

    @property
    def loras_dir(self) -> Path:
        """Default LoRA output folder when no backend LoRA folder is configured."""
        return self.data_dir / "loras"

    @property
    def state_dir(self) -> Path:
        """Runtime records (pid+port files of managed servers)."""
        return self.data_dir / "state"

    @property
    def demo_dir(self) -> Path:
        """Working folders of the demo backends (simulators)."""
        return self.data_dir / "demo"

    def ensure(self) -> None:
        """Create the folders; raises ``OSError`` when one cannot be created."""
        for path in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)


def resources_dir() -> Path:
    """The read-only ``resources/`` folder (source checkout or PyInstaller bundle)."""
    override = os.environ.get(RESOURCES_ENV)
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
