"""Each case of docs/lab-console-threat-model.md, on loopback."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.console import LabConsole
from ai4artsed_desktop.lab.crypto import (
    MAX_PAIRING_FAILURES,
    auth_proof,
    b64,
    client_context,
    ensure_certificate,
    fingerprint,
    server_context,
    unb64,
)
from ai4artsed_desktop.lab.protocol import MAX_FRAME, LabError, make, read_message, write_message
from ai4artsed_desktop.lab.seat import REPLAY_WINDOW_S, LabSeat, SeatLink
from ai4artsed_desktop.lab.state import CommandJournal, ConsoleState, JournalEntry
from tests.fakes.lab_actions import RecordingActions
from tests.integration.lab_rig import (
    ScriptedConsole,
    TcpProxy,
    command,
    lab,
    make_console,
    wait_until,
)

# ------------------------------------------------------------ a student's PC as the console


@pytest.mark.asyncio
async def test_a_fake_console_without_the_code_cannot_pair_a_seat(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        fake = make_console(tmp_path / "fake")
        await fake.start()
        try:
            seat = LabSeat(tmp_path / "s", RecordingActions())
            with pytest.raises(LabError) as caught:
                await seat.pair("127.0.0.1", fake.port, rig.console.class_code, "A")
            assert caught.value.key == "error.lab.wrong_code"
            assert not seat.paired
            assert fake.seats() == []
        finally:
            await fake.close()


@pytest.mark.asyncio
async def test_a_relay_with_its_own_certificate_breaks_pairing_even_with_the_right_code(
    tmp_path: Path,
) -> None:
    """A man in the middle relays every frame between seat and console (it cannot read the
    code); the proofs cover the certificate each side sees, so both sides refuse."""
    async with lab(tmp_path) as rig:
        relay = await _start_tls_relay(tmp_path / "mitm", rig.console.port)
        try:
            seat = LabSeat(tmp_path / "s", RecordingActions())
            with pytest.raises(LabError) as caught:
                await seat.pair("127.0.0.1", relay, rig.console.class_code, "A")
            assert caught.value.key == "error.lab.wrong_code"
            assert rig.console.seats() == []
        finally:
            await _stop_relays()


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_a_paired_seat_says_nothing_to_a_console_with_another_certificate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Even a student who knows the class code cannot take over a paired seat."""
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        await wait_until(lambda: seat.seat.state is SeatLink.OFFLINE)
        fake = LabConsole(tmp_path / "fake", port, "127.0.0.1", heartbeat_s=0.2)
        await fake.start()
        try:
            await wait_until(lambda: seat.seat.state is SeatLink.REFUSED)
            assert "certificate" in seat.seat.last_error
            assert fake.seats() == []
            await wait_until(lambda: fake.refusals == {"dropped": fake.refusals.get("dropped", 0)})
            assert fake.refusals["dropped"] >= 1  # the seat closed without a word
            assert seat.actions.calls == []
        finally:
            await fake.close()
        rig.console = make_console(tmp_path / "console", port)  # the real one comes back
        await rig.console.start()
        await wait_until(lambda: rig.online(seat))
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert warnings == ["lab seat: the console's certificate is not the paired one"]


# ------------------------------------------------------------ replayed commands


