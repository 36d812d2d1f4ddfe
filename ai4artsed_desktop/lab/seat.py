"""The seat: a student PC's client of the lab console (asyncio, no Qt).

The seat connects out to its console, checks the console's certificate against the pinned
fingerprint *before sending anything*, proves its secret, and then answers commands with
its :class:`~ai4artsed_desktop.lab.seat_actions.SeatActions`. It pushes its status when it
changes and as a heartbeat, and reconnects by itself with backoff when the link drops.

Commands are refused unless they come on that authenticated link, carry an id not seen
before (a known id is answered from the journal, never run twice) and a timestamp within
:data:`REPLAY_WINDOW_S` of the console's clock (the offset is measured at connect time, so
lab PCs with wrong clocks still work).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import enum
import hashlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from ..errors import AppError
from ..profiles import ProfileError
from . import protocol
from .crypto import (
    PairingFailed,
    PakeSide,
    auth_proof,
    b64,
    check_mac,
    client_context,
    fingerprint,
    mac,
    pairing_proof,
    pairing_transcript,
    seat_secret,
    unb64,
)
from .protocol import (
    FrameTooLarge,
    LabError,
    ProtocolError,
    make,
    read_message,
    shut,
    write_message,
)
from .seat_actions import SeatActions, SeatStatus
from .state import CommandJournal, JournalEntry, SeatState, now

log = logging.getLogger(__name__)

REPLAY_WINDOW_S: Final = 600.0
#: Commands that change nothing: never journaled, a resend simply runs again.
READ_ONLY_ACTIONS: Final = frozenset({"status", "blocked_attempts", "export_portfolio"})
#: Commands journaled *before* they run, so a seat crash in the middle never runs them twice.
#: (Applying a profile or a pause twice gives the same state; they are journaled after.)
GUARDED_ACTIONS: Final = frozenset({"wipe", "prepare_lesson"})
CONNECT_TIMEOUT_S: Final = 10.0


class SeatLink(enum.StrEnum):
    """The seat's connection state, for the seat's own screen."""

    UNPAIRED = "unpaired"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"  # the console cannot be reached; retrying
    REFUSED = "refused"  # wrong certificate or the console does not know this seat; retrying


class _Link:
    """The authenticated connection, the console's clock offset and heartbeat."""

    def __init__(
        self, writer: asyncio.StreamWriter, clock_offset: float, console_heartbeat: float
    ) -> None:
        self.writer = writer
        self.clock_offset = clock_offset
        # silent for three console heartbeats (pings): the link is dead, reconnect
        self.silence_limit = 3 * min(max(console_heartbeat, 0.05), 300.0)
        self._lock = asyncio.Lock()

    async def send(self, message: Mapping[str, Any]) -> None:
        async with self._lock:
            await write_message(self.writer, message)


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """TLS connection to the console and the fingerprint of the certificate it showed."""
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        reader, writer = await asyncio.open_connection(
            host, port, ssl=client_context(), limit=protocol.MAX_FRAME + 64
        )
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not der:
        writer.transport.abort()
        raise LabError("The console did not show a certificate.", key="error.lab.no_certificate")
    return reader, writer, fingerprint(der)


async def pair_with_console(
    data_dir: Path, host: str, port: int, code: str, seat_name: str
) -> SeatState:
    """Pair with the console at ``host:port`` using the class code; saves the pairing.

    Raises:
        LabError: the console cannot be reached, the code is wrong (or the console is not
            the teacher's), or the console refused (pairing locked, bad name).
    """
    try:
        reader, writer, fp = await _open(host, port)
    except (OSError, TimeoutError) as exc:
        raise LabError(
            f"The console at {host}:{port} cannot be reached. Check the address and that "
            "the console page is open on the teacher PC.",
            detail=str(exc),
            key="error.lab.unreachable",
            params={"address": f"{host}:{port}"},
        ) from exc
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            state = await _pair(reader, writer, fp, host, port, code, seat_name)
    except (PairingFailed, ProtocolError) as exc:
        raise LabError(
            "The class code does not match this console. Check the code on the teacher's "
            "screen and try again.",
            detail=str(exc),
            key="error.lab.wrong_code",
        ) from exc
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise LabError(
            "The console closed the connection during pairing. Try again.",
            detail=str(exc),
            key="error.lab.pairing_dropped",
        ) from exc
    finally:
        await shut(writer)
    state.save(data_dir)
    SeatState.forget_journal(data_dir)
    return state


