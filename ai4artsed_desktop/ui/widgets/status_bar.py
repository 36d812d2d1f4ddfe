"""StatusBar: one light per backend, GPU/VRAM and RAM, all with accessible names."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QHBoxLayout, QLabel, QStatusBar, QWidget

from ...events import BackendState
from ..formatting import gpu_line, ram_text, vram_text
from ..i18n import Translator, user_message
from ..viewmodels.status_vm import StatusViewModel

STATE_COLOURS: dict[BackendState, str] = {
    BackendState.ready: "#2f9e5b",
    BackendState.starting: "#d99a1e",
    BackendState.installing: "#d99a1e",
    BackendState.restarting: "#d99a1e",
    BackendState.failed: "#d2453b",
    BackendState.crashed: "#d2453b",
    BackendState.stopped: "#8a9099",
    BackendState.not_installed: "#c8ccd2",
}

BACKEND_NAMES = {"ollama": "Ollama", "swarmui": "SwarmUI", "comfyui": "ComfyUI"}


def backend_display_name(name: str) -> str:
    return BACKEND_NAMES.get(name, name)


class BackendLight(QWidget):
    """A coloured dot, the backend's name and its state in words."""

    def __init__(self, name: str, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self.backend = name
        self._tr = translator
        self._state = BackendState.stopped
        self._message = ""
        self._key = ""
        self._params: dict[str, str] = {}
        self.dot = QLabel("●")
        self.dot.setObjectName("backendDot")
        self.label = QLabel()
        self.label.setObjectName("backendLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 10, 0)
        layout.setSpacing(5)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.set_state(BackendState.stopped, "")

    @property
    def state(self) -> BackendState:
        return self._state

    @property
    def colour(self) -> str:
        return STATE_COLOURS[self._state]

    def set_state(
        self,
        state: BackendState,
        message: str,
        key: str = "",
        params: Mapping[str, str] | None = None,
    ) -> None:
        """``message`` is the backend's reason; with ``key`` it shows in the UI language."""
        self._state, self._message = state, message
        self._key, self._params = key, dict(params or {})
        self.dot.setStyleSheet(f"color: {self.colour};")
        self.retranslate()

    def retranslate(self) -> None:
        state_text = self._tr.tr(f"backend.state.{self._state.value}")
        name = backend_display_name(self.backend)
        self.label.setText(f"{name}: {state_text}")
        message = user_message(self._tr, self._key, self._params, self._message)
        tooltip = message or self._tr.tr(f"backend.state_help.{self._state.value}")
        self.setToolTip(f"{name} — {state_text}\n{tooltip}")
        self.setAccessibleName(self._tr.tr("status.backend_accessible", name=name))
        self.setAccessibleDescription(f"{state_text}. {message}".strip())


class StatusBar(QStatusBar):
    """The window's status bar, bound to a :class:`StatusViewModel`."""

    def __init__(
        self, status: StatusViewModel, translator: Translator, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._vm = status
        self._tr = translator
        self.setSizeGripEnabled(False)
        self.lights: dict[str, BackendLight] = {}
        for name in status.backends:
            self._add_light(name)
        self.gpu_label = QLabel()
        self.gpu_label.setObjectName("gpuStatus")
        self.ram_label = QLabel()
        self.ram_label.setObjectName("ramStatus")
        self.addPermanentWidget(self.gpu_label)
        self.addPermanentWidget(self.ram_label)
        status.backend_states_changed.connect(self._on_status_backend_states_changed)
        status.gpu_changed.connect(self._update_resources)
        status.ram_changed.connect(self._update_resources)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def _add_light(self, name: str) -> BackendLight:
        light = BackendLight(name, self._tr, self)
        self.lights[name] = light
        self.addWidget(light)
        return light

    def _on_status_backend_states_changed(self, states: dict[str, BackendState]) -> None:
        for name, state in states.items():
            light = self.lights.get(name) or self._add_light(name)
            key, params = self._vm.backend_message_key(name)
            light.set_state(state, self._vm.backend_message(name), key, params)

    def _update_resources(self, _value: object = None) -> None:
        self.gpu_label.setText(vram_text(self._tr, self._vm))
        gpu = self._vm.gpu
        lines = [gpu_line(self._tr, g) for g in gpu.gpus] if gpu else []
        self.gpu_label.setToolTip("\n".join(lines) or self.gpu_label.text())
        self.gpu_label.setAccessibleName(self._tr.tr("status.gpu_accessible"))
        self.gpu_label.setAccessibleDescription(self.gpu_label.text())
        self.ram_label.setText(ram_text(self._tr, self._vm.ram))
        self.ram_label.setAccessibleName(self._tr.tr("status.ram_accessible"))
        self.ram_label.setAccessibleDescription(self.ram_label.text())

    def retranslate(self) -> None:
        self.setAccessibleName(self._tr.tr("status.accessible"))
        for light in self.lights.values():
            light.retranslate()
        self._update_resources()
