"""Every console command against in-process seats with their own data folders."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ai4artsed_desktop.lab.protocol import CHUNK_SIZE, ProtocolError
from ai4artsed_desktop.lab.seat_actions import SeatStatus
from tests.fakes.lab_actions import RecordingActions
from tests.integration.lab_rig import lab, wait_until


@pytest.mark.asyncio
async def test_push_profile_applies_on_every_seat_and_the_status_fans_in(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seats = [await rig.add_seat(f"Platz {n}") for n in range(3)]
        profile = {"name": "Kunst 7b", "safety_level": "kids"}
        results = await rig.console.push_profile(profile)
        assert {r.seat_id for r in results.values() if r.ok} == {s.seat_id for s in seats}
        assert all(s.actions.calls == [("apply_profile", profile)] for s in seats)
        await wait_until(
            lambda: all(
                v.status is not None and v.status.profile_name == "Kunst 7b"
                for v in rig.console.seats()
            )
        )


@pytest.mark.asyncio
async def test_a_refused_profile_comes_back_as_that_seats_error(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        good = await rig.add_seat("A")
        bad = await rig.add_seat("B")
        bad.actions.profile_error = "The profile names an unknown output."
        results = await rig.console.push_profile({"name": "x"})
        assert results[good.seat_id].ok
        assert not results[bad.seat_id].ok
        assert results[bad.seat_id].error == "The profile names an unknown output."


@pytest.mark.asyncio
async def test_prepare_lesson_streams_progress_per_seat(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seats = [await rig.add_seat(f"Platz {n}") for n in range(2)]
        seen: list[tuple[str, float, str]] = []
        results = await rig.console.prepare_lesson(
            on_progress=lambda seat_id, fraction, text: seen.append((seat_id, fraction, text))
        )
        assert all(r.ok for r in results.values())
        for seat in seats:
            mine = [(f, t) for s, f, t in seen if s == seat.seat_id]
            assert (0.5, "loading models") in mine
            assert seat.actions.count("prepare_lesson") == 1
        await wait_until(
            lambda: all(v.status is not None and v.status.warm for v in rig.console.seats())
        )


@pytest.mark.asyncio
async def test_pause_with_message_and_resume(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        await rig.console.set_paused(True, "Alle Augen nach vorn!")
        await wait_until(lambda: rig.console.seats()[0].status.paused)  # type: ignore[union-attr]
        await rig.console.set_paused(False)
        assert seat.actions.calls == [
            ("set_paused", (True, "Alle Augen nach vorn!")),
            ("set_paused", (False, "")),
        ]
        await wait_until(lambda: not rig.console.seats()[0].status.paused)  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_blocked_attempts_come_back_per_seat_within_the_limit(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        seat.actions.blocked = [{"idea": f"x{n}", "reason": "violence", "at": n} for n in range(9)]
        results = await rig.console.blocked_attempts(limit=4)
        assert results[seat.seat_id].value == seat.actions.blocked[:4]
        with pytest.raises(ProtocolError):
            await rig.console.blocked_attempts(limit=0)
        with pytest.raises(ProtocolError):
            await rig.console.blocked_attempts(limit=100_000)
        assert seat.actions.count("blocked_attempts") == 1


@pytest.mark.asyncio
async def test_collect_saves_each_portfolio_in_chunks_then_wipe_is_allowed(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seats = [await rig.add_seat(f"Platz {n}") for n in range(2)]
        seats[0].actions.portfolio = bytes(range(256)) * (CHUNK_SIZE // 100)  # 2.56 chunks
        seats[1].actions.portfolio = b"PK small zip"
        refused = await rig.console.wipe()
        assert not any(r.ok for r in refused.values())
        assert all("collect" in r.error for r in refused.values())
        assert all(s.actions.count("wipe") == 0 for s in seats)
        results = await rig.console.collect_portfolios()
        for seat in seats:
            saved = results[seat.seat_id].path
            assert saved is not None
            assert saved.read_bytes() == seat.actions.portfolio
            assert saved.is_relative_to(tmp_path / "console" / "portfolios")
        assert not list((tmp_path / "console").rglob("*.part"))
        wiped = await rig.console.wipe()
        assert {r.value for r in wiped.values()} == {3}
        again = await rig.console.wipe()  # a second wipe needs a new collection
        assert not any(r.ok for r in again.values())


@pytest.mark.asyncio
async def test_wipe_without_collection_needs_the_teachers_override(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        results = await rig.console.wipe(without_collection=True)
        assert results[seat.seat_id].ok
        assert results[seat.seat_id].value == 3


@pytest.mark.asyncio
async def test_a_portfolio_over_the_limit_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    async with lab(tmp_path, max_portfolio_bytes=1000) as rig:
        seat = await rig.add_seat("A")
        seat.actions.portfolio = b"x" * 5000
        results = await rig.console.collect_portfolios()
        assert not results[seat.seat_id].ok
        assert "larger" in results[seat.seat_id].error
        assert not list((tmp_path / "console").rglob("*.zip"))
        assert not list((tmp_path / "console").rglob("*.part"))
        assert rig.console.seats()[0].collected_at is None


@pytest.mark.asyncio
async def test_commands_reach_only_the_selected_seats(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        a = await rig.add_seat("A")
        b = await rig.add_seat("B")
        results = await rig.console.set_paused(True, "", seat_ids=[b.seat_id])
        assert list(results) == [b.seat_id]
        assert a.actions.calls == []
        assert b.actions.count("set_paused") == 1


@pytest.mark.asyncio
async def test_an_offline_seat_answers_at_once_with_an_error(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        a = await rig.add_seat("A")
        b = await rig.add_seat("B")
        await b.stop()
        await wait_until(lambda: not rig.online(b))
        results = await asyncio.wait_for(rig.console.push_profile({"name": "x"}), 5)
        assert results[a.seat_id].ok
        assert results[b.seat_id].error == "the seat is offline"


@pytest.mark.asyncio
async def test_status_command_returns_the_seat_status(tmp_path: Path) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        seat.actions.set_status(vram_used_mb=1234, vram_total_mb=8192, stage="generation")
        results = await rig.console.send("status")
        value = results[seat.seat_id].value
        assert value["vram_used_mb"] == 1234
        assert value["stage"] == "generation"


class _OddActions(RecordingActions):
    async def wipe(self) -> int:
        await super().wipe()
        return -5  # a buggy (or hostile) seat


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_answers_of_the_wrong_shape_are_refused_by_the_console(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        odd = _OddActions(seat_name="A")
        seat.seat.actions = odd
        wiped = await rig.console.wipe(without_collection=True)
        assert wiped[seat.seat_id].error == (
            "the seat answered something other than a number of runs"
        )
        assert odd.count("wipe") == 1
        assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


class _BrokenStatus(RecordingActions):
    def status(self) -> SeatStatus:
        raise RuntimeError("the services are gone")


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_a_seat_whose_status_fails_stays_connected_and_obeys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        seat.seat.actions = _BrokenStatus(seat_name="A")
        seat.seat.notify_status_changed()
        await wait_until(lambda: any("could not report" in r.getMessage() for r in caplog.records))
        results = await rig.console.set_paused(True, "")
        assert results[seat.seat_id].ok
        assert rig.online(seat)
        errors = [r for r in caplog.records if "could not report" in r.getMessage()]
        assert len(errors) == 1  # once, not on every poll