async def _pair(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    fp: bytes,
    host: str,
    port: int,
    code: str,
    seat_name: str,
) -> SeatState:
    hello = await read_message(reader, allowed=frozenset({"hello"}))
    pake = PakeSide(code, console=False)
    await write_message(writer, make("pair_start", seat_name=seat_name, pake=b64(pake.message)))
    reply = await read_message(reader, allowed=frozenset({"pair_reply", "error"}))
    if reply["type"] == "error":
        raise LabError(
            f"The console refused: {reply['error']}",
            key="error.lab.console_refused",
            params={"reason": reply["error"]},
        )
    console_message = unb64(reply["pake"])
    key = pake.finish(console_message)
    seat_id = reply["seat_id"]
    transcript = pairing_transcript(
        console_message, pake.message, seat_id, reply["class_id"], unb64(hello["nonce"])
    )
    check_mac(pairing_proof(key, "console", transcript, fp), reply["confirm"])
    await write_message(
        writer, make("pair_confirm", confirm=b64(pairing_proof(key, "seat", transcript, fp)))
    )
    done = await read_message(reader, allowed=frozenset({"pair_ok", "error"}))
    if done["type"] == "error":
        raise PairingFailed(done["error"])
    secret = seat_secret(key, seat_id, fp)
    check_mac(mac(secret, "pair ok"), done["confirm"])
    return SeatState(
        host=host,
        port=port,
        fingerprint=fp.hex(),
        class_id=reply["class_id"],
        seat_id=seat_id,
        seat_name=seat_name,
        secret=secret.hex(),
    )


