"""Every console command against in-process seats with their own data folders."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ai4artsed_desktop.errors import AppError
from ai4artsed_desktop.lab import seat as seat_module
from ai4artsed_desktop.lab.protocol import CHUNK_SIZE, ProtocolError, validate
from ai4artsed_desktop.lab.seat import REPLAY_WINDOW_S
from ai4artsed_desktop.lab.seat_actions import SeatStatus
from ai4artsed_desktop.lab.state import CommandJournal, JournalEntry
from tests.fakes.lab_actions import RecordingActions
from tests.integration.lab_rig import lab, refused_profile, wait_until


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
async def test_a_seat_error_reaches_the_console_with_its_key_params_and_problems(
    tmp_path: Path,
) -> None:
    """The console gets the seat's catalogue key beside the English text, to word it itself."""
    async with lab(tmp_path) as rig:
        profile_seat, warm_seat, odd_seat = [await rig.add_seat(n) for n in "ABC"]
        error = refused_profile()
        profile_seat.actions.profile_raises = error
        warm_seat.actions.profile_raises = AppError(
            "The warm-up of sd15 failed: out of memory",
            key="error.lab.warmup_failed",
            params={"target": "sd15", "reason": "out of memory"},
        )
        odd_seat.actions.profile_raises = AppError("Odd.", key="Not A Key!", params={"x": 1})
        results = await rig.console.push_profile({"name": "x"})
        refused = results[profile_seat.seat_id]
        assert not refused.ok
        assert refused.error == error.user_message[:500]  # English, for the log
        assert refused.error_key == "error.lab.profile_refused"
        assert refused.error_params == {}
        assert [(p.field, p.key, dict(p.params)) for p in refused.error_problems] == [
            (p.field, p.key, dict(p.params)) for p in error.problems
        ]
        assert [p.problem for p in refused.error_problems] == [p.problem for p in error.problems]
        warm = results[warm_seat.seat_id]
        assert warm.error_key == "error.lab.warmup_failed"
        assert warm.error_params == {"target": "sd15", "reason": "out of memory"}
        assert warm.error_problems == ()
        # A key the protocol cannot carry is left out: the English text still arrives.
        odd = results[odd_seat.seat_id]
        assert (odd.ok, odd.error, odd.error_key, odd.error_params) == (False, "Odd.", "", {})


@pytest.mark.asyncio
async def test_the_journal_keeps_a_failures_key_for_a_repeated_answer(tmp_path: Path) -> None:
    """A command sent again is answered from the journal on disk: with the same key."""
    async with lab(tmp_path) as rig:
        seat = await rig.add_seat("A")
        seat.actions.profile_raises = refused_profile()
        first = (await rig.console.push_profile({"name": "x"}))[seat.seat_id]
        journal = CommandJournal(seat.seat.data_dir, REPLAY_WINDOW_S)  # as after a restart
        ((command_id, entry),) = journal.entries.items()
        again = validate(seat_module._result_message(command_id, entry))
        assert again["error"] == first.error
        assert again["error_key"] == first.error_key == "error.lab.profile_refused"
        assert len(again["error_problems"]) == len(first.error_problems) > 0
    # A journal written by an earlier version (no error fields) still answers, in English.
    old = JournalEntry(ts=1.0, done=True, error="refused")
    assert "error_key" not in validate(seat_module._result_message("c", old))


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
