"""The console: the teacher PC's server that seats connect out to (asyncio, no Qt).

One TLS port; every connection starts with the console's ``hello`` (a nonce). A seat then
either pairs (SPAKE2 on the class code, see :mod:`.crypto`) or authenticates with its
secret. Anything else (an HTTP request, a browser, a seat that cannot prove itself) gets
at most an ``error`` frame and is closed; nothing it sends is acted on.

Commands go out with a fresh id and timestamp and wait for each seat's ``result``. A
command still waiting when its seat drops is sent again, with the *same* id, when the seat
comes back; the seat answers a known id from its journal instead of running it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..content.schema import ContentProblem
from . import protocol
from .crypto import (
    MAX_PAIRING_FAILURES,
    PairingFailed,
    PakeSide,
    auth_proof,
    b64,
    certificate_fingerprint,
    check_mac,
    display_code,
    ensure_certificate,
    mac,
    new_class_code,
    pairing_proof,
    pairing_transcript,
    seat_secret,
    server_context,
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
from .seat_actions import SeatStatus
from .state import CERT_FILE, KEY_FILE, PORTFOLIOS_DIR, ConsoleState, KnownSeat, now

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 47_820
HANDSHAKE_TIMEOUT_S: Final = 10.0
MAX_UNAUTHENTICATED: Final = 64
PAIRING_CONCURRENCY: Final = 4
DEFAULT_MAX_PORTFOLIO: Final = 2 * 1024 * 1024 * 1024
#: The catalogue key of a portfolio that arrived out of order, damaged or incomplete.
DAMAGED: Final = "lab.answer.portfolio_damaged"

ProgressCallback = Callable[[str, float, str], None]  # seat id, fraction, message


@dataclass(frozen=True)
class SeatView:
    """One tile of the console's grid."""

    seat_id: str
    name: str
    online: bool
    address: str  # "host:port" of the live connection, "" when offline
    status: SeatStatus | None  # the last status the seat pushed (kept while offline)
    last_seen: float | None
    collected_at: float | None  # last portfolio collection (None: never)
    wiped_at: float | None


@dataclass(frozen=True)
class SeatResult:
    """One seat's answer to a command.

    ``error`` is English (the log); a seat's error may also name its catalogue key and
    parameters (``error_key``, ``error_params``) and, for a refused lesson profile, its
    problems, so the console's window says them in its own language.
    """

    seat_id: str
    ok: bool
    value: Any = None
    error: str = ""
    path: Path | None = None  # collect: where the portfolio zip was saved
    error_key: str = ""
    error_params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error_problems: tuple[ContentProblem, ...] = ()


class _Download:
    """A portfolio arriving in chunks, written to a temporary file with a size limit."""

    def __init__(self, target: Path, limit: int) -> None:
        self.target = target
        self.partial = target.with_suffix(".part")
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()
        self.failed = ""
        self.failed_key = ""  # the failure's catalogue key (lab.answer.*)
        self.next_seq = 0
        target.parent.mkdir(parents=True, exist_ok=True)
        self.partial.write_bytes(b"")
        self.partial.chmod(0o600)

    def add(self, seq: int, total: int, data: bytes) -> None:
        if self.failed:
            return
        if seq != self.next_seq:
            self.fail(f"chunk {seq} arrived, {self.next_seq} expected", DAMAGED)
            return
        self.next_seq += 1
        self.size += len(data)
        if self.size > self.limit or total > self.limit:
            self.fail(
                f"the portfolio is larger than the limit of {self.limit} bytes",
                "lab.answer.portfolio_too_large",
            )
            return
        self.digest.update(data)
        with self.partial.open("ab") as out:
            out.write(data)

    def fail(self, reason: str, key: str = "") -> None:
        """Give up the download: ``reason`` (English) and its catalogue key, if any."""
        self.failed, self.failed_key = reason, key
        self.partial.unlink(missing_ok=True)

    def finish(self, announced: Mapping[str, Any]) -> Path:
        if self.failed:
            raise ValueError(self.failed)
        if announced.get("size") != self.size or announced.get("sha256") != self.digest.hexdigest():
            self.fail("the portfolio arrived incomplete or damaged", DAMAGED)
            raise ValueError(self.failed)
        self.partial.replace(self.target)
        return self.target


