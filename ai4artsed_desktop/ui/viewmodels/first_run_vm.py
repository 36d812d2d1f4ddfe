"""FirstRunViewModel: the choices of the first-run assistant, backend detection, saving.

Detection reuses ``doctor``'s checks (:func:`launchers.detect`, the GPU provider) in a
worker thread; it never starts a backend. "Finish" saves every choice at once and marks
the assistant as done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...backends.launchers import DEFAULT_PORTS, Detection, comfy_launch_args, detect
from ...content.schema import VramPreset
from ...settings import ModelRoles, Settings
from ...system.gpu import GpuProvider, GpuSnapshot
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from .settings_vm import SettingsViewModel

log = logging.getLogger(__name__)

#: Backends the assistant looks for, in display order.
DETECTED = ("ollama", "comfyui", "swarmui", "kohya")
#: Backends that can be reached by URL (remote mode).
URL_BACKENDS = ("ollama", "comfyui", "swarmui")
#: Safety levels offered at first run (research needs a teacher PIN and a confirmation).
FIRST_RUN_LEVELS = ("kids", "youth", "adult")
#: ComfyUI's option for a PC without an NVIDIA graphics card.
CPU_FLAG = "--cpu"
_CPU_TOKEN = re.compile(r"(?<=\s)--cpu(?=\s)")
#: Backends that do AI work: when none of them is found the assistant suggests demo backends.
AI_BACKENDS = ("ollama", "comfyui", "swarmui")


class FirstRunViewModel(QObject):
    """What the assistant will save, and what it found on this computer.

    Signals:
        detected(): :attr:`detections` and :attr:`gpu` were updated.
        busy_changed(bool): a detection runs.
        finished(): the choices were saved (``ui.first_run_done`` is True now); when saving
            fails the settings view-model reports it and the assistant stays open.
    """

    detected = Signal()
    busy_changed = Signal(bool)
    finished = Signal()

    def __init__(
        self,
        settings_vm: SettingsViewModel,
        gpu: GpuProvider,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        cpu_preset: VramPreset | None = None,
        cpu_seconds: float = 0.0,
    ) -> None:
        super().__init__(parent)
        self._settings_vm = settings_vm
        self._gpu = gpu
        #: The preset for PCs without an NVIDIA card: its models are saved with ``--cpu``.
        self.cpu_preset = cpu_preset
        #: About how many seconds one picture takes with it (measured; 0.0 unknown).
        self.cpu_seconds = cpu_seconds
        self._action = AsyncAction("first-run", tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)
        current = settings_vm.current
        self.language = current.ui.language
        level = current.safety.level
        self.safety_level = level if level in FIRST_RUN_LEVELS else "youth"
        self.ui_mode = current.ui.ui_mode
        self.locations: dict[str, str] = {
            "ollama": current.ollama.path,
            "comfyui": current.comfyui.path,
            "swarmui": current.swarmui.path,
            "kohya": current.training.kohya_dir,
        }
        self.urls: dict[str, str] = {
            name: getattr(current, name).url if getattr(current, name).mode == "remote" else ""
            for name in URL_BACKENDS
        }
        self.demo = current.demo_mode
        self._demo_touched = False
        self.comfy_args = current.comfyui.launch_args
        #: Start ComfyUI with ``--cpu`` (offered when no NVIDIA card is found).
        self.comfy_cpu = CPU_FLAG in comfy_launch_args(self.comfy_args)
        self._cpu_touched = False
        self.detections: dict[str, Detection] = {}
        self.gpu: GpuSnapshot | None = None
        self._pending = False

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def nothing_found(self) -> bool:
        """True after a detection that found none of the AI backends."""
        return bool(self.detections) and not any(
            self.detections[name].found for name in AI_BACKENDS if name in self.detections
        )

    @property
    def no_nvidia(self) -> bool:
        """True after a detection that found no NVIDIA graphics card."""
        return bool(self.detections) and (self.gpu is None or not self.gpu.gpus)

    @property
    def uses_cpu_preset(self) -> bool:
        """Finish saves the CPU preset's models: ComfyUI runs on the processor."""
        return self.comfy_cpu and self.cpu_preset is not None

    def set_comfy_cpu(self, cpu: bool) -> None:
        """Start ComfyUI on the processor (``--cpu``), with the CPU preset's models."""
        self.comfy_cpu = cpu
        self._cpu_touched = True

    def _launch_args(self) -> str:
        """The launch arguments with ``--cpu`` added or taken out (the rest kept as typed)."""
        others = _CPU_TOKEN.sub(" ", f" {self.comfy_args} ").strip()
        return f"{CPU_FLAG} {others}".strip() if self.comfy_cpu else others

    def set_location(self, name: str, value: str) -> None:
        """Set the program or folder of ``name`` (as "Browse…" found it); detects again."""
        self.locations[name] = value.strip()
        self.detect()

    @staticmethod
    def default_port(name: str) -> int:
        """The port ``name`` listens on unless told otherwise (for example addresses)."""
        return DEFAULT_PORTS[name]

    def set_url(self, name: str, value: str) -> None:
        """Set the server URL of ``name`` (empty = start it on this computer); detects again."""
        self.urls[name] = value.strip()
        self.detect()

    def set_demo(self, demo: bool) -> None:
        """Use the demo backends (simulators) instead of real servers."""
        self.demo = demo
        self._demo_touched = True

    # ------------------------------------------------------------------ settings
    def _backend_changes(self, name: str) -> dict[str, Any]:
        url = self.urls.get(name, "")
        changes: dict[str, Any] = {f"{name}.path": self.locations.get(name, "")}
        changes[f"{name}.mode"] = "remote" if url else "managed"
        if url:
            changes[f"{name}.url"] = url
        return changes

    def changes(self) -> dict[str, Any]:
        """Every setting the assistant saves, by dotted name."""
        changes: dict[str, Any] = {
            "ui.language": self.language,
            "ui.ui_mode": self.ui_mode,
            "safety.level": self.safety_level,
            "training.kohya_dir": self.locations.get("kohya", ""),
            "demo_mode": self.demo,
            "comfyui.launch_args": self._launch_args(),
        }
        for name in URL_BACKENDS:
            changes.update(self._backend_changes(name))
        if self.cpu_preset is not None and self.uses_cpu_preset:
            roles = {f.name for f in dataclasses.fields(ModelRoles)}
            for role, model in self.cpu_preset.roles.items():
                if role in roles:
                    changes[f"roles.{role}"] = model
        found = self.detections
        swarm = bool(self.urls.get("swarmui")) or found.get("swarmui", _MISSING).found
        comfy = bool(self.urls.get("comfyui")) or found.get("comfyui", _MISSING).found
        if comfy and not swarm:  # only ComfyUI here: it runs the workflows itself
            changes["image_engine"] = "comfyui"
        return changes

    def candidate(self) -> Settings:
        """The settings as they would be saved (for detection); falls back on bad input."""
        settings = self._settings_vm.current
        changes = {k: v for k, v in self.changes().items() if not k.startswith("ui.")}
        changes["demo_mode"] = False  # detect the real backends, not the simulators
        replaced: dict[str, Any] = {}
        for dotted, value in changes.items():
            section, _, leaf = dotted.partition(".")
            if leaf:
                base = replaced.get(section, getattr(settings, section))
                replaced[section] = dataclasses.replace(base, **{leaf: value})
            else:
                replaced[section] = value
        return dataclasses.replace(settings, **replaced)

    # ------------------------------------------------------------------ actions
    def detect(self) -> None:
        """Look for the backends and the GPU in a worker thread; ``detected`` follows."""
        if self._action.busy:
            self._pending = True
            return
        self._action.start(self._detect(), name="first-run-detect", done=self._detected, catch=())

    async def _detect(self) -> tuple[dict[str, Detection], GpuSnapshot | None]:
        while True:
            self._pending = False
            candidate = self.candidate()
            found = await asyncio.to_thread(self._detect_sync, candidate)
            if not self._pending:
                return found

    def _detected(self, found: tuple[dict[str, Detection], GpuSnapshot | None]) -> None:
        detections, gpu = found
        self.detections, self.gpu = detections, gpu
        if not self._demo_touched:
            self.demo = self.nothing_found
        if not self._cpu_touched and self.no_nvidia:
            self.comfy_cpu = True  # offered, ticked: without it ComfyUI cannot start here
        log.info(
            "First run: found %s",
            ", ".join(n for n, d in detections.items() if d.found) or "no backends",
        )
        self.detected.emit()

    def _detect_sync(self, settings: Settings) -> tuple[dict[str, Detection], GpuSnapshot | None]:
        found = detect(settings)
        return {name: found[name] for name in DETECTED if name in found}, self._gpu.snapshot()

    def finish(self) -> bool:
        """Save every choice and mark the assistant as done; False when saving failed."""
        changes = {**self.changes(), "ui.first_run_done": True}
        if not self._settings_vm.apply(changes):
            return False
        log.info("First-run assistant finished (demo backends: %s)", self.demo)
        self.finished.emit()
        return True

    async def shutdown(self) -> None:
        """Stop a running detection."""
        await self._action.shutdown()


_MISSING = Detection("", "", False, "")
