"""A backend reached by URL (a school GPU server): nothing is started, health is watched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from ..errors import BackendUnavailable
from ..events import BackendState
from .process_state import StateListener, StateNotifier
from .process_types import Probe

log = logging.getLogger(__name__)


class RemoteBackend(StateNotifier):
    """Health and reconnect for a server we do not own.

    ``ensure_ready`` probes the URL (retrying briefly); once the server answered, a monitor
    task re-probes it every ``check_interval`` seconds and moves the state between ready and
    failed, so the status light shows a lost connection and its recovery.
    """

    def __init__(
        self,
        name: str,
        display_name: str,
        url: str,
        probe: Probe,
        *,
        on_state: StateListener,
        connect_within: float = 5.0,
        check_interval: float = 5.0,
        retry_interval: float = 0.25,
    ) -> None:
        super().__init__(name, on_state)
        self.name = name
        self.display_name = display_name
        self.url = url
        self._probe = probe
        self._connect_within = connect_within
        self._check_interval = check_interval
        self._retry_interval = retry_interval
        self._message = f"{display_name} at {url} was not contacted yet."
        self._monitor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def tail(self) -> Sequence[str]:
        """Remote servers have no local output."""
        return ()

    def is_ready(self) -> bool:
        """True while the server answered its last check."""
        return self._state is BackendState.ready

    def _set(self, state: BackendState, message: str, key: str = "") -> None:
        params = {"backend": self.display_name, "url": self.url} if key else None
        self._set_state(state, message, key=key, params=params)

    async def _answers(self) -> bool:
        try:
            return await asyncio.wait_for(self._probe(), timeout=max(self._retry_interval, 2.0))
        except (OSError, TimeoutError, BackendUnavailable):
            return False

    async def ensure_ready(self) -> None:
        """Return when the server answers.

        Raises:
            BackendUnavailable: it did not answer within ``connect_within`` seconds.
        """
        if self.is_ready():
            return
        async with self._lock:
            if self.is_ready():  # another caller connected while we waited
                return
            self._set(BackendState.starting, f"Connecting to {self.display_name} at {self.url}…")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._connect_within
            while not await self._answers():
                if loop.time() >= deadline:
                    message = (
                        f"{self.display_name} at {self.url} does not answer. Check the address "
                        "in Settings and that the server is running."
                    )
                    self._set(BackendState.failed, message, "error.remote_silent")
                    raise BackendUnavailable(
                        message,
                        detail=f"no answer from {self.url}",
                        key="error.remote_silent",
                        params={"backend": self.display_name, "url": self.url},
                    )
                await asyncio.sleep(self._retry_interval)
            self._set(BackendState.ready, f"Connected to {self.display_name} at {self.url}.")
            if self._monitor is None or self._monitor.done():
                self._monitor = asyncio.get_running_loop().create_task(
                    self._watch(), name=f"remote-{self.name}-monitor"
                )

    async def _watch(self) -> None:
        while True:
            interval = (
                self._check_interval
                if self._state is BackendState.ready
                else self._retry_interval * 4
            )
            await asyncio.sleep(interval)
            if await self._answers():
                self._set(BackendState.ready, f"Connected to {self.display_name} at {self.url}.")
            else:
                self._set(
                    BackendState.failed,
                    f"Lost the connection to {self.display_name} at {self.url}; reconnecting…",
                    "backend.msg.connection_lost",
                )

    async def start(self) -> None:
        """Same as :meth:`ensure_ready` (nothing to start)."""
        await self.ensure_ready()

    async def restart(self) -> None:
        """Forget the connection and connect again."""
        await self.stop()
        await self.ensure_ready()

    async def stop(self, grace: float = 0.0) -> None:
        """Stop watching the server (it keeps running: it is not ours)."""
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        self._set(BackendState.stopped, f"Not connected to {self.display_name}.")
