"""Class codes, SPAKE2 proofs bound to the certificate, and the lab's files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.lab.console import _parse_status, _result_problem
from ai4artsed_desktop.lab.crypto import (
    CODE_ALPHABET,
    PairingFailed,
    PakeSide,
    auth_proof,
    check_mac,
    display_code,
    new_class_code,
    normalize_code,
    pairing_proof,
    seat_secret,
    unb64,
)
from ai4artsed_desktop.lab.state import CONSOLE_FILE, ConsoleState, SeatState


def test_codes_are_unambiguous_and_typed_back_in_any_form() -> None:
    codes = {new_class_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert display_code("K7QF3P") == "K7Q-F3P"
    assert normalize_code(" k7q-f3p ") == "K7QF3P"


def test_same_code_same_key_other_code_other_key() -> None:
    console, seat = PakeSide("K7QF3P", console=True), PakeSide("k7q-f3p", console=False)
    key = console.finish(seat.message)
    assert seat.finish(console.message) == key
    wrong_console, wrong_seat = PakeSide("K7QF3P", console=True), PakeSide("K7QF3X", console=False)
    assert wrong_console.finish(wrong_seat.message) != wrong_seat.finish(wrong_console.message)


def test_the_code_is_not_in_the_pairing_message() -> None:
    side = PakeSide("K7QF3P", console=False)
    assert b"K7QF3P" not in side.message
    assert PakeSide("K7QF3P", console=False).message != side.message  # fresh randomness


def test_a_malformed_pairing_message_is_a_failed_pairing() -> None:
    for junk in (b"", b"\x00" * 33, b"B" + b"\xff" * 32, b"A" * 100):
        with pytest.raises(PairingFailed):
            PakeSide("K7QF3P", console=True).finish(junk)
    with pytest.raises(PairingFailed):
        unb64("not base64!")


def test_proofs_bind_role_and_certificate() -> None:
    key = b"k" * 32
    transcript = b"t"
    proof = pairing_proof(key, "console", transcript, b"fp1")
    assert proof != pairing_proof(key, "seat", transcript, b"fp1")
    assert proof != pairing_proof(key, "console", transcript, b"fp2")
    assert seat_secret(key, "a", b"fp1") != seat_secret(key, "b", b"fp1")
    seat = auth_proof(b"s" * 32, "seat", "id", b"n1", b"n2", b"fp")
    assert seat != auth_proof(b"s" * 32, "console", "id", b"n1", b"n2", b"fp")
    assert seat != auth_proof(b"s" * 32, "seat", "id", b"n2", b"n1", b"fp")
    import base64

    check_mac(seat, base64.b64encode(seat).decode())
    with pytest.raises(PairingFailed):
        check_mac(seat, base64.b64encode(b"x" * 32).decode())


def test_console_state_survives_a_reload_and_a_broken_file_is_left_alone(tmp_path: Path) -> None:
    first = ConsoleState.load_or_create(tmp_path)
    again = ConsoleState.load_or_create(tmp_path)
    assert (again.class_id, again.class_code) == (first.class_id, first.class_code)
    (tmp_path / CONSOLE_FILE).write_text("{broken", "utf-8")
    with pytest.raises(ConfigError, match="left untouched"):
        ConsoleState.load_or_create(tmp_path)
    assert (tmp_path / CONSOLE_FILE).read_text("utf-8") == "{broken"
    (tmp_path / "lab_seat.json").write_text('{"host": "x"}', "utf-8")
    with pytest.raises(ConfigError, match="incomplete"):
        SeatState.load(tmp_path)


def test_a_seats_status_is_checked_and_trimmed() -> None:
    status = _parse_status(
        {"seat_name": "A" * 500, "backends": {"ollama": "ready"}, "vram_used_mb": 10.0}
    )
    assert len(status.seat_name) == 200
    assert status.vram_used_mb == 10
    for bad in (
        {"seat_name": "a", "shell": "x"},
        {"backends": {"ollama": 1}},
        {"backends": ["ollama"]},
        {"vram_used_mb": True},
        {"last_block_at": "yesterday"},
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - each message names the field
            _parse_status(bad)


def test_the_console_checks_the_shape_of_each_answer() -> None:
    def problem(action: str, value: object, **args: object) -> str:
        return _result_problem({"action": action, "args": args}, value)

    assert problem("blocked_attempts", [{"a": 1}], limit=2) == ""
    assert "at most 2" in problem("blocked_attempts", [{}, {}, {}], limit=2)
    assert "list of rows" in problem("blocked_attempts", ["row"], limit=2)
    assert "list of rows" in problem("blocked_attempts", {"a": 1}, limit=2)
    assert problem("wipe", 3) == ""
    for bad in (-1, True, "3", None):
        assert "number of runs" in problem("wipe", bad)
    assert problem("status", {"seat_name": "a"}) == ""
    assert "malformed" in problem("status", {"rm": "-rf"})
    assert "malformed" in problem("status", [1])
    assert problem("set_paused", None) == ""
    assert "none belongs" in problem("apply_profile", {"x": 1})
