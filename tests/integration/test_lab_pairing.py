"""Pairing a seat with the lab console: the class code, SPAKE2, pinning, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.protocol import LabError
from ai4artsed_desktop.lab.seat import LabSeat, SeatLink
from ai4artsed_desktop.lab.state import SeatState
from tests.fakes.lab_actions import RecordingActions
from tests.integration.lab_rig import lab, wait_until


@pytest.mark.asyncio
async def test_right_code_pairs_and_the_seat_comes_online(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("Platz 1")
        views = rig.console.seats()
        assert [(v.name, v.online) for v in views] == [("Platz 1", True)]
        assert views[0].address.startswith("127.0.0.1:")
        pairing = SeatState.load(tmp_path / "seat-0")
        assert pairing is not None
        assert pairing.fingerprint == rig.console.fingerprint.hex()
        assert seat.links[-1] is SeatLink.ONLINE
        await wait_until(lambda: rig.console.seats()[0].status is not None)
        status = rig.console.seats()[0].status
        assert status is not None
        assert status.seat_name == "Platz 1"


@pytest.mark.asyncio
async def test_code_is_accepted_in_any_case_and_with_dash(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = LabSeat(tmp_path / "s", RecordingActions())
        code = rig.console.class_code.lower().replace("-", " - ")
        await seat.pair("127.0.0.1", rig.console.port, code, "A")
        assert seat.paired


@pytest.mark.asyncio
async def test_wrong_code_is_refused_on_both_sides_and_nothing_is_saved(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = LabSeat(tmp_path / "s", RecordingActions())
        wrong = "AAAAAA" if rig.console.class_code != "AAA-AAA" else "BBBBBB"
        with pytest.raises(LabError) as caught:
            await seat.pair("127.0.0.1", rig.console.port, wrong, "A")
        assert caught.value.key == "error.lab.wrong_code"
        assert not seat.paired
        assert SeatState.load(tmp_path / "s") is None
        assert rig.console.seats() == []


@pytest.mark.asyncio
async def test_unreachable_console_says_so(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        port = rig.console.port
    seat = LabSeat(tmp_path / "s", RecordingActions())
    with pytest.raises(LabError) as caught:
        await seat.pair("127.0.0.1", port, "ABCDEF", "A")
    assert caught.value.key == "error.lab.unreachable"


@pytest.mark.asyncio
async def test_two_seats_with_the_same_name_stay_two_seats(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        first = await rig.add_seat("Platz")
        second = await rig.add_seat("Platz")
        assert first.seat_id != second.seat_id
        assert sorted(v.name for v in rig.console.seats()) == ["Platz", "Platz (2)"]


@pytest.mark.asyncio
async def test_console_restart_keeps_the_class_and_seats_reconnect_without_the_code(
    tmp_path: Path,
) -> None:
    async with lab(tmp_path) as rig:
        seats = [await rig.add_seat(f"Platz {n}") for n in range(3)]
        code, class_id, fp = rig.console.class_code, rig.console.class_id, rig.console.fingerprint
        await rig.restart_console()
        assert (rig.console.class_code, rig.console.class_id) == (code, class_id)
        assert rig.console.fingerprint == fp
        await wait_until(lambda: all(rig.online(s) for s in seats))
        result = await rig.console.set_paused(True, "Augen nach vorn")
        assert all(r.ok for r in result.values())
        assert all(s.actions.count("set_paused") == 1 for s in seats)


@pytest.mark.asyncio
async def test_seat_restart_reconnects_from_its_saved_pairing(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        first = await rig.add_seat("Platz 1")
        await first.stop()
        await wait_until(lambda: not rig.online(first))
        again = LabSeat(tmp_path / "seat-0", first.actions, heartbeat_s=0.2, backoff_s=(0.02, 0.2))
        assert again.paired
        task = asyncio.create_task(again.run())
        try:
            await wait_until(lambda: rig.online(first))
        finally:
            await again.close()
            await task


@pytest.mark.asyncio
async def test_new_class_code_leaves_paired_seats_paired(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("Platz 1")
        old = rig.console.class_code
        new = rig.console.new_class_code()
        assert new != old
        results = await rig.console.blocked_attempts(5)
        assert results[seat.seat_id].ok


@pytest.mark.asyncio
async def test_a_whole_class_joining_at_once_with_a_few_typos_does_not_lock_pairing(
    tmp_path: Path,
) -> None:
    async with lab(tmp_path) as rig:
        code = rig.console.class_code

        async def join(index: int, typed: str) -> bool:
            seat = LabSeat(tmp_path / f"pc-{index}", RecordingActions())
            try:
                await seat.pair("127.0.0.1", rig.console.port, typed, f"Platz {index}")
            except LabError:
                return False
            return True

        typed = [code] * 25 + ["AAAAAA", "BBBBBB", "CCCCCC"]
        joined = await asyncio.gather(*(join(n, t) for n, t in enumerate(typed)))
        assert joined == [True] * 25 + [False] * 3
        assert len(rig.console.seats()) == 25
        assert not rig.console.pairing_locked
