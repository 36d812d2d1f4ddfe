"""Drops, silent links and reconnects between the console and its seats."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.seat import LabSeat, SeatLink
from tests.fakes.lab_actions import RecordingActions
from tests.integration.lab_rig import HEARTBEAT_S, Lab, RunningSeat, TcpProxy, lab, wait_until


@contextlib.asynccontextmanager
async def seat_behind_proxy(rig: Lab, name: str) -> AsyncIterator[tuple[RunningSeat, TcpProxy]]:
    proxy = TcpProxy(rig.console.port)
    await proxy.start()
    actions = RecordingActions(seat_name=name)
    links: list[SeatLink] = []
    seat = LabSeat(
        rig.root / name,
        actions,
        heartbeat_s=HEARTBEAT_S,
        status_poll_s=0.02,
        backoff_s=(0.02, 0.2),
        on_link=links.append,
    )
    await seat.pair("127.0.0.1", proxy.port, rig.console.class_code, name)
    running = RunningSeat(seat, actions, asyncio.create_task(seat.run()), links)
    try:
        await wait_until(lambda: rig.online(running))
        yield running, proxy
    finally:
        await running.stop()
        await proxy.close()


@pytest.mark.asyncio
async def test_a_dropped_seat_shows_offline_and_comes_back_by_itself(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, proxy):
        changes: list[bool] = []
        rig.console.add_listener(lambda: changes.append(rig.online(seat)))
        proxy.drop()
        await wait_until(lambda: False in changes)
        await wait_until(lambda: rig.online(seat))
        assert seat.links.count(SeatLink.ONLINE) >= 2
        results = await rig.console.set_paused(True, "")
        assert results[seat.seat_id].ok


@pytest.mark.asyncio
async def test_a_silent_seat_is_marked_offline_after_missed_heartbeats(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, proxy):
        proxy.flowing.clear()  # nothing passes, nothing is closed
        await wait_until(lambda: not rig.online(seat), within_s=20 * HEARTBEAT_S)
        view = rig.console.seats()[0]
        assert view.status is not None  # the last status stays visible while offline
        proxy.flowing.set()
        await wait_until(lambda: rig.online(seat))


@pytest.mark.asyncio
async def test_the_seat_notices_a_silent_console_and_reconnects(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, proxy):
        proxy.flowing.clear()
        await wait_until(lambda: SeatLink.OFFLINE in seat.links, within_s=20 * HEARTBEAT_S)
        proxy.flowing.set()
        await wait_until(lambda: seat.seat.state is SeatLink.ONLINE)


@pytest.mark.asyncio
async def test_a_command_survives_a_drop_and_runs_once(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, proxy):
        gate = asyncio.Event()
        seat.actions.prepare_gate = gate
        progress: list[float] = []
        job = asyncio.create_task(
            rig.console.prepare_lesson(on_progress=lambda _s, f, _t: progress.append(f))
        )
        await wait_until(lambda: seat.actions.count("prepare_lesson") == 1)
        proxy.drop()
        await wait_until(lambda: seat.links.count(SeatLink.ONLINE) >= 2 and rig.online(seat))
        gate.set()
        async with asyncio.timeout(10):
            results = await job
        assert results[seat.seat_id].ok
        assert seat.actions.count("prepare_lesson") == 1
        assert 1.0 in progress


@pytest.mark.asyncio
async def test_a_collection_interrupted_by_a_drop_is_streamed_again_whole(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, proxy):
        seat.actions.portfolio = bytes(range(256)) * 8000  # about 8 chunks
        job = asyncio.create_task(rig.console.collect_portfolios())
        await wait_until(lambda: seat.actions.count("export_portfolio") == 1)
        proxy.drop()
        async with asyncio.timeout(20):
            results = await job
        result = results[seat.seat_id]
        assert result.ok, result.error
        assert result.path is not None
        assert result.path.read_bytes() == seat.actions.portfolio
        assert not list((tmp_path / "console").rglob("*.part"))


@pytest.mark.asyncio
async def test_a_command_to_a_seat_that_never_returns_times_out(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig, seat_behind_proxy(rig, "A") as (seat, _proxy):
        seat.actions.prepare_gate = asyncio.Event()  # never set
        with pytest.raises(TimeoutError):
            await rig.console.prepare_lesson(timeout_s=0.5)
        await rig.console.set_paused(True, "")  # the console is not stuck afterwards
        assert seat.actions.count("set_paused") == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_forgetting_a_seat_closes_its_link_and_refuses_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        rig.console.forget_seat(seat.seat_id)
        await wait_until(lambda: seat.seat.state is SeatLink.REFUSED)
        assert rig.console.seats() == []
        assert "not part of the class" in seat.seat.last_error
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == 1  # once, although the seat keeps retrying


@pytest.mark.asyncio
async def test_a_command_fails_when_its_seat_does_not_come_back_in_time(tmp_path: Path) -> None:
    async with lab(tmp_path, reconnect_grace_s=0.3) as rig:
        gone = await rig.add_seat("A")
        stays = await rig.add_seat("B")
        gone.actions.prepare_gate = asyncio.Event()  # A never finishes
        job = asyncio.create_task(rig.console.prepare_lesson())
        await wait_until(lambda: gone.actions.count("prepare_lesson") == 1)
        await gone.stop()
        async with asyncio.timeout(10):
            results = await job
        assert results[stays.seat_id].ok
        assert results[gone.seat_id].error == "the seat went offline during this command"