class LabSeat:
    """A seat of the lab: pairs once, then stays connected to its console.

    Args:
        data_dir: where the pairing and the command journal live.
        actions: the app's implementation of what a console may ask.
        heartbeat_s: a status push at least this often (the console's offline detection
            uses three of them).
        status_poll_s: how often ``actions.status()`` is compared for a change.
        backoff_s: (first, largest) wait between reconnect attempts.
        on_link: called with the new :class:`SeatLink` whenever it changes.
    """

    def __init__(
        self,
        data_dir: Path,
        actions: SeatActions,
        *,
        heartbeat_s: float = 5.0,
        status_poll_s: float = 0.5,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        on_link: Callable[[SeatLink], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.actions = actions
        self.heartbeat_s = heartbeat_s
        self.status_poll_s = status_poll_s
        self.backoff_s = backoff_s
        self._on_link = on_link
        self._pairing = SeatState.load(self.data_dir)
        self._journal = CommandJournal(self.data_dir, REPLAY_WINDOW_S)
        self._link: _Link | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress: dict[str, list[asyncio.Task[None]]] = {}
        self._status_changed = asyncio.Event()
        self._closing = False
        self.state = SeatLink.UNPAIRED if self._pairing is None else SeatLink.OFFLINE
        self.last_error = ""

    @property
    def paired(self) -> bool:
        """True once the seat has a console."""
        return self._pairing is not None

    @property
    def pairing(self) -> SeatState | None:
        """The saved pairing (console address, seat id and name)."""
        return self._pairing

    async def pair(self, host: str, port: int, code: str, seat_name: str) -> None:
        """Pair with a console (see :func:`pair_with_console`); replaces any old pairing.

        Raises:
            LabError: with a message for the seat's screen.
        """
        self._pairing = await pair_with_console(self.data_dir, host, port, code, seat_name)
        self._journal = CommandJournal(self.data_dir, REPLAY_WINDOW_S)
        self._set_link(SeatLink.OFFLINE)

    def unpair(self) -> None:
        """Forget the console (the seat must pair again)."""
        SeatState.forget(self.data_dir)
        self._pairing = None
        self._journal = CommandJournal(self.data_dir, REPLAY_WINDOW_S)
        if self._link:
            self._link.writer.transport.abort()
        self._set_link(SeatLink.UNPAIRED)

    def closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closing

    def notify_status_changed(self) -> None:
        """Push the status now (call it from the app when something visible changed)."""
        self._status_changed.set()

    async def run(self) -> None:
        """Stay connected until :meth:`close`: connect, serve, back off, reconnect."""
        delay = self.backoff_s[0]
        while not self._closing:
            pairing = self._pairing
            if pairing is None:
                self._set_link(SeatLink.UNPAIRED)
                await self._wait(self.backoff_s[1])
                continue
            if self.state is not SeatLink.REFUSED:  # stays refused while it retries
                self._set_link(SeatLink.CONNECTING)
            try:
                served = await self._connect_and_serve(pairing)
            except Exception:  # a bug must not end the reconnect loop for the whole lesson
                log.exception("lab seat: the link failed unexpectedly; reconnecting")
                served = False
            if self.closing():
                break
            if served:
                delay = self.backoff_s[0]
            await self._wait(delay * random.uniform(0.8, 1.2))  # jitter only
            delay = min(delay * 2, self.backoff_s[1])

    async def close(self) -> None:
        """Disconnect and stop :meth:`run` (running commands are cancelled)."""
        self._closing = True
        self._status_changed.set()
        if self._link:
            self._link.writer.transport.abort()
        for task in [*self._running.values(), *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._running.values(), *self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ connection

    def _set_link(self, state: SeatLink) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_link:
            try:
                self._on_link(state)
            except Exception:
                log.exception("lab seat link callback failed")

    def _refused(self, reason: str) -> None:
        if reason != self.last_error:  # once per episode, not on every retry
            log.warning("lab seat: %s", reason)
        self.last_error = reason
        self._set_link(SeatLink.REFUSED)

    async def _wait(self, seconds: float) -> None:
        self._status_changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not self._closing:
                    await self._status_changed.wait()
                    self._status_changed.clear()

    async def _connect_and_serve(self, pairing: SeatState) -> bool:
        """One connection; True when it was authenticated (the backoff starts over)."""
        try:
            reader, writer, fp = await _open(pairing.host, pairing.port)
        except (OSError, TimeoutError, LabError) as exc:
            self.last_error = str(exc)
            self._set_link(SeatLink.OFFLINE)
            return False
        try:
            if fp.hex() != pairing.fingerprint:
                # Not our console (a fake, or the teacher reinstalled): say nothing at all.
                self._refused("the console's certificate is not the paired one")
                return False
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    link = await self._authenticate(reader, writer, pairing, fp)
            except (PairingFailed, ProtocolError) as exc:
                self._refused(f"the console refused or failed to prove itself: {exc}")
                return False
            self._link = link  # from here on close() cuts this link
            if self.closing():  # close() came while connecting: do not start serving
                return True
            self._set_link(SeatLink.ONLINE)
            await self._serve(reader, link)
            return True
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.last_error = str(exc)
            return False
        finally:
            self._link = None
            await shut(writer)
            if self.state in (SeatLink.ONLINE, SeatLink.CONNECTING) and not self._closing:
                self._set_link(SeatLink.OFFLINE)

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pairing: SeatState,
        fp: bytes,
    ) -> _Link:
        hello = await read_message(reader, allowed=frozenset({"hello"}))
        if hello["class_id"] != pairing.class_id:
            raise PairingFailed("the console holds another class")
        clock_offset = float(hello["console_time"]) - now()
        console_nonce = unb64(hello["nonce"])
        seat_nonce = secrets.token_bytes(32)
        secret = bytes.fromhex(pairing.secret)
        proof = auth_proof(secret, "seat", pairing.seat_id, console_nonce, seat_nonce, fp)
        await write_message(
            writer, make("auth", seat_id=pairing.seat_id, nonce=b64(seat_nonce), mac=b64(proof))
        )
        answer = await read_message(reader, allowed=frozenset({"auth_ok", "error"}))
        if answer["type"] == "error":
            raise PairingFailed(f"the console refused: {answer['error']}")
        check_mac(
            auth_proof(secret, "console", pairing.seat_id, console_nonce, seat_nonce, fp),
            answer["mac"],
        )
        return _Link(writer, clock_offset, float(hello["heartbeat"]))

    async def _serve(self, reader: asyncio.StreamReader, link: _Link) -> None:
        pusher = asyncio.create_task(self._push_status(link))
        try:
            while True:
                try:
                    async with asyncio.timeout(link.silence_limit):
                        message = await read_message(
                            reader, allowed=frozenset({"command", "ping", "error"})
                        )
                except TimeoutError:
                    log.info("lab seat: the console went silent; reconnecting")
                    return
                except ProtocolError as exc:
                    log.warning("lab seat: refused a message: %s", exc)
                    await link.send(make("error", error=str(exc)[:300]))
                    if isinstance(exc, FrameTooLarge):
                        return
                    continue
                if message["type"] == "ping":
                    continue
                if message["type"] == "error":
                    log.warning("lab seat: the console reported: %s", message["error"])
                    continue
                await self._on_command(message, link)
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher

    async def _push_status(self, link: _Link) -> None:
        last: SeatStatus | None = None
        last_sent = 0.0
        failing = False
        while True:
            try:
                status = self.actions.status()
            except Exception:
                if not failing:  # once, not on every poll
                    log.exception("lab seat: the app could not report its status")
                failing = True
                status = last or SeatStatus(
                    seat_name=self._pairing.seat_name if self._pairing else ""
                )
            else:
                failing = False
            if status != last or time.monotonic() - last_sent >= self.heartbeat_s:
                await link.send(make("status", status=dataclasses.asdict(status)))
                last, last_sent = status, time.monotonic()
            self._status_changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self.status_poll_s, self.heartbeat_s)):
                    await self._status_changed.wait()

    # ------------------------------------------------------------------ commands

    async def _send(self, message: Mapping[str, Any]) -> None:
        """Send on the current link; dropped when offline (results stay in the journal)."""
        link = self._link
        if link is None:
            return
        with contextlib.suppress(OSError, ConnectionError):
            await link.send(message)

    async def _on_command(self, message: Mapping[str, Any], link: _Link) -> None:
        command_id: str = message["id"]
        action: str = message["action"]
        if action in READ_ONLY_ACTIONS:
            # Nothing to protect: a resend runs again (an export streams again from seq 0
            # on the live link); only the time window applies.
            old = self._running.get(command_id)
            if old is not None:
                old.cancel()
            elif not await self._fresh(message, link):
                return
            self._start(command_id, message, link)
            return
        entry = self._journal.entries.get(command_id)
        if entry is not None:
            if command_id in self._running:
                return  # still working: the result goes out on the live link when done
            if not entry.done:  # accepted before a crash, never finished: not run twice
                entry.done, entry.error = True, "the seat restarted while doing this"
                entry.error_fields = protocol.error_fields("lab.answer.restarted", {})
                self._journal.save()
            await self._send(_result_message(command_id, entry))
            return
        if not await self._fresh(message, link):
            return
        self._journal.prune(now() + link.clock_offset)
        self._journal.entries[command_id] = JournalEntry(ts=float(message["ts"]))
        if action in GUARDED_ACTIONS:
            self._journal.save()  # a crash in the middle must not lead to a second run
        self._start(command_id, message, link)

    async def _fresh(self, message: Mapping[str, Any], link: _Link) -> bool:
        """True when the command's time lies in the window; else refuse it."""
        console_now = now() + link.clock_offset
        if abs(console_now - float(message["ts"])) <= REPLAY_WINDOW_S:
            return True
        await self._send(
            make(
                "result",
                id=message["id"],
                ok=False,
                value=None,
                error="refused: the command is too old or from the future",
                **protocol.error_fields("lab.answer.too_old", {}),
            )
        )
        return False

    def _start(self, command_id: str, message: Mapping[str, Any], link: _Link) -> None:
        task = asyncio.create_task(self._execute(command_id, message, link))
        self._running[command_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._running.get(command_id) is done:
                del self._running[command_id]

        task.add_done_callback(forget)

    async def _execute(self, command_id: str, message: Mapping[str, Any], link: _Link) -> None:
        action = message["action"]
        outcome = JournalEntry(ts=float(message["ts"]), done=True)
        try:
            if action == "export_portfolio":
                outcome.value = await self._stream_portfolio(command_id, link, message["args"])
            else:
                outcome.value = await self._perform(command_id, action, message["args"])
            outcome.ok = True
        except asyncio.CancelledError:
            raise
        except (OSError, ConnectionError):
            if action == "export_portfolio":
                return  # the link broke mid-stream; the console sends the command again
            raise
        except AppError as exc:
            outcome.error = exc.user_message[: protocol.MAX_ERROR_TEXT]
            problems = exc.problems if isinstance(exc, ProfileError) else ()
            outcome.error_fields = protocol.error_fields(exc.key, exc.params, problems)
        except Exception as exc:
            log.exception("lab seat: %s failed", action)
            outcome.error = f"the seat could not do this ({type(exc).__name__})"
            outcome.error_fields = protocol.error_fields("lab.answer.seat_failed", {})
        if action not in READ_ONLY_ACTIONS:
            self._journal.entries[command_id] = outcome
            self._journal.save()
        self.notify_status_changed()
        # progress goes out before the result (the send lock is first come, first served)
        await asyncio.gather(*self._progress.pop(command_id, []), return_exceptions=True)
        result = _result_message(command_id, outcome)
        if action == "export_portfolio":
            with contextlib.suppress(OSError, ConnectionError):
                await link.send(result)
        else:
            await self._send(result)

    async def _perform(self, command_id: str, action: str, args: Mapping[str, Any]) -> Any:
        actions = self.actions
        if action == "status":
            return dataclasses.asdict(actions.status())
        if action == "apply_profile":
            await actions.apply_profile(dict(args["profile"]))
            return None
        if action == "prepare_lesson":
            await actions.prepare_lesson(self._progress_reporter(command_id))
            return None
        if action == "set_paused":
            await actions.set_paused(bool(args["paused"]), str(args["message"]))
            return None
        if action == "blocked_attempts":
            rows = await actions.blocked_attempts(int(args["limit"]))
            return [dict(row) for row in rows[: int(args["limit"])]]
        if action == "wipe":
            return await actions.wipe()
        raise ProtocolError(f"unknown action {action!r}")  # the validator keeps this unreachable

    def _progress_reporter(self, command_id: str) -> Callable[[float, str], None]:
        def report(fraction: float, text: str) -> None:
            message = make(
                "progress",
                id=command_id,
                fraction=min(max(float(fraction), 0.0), 1.0),
                message=str(text)[:200],
            )
            task = asyncio.get_running_loop().create_task(self._send(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._progress.setdefault(command_id, []).append(task)

        return report

    async def _stream_portfolio(
        self, command_id: str, link: _Link, args: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Send the export in chunks on ``link`` (the one the command came on)."""
        data = await self.actions.export_portfolio()
        if len(data) > int(args["max_bytes"]):
            raise LabError(
                f"The portfolio ({len(data)} bytes) is larger than the console accepts.",
                key="error.lab.portfolio_too_large",
                params={"size": len(data)},
            )
        size = protocol.CHUNK_SIZE
        for seq, start in enumerate(range(0, max(len(data), 1), size)):
            chunk = base64.b64encode(data[start : start + size]).decode("ascii")
            await link.send(make("chunk", id=command_id, seq=seq, total=len(data), data=chunk))
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _result_message(command_id: str, entry: JournalEntry) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": command_id,
        "ok": entry.ok,
        "value": entry.value if entry.ok else None,
        "error": entry.error,
    }
    if not entry.ok and isinstance(entry.error_fields, dict) and entry.error_fields:
        try:
            return make("result", **{**entry.error_fields, **fields})
        except ProtocolError:  # a journal of another version: the English text alone
            log.warning("lab seat: the journal's error fields are unusable; sent without")
    return make("result", **fields)


__all__ = [
    "GUARDED_ACTIONS",
    "READ_ONLY_ACTIONS",
    "REPLAY_WINDOW_S",
    "LabError",  # defined in protocol (the console raises it too); importable from here
    "LabSeat",
    "SeatLink",
    "pair_with_console",
]
