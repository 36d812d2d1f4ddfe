"""ParamsViewModel: the UI mode, the safety level shown, and the expert generation parameters.

Only in expert mode do the parameters reach a run: :meth:`ParamsViewModel.request_fields`
gives the ``values``, ``seed`` and ``loras`` of a :class:`~ai4artsed_desktop.pipeline.runner.
RunRequest`` (empty in kids and youth mode, so nothing hidden changes a run). ``values`` holds
only what the expert changed; everything else keeps the output's defaults.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...content.schema import InterceptionConfig, MediaType, OutputConfig, lora_fits
from ...content.schema import Route as OutputRoute
from ...pipeline.lora import LoraSpec
from ...pipeline.seeds import RANDOM_SEED_MAX, SEED_MAX
from ...settings import Settings
from ...tasks import TaskRegistry
from ...training.loras import TrainedLora, list_loras
from ..bindings import Binding
from .settings_vm import SettingsViewModel

log = logging.getLogger(__name__)

#: The parameters an expert may change, in display order ("size" is width and height).
PARAMS = ("size", "steps", "cfg", "seconds", "negative", "seed", "lora")
#: What SwarmUI's simple route takes (it has no mapping of its own).
SWARM_PARAMS = frozenset({"size", "steps", "cfg", "negative", "seed", "lora"})
#: Aspect ratios offered besides squares, at the output's default pixel count.
ASPECTS = ((4, 3), (3, 4), (16, 9), (9, 16))
SQUARES = (512, 768, 1024)
DEFAULT_LORA_STRENGTH = 0.8
#: The longest sound or piece of music an expert may ask for, in seconds.
MAX_SECONDS = 600.0

Size = tuple[int, int]


def applicable(output: OutputConfig | None) -> frozenset[str]:
    """The expert parameters that really reach ``output``'s generation."""
    if output is None:
        return frozenset()
    if output.route is OutputRoute.swarmui_t2i:
        return SWARM_PARAMS
    if output.route is not OutputRoute.comfyui:
        return frozenset()
    keys = set(output.mapping)
    found: set[str] = {k for k in ("steps", "cfg", "seconds", "negative", "seed") if k in keys}
    if output.video is not None:
        found.add("seconds")  # becomes the frame count (mapping key "frames")
    if {"width", "height"} <= keys:
        found.add("size")
    if output.media is MediaType.image:
        found.add("lora")
    return frozenset(found)


def _round64(value: float) -> int:
    return max(64, round(value / 64) * 64)


def size_presets(output: OutputConfig | None) -> list[Size]:
    """The output's default size first, then squares and a few aspect ratios (multiples of 64).

    Squares go up to 1.5 times the default side; the aspect ratios keep its pixel count.
    """
    if output is None or "width" not in output.defaults or "height" not in output.defaults:
        return []
    width, height = int(output.defaults["width"]), int(output.defaults["height"])
    presets: list[Size] = [(width, height)]
    side = math.sqrt(width * height)
    for square in SQUARES:
        if square <= side * 1.5:
            presets.append((square, square))
    for w_ratio, h_ratio in ASPECTS:
        w = _round64(side * math.sqrt(w_ratio / h_ratio))
        presets.append((w, _round64(width * height / w)))
    return list(dict.fromkeys(presets))


@dataclass(frozen=True)
class LoraChoice:
    """A trained LoRA the expert may add (file name as ComfyUI lists it)."""

    file: str
    trigger: str = ""
    family: str = ""


