"""The observable state of a supervised backend: current state, message, ordered listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from ..events import BackendState, BackendStateChanged

log = logging.getLogger(__name__)

StateListener = Callable[[BackendStateChanged], None]


class StateNotifier:
    """Holds a backend's state and reports every change, in order, to its listeners.

    Args:
        backend: the backend id put into each :class:`BackendStateChanged`.
        on_state: an optional first listener.
    """

    def __init__(self, backend: str, on_state: StateListener | None = None) -> None:
        self._backend = backend
        self._state = BackendState.stopped
        self._message = ""
        self._message_key = ""
        self._message_params: dict[str, str] = {}
        self._listeners: list[StateListener] = [on_state] if on_state else []

    @property
    def state(self) -> BackendState:
        """The current state."""
        return self._state

    @property
    def message(self) -> str:
        """The user-facing reason that came with the current state (English)."""
        return self._message

    @property
    def message_key(self) -> str:
        """The catalogue key of :attr:`message` ("" when it has none)."""
        return self._message_key

    @property
    def message_params(self) -> Mapping[str, str]:
        """The parameters of :attr:`message_key`."""
        return dict(self._message_params)

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    async def wait_for_state(self, *states: BackendState) -> BackendState:
        """Wait until the state is one of ``states`` (bound it with ``asyncio.timeout``)."""
        if self._state in states:
            return self._state
        future: asyncio.Future[BackendState] = asyncio.get_running_loop().create_future()

        def listener(event: BackendStateChanged) -> None:
            if event.state in states and not future.done():
                future.set_result(event.state)

        remove = self.add_state_listener(listener)
        try:
            return await future
        finally:
            remove()

    def _set_state(
        self,
        state: BackendState,
        message: str = "",
        *,
        key: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        """Move to ``state``; ``message`` in English, ``key``/``params`` for the window."""
        if state is self._state and message == self._message:
            return
        self._state, self._message = state, message
        self._message_key = key
        self._message_params = {name: str(value) for name, value in (params or {}).items()}
        log.info("%s: %s %s", self._backend, state.value, message)
        event = BackendStateChanged(
            self._backend, state, message, key, tuple(self._message_params.items())
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("state listener %r failed", listener)