@pytest.mark.asyncio
async def test_a_replayed_command_is_answered_from_the_journal_not_run_again(
    tmp_path: Path,
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        scripted = ScriptedConsole(tmp_path / "console", port)
        await scripted.start()
        try:
            link = await scripted.link()
            wipe = command("wipe")
            await link.send(wipe)
            first = await link.result(wipe["id"])
            await link.send(wipe)  # the same frame again
            second = await link.result(wipe["id"])
            assert first == second
            assert first["value"] == 3
            assert seat.actions.count("wipe") == 1
            # also after the seat restarts (the journal is on disk)
            await seat.stop()
            restarted = LabSeat(tmp_path / "seat-0", seat.actions, heartbeat_s=0.2)
            task = asyncio.create_task(restarted.run())
            link = await scripted.link()
            await link.send(wipe)
            assert (await link.result(wipe["id"]))["value"] == 3
            assert seat.actions.count("wipe") == 1
            await restarted.close()
            await task
        finally:
            await scripted.close()


@pytest.mark.asyncio
async def test_a_wipe_accepted_before_a_seat_crash_is_not_run_again(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        await seat.stop()
        wipe = command("wipe")
        journal = CommandJournal(tmp_path / "seat-0", REPLAY_WINDOW_S)
        journal.entries[wipe["id"]] = JournalEntry(ts=wipe["ts"])  # accepted, never finished
        journal.save()
        scripted = ScriptedConsole(tmp_path / "console", port)
        await scripted.start()
        restarted = LabSeat(tmp_path / "seat-0", seat.actions, heartbeat_s=0.2)
        task = asyncio.create_task(restarted.run())
        try:
            link = await scripted.link()
            await link.send(wipe)
            answer = await link.result(wipe["id"])
            assert not answer["ok"]
            assert "restarted" in answer["error"]
            assert seat.actions.count("wipe") == 0
        finally:
            await restarted.close()
            await task
            await scripted.close()


@pytest.mark.asyncio
async def test_an_old_or_future_command_is_refused(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        scripted = ScriptedConsole(tmp_path / "console", port)
        await scripted.start()
        try:
            link = await scripted.link()
            for shift in (-REPLAY_WINDOW_S - 60, REPLAY_WINDOW_S + 60):
                stale = command("wipe", ts=time.time() + shift)
                await link.send(stale)
                answer = await link.result(stale["id"])
                assert not answer["ok"]
                assert "too old" in answer["error"]
            assert seat.actions.count("wipe") == 0
        finally:
            await scripted.close()


@pytest.mark.asyncio
async def test_a_console_with_a_wrong_clock_still_works(tmp_path: Path) -> None:
    """The window is measured on the console's clock (offset taken at connect)."""
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        scripted = ScriptedConsole(tmp_path / "console", port)
        scripted.clock_skew = 3 * 3600.0
        await scripted.start()
        try:
            link = await scripted.link()
            pause = command("set_paused", {"paused": True, "message": ""})
            pause["ts"] = time.time() + scripted.clock_skew
            await link.send(pause)
            assert (await link.result(pause["id"]))["ok"]
            assert seat.actions.count("set_paused") == 1
        finally:
            await scripted.close()


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_unknown_types_fields_and_actions_are_refused_and_never_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        port = rig.console.port
        await rig.console.close()
        scripted = ScriptedConsole(tmp_path / "console", port)
        await scripted.start()
        try:
            link = await scripted.link()
            bad_messages = [
                {**command("wipe"), "path": "/etc/passwd"},  # unknown field
                {**command("wipe"), "action": "run_code"},  # unknown action
                {**command("wipe"), "action": "read_file", "args": {"path": "x"}},
                {**command("blocked_attempts", {"limit": 5}), "args": {"limit": 5, "x": 1}},
                {**command("wipe"), "v": 2},  # another protocol version
                {"v": 1, "type": "shell", "cmd": "rm -rf /"},  # unknown type
                {**command("wipe"), "id": 7},  # wrong type
            ]
            for bad in bad_messages:
                await link.send_raw(_frame(bad))
                answer = await link.read()
                assert answer["type"] == "error", bad
            await link.send_raw(len(b"not json").to_bytes(4, "big") + b"not json")
            assert (await link.read())["type"] == "error"
            assert seat.actions.calls == []
            refused = [r for r in caplog.records if "refused a message" in r.getMessage()]
            assert len(refused) == len(bad_messages) + 1
            ok = command("set_paused", {"paused": False, "message": ""})
            await link.send(ok)  # the link still works after refusals
            assert (await link.result(ok["id"]))["ok"]
        finally:
            await scripted.close()


def _frame(message: dict[str, object]) -> bytes:
    payload = json.dumps(message).encode()
    return len(payload).to_bytes(4, "big") + payload


# ------------------------------------------------------------ a seat spoofing another


@pytest.mark.asyncio
async def test_a_seat_cannot_log_in_as_another_seat(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        alice = await rig.add_seat("Alice")
        bob = await rig.add_seat("Bob")
        state = ConsoleState.load_or_create(tmp_path / "console")
        alice_secret = bytes.fromhex(state.seats[alice.seat_id].secret)
        reader, writer = await _tls(rig.console.port)
        try:
            hello = await read_message(reader)
            fp = fingerprint(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
            nonce = b"n" * 32
            forged = auth_proof(alice_secret, "seat", bob.seat_id, unb64(hello["nonce"]), nonce, fp)
            await write_message(
                writer, make("auth", seat_id=bob.seat_id, nonce=b64(nonce), mac=b64(forged))
            )
            answer = await read_message(reader)
            assert answer["type"] == "error"
        finally:
            writer.close()
        assert rig.online(bob)  # Bob's real session was not disturbed
        results = await rig.console.set_paused(True, "", seat_ids=[bob.seat_id])
        assert results[bob.seat_id].ok
        assert bob.actions.count("set_paused") == 1


# ------------------------------------------------------------ a sketch or browser on a seat


@pytest.mark.asyncio
async def test_a_plain_http_request_gets_nothing_and_the_console_keeps_serving(
    tmp_path: Path,
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.console.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: console\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()
        assert not answer.startswith(b"HTTP")  # at most a TLS alert, then closed
        assert b"class_code" not in answer
        results = await rig.console.blocked_attempts(1)
        assert results[seat.seat_id].ok


@pytest.mark.asyncio
async def test_https_and_frames_from_unpaired_peers_are_refused(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        # a browser that accepts the certificate and sends an HTTP request inside TLS
        reader, writer = await _tls(rig.console.port)
        await read_message(reader)  # hello
        writer.write(b"GET / HTTP/1.1\r\nHost: console\r\n\r\n")
        await writer.drain()
        answer = await read_message(reader)
        assert answer["type"] == "error"
        assert "exceeds" in answer["error"]
        writer.close()
        # a peer that skips authentication and sends status or results
        for early in (
            make("status", status={"seat_name": "evil"}),
            make("result", id="x", ok=True, value=None, error=""),
            make("auth", seat_id="nope", nonce=b64(b"n" * 32), mac=b64(b"m" * 32)),
        ):
            reader, writer = await _tls(rig.console.port)
            await read_message(reader)
            await write_message(writer, early)
            assert (await read_message(reader))["type"] == "error"
            async with asyncio.timeout(10):
                assert await reader.read() == b""  # closed
            writer.close()
        assert [v.name for v in rig.console.seats()] == ["A"]
        # the browser's request, the two early frames, the unknown seat
        assert rig.console.refusals == {"FrameTooLarge": 1, "ProtocolError": 2, "PairingFailed": 1}
        assert (await rig.console.blocked_attempts(1))[seat.seat_id].ok


@pytest.mark.asyncio
async def test_a_silent_connection_is_dropped_after_the_handshake_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ai4artsed_desktop.lab.console.HANDSHAKE_TIMEOUT_S", 0.3)
    async with lab(tmp_path) as rig:
        reader, writer = await _tls(rig.console.port)
        await read_message(reader)
        async with asyncio.timeout(10):
            answer = await read_message(reader)
        assert answer == make("error", error="too slow")
        writer.close()


# ------------------------------------------------------------ an eavesdropper on the LAN


@pytest.mark.asyncio
async def test_the_wire_carries_only_tls_13_never_the_code_or_the_commands(
    tmp_path: Path,
) -> None:
    async with lab(tmp_path) as rig:
        proxy = TcpProxy(rig.console.port)
        await proxy.start()
        try:
            actions = RecordingActions(seat_name="Geheimplatz")
            seat = LabSeat(tmp_path / "s", actions, heartbeat_s=0.2, backoff_s=(0.02, 0.2))
            await seat.pair("127.0.0.1", proxy.port, rig.console.class_code, "Geheimplatz")
            task = asyncio.create_task(seat.run())
            await wait_until(lambda: seat.state is SeatLink.ONLINE)
            await rig.console.push_profile({"name": "Sehr geheimes Profil"})
            await seat.close()
            await task
        finally:
            await proxy.close()
        wire = bytes(proxy.captured)
        assert len(wire) > 1000
        for secret in (
            rig.console.class_code.replace("-", "").encode(),
            b"Sehr geheimes Profil",
            b"Geheimplatz",
            b"apply_profile",
            b"pair_start",
        ):
            assert secret not in wire
        assert wire[:3] == b"\x16\x03\x01"  # a TLS handshake record


@pytest.mark.asyncio
async def test_the_console_accepts_nothing_older_than_tls_13(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await asyncio.open_connection("127.0.0.1", rig.console.port, ssl=context)


# ------------------------------------------------------------ guessing the code online


@pytest.mark.asyncio
async def test_pairing_locks_after_too_many_wrong_codes_even_in_parallel(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        code = rig.console.class_code.replace("-", "")
        wrong = [_another(code, n) for n in range(MAX_PAIRING_FAILURES + 15)]

        async def attempt(index: int, guess: str) -> str:
            seat = LabSeat(tmp_path / f"guess-{index}", RecordingActions())
            try:
                await seat.pair("127.0.0.1", rig.console.port, guess, f"g{index}")
            except LabError as exc:
                return exc.key
            return "paired"

        keys = await asyncio.gather(*(attempt(n, g) for n, g in enumerate(wrong)))
        # every answer that could test a guess counted; the rest were refused outright
        assert keys.count("error.lab.wrong_code") == MAX_PAIRING_FAILURES
        assert keys.count("error.lab.console_refused") == len(wrong) - MAX_PAIRING_FAILURES
        assert rig.console.pairing_locked
        seat = LabSeat(tmp_path / "right", RecordingActions())
        with pytest.raises(LabError) as caught:
            await seat.pair("127.0.0.1", rig.console.port, code, "late")
        assert caught.value.key == "error.lab.console_refused"
        await rig.restart_console()
        assert rig.console.pairing_locked  # a restart does not reset the count
        new_code = rig.console.new_class_code()
        await seat.pair("127.0.0.1", rig.console.port, new_code, "late")
        assert seat.paired


@pytest.mark.asyncio
async def test_a_closed_pairing_refuses_new_seats_but_keeps_old_ones(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        old = await rig.add_seat("A")
        rig.console.pairing_open = False
        seat = LabSeat(tmp_path / "new", RecordingActions())
        with pytest.raises(LabError) as caught:
            await seat.pair("127.0.0.1", rig.console.port, rig.console.class_code, "B")
        assert caught.value.key == "error.lab.console_refused"
        assert (await rig.console.blocked_attempts(1))[old.seat_id].ok
        await rig.restart_console()
        assert not rig.console.pairing_open  # the teacher's choice survives a restart
        rig.console.pairing_open = True
        await seat.pair("127.0.0.1", rig.console.port, rig.console.class_code, "B")
        assert seat.paired


def _another(code: str, n: int) -> str:
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    guess = code[:-2] + alphabet[n % len(alphabet)] + alphabet[(n // len(alphabet) + 1) % 31]
    return guess if guess != code else "ZZZZZZ"


# ------------------------------------------------------------ helpers


async def _tls(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context(), limit=MAX_FRAME + 64
    )


_RELAYS: list[asyncio.Server] = []
_RELAY_WRITERS: list[asyncio.StreamWriter] = []


async def _start_tls_relay(folder: Path, target_port: int) -> int:
    """A TLS-terminating relay with its own certificate that forwards plaintext frames."""
    ensure_certificate(folder / "cert.pem", folder / "key.pem")
    context = server_context(folder / "cert.pem", folder / "key.pem")

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await _tls(target_port)
        _RELAY_WRITERS.extend([writer, up_writer])
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    _RELAYS.append(server)
    return int(server.sockets[0].getsockname()[1])


async def _stop_relays() -> None:
    while _RELAYS:
        server = _RELAYS.pop()
        server.close()
        for writer in _RELAY_WRITERS:
            writer.transport.abort()
        await server.wait_closed()
