"""The lab with real seat processes, each with its own data folder, on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.console import LabConsole
from tests.integration.lab_rig import make_console, wait_until

REPO = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 0.3


class SeatProcesses:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, port: int, code: str | None) -> None:
        argv = [
            sys.executable, "-m", "tests.fakes.lab_seat_proc",
            "--data-dir", str(self.root / name), "--port", str(port), "--name", name,
            "--heartbeat", str(HEARTBEAT_S),
        ]  # fmt: skip
        if code:
            argv += ["--code", code]
        old = self.procs.get(name)
        if old is not None:
            old.wait(10)
        self.procs[name] = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL)

    def calls(self, name: str) -> list[dict[str, object]]:
        journal = self.root / name / "calls.jsonl"
        if not journal.is_file():
            return []
        return [json.loads(line) for line in journal.read_text("utf-8").splitlines()]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait(10)


@pytest.fixture
def seat_procs(tmp_path: Path) -> Iterator[SeatProcesses]:
    procs = SeatProcesses(tmp_path / "seats")
    try:
        yield procs
    finally:
        procs.stop_all()


def _online(console: LabConsole) -> dict[str, bool]:
    return {view.name: view.online for view in console.seats()}


@pytest.mark.asyncio
async def test_seat_processes_pair_obey_drop_freeze_and_survive_a_console_restart(
    tmp_path: Path, seat_procs: SeatProcesses
) -> None:
    console = make_console(tmp_path / "console")
    console.heartbeat_s = HEARTBEAT_S
    await console.start()
    port = console.port
    names = ["Platz 1", "Platz 2", "Platz 3"]
    try:
        for name in names:
            seat_procs.start(name, port, console.class_code)
        await wait_until(lambda: _online(console) == dict.fromkeys(names, True), within_s=60)

        profile = {"name": "Kunst 7b"}
        results = await console.push_profile(profile)
        assert all(r.ok for r in results.values())
        for name in names:
            assert [c["args"] for c in seat_procs.calls(name)] == [profile]

        # a seat process dies: offline at once; started again, it reconnects without the code
        seat_procs.procs["Platz 1"].kill()
        await wait_until(lambda: not _online(console)["Platz 1"])
        seat_procs.start("Platz 1", port, None)
        await wait_until(lambda: _online(console)["Platz 1"], within_s=60)

        # a frozen seat process misses its heartbeats and is shown offline, then returns
        frozen = seat_procs.procs["Platz 2"]
        os.kill(frozen.pid, signal.SIGSTOP)
        await wait_until(lambda: not _online(console)["Platz 2"], within_s=30)
        os.kill(frozen.pid, signal.SIGCONT)
        await wait_until(lambda: _online(console)["Platz 2"], within_s=30)

        # the console restarts: the class and every seat come back
        await console.close()
        console = make_console(tmp_path / "console", port)
        console.heartbeat_s = HEARTBEAT_S
        await console.start()
        await wait_until(lambda: _online(console) == dict.fromkeys(names, True), within_s=60)
        results = await asyncio.wait_for(console.set_paused(True, "Augen nach vorn"), 30)
        assert all(r.ok for r in results.values())
        for name in names:
            assert seat_procs.calls(name)[-1]["args"] == [True, "Augen nach vorn"]
    finally:
        await console.close()
