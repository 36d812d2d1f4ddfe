"""``ai4artsed-desktop lab console|pair|unpair``: the lab console without the window.

``lab console`` runs the teacher's console headless (asks for the teacher PIN when a lock
is set): it prints the class code and every change of the seats, and reads commands from
standard input, one per line::

    seats | code | new-code | close-pairing | open-pairing
    push PROFILE.json | prepare | pause MESSAGE | resume | blocked [N]
    collect | wipe | wipe --without-collection | quit

``lab pair HOST[:PORT] CODE`` pairs this PC as a seat (the window then keeps it connected);
``lab unpair`` forgets the console. Both use the same folder as the window
(``DATA_DIR/lab``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from .errors import AppError
from .lab.console import DEFAULT_PORT, LabConsole, SeatResult, SeatView
from .lab.seat import pair_with_console
from .lab.state import LAB_FOLDER, SeatState
from .paths import AppPaths


def lab_dir(paths: AppPaths) -> Path:
    """Where the console's class and the seat's pairing live (shared with the window)."""
    return paths.data_dir / LAB_FOLDER


def split_address(text: str) -> tuple[str, int]:
    """``"10.0.0.5:47820"`` or ``"10.0.0.5"`` → host and port.

    Raises:
        AppError: the port is not a number between 1 and 65535.
    """
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not port:
        return text, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise AppError(f"'{port}' is not a port number (1-65535).")
    return host.strip("[]"), int(port)


def _line(view: SeatView) -> str:
    state = "online " if view.online else "offline"
    status = view.status
    extra = ""
    if status is not None:
        lights = " ".join(f"{name}={light}" for name, light in sorted(status.backends.items()))
        flags = [f for f, on in (("warm", status.warm), ("paused", status.paused)) if on]
        extra = f" {lights} {' '.join(flags)} stage={status.stage or '-'}"
        if status.last_block:
            extra += f" last-block={status.last_block!r}"
    return f"  {view.name:<20} {state} {view.address:<21}{extra}"


def _print_results(results: Mapping[str, SeatResult], console: LabConsole) -> None:
    names = {view.seat_id: view.name for view in console.seats()}
    for seat_id, result in results.items():
        name = names.get(seat_id, seat_id[:8])
        if not result.ok:
            print(f"  {name}: FAILED - {result.error}")
        elif result.path is not None:
            print(f"  {name}: saved {result.path}")
        elif isinstance(result.value, list):
            print(f"  {name}: {len(result.value)} row(s)")
            for row in result.value:
                print(f"    {json.dumps(row, ensure_ascii=False)}")
        else:
            print(f"  {name}: ok" + (f" ({result.value})" if result.value is not None else ""))
    if not results:
        print("  (no seats)")


async def _command(console: LabConsole, line: str) -> bool:
    """Run one typed command; False for quit."""
    word, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if word in ("quit", "exit"):
        return False
    if not _local_command(console, word):
        results = await _seat_command(console, word, rest)
        if results is None:
            print(f"unknown command {word!r}; see --help")
        else:
            _print_results(results, console)
    return True


def _local_command(console: LabConsole, word: str) -> bool:
    """The commands that only look at or change the console; False: not one of them."""
    if word == "seats":
        for view in console.seats():
            print(_line(view))
    elif word == "code":
        print(f"class code: {console.class_code}")
    elif word == "new-code":
        print(f"new class code: {console.new_class_code()}")
    elif word in ("close-pairing", "open-pairing"):
        console.pairing_open = word == "open-pairing"
        print("pairing " + ("open" if console.pairing_open else "closed"))
    else:
        return bool(not word)  # an empty line is nothing to do
    return True


async def _seat_command(
    console: LabConsole, word: str, rest: str
) -> Mapping[str, SeatResult] | None:
    """The commands sent to every seat; None: not one of them."""
    if word == "push":
        profile = json.loads(await asyncio.to_thread(Path(rest).read_text, "utf-8"))
        if not isinstance(profile, dict):
            raise AppError(f"{rest} does not hold a lesson profile (a JSON object).")
        return await console.push_profile(profile)
    if word == "prepare":
        return await console.prepare_lesson(on_progress=_show_progress)
    if word in ("pause", "resume"):
        return await console.set_paused(word == "pause", rest)
    if word == "blocked":
        return await console.blocked_attempts(int(rest or 50))
    if word == "collect":
        return await console.collect_portfolios()
    if word == "wipe":
        return await console.wipe(without_collection=rest == "--without-collection")
    return None


def _show_progress(seat_id: str, fraction: float, text: str) -> None:
    print(f"  {seat_id[:8]} {fraction:4.0%} {text}")


async def _console(folder: Path, host: str, port: int) -> int:
    console = LabConsole(folder, port, host)
    await console.start()
    online: dict[str, bool] = {}

    def changed() -> None:
        for view in console.seats():
            if online.get(view.seat_id) != view.online:
                online[view.seat_id] = view.online
                print(_line(view), flush=True)

    console.add_listener(changed)
    print(f"lab console on {host}:{console.port}; class code: {console.class_code}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C raises instead
            loop.add_signal_handler(signum, stop.set)
    reader = asyncio.create_task(_read_commands(console, stop))
    try:
        await stop.wait()
    finally:
        reader.cancel()
        await console.close()
    return 0


async def _read_commands(console: LabConsole, stop: asyncio.Event) -> None:
    # A daemon thread reads stdin: a thread blocked in readline() must not keep the process
    # alive after Ctrl+C or SIGTERM (the default executor would wait for it).
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, "")

    threading.Thread(target=read, name="lab-console-stdin", daemon=True).start()
    while line := await lines.get():  # "": end of input, keep serving until a signal
        try:
            if not await _command(console, line):
                stop.set()
                return
        except (AppError, OSError, ValueError) as exc:
            print(f"  error: {exc}", flush=True)
        sys.stdout.flush()


def run_lab(args: argparse.Namespace) -> int:
    """The ``lab`` sub-commands; exit 1 with a plain message on problems."""
    paths = AppPaths.from_cli(args.data_dir)
    folder = lab_dir(paths)
    try:
        if args.action == "console":
            from .profile_cmd import unlock_teacher

            unlock_teacher(paths)
            try:
                return asyncio.run(_console(folder, args.host, args.port))
            except KeyboardInterrupt:  # Windows: Ctrl+C has no signal handler there
                return 0
        if args.action == "pair":
            host, port = split_address(args.address)
            name = args.name or socket.gethostname()
            state = asyncio.run(pair_with_console(folder, host, port, args.code, name))
            print(f"Paired as '{state.seat_name}' with the console at {host}:{port}.")
            return 0
        SeatState.forget(folder)
        print("This PC is no longer a seat of a lab console.")
        return 0
    except AppError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1
