"""The data folder's instance lock: exclusive, released by closing, holder named."""

from __future__ import annotations

from pathlib import Path

from ai4artsed_desktop.instance_lock import (
    InstanceLock,
    describe_holder,
    held_by_other,
    lock_path,
)
from ai4artsed_desktop.system.processes import owner_id


def test_second_lock_on_the_same_folder_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    path = lock_path(tmp_path / "state")
    first, second = InstanceLock(path), InstanceLock(path)
    assert not held_by_other(tmp_path / "state")  # no file yet
    assert first.acquire()
    assert first.held
    assert held_by_other(tmp_path / "state")
    assert not second.acquire()
    assert not second.held
    assert second.holder() == owner_id()
    first.release()
    assert not held_by_other(tmp_path / "state")
    assert second.acquire()
    second.release()


def test_a_lock_file_left_behind_is_not_a_lock(tmp_path: Path) -> None:
    """A crash leaves the file (the kernel drops the lock): the next start takes it."""
    path = lock_path(tmp_path)
    path.write_text("4242:1.00", encoding="utf-8")
    lock = InstanceLock(path)
    assert lock.acquire()
    assert lock.holder() == owner_id()  # the old holder's text is replaced
    lock.release()


def test_holder_is_described_for_messages() -> None:
    assert describe_holder("4242:1700000000.00") == "pid 4242"
    assert describe_holder("") == "another process"
    assert describe_holder("garbage") == "another process"
