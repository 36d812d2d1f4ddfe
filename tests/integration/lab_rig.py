"""The lab rig: a console and seats on 127.0.0.1, each with its own data folder."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai4artsed_desktop import profiles
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.lab.app_actions import PROFILE_SOURCE
from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.crypto import (
    auth_proof,
    b64,
    certificate_fingerprint,
    server_context,
    unb64,
)
from ai4artsed_desktop.lab.protocol import make, read_message, write_message
from ai4artsed_desktop.lab.seat import LabSeat, SeatLink
from ai4artsed_desktop.lab.state import CERT_FILE, KEY_FILE, ConsoleState
from ai4artsed_desktop.paths import resources_dir
from tests.fakes.lab_actions import RecordingActions

HEARTBEAT_S = 0.2


async def wait_until(predicate: Callable[[], bool], within_s: float = 10.0) -> None:
    """Poll until ``predicate()`` holds (fails the test after ``within_s``)."""
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def refused_profile() -> profiles.ProfileError:
    """What a seat's app raises for a profile it cannot use (as AppSeatActions does)."""
    content = load_content(resources_dir() / "configs")
    broken = {"format": profiles.FORMAT, "schema_version": 1, "name": 5, "safety_level": "x"}
    checked, problems = profiles.check_profile(broken, PROFILE_SOURCE, content)
    assert checked is None
    return profiles.ProfileError(PROFILE_SOURCE, problems, key="error.lab.profile_refused")


def make_console(folder: Path, port: int = 0, **kwargs: object) -> LabConsole:
    return LabConsole(folder, port, "127.0.0.1", heartbeat_s=HEARTBEAT_S, **kwargs)  # type: ignore[arg-type]


@dataclass
class RunningSeat:
    seat: LabSeat
    actions: RecordingActions
    task: asyncio.Task[None]
    links: list[SeatLink] = field(default_factory=list)

    @property
    def seat_id(self) -> str:
        pairing = self.seat.pairing
        assert pairing is not None
        return pairing.seat_id

    async def stop(self) -> None:
        await self.seat.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@dataclass
class Lab:
    root: Path
    console: LabConsole
    seats: list[RunningSeat] = field(default_factory=list)

    async def add_seat(self, name: str, *, pair: bool = True, run: bool = True) -> RunningSeat:
        actions = RecordingActions(seat_name=name)
        links: list[SeatLink] = []
        seat = LabSeat(
            self.root / f"seat-{len(self.seats)}",
            actions,
            heartbeat_s=HEARTBEAT_S,
            status_poll_s=0.02,
            backoff_s=(0.02, 0.2),
            on_link=links.append,
        )
        if pair:
            await seat.pair("127.0.0.1", self.console.port, self.console.class_code, name)
        task = asyncio.create_task(seat.run() if run else asyncio.sleep(0))
        running = RunningSeat(seat, actions, task, links)
        self.seats.append(running)
        if pair and run:
            await wait_until(lambda: self.online(running))
        return running

    def online(self, running: RunningSeat) -> bool:
        return any(v.seat_id == running.seat_id and v.online for v in self.console.seats())

    async def restart_console(self) -> None:
        port = self.console.port
        await self.console.close()
        self.console = make_console(self.root / "console", port)
        await self.console.start()


@contextlib.asynccontextmanager
async def lab(root: Path, **console_kwargs: object) -> AsyncIterator[Lab]:
    console = make_console(root / "console", **console_kwargs)
    await console.start()
    rig = Lab(root, console)
    try:
        yield rig
    finally:
        for running in rig.seats:
            await running.stop()
        await rig.console.close()


class TcpProxy:
    """A loopback TCP relay that can record, freeze (a silent link) and drop connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.captured = bytearray()
        self.flowing = asyncio.Event()
        self.flowing.set()  # clear() freezes the link silently (no data, no close)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        finally:
            self._tasks.discard(task)
            writer.close()
            up_writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                self.captured += data
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()

    def drop(self) -> None:
        """Cut every relayed connection (like a pulled cable that comes back)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.drop()
        if self._server:
            self._server.close()
        self.flowing.set()
        async with asyncio.timeout(10):  # the aborted transports end every pump
            await asyncio.gather(*self._tasks, return_exceptions=True)


class ScriptedLink:
    """One authenticated seat connection driven frame by frame by a test."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, message: dict[str, Any]) -> None:
        await write_message(self.writer, message)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, *, skip_status: bool = True) -> dict[str, Any]:
        """The next frame from the seat (status heartbeats skipped)."""
        async with asyncio.timeout(10):
            while True:
                message = await read_message(self.reader)
                if not (skip_status and message["type"] == "status"):
                    return message

    async def result(self, command_id: str) -> dict[str, Any]:
        while True:
            message = await self.read()
            if message["type"] == "result" and message["id"] == command_id:
                return message


class ScriptedConsole:
    """The real console's identity (its certificate, key and the seat secrets in its folder),
    but every frame after the authentication is written by the test: replays, stale
    commands, malformed messages."""

    def __init__(self, console_dir: Path, port: int) -> None:
        self.console_dir = console_dir
        self.port = port
        self.links: asyncio.Queue[ScriptedLink] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self.clock_skew = 0.0  # seconds added to the console_time it announces

    async def start(self) -> None:
        context = server_context(self.console_dir / CERT_FILE, self.console_dir / KEY_FILE)
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, ssl=context)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = ConsoleState.load_or_create(self.console_dir)
        fp = certificate_fingerprint(self.console_dir / CERT_FILE)
        nonce = secrets.token_bytes(32)
        await write_message(
            writer,
            make(
                "hello",
                nonce=b64(nonce),
                class_id=state.class_id,
                console_time=time.time() + self.clock_skew,
                heartbeat=60.0,
            ),
        )
        auth = await read_message(reader, allowed=frozenset({"auth"}))
        seat = state.seats[auth["seat_id"]]
        secret = bytes.fromhex(seat.secret)
        seat_nonce = unb64(auth["nonce"])
        proof = auth_proof(secret, "console", seat.seat_id, nonce, seat_nonce, fp)
        await write_message(writer, make("auth_ok", mac=b64(proof)))
        await self.links.put(ScriptedLink(reader, writer))

    async def link(self) -> ScriptedLink:
        async with asyncio.timeout(10):
            return await self.links.get()

    async def close(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()


def command(action: str, args: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    message = make("command", id=uuid.uuid4().hex, ts=time.time(), action=action, args=args or {})
    message.update(overrides)
    return message
