"""Pull an Ollama model with progress, speed, time left, pause and cancel.

Ollama downloads the layers itself and checks their digests; the app streams ``/api/pull``
(:meth:`~ai4artsed_desktop.backends.ollama.OllamaClient.pull`). Cancel and pause close the
stream: Ollama stops the download when its client goes away and keeps the layers it has, so
a paused pull continues where it was when it is asked for again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from ..events import PullProgress
from .progress import Listener, Meter, Phase, TransferControl

log = logging.getLogger(__name__)


class Puller(Protocol):
    """What a pull needs from an Ollama client (``OllamaClient`` has it)."""

    def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        """``/api/pull`` as a stream of :class:`PullProgress`."""
        ...


async def pull_model(
    client: Puller,
    name: str,
    *,
    control: TransferControl | None = None,
    listener: Listener | None = None,
) -> None:
    """Pull ``name`` until Ollama reports success.

    Raises:
        UserCancelled: cancelled (Ollama keeps the layers it has).
        BackendRequestError, BackendProtocolError, BackendUnavailable: Ollama refused the
            name, broke off, or cannot be reached.
    """
    control = control or TransferControl()
    meter = Meter(name, listener)
    done, total = 0, None
    while True:
        await control.wait_running()
        meter.restart(done)
        paused = False
        async with contextlib.aclosing(client.pull(name)) as events:
            async for event in events:
                control.check()
                done, total = event.completed, (event.total or None)
                meter.update(Phase.downloading, done, total)
                if control.paused:
                    paused = True
                    break
        if not paused:
            break
        meter.update(Phase.paused, done, total, force=True)
        log.info("Pull of %s paused at %d bytes", name, done)
    meter.update(Phase.done, done, total if total is not None else done, force=True)
