"""Pure parts of the supervisor: line splitting, outcomes, env cleaning, records, backoff."""

from __future__ import annotations

from ai4artsed_desktop.backends.process_output import split_lines
from ai4artsed_desktop.backends.process_platform import child_env
from ai4artsed_desktop.backends.process_record import PidRecord
from ai4artsed_desktop.backends.process_types import ProcessOutcome, RestartPolicy


def test_split_on_newline_and_carriage_return_keeps_the_rest() -> None:
    lines, rest = split_lines(b"", b"a\r\nb\rsteps: 1/3\rsteps: 2/3\npart")
    assert lines == [b"a", b"b", b"steps: 1/3", b"steps: 2/3"]
    assert rest == b"part"
    lines, rest = split_lines(rest, b"ial\n")
    assert lines == [b"partial"]
    assert rest == b""


def test_overlong_lines_are_cut() -> None:
    lines, rest = split_lines(b"", b"x" * 25, max_bytes=10)
    assert lines == [b"x" * 10, b"x" * 10]
    assert rest == b"x" * 5


def test_outcome_messages_are_readable() -> None:
    assert str(ProcessOutcome("Ollama", 1)) == "Ollama exited with code 1. See the log for details."
    assert (
        str(ProcessOutcome("Ollama", -9))
        == "Ollama was killed by signal 9 (SIGKILL). See the log for details."
    )
    assert ProcessOutcome("ComfyUI", 0).summary() == "ComfyUI exited normally."
    assert ProcessOutcome("ComfyUI", None).summary() == "ComfyUI stopped."
    assert ProcessOutcome("X", -15).signal == 15
    assert ProcessOutcome("X", 2).signal is None


def test_child_env_drops_our_python_and_qt_variables() -> None:
    base = {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/app",
        "PYTHONHOME": "/app/py",
        "PYTHONSTARTUP": "/x.py",
        "VIRTUAL_ENV": "/venv",
        "PYTHONEXECUTABLE": "/app/python",
        "QT_QPA_PLATFORM": "offscreen",
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "HOME": "/home/u",
    }
    env = child_env({"OLLAMA_HOST": "127.0.0.1:1", "PYTHONPATH": "/sim"}, base)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "OLLAMA_HOST": "127.0.0.1:1",
        "PYTHONPATH": "/sim",
    }


def test_record_parsing_rejects_bad_shapes() -> None:
    good = {"pid": 5, "create_time": 1.5, "port": 80, "argv": ["a"], "started_at": 2}
    record = PidRecord.from_json(good)
    assert record == PidRecord(5, 1.5, 80, ("a",), 2.0)
    assert PidRecord.from_json(record.to_json()) == record
    for bad in (
        [],
        {**good, "pid": True},
        {**good, "pid": -1},
        {**good, "port": "80"},
        {**good, "argv": "a b"},
        {**good, "create_time": None},
    ):
        assert PidRecord.from_json(bad) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
