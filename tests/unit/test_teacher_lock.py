"""Teacher lock: hashing, file permissions, brute-force delay, session unlock, corrupt file."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop import teacher_lock as tl
from ai4artsed_desktop.teacher_lock import LockedArea, LockError, LockThrottled, TeacherLock


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lock(tmp_path: Path, clock: FakeClock) -> TeacherLock:
    return TeacherLock(
        tl.default_path(tmp_path / "config"), clock=clock, iterations=tl.MIN_ITERATIONS
    )


def test_no_pin_means_nothing_is_locked(lock: TeacherLock) -> None:
    assert not lock.is_set
    assert lock.locked_areas == frozenset()
    assert lock.unlocked
    assert lock.verify("1234") is False
    assert not lock.path.exists()


def test_set_pin_stores_only_a_salted_versioned_hash(lock: TeacherLock) -> None:
    lock.set_pin("482913")
    text = lock.path.read_text(encoding="utf-8")
    assert "482913" not in text
    record = json.loads(text)
    assert record["version"] == tl.FILE_VERSION
    scheme, iterations, salt, digest = record["hash"].split("$")
    assert scheme == "pbkdf2_sha256"
    assert int(iterations) >= 200_000
    assert len(salt) >= 22  # base64 of 16+ bytes
    assert len(digest) == 44  # base64 of 32 bytes
    other = TeacherLock(lock.path.parent / "other.json")
    other.set_pin("482913")
    assert json.loads(other.path.read_text())["hash"] != record["hash"]  # random salt


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_lock_file_is_readable_by_the_user_only(lock: TeacherLock) -> None:
    lock.set_pin("482913")
    assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600


def test_verify_right_and_wrong_pin_from_a_fresh_instance(lock: TeacherLock) -> None:
    lock.set_pin("correct horse")
    fresh = TeacherLock(lock.path)
    assert fresh.is_set
    assert fresh.locked_areas == frozenset(LockedArea)
    assert fresh.is_locked(LockedArea.training)
    assert fresh.verify("correct horse") is True
    assert fresh.verify("correct horsE") is False


@pytest.mark.parametrize("pin", ["123", "1234567890123", "abc", "     x ", ""])
def test_unusable_pins_are_refused(lock: TeacherLock, pin: str) -> None:
    with pytest.raises(LockError):
        lock.set_pin(pin)
    assert not lock.is_set


@pytest.mark.parametrize("pin", ["1234", "123456789012", "lehrer", "Kunst & KI 2025"])
def test_usable_pins(pin: str) -> None:
    tl.check_new_pin(pin)


def test_changing_the_pin_needs_the_current_one(lock: TeacherLock) -> None:
    lock.set_pin("1234")
    with pytest.raises(LockError, match="already set"):
        lock.set_pin("5678")
    with pytest.raises(LockError, match="wrong"):
        lock.set_pin("5678", current="0000")
    lock.set_pin("5678", current="1234")
    assert lock.verify("5678")


def test_clear_needs_the_pin_and_removes_the_lock(lock: TeacherLock) -> None:
    lock.set_pin("1234")
    with pytest.raises(LockError, match="wrong"):
        lock.clear("9999")
    assert lock.is_set
    lock.clear("1234")
    assert not lock.is_set
    assert lock.locked_areas == frozenset()


def test_growing_delay_after_five_wrong_tries(lock: TeacherLock, clock: FakeClock) -> None:
    lock.set_pin("1234")
    for _ in range(tl.FREE_TRIES - 1):
        assert lock.verify("0000") is False
    assert lock.retry_after_s == 0
    assert lock.verify("0000") is False  # fifth wrong try
    first = lock.retry_after_s
    assert first > 0
    with pytest.raises(LockThrottled) as raised:
        lock.verify("1234")  # even the right PIN is not checked while waiting
    assert raised.value.retry_after_s == pytest.approx(first)
    assert "Wait" in raised.value.user_message
    clock.now += first
    assert lock.verify("0000") is False
    second = lock.retry_after_s
    assert second > first
    clock.now += second
    assert lock.verify("1234") is True
    assert lock.retry_after_s == 0
    for _ in range(tl.FREE_TRIES - 1):
        assert lock.verify("0000") is False  # the count starts again after a success
    assert lock.retry_after_s == 0


def test_delay_is_capped(lock: TeacherLock, clock: FakeClock) -> None:
    lock.set_pin("1234")
    for _ in range(tl.FREE_TRIES + 9):  # 2 s doubled 9 times is past the cap
        lock.verify("0000")
        clock.now += lock.retry_after_s
    lock.verify("0000")
    assert lock.retry_after_s == tl.MAX_DELAY_S


def test_session_unlock_lock_and_research_confirmation(lock: TeacherLock) -> None:
    with pytest.raises(LockError, match="set one first"):
        lock.confirm_research()
    lock.set_pin("1234")
    session = TeacherLock(lock.path)
    with pytest.raises(LockError, match="Unlock"):
        session.confirm_research()
    assert session.unlock("0000") is False
    assert session.locked_areas == frozenset(LockedArea)
    assert session.unlock("1234") is True
    assert session.locked_areas == frozenset()
    assert not session.research_confirmed_for_session
    session.confirm_research()
    assert session.research_confirmed_for_session
    session.lock()
    assert not session.research_confirmed_for_session
    assert session.is_locked(LockedArea.safety_level)
    assert session.unlock("1234")
    assert not session.research_confirmed_for_session  # confirmation is per session


@pytest.mark.usefixtures("expect_log_warnings")
@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b'{"version": 1}',
        b'{"version": 99, "hash": "x"}',
        b'{"version": 1, "hash": "pbkdf2_sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$'
        b'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',  # weakened iteration count
        b'{"version": 1, "hash": "md5$abc"}',
    ],
)
def test_corrupt_file_keeps_everything_locked_and_says_how_to_reset(
    lock: TeacherLock, content: bytes
) -> None:
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_bytes(content)
    assert lock.is_set
    assert lock.locked_areas == frozenset(LockedArea)
    for action in (lambda: lock.verify("1234"), lambda: lock.unlock("1234")):
        with pytest.raises(LockError) as raised:
            action()
        assert str(lock.path) in raised.value.user_message
        assert "delete" in raised.value.user_message
    assert lock.locked_areas == frozenset(LockedArea)
    with pytest.raises(LockError):
        lock.clear("1234")
    with pytest.raises(LockError):
        lock.set_pin("5678", current="1234")
    assert lock.path.read_bytes() == content


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    lock = TeacherLock(blocker / "teacher_lock.json")
    with pytest.raises(LockError, match="could not be saved"):
        lock.set_pin("1234")


def test_too_few_iterations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        TeacherLock(tmp_path / "x.json", iterations=1000)