class ParamsViewModel(QObject):
    """UI mode, safety level and the expert parameters of the selected output.

    Signals:
        mode_changed(str): the UI mode (kids / youth / expert) changed.
        level_changed(str): the safety level changed.
        output_changed(): another output (other parameters, defaults and sizes).
        values_changed(): a parameter value, the seed or the LoRA choice changed.
        loras_changed(): the list of trained LoRAs was read again.
    """

    mode_changed = Signal(str)
    level_changed = Signal(str)
    output_changed = Signal()
    values_changed = Signal()
    loras_changed = Signal()

    def __init__(
        self,
        settings_vm: SettingsViewModel,
        *,
        default_lora_dir: Path | None = None,
        tasks: TaskRegistry | None = None,
        rng: random.Random | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings_vm = settings_vm
        self._default_lora_dir = default_lora_dir
        self._tasks = tasks or TaskRegistry("create-params")
        self._reading: asyncio.Task[None] | None = None
        self._rng = rng or random.Random()
        settings = settings_vm.current
        self._mode = settings.ui.ui_mode
        self._level = settings.safety.level
        self._output: OutputConfig | None = None
        self._config: InterceptionConfig | None = None
        self._overrides: dict[str, dict[str, object]] = {}  # output id -> changed values
        self._seed: int | None = None
        self._seed_locked = False
        self._trained: list[LoraChoice] = []
        self._lora = ""
        self._lora_strength = DEFAULT_LORA_STRENGTH
        self._binding = Binding(settings_vm.settings_changed, self._on_settings_changed)

    # ------------------------------------------------------------------ mode and level
    @property
    def ui_mode(self) -> str:
        return self._mode

    @property
    def kids(self) -> bool:
        """Kids mode: no model names, no technical parameters, simpler labels."""
        return self._mode == "kids"

    @property
    def expert(self) -> bool:
        return self._mode == "expert"

    @property
    def safety_level(self) -> str:
        return self._level

    # ------------------------------------------------------------------ the output
    @property
    def output(self) -> OutputConfig | None:
        return self._output

    @property
    def seconds_limit(self) -> float:
        """The longest length the output takes: a film's longest clip, else ten minutes."""
        output = self._output
        if output is None or output.video is None:
            return MAX_SECONDS
        fps = output.defaults.get("fps")
        if not isinstance(fps, int | float) or isinstance(fps, bool) or fps <= 0:
            return MAX_SECONDS
        step = output.video.frame_step
        longest = max(1, (output.video.max_frames - 1) // step) * step
        return float(math.floor(longest / fps))

    @property
    def params(self) -> frozenset[str]:
        """The parameters the selected output takes (see :data:`PARAMS`)."""
        return applicable(self._output)

    @property
    def sizes(self) -> list[Size]:
        return size_presets(self._output)

    def set_output(
        self, output: OutputConfig | None, config: InterceptionConfig | None = None
    ) -> None:
        """Show the parameters of ``output`` (run with ``config``, whose LoRAs always apply)."""
        if output is self._output and config is self._config:
            return
        self._output, self._config = output, config
        if self._lora and self._lora not in {c.file for c in self.lora_choices}:
            self._lora = ""  # this output takes no LoRA, or none of that family
        self.output_changed.emit()

    def default(self, key: str) -> object:
        """The output's default of ``key`` (``size`` as a (width, height) pair); None if none."""
        defaults = self._output.defaults if self._output else {}
        if key == "size":
            if "width" in defaults and "height" in defaults:
                return (int(defaults["width"]), int(defaults["height"]))
            return None
        return defaults.get(key)

    def value(self, key: str) -> object:
        """The value of ``key`` for the selected output: the expert's change or the default."""
        changed = self._changes()
        if key == "size":
            if "width" in changed:
                return (int(str(changed["width"])), int(str(changed["height"])))
            return self.default("size")
        return changed.get(key, self.default(key))

    def set_value(self, key: str, value: object) -> None:
        """Change a parameter of the selected output (a default value removes the change).

        Raises:
            ValueError: ``key`` is not a parameter of the selected output.
        """
        if key not in self.params or key in ("seed", "lora"):
            raise ValueError(f"{key} is not a parameter of this output")
        if self._output is None or value == self.value(key):
            return
        changes = self._overrides.setdefault(self._output.id, {})
        pairs: dict[str, object]
        if key == "size":
            if not isinstance(value, tuple) or len(value) != 2:
                raise ValueError(f"a size is a (width, height) pair, not {value!r}")
            pairs = {"width": int(value[0]), "height": int(value[1])}
        else:
            pairs = {key: value}
        if value == self.default(key):
            for name in pairs:
                changes.pop(name, None)
        else:
            changes.update(pairs)
        self.values_changed.emit()

    def reset(self) -> None:
        """Forget every change of the selected output (its defaults apply again)."""
        if self._output is not None and self._overrides.pop(self._output.id, {}):
            self.values_changed.emit()

    def _changes(self) -> dict[str, object]:
        return self._overrides.get(self._output.id, {}) if self._output else {}

    # ------------------------------------------------------------------ seed
    @property
    def seed(self) -> int | None:
        """The seed shown: the locked one, else the last run's (None before any run)."""
        return self._seed

    @property
    def seed_locked(self) -> bool:
        return self._seed_locked

    def set_seed(self, seed: int) -> None:
        """Type a seed (it is used while the seed is locked).

        Raises:
            ValueError: not within 0 .. 2**64 - 1.
        """
        if not 0 <= seed <= SEED_MAX:
            raise ValueError(f"seed {seed} is out of range")
        if seed != self._seed:
            self._seed = seed
            self.values_changed.emit()

    def set_seed_locked(self, locked: bool) -> None:
        """Lock: every run uses :attr:`seed` (a new random one when there is none yet)."""
        if locked == self._seed_locked:
            return
        self._seed_locked = locked
        if locked and self._seed is None:
            self._seed = self._rng.randint(0, RANDOM_SEED_MAX)
        self.values_changed.emit()

    def note_seed(self, seed: int | None) -> None:
        """A run used ``seed``: show it (so "lock" keeps this picture's seed)."""
        if seed is not None and not self._seed_locked and seed != self._seed:
            self._seed = seed
            self.values_changed.emit()

    # ------------------------------------------------------------------ LoRAs
    @property
    def config_loras(self) -> list[LoraSpec]:
        """The rule's own LoRAs: they always apply, at the rule's strength."""
        refs = self._config.loras if self._config else ()
        family = self._output.lora_family if self._output else ""
        return [LoraSpec.from_ref(ref) for ref in refs if lora_fits(ref.family, family)]

    @property
    def lora_choices(self) -> list[LoraChoice]:
        """Trained LoRAs that may be added, less those the rule uses already.

        Only LoRAs of the output's base-model family (or of an unknown one) are offered.
        """
        used = {spec.file for spec in self.config_loras}
        family = self._output.lora_family if self._output else ""
        return [c for c in self._trained if c.file not in used and lora_fits(c.family, family)]

    @property
    def lora(self) -> str:
        """The added LoRA's file ("" for none)."""
        return self._lora

    @property
    def lora_strength(self) -> float:
        return self._lora_strength

    def set_lora(self, file: str, strength: float | None = None) -> None:
        """Add the trained LoRA ``file`` ("" for none) at ``strength``.

        Raises:
            ValueError: ``file`` is not among :attr:`lora_choices`, or the output takes none.
        """
        if file and ("lora" not in self.params or file not in {c.file for c in self.lora_choices}):
            raise ValueError(f"LoRA {file} cannot be added here")
        new_strength = self._lora_strength if strength is None else float(strength)
        if (file, new_strength) != (self._lora, self._lora_strength):
            self._lora, self._lora_strength = file, new_strength
            self.values_changed.emit()

    def lora_dir(self) -> Path | None:
        """The folder of trained LoRAs (the training setting, else the app's default)."""
        configured = self._settings_vm.current.training.lora_dir.strip()
        return Path(configured).expanduser() if configured else self._default_lora_dir

    def reload_loras(self) -> None:
        """Read the trained LoRAs again in the background (``loras_changed`` when done)."""
        if self._reading is not None and not self._reading.done():
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a widget test without qasync): nothing to read
            log.debug("No event loop: the LoRA folder is not read")
            return
        self._reading = self._tasks.spawn(self.refresh_loras(), name="create-list-loras")

    async def refresh_loras(self) -> None:
        """Read the trained LoRAs from the LoRA folder (in a worker thread)."""
        folder = self.lora_dir()
        found: list[TrainedLora] = []
        if folder is not None:
            try:
                found = await asyncio.to_thread(list_loras, folder)
            except OSError as exc:
                log.info("Could not list the LoRAs in %s: %s", folder, exc)
        choices = [LoraChoice(lora.file.name, lora.trigger, lora.family) for lora in found]
        if choices != self._trained:
            self._trained = choices
            if self._lora and self._lora not in {c.file for c in choices}:
                self._lora = ""
                self.values_changed.emit()
            self.loras_changed.emit()

    # ------------------------------------------------------------------ the request
    def request_fields(self) -> tuple[dict[str, object], int | None, tuple[LoraSpec, ...]]:
        """``values``, ``seed`` and ``loras`` for the next run (nothing unless expert mode)."""
        if not self.expert or self._output is None:
            return {}, None, ()
        params = self.params
        values = dict(self._changes())
        seed = self._seed if self._seed_locked and "seed" in params else None
        loras: tuple[LoraSpec, ...] = ()
        chosen = next((c for c in self.lora_choices if c.file == self._lora), None)
        if chosen is not None and "lora" in params:
            strength = self._lora_strength
            loras = (LoraSpec(chosen.file, strength, strength, chosen.trigger),)
        return values, seed, loras

    async def shutdown(self) -> None:
        """Stop listening to the settings and stop reading the LoRA folder."""
        self._binding.disconnect()
        task, self._reading = self._reading, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _on_settings_changed(self, settings: Settings) -> None:
        if settings.ui.ui_mode != self._mode:
            self._mode = settings.ui.ui_mode
            self.mode_changed.emit(self._mode)
        if settings.safety.level != self._level:
            self._level = settings.safety.level
            self.level_changed.emit(self._level)
