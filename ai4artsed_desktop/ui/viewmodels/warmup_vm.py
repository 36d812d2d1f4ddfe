"""WarmupViewModel: "Prepare lesson" (warm the models) and "Release" for the teacher."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from PySide6.QtCore import QObject, Signal

from ...content.schema import ContentLibrary, OutputConfig
from ...pipeline.runner import RunServices
from ...pipeline.warmup import (
    DEFAULT_KEEP_ALIVE,
    WarmupEvent,
    WarmupState,
    is_warmable,
    prepare_lesson,
    release,
)
from ...tasks import TaskRegistry
from ..async_action import AsyncAction
from ..i18n import Translator, user_message

log = logging.getLogger(__name__)


class WarmupViewModel(QObject):
    """Runs the warm-up and the release; keeps the list of what is warm.

    Signals:
        progress(str): one line about what happens now (translated).
        warm_changed(list): the names of what is warm now (model names, output names).
        busy_changed(bool): a warm-up or release runs.
    """

    progress = Signal(str)
    warm_changed = Signal(list)
    busy_changed = Signal(bool)

    def __init__(
        self,
        services: RunServices | None,
        content: ContentLibrary,
        translator: Translator,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        keep_alive: str = DEFAULT_KEEP_ALIVE,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._content = content
        self._tr = translator
        self._action = AsyncAction("warmup", tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)
        self._keep_alive = keep_alive
        self._warm: dict[str, str] = {}

    @property
    def available(self) -> bool:
        """False without run services (the panel then says why)."""
        return self._services is not None

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def warm(self) -> list[str]:
        return list(self._warm.values())

    @property
    def outputs(self) -> list[OutputConfig]:
        """The outputs a warm-up can load (local image and sound servers)."""
        return [o for o in self._content.sorted_outputs() if is_warmable(o)]

    def start(self, output_ids: Sequence[str]) -> bool:
        """Warm the interception model and ``output_ids``; False when busy or unavailable."""
        if self._services is None or self.busy:
            return False
        events = prepare_lesson(self._services, list(output_ids), self._keep_alive)
        self._run(events, "lesson-warmup")
        return True

    def release(self) -> bool:
        """Unload every model; False when busy or unavailable."""
        if self._services is None or self.busy:
            return False
        self._run(release(self._services), "lesson-release")
        return True

    async def shutdown(self) -> None:
        """Cancel a running warm-up or release."""
        await self._action.shutdown()

    # ------------------------------------------------------------------ internals
    def _run(self, events: AsyncGenerator[WarmupEvent, None], name: str) -> None:
        self._action.start(
            self._consume(events),
            name=name,
            done=lambda _none: self.progress.emit(self._tr.tr("warmup.done")),
            catch=(),
        )

    async def _consume(self, events: AsyncGenerator[WarmupEvent, None]) -> None:
        async with aclosing(events) as stream:
            async for event in stream:
                self._handle(event)

    def _label(self, event: WarmupEvent) -> str:
        if event.kind == "output":
            output = self._content.outputs.get(event.target)
            if output is not None:
                return output.name.get(self._tr.language)
        if event.kind == "model" and event.target in ("interception", "safety"):
            return self._tr.tr(f"warmup.{event.target}_model")
        return event.target

    def _handle(self, event: WarmupEvent) -> None:
        label = self._label(event)
        key = f"warmup.{event.kind}.{event.target}"
        if event.state is WarmupState.warm:
            self._warm[key] = label
            self.warm_changed.emit(self.warm)
        elif event.state is WarmupState.released:
            if event.kind == "backend":  # the image server dropped every output
                self._warm = {k: v for k, v in self._warm.items() if ".output." not in k}
            self._warm.pop(key, None)
            self.warm_changed.emit(self.warm)
        reason = user_message(self._tr, event.key, event.params, event.message)
        message = self._tr.tr(f"warmup.state_{event.state.value}", name=label, reason=reason)
        self.progress.emit(message)