@dataclass
class _Pending:
    """A command waiting for one seat's result."""

    seat_id: str
    message: dict[str, Any]
    future: asyncio.Future[SeatResult]
    on_progress: ProgressCallback | None
    download: _Download | None = None


class _Session:
    """One authenticated seat connection."""

    def __init__(self, seat_id: str, writer: asyncio.StreamWriter) -> None:
        self.seat_id = seat_id
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
        self._lock = asyncio.Lock()

    async def send(self, message: Mapping[str, Any]) -> None:
        async with self._lock:
            await write_message(self.writer, message)

    def close(self) -> None:
        """Cut the link at once (the reading side ends and closes the socket)."""
        self.writer.transport.abort()


class LabConsole:
    """The teacher's console.

    Args:
        data_dir: where the class lives (state, certificate, collected portfolios).
        port: the LAN port (0: any free port, see :attr:`port` after :meth:`start`).
        host: the address to listen on ("0.0.0.0": every interface; tests use 127.0.0.1).
        heartbeat_s: the seats' heartbeat; a seat silent for three of them is offline.
        reconnect_grace_s: a command whose seat drops is sent again when the seat is back
            within this time, else it fails with "the seat went offline".
        max_portfolio_bytes: a larger portfolio is refused and its partial file removed.
        on_change: called (no arguments) whenever :meth:`seats` or the code changes.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = DEFAULT_PORT,
        host: str = "0.0.0.0",  # the LAN is the point
        *,
        heartbeat_s: float = 5.0,
        reconnect_grace_s: float = 60.0,
        max_portfolio_bytes: int = DEFAULT_MAX_PORTFOLIO,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._host = host
        self._port = port
        self.heartbeat_s = heartbeat_s
        self.reconnect_grace_s = reconnect_grace_s
        self.max_portfolio_bytes = max_portfolio_bytes
        self._listeners: list[Callable[[], None]] = [on_change] if on_change else []
        self._state = ConsoleState.load_or_create(self.data_dir)
        ensure_certificate(self.data_dir / CERT_FILE, self.data_dir / KEY_FILE)
        self.fingerprint = certificate_fingerprint(self.data_dir / CERT_FILE)
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, _Session] = {}
        self._status: dict[str, SeatStatus] = {}
        self._last_seen: dict[str, float] = {}
        self._pending: dict[str, dict[str, _Pending]] = {}
        self._unauthenticated = 0
        self._pairing_gate = asyncio.Semaphore(PAIRING_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        #: Counters for tests and the threat-model evidence (refused connections by reason).
        self.refusals: dict[str, int] = {}

    # ------------------------------------------------------------------ public API

    async def start(self) -> None:
        """Listen on the port (TLS 1.3).

        Raises:
            LabError: the port is taken (key ``error.lab.port_busy``).
        """
        context = server_context(self.data_dir / CERT_FILE, self.data_dir / KEY_FILE)
        try:
            self._server = await asyncio.start_server(
                self._on_connection,
                self._host,
                self._port,
                ssl=context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
                limit=protocol.MAX_FRAME + 64,
            )
        except OSError as exc:
            raise LabError(
                f"The console cannot listen on port {self._port}: another program (or a "
                "second console) uses it. Close it or choose another port in the settings.",
                detail=str(exc),
                key="error.lab.port_busy",
                params={"port": self._port},
            ) from exc
        self._port = self._server.sockets[0].getsockname()[1]
        self._watchdog = asyncio.create_task(self._watch_heartbeats())
        log.info("lab console listening on %s:%s", self._host, self._port)

    async def close(self) -> None:
        """Stop listening, drop every connection, fail waiting commands."""
        if self._watchdog:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._server:
            self._server.close()
        for session in list(self._sessions.values()):
            session.close()
        for pending in self._pending.values():
            for item in pending.values():
                if not item.future.done():
                    item.future.set_result(
                        SeatResult(
                            item.seat_id,
                            False,
                            error="the console was closed",
                            error_key="lab.answer.closed",
                        )
                    )
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server:
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        """The port the console listens on."""
        return self._port

    @property
    def class_id(self) -> str:
        """The class's identity (stable across restarts)."""
        return self._state.class_id

    @property
    def class_code(self) -> str:
        """The code for the screen, e.g. ``"K7Q-F3P"``."""
        return display_code(self._state.class_code)

    @property
    def pairing_open(self) -> bool:
        """Whether new seats may join (kept across restarts; paired seats always may)."""
        return self._state.pairing_open

    @pairing_open.setter
    def pairing_open(self, value: bool) -> None:
        self._state.pairing_open = bool(value)
        self._state.save(self.data_dir)
        self._changed()

    @property
    def pairing_locked(self) -> bool:
        """True after too many failed pairings; :meth:`new_class_code` opens it again."""
        return self._state.pairing_debit >= MAX_PAIRING_FAILURES

    def new_class_code(self) -> str:
        """Make a fresh code (unlocks pairing); paired seats are not affected."""
        self._state.class_code = new_class_code()
        self._state.pairing_debit = 0
        self._state.save(self.data_dir)
        self._changed()
        return self.class_code

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the seats or the code change."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def seats(self) -> list[SeatView]:
        """A snapshot of every known seat, by name."""
        views = []
        for seat in self._state.seats.values():
            session = self._sessions.get(seat.seat_id)
            views.append(
                SeatView(
                    seat_id=seat.seat_id,
                    name=seat.name,
                    online=session is not None,
                    address=session.address if session else "",
                    status=self._status.get(seat.seat_id),
                    last_seen=self._last_seen.get(seat.seat_id),
                    collected_at=seat.collected_at,
                    wiped_at=seat.wiped_at,
                )
            )
        return sorted(views, key=lambda view: (view.name.casefold(), view.seat_id))

    def forget_seat(self, seat_id: str) -> None:
        """Remove a seat from the class; it must pair again with the code."""
        self._state.seats.pop(seat_id, None)
        self._state.save(self.data_dir)
        session = self._sessions.pop(seat_id, None)
        if session:
            session.close()
        self._changed()

    async def send(
        self,
        action: str,
        args: Mapping[str, Any] | None = None,
        seat_ids: Iterable[str] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float | None = None,
        wipe_without_collection: bool = False,
    ) -> dict[str, SeatResult]:
        """Send one command to the given seats (None: every known seat); wait for all.

        An offline seat answers at once with an error; a seat that drops while working
        gets the command again (same id) when it reconnects, until ``timeout_s``.
        ``wipe`` is refused for a seat whose portfolio was not collected since its last
        wipe unless ``wipe_without_collection`` (the teacher confirmed losing the runs).

        Raises:
            ProtocolError: an unknown action or bad arguments (nothing was sent).
        """
        command_args = dict(args or {})
        if action == "export_portfolio":
            command_args.setdefault("max_bytes", self.max_portfolio_bytes)
        template = make("command", id="", ts=0.0, action=action, args=command_args)
        targets = list(self._state.seats) if seat_ids is None else list(dict.fromkeys(seat_ids))
        jobs = [
            self._send_one(seat_id, template, on_progress, wipe_without_collection)
            for seat_id in targets
        ]
        results: list[SeatResult] = []
        if jobs:
            async with asyncio.timeout(timeout_s):
                results = list(await asyncio.gather(*jobs))
        return {result.seat_id: result for result in results}

    # convenience wrappers for the console page

    async def push_profile(
        self, profile: Mapping[str, object], seat_ids: Iterable[str] | None = None
    ) -> dict[str, SeatResult]:
        """Every seat applies the lesson profile."""
        return await self.send("apply_profile", {"profile": dict(profile)}, seat_ids)

    async def prepare_lesson(
        self,
        seat_ids: Iterable[str] | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        timeout_s: float | None = None,
    ) -> dict[str, SeatResult]:
        """Every seat warms up; progress arrives through ``on_progress``."""
        return await self.send(
            "prepare_lesson", {}, seat_ids, on_progress=on_progress, timeout_s=timeout_s
        )

    async def set_paused(
        self, paused: bool, message: str = "", seat_ids: Iterable[str] | None = None
    ) -> dict[str, SeatResult]:
        """Pause every seat ("eyes on me", with the message) or resume them."""
        return await self.send("set_paused", {"paused": paused, "message": message}, seat_ids)

    async def blocked_attempts(
        self, limit: int = 50, seat_ids: Iterable[str] | None = None
    ) -> dict[str, SeatResult]:
        """Each seat's review-log rows of blocked attempts (value: a list of dicts)."""
        return await self.send("blocked_attempts", {"limit": limit}, seat_ids)

    async def collect_portfolios(
        self, seat_ids: Iterable[str] | None = None, *, timeout_s: float | None = None
    ) -> dict[str, SeatResult]:
        """Each seat's portfolio zip, saved below ``portfolios/`` (see ``SeatResult.path``)."""
        return await self.send("export_portfolio", {}, seat_ids, timeout_s=timeout_s)

    async def wipe(
        self, seat_ids: Iterable[str] | None = None, *, without_collection: bool = False
    ) -> dict[str, SeatResult]:
        """End-of-lesson wipe (value: runs removed); refused before collection, see send."""
        return await self.send("wipe", {}, seat_ids, wipe_without_collection=without_collection)

    # ------------------------------------------------------------------ commands

    async def _send_one(
        self,
        seat_id: str,
        template: Mapping[str, Any],
        on_progress: ProgressCallback | None,
        wipe_without_collection: bool,
    ) -> SeatResult:
        seat = self._state.seats.get(seat_id)
        if seat is None:
            return SeatResult(
                seat_id,
                False,
                error="this seat is not part of the class",
                error_key="lab.answer.not_in_class",
            )
        action = template["action"]
        if action == "wipe" and not wipe_without_collection and not _collected(seat):
            return SeatResult(
                seat_id,
                False,
                error="collect this seat's portfolio before wiping it",
                error_key="lab.answer.not_collected",
            )
        session = self._sessions.get(seat_id)
        if session is None:
            return SeatResult(
                seat_id, False, error="the seat is offline", error_key="lab.answer.offline"
            )
        message = {**template, "id": uuid.uuid4().hex, "ts": now()}
        future: asyncio.Future[SeatResult] = asyncio.get_running_loop().create_future()
        item = _Pending(seat_id, message, future, on_progress)
        if action == "export_portfolio":
            item.download = self._new_download(seat)
        self._pending.setdefault(seat_id, {})[message["id"]] = item
        try:
            with contextlib.suppress(OSError, ConnectionError):
                await session.send(message)  # a drop here: resent on reconnect
            result = await future
        finally:
            self._pending.get(seat_id, {}).pop(message["id"], None)
            if item.download and not future.done():
                item.download.fail("cancelled")
        self._after(seat, action, result)
        return result

    def _new_download(self, seat: KnownSeat) -> _Download:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in seat.name)[:40]
        folder = self.data_dir / PORTFOLIOS_DIR / f"{safe}-{seat.seat_id[:8]}"
        target = folder / f"portfolio-{stamp}-{secrets.token_hex(3)}.zip"
        return _Download(target, self.max_portfolio_bytes)

    def _after(self, seat: KnownSeat, action: str, result: SeatResult) -> None:
        if not result.ok:
            return
        if action == "export_portfolio":
            seat.collected_at = now()
        elif action == "wipe":
            seat.wiped_at = now()
        else:
            return
        self._state.save(self.data_dir)
        self._changed()

    def _on_seat_message(self, seat_id: str, message: Mapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "status":
            self._set_status(seat_id, message["status"])
            return
        if kind == "error":
            log.warning("seat %s refused a message: %s", seat_id, message["error"])
            return
        item = self._pending.get(seat_id, {}).get(message["id"])
        if item is None or item.future.done():
            return  # a late answer to a finished command
        if kind == "progress":
            if item.on_progress:
                fraction = min(max(float(message["fraction"]), 0.0), 1.0)
                item.on_progress(seat_id, fraction, message["message"][:200])
        elif kind == "chunk":
            if item.download is None:
                item.future.set_result(
                    SeatResult(
                        seat_id,
                        False,
                        error="unexpected data",
                        error_key="lab.answer.unexpected_data",
                    )
                )
                return
            try:
                data = unb64(message["data"])
            except PairingFailed:
                item.download.fail("a damaged chunk arrived", DAMAGED)
            else:
                item.download.add(message["seq"], message["total"], data)
        elif kind == "result":
            item.future.set_result(self._result(seat_id, item, message))

    def _result(self, seat_id: str, item: _Pending, message: Mapping[str, Any]) -> SeatResult:
        if not message["ok"]:
            if item.download:
                item.download.fail(message["error"])
            return SeatResult(
                seat_id,
                False,
                error=str(message["error"])[: protocol.MAX_ERROR_TEXT],
                error_key=message.get("error_key", ""),
                error_params=dict(message.get("error_params", {})),
                error_problems=protocol.problems_from(message),
            )
        if item.download is None:
            problem = _result_problem(item.message, message["value"])
            if problem:
                log.warning("lab: seat %s answered %s", seat_id, problem)
                return SeatResult(
                    seat_id,
                    False,
                    error=f"the seat answered {problem}",
                    error_key="lab.answer.wrong_shape",
                )
            return SeatResult(seat_id, True, value=message["value"])
        value = message["value"]
        try:
            path = item.download.finish(value if isinstance(value, dict) else {})
        except ValueError as exc:
            return SeatResult(
                seat_id, False, error=str(exc), error_key=item.download.failed_key or DAMAGED
            )
        return SeatResult(seat_id, True, value=value, path=path)

    def _set_status(self, seat_id: str, raw: Mapping[str, Any]) -> None:
        try:
            status = _parse_status(raw)
        except (TypeError, ValueError) as exc:
            log.warning("seat %s sent a malformed status: %s", seat_id, exc)
            return
        self._last_seen[seat_id] = now()
        if self._status.get(seat_id) != status:
            self._status[seat_id] = status
            self._changed()

    # ------------------------------------------------------------------ connections

    def _refuse(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            # A handler task that ends cancelled is logged as an error by asyncio's streams
            # (Python 3.11); the connection is closed (or aborted) either way.
            with contextlib.suppress(asyncio.CancelledError):
                await shut(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._unauthenticated >= MAX_UNAUTHENTICATED:
            self._refuse("too_many_connections")
            return
        self._unauthenticated += 1
        seat_id: str | None = None
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                seat_id = await self._handshake(reader, writer)
        except (ProtocolError, PairingFailed, TimeoutError) as exc:
            self._refuse(type(exc).__name__)
            log.info("lab: refused a connection: %s", exc)
            with contextlib.suppress(OSError, ConnectionError, ProtocolError):
                await write_message(writer, make("error", error=_public_reason(exc)))
            return
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            self._refuse("dropped")
            return
        finally:
            self._unauthenticated -= 1
        if seat_id is not None:
            await self._run_session(seat_id, reader, writer)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str | None:
        """Pair or authenticate; returns the seat id of an authenticated session."""
        nonce = secrets.token_bytes(32)
        await write_message(
            writer,
            make(
                "hello",
                nonce=b64(nonce),
                class_id=self.class_id,
                console_time=now(),
                heartbeat=self.heartbeat_s,
            ),
        )
        first = await read_message(reader, allowed=frozenset({"pair_start", "auth"}))
        if first["type"] == "pair_start":
            await self._pair(first, nonce, reader, writer)
            return None
        seat = self._state.seats.get(first["seat_id"])
        if seat is None:
            raise PairingFailed("this seat is not part of the class")
        secret = bytes.fromhex(seat.secret)
        seat_nonce = unb64(first["nonce"])
        check_mac(
            auth_proof(secret, "seat", seat.seat_id, nonce, seat_nonce, self.fingerprint),
            first["mac"],
        )
        answer = auth_proof(secret, "console", seat.seat_id, nonce, seat_nonce, self.fingerprint)
        await write_message(writer, make("auth_ok", mac=b64(answer)))
        return seat.seat_id

    async def _pair(
        self,
        first: Mapping[str, Any],
        nonce: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        name = " ".join(str(first["seat_name"]).split())[: protocol.MAX_SEAT_NAME]
        if not name:
            raise ProtocolError("a seat needs a name")
        async with self._pairing_gate:
            if not self.pairing_open:
                raise PairingFailed("the console does not accept new seats right now")
            if self.pairing_locked:
                raise PairingFailed("pairing is locked after too many wrong codes")
            # Debit first: a reply carries the console's proof, i.e. one testable guess.
            self._state.pairing_debit += 1
            self._state.save(self.data_dir)
            pake = PakeSide(self._state.class_code, console=True)
            seat_message = unb64(first["pake"])
            key = pake.finish(seat_message)
            seat_id = uuid.uuid4().hex
            transcript = pairing_transcript(
                pake.message, seat_message, seat_id, self.class_id, nonce
            )
            proof = pairing_proof(key, "console", transcript, self.fingerprint)
            await write_message(
                writer,
                make(
                    "pair_reply",
                    pake=b64(pake.message),
                    confirm=b64(proof),
                    seat_id=seat_id,
                    class_id=self.class_id,
                ),
            )
            answer = await read_message(reader, allowed=frozenset({"pair_confirm"}))
            check_mac(pairing_proof(key, "seat", transcript, self.fingerprint), answer["confirm"])
            secret = seat_secret(key, seat_id, self.fingerprint)
            self._state.pairing_debit -= 1
            self._state.seats[seat_id] = KnownSeat(
                seat_id=seat_id, name=self._unique_name(name), secret=secret.hex(), paired_at=now()
            )
            self._state.save(self.data_dir)
        await write_message(
            writer, make("pair_ok", confirm=b64(mac(secret, "pair ok")), console_time=now())
        )
        self._changed()

    def _unique_name(self, name: str) -> str:
        taken = {seat.name for seat in self._state.seats.values()}
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name} ({number})", number + 1
        return candidate

    async def _run_session(
        self, seat_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        session = _Session(seat_id, writer)
        previous = self._sessions.get(seat_id)
        if previous is not None:
            previous.close()
        self._sessions[seat_id] = session
        self._last_seen[seat_id] = now()
        self._changed()
        for item in list(self._pending.get(seat_id, {}).values()):
            if item.download:  # the seat streams it again from the start
                item.download.fail("the seat reconnected")
                item.download = self._new_download(self._state.seats[seat_id])
            with contextlib.suppress(OSError, ConnectionError):
                await session.send(item.message)
        allowed = frozenset({"status", "progress", "chunk", "result", "error"})
        try:
            while True:
                try:
                    message = await read_message(reader, allowed=allowed)
                except ProtocolError as exc:
                    log.warning("lab: seat %s sent an invalid message: %s", seat_id, exc)
                    await session.send(make("error", error=str(exc)[:300]))
                    if isinstance(exc, FrameTooLarge):
                        return  # the stream is out of step after a refused frame
                    continue
                self._on_seat_message(seat_id, message)
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._drop_session(session)

    def _drop_session(self, session: _Session) -> None:
        """The seat is offline: show it, and give its running commands a grace period."""
        seat_id = session.seat_id
        if self._sessions.get(seat_id) is not session:
            return  # already replaced by a newer link
        del self._sessions[seat_id]
        self._changed()
        if self._pending.get(seat_id):
            self._spawn(self._expire_pending(seat_id))

    async def _expire_pending(self, seat_id: str) -> None:
        """Fail the seat's waiting commands unless it is back within the grace period."""
        await asyncio.sleep(self.reconnect_grace_s)
        if seat_id in self._sessions:
            return
        for item in list(self._pending.get(seat_id, {}).values()):
            if not item.future.done():
                item.future.set_result(
                    SeatResult(
                        seat_id,
                        False,
                        error="the seat went offline during this command",
                        error_key="lab.answer.went_offline",
                    )
                )

    async def _watch_heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            limit = now() - 3 * self.heartbeat_s
            for seat_id, session in list(self._sessions.items()):
                self._spawn(self._ping(session))
                if self._last_seen.get(seat_id, 0.0) < limit:
                    log.info("lab: seat %s missed its heartbeats; marked offline", seat_id)
                    session.close()
                    self._drop_session(session)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _ping(session: _Session) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            async with asyncio.timeout(5):
                await session.send(make("ping"))

    def _changed(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("lab console listener failed")


def _result_problem(command: Mapping[str, Any], value: object) -> str:
    """What is wrong with a seat's answer to ``command`` ("" when it has the right shape)."""
    action = command["action"]
    if action == "blocked_attempts":
        limit = command["args"]["limit"]
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            return "something other than a list of rows"
        if len(value) > limit:
            return f"{len(value)} rows where at most {limit} were asked for"
    elif action == "wipe":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "something other than a number of runs"
    elif action == "status":
        try:
            _parse_status(value if isinstance(value, dict) else {"": None})
        except (TypeError, ValueError):
            return "a malformed status"
    elif value is not None:
        return "a value where none belongs"
    return ""


def _collected(seat: KnownSeat) -> bool:
    if seat.collected_at is None:
        return False
    return seat.wiped_at is None or seat.collected_at > seat.wiped_at


def _public_reason(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return "too slow"
    return str(exc)[:300] or type(exc).__name__


_STATUS_FIELDS = {f.name: f for f in dataclasses.fields(SeatStatus)}


def _parse_status(raw: Mapping[str, Any]) -> SeatStatus:
    """A SeatStatus from a seat's JSON (unknown or mistyped fields are refused)."""
    unknown = set(raw) - set(_STATUS_FIELDS)
    if unknown:
        raise ValueError(f"unknown status field(s) {sorted(unknown)}")
    backends = raw.get("backends", {})
    if not isinstance(backends, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in backends.items()
    ):
        raise ValueError("backends must map names to states")
    text = {name: str(raw.get(name, ""))[:200] for name in ("seat_name", "stage", "last_block")}
    return SeatStatus(
        seat_name=text["seat_name"],
        backends={str(k)[:32]: str(v)[:16] for k, v in list(backends.items())[:8]},
        warm=bool(raw.get("warm", False)),
        stage=text["stage"],
        last_block=text["last_block"],
        last_block_at=_optional_number(raw.get("last_block_at"), float),
        vram_used_mb=_optional_number(raw.get("vram_used_mb"), int),
        vram_total_mb=_optional_number(raw.get("vram_total_mb"), int),
        paused=bool(raw.get("paused", False)),
        profile_name=str(raw.get("profile_name", ""))[:200],
    )


def _optional_number(value: object, kind: type[float] | type[int]) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return kind(value)


__all__ = [
    "DEFAULT_PORT",
    "LabConsole",
    "ProgressCallback",
    "SeatResult",
    "SeatView",
]
