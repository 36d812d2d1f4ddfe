"""``ai4artsed-desktop lab console|pair|unpair`` as real processes on loopback."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.state import SeatState
from ai4artsed_desktop.lab_cmd import split_address

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _app(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ai4artsed_desktop", *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def _read_until(stream: asyncio.StreamReader, needle: str) -> str:
    seen = ""
    async with asyncio.timeout(60):
        while needle not in seen:
            line = await stream.readline()
            assert line, f"ended before {needle!r}: {seen}"
            seen += line.decode()
    return seen


@pytest.mark.asyncio
async def test_headless_console_pairs_a_seat_and_sends_it_commands(tmp_path: Path) -> None:
    port = _free_port()
    console = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ai4artsed_desktop", "--data-dir", str(tmp_path / "teacher"),
        "lab", "console", "--host", "127.0.0.1", "--port", str(port), cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    seat: asyncio.subprocess.Process | None = None
    assert console.stdin is not None
    assert console.stdout is not None
    try:
        first = await _read_until(console.stdout, "class code: ")
        code = first.rsplit("class code: ", 1)[1].strip()

        rc, out = await _app(
            "--data-dir", str(tmp_path / "pc1"), "lab", "pair", "127.0.0.1:1", code
        )  # nothing listens there
        assert rc == 1
        assert "cannot be reached" in out
        rc, out = await _app(
            "--data-dir", str(tmp_path / "pc1"), "lab", "pair", f"127.0.0.1:{port}", "ZZZZZZ"
        )
        assert rc == 1
        assert "class code does not match" in out
        rc, out = await _app(
            "--data-dir", str(tmp_path / "pc1"), "lab", "pair", f"127.0.0.1:{port}", code,
            "--name", "Platz 7",
        )  # fmt: skip
        assert rc == 0, out
        seat_dir = tmp_path / "pc1" / "data" / "lab"
        assert SeatState.load(seat_dir) is not None

        seat = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakes.lab_seat_proc", "--data-dir", str(seat_dir),
            "--port", str(port), cwd=REPO, stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await _read_until(console.stdout, " online ")  # the seat came online
        console.stdin.write(b"pause Augen nach vorn\n")
        await console.stdin.drain()
        await _read_until(console.stdout, "Platz 7: ok")
        console.stdin.write(b"wipe\n")
        await console.stdin.drain()
        refused = await _read_until(console.stdout, "FAILED")
        assert "collect" in refused
        console.stdin.write(b"quit\n")
        await console.stdin.drain()
        async with asyncio.timeout(30):
            assert await console.wait() == 0

        rc, out = await _app("--data-dir", str(tmp_path / "pc1"), "lab", "unpair")
        assert rc == 0
        assert SeatState.load(seat_dir) is None
    finally:
        for proc in (console, seat):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


def test_addresses_with_and_without_port() -> None:
    assert split_address("10.0.0.5") == ("10.0.0.5", 47820)
    assert split_address("10.0.0.5:5000") == ("10.0.0.5", 5000)
    assert split_address("[fe80::1]:5000") == ("fe80::1", 5000)
    with pytest.raises(Exception, match="not a port"):
        split_address("host:99999")
