"""Screenshots of the lab console with seats in several states (offscreen).

Usage: .venv/bin/python scripts/screenshot_lab.py [OUTPUT_DIR]   (default: screenshots/)

One window opens the class on a free port on 127.0.0.1's interfaces; twelve seats join it
for real (LabSeat, TLS, pairing with the class code), each staged in a state a teacher meets:
ready (warm), cold, working (a stage in progress), blocked (a recent block), paused, offline
(joined, then switched off), a backend problem. Then, in German and English, at 1366 x 768 and
1920 x 1080:

* ``lab_console_{language}_{size}.png``: the grid after "eyes on me" went to one ticked seat
  and the lesson profile to all (one seat refused it: its tile says why);
* ``lab_console_preparing_{language}_1366x768.png``: "Prepare the lesson" half way, progress
  on each tile;
* ``lab_console_30_{language}_1366x768.png``: 18 more seats join (30 in all), with long seat
  names, a long stage name, every server light and a nearly full graphics card, scrolled to
  the end of the grid: every line fits its tile or ends in "…" (the tooltip has it all);
* ``lab_seat_{language}.png``: the window as a seat, in Settings -> Lab, connected;
* ``lab_pause_{language}.png``: the window as a seat under the "eyes on me" screen.

The staged seats' app side is a small SeatActions here (their answers are set per seat); the
console, the protocol, the pairing and the window are the real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtWidgets import QApplication  # noqa: E402

from ai4artsed_desktop.errors import ConfigError  # noqa: E402
from ai4artsed_desktop.lab.seat import LabSeat  # noqa: E402
from ai4artsed_desktop.lab.seat_actions import ProgressFn, SeatStatus  # noqa: E402
from ai4artsed_desktop.paths import AppPaths  # noqa: E402
from ai4artsed_desktop.settings import LessonSettings  # noqa: E402
from ai4artsed_desktop.settings_store import SettingsStore  # noqa: E402
from ai4artsed_desktop.system.gpu import FakeGpuProvider  # noqa: E402
from ai4artsed_desktop.tasks import TaskRegistry  # noqa: E402
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage  # noqa: E402
from ai4artsed_desktop.ui.qt_async import run_qt_loop  # noqa: E402
from ai4artsed_desktop.ui.shell import Shell, build_shell  # noqa: E402
from scripts.screenshot import load_real_content, write_fake_gpu  # noqa: E402

# The screenshot harness: waiting on the loop, grabbing the window.
from scripts.screenshot_harness import SIZES, each_language_and_size  # noqa: E402
from scripts.screenshot_harness import grab as _grab  # noqa: E402
from scripts.screenshot_harness import until as _until  # noqa: E402

GB = 1024
LIGHTS_OK = {"ollama": "ready", "swarmui": "ready", "comfyui": "off"}


@dataclasses.dataclass
class StagedSeat:
    """A seat's app side with a status and answers set for the picture."""

    status_value: SeatStatus
    refuse_profile: str = ""
    gate: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def status(self) -> SeatStatus:
        return self.status_value

    async def apply_profile(self, profile: dict[str, object]) -> None:
        if self.refuse_profile:
            raise ConfigError(self.refuse_profile)
        self._set(profile_name=str(profile.get("name", "")))

    async def prepare_lesson(self, progress: ProgressFn) -> None:
        progress(0.0, "started:")
        progress(0.34, "warm:llama-guard3:1b")
        progress(0.5, "started:sd35_large")
        await self.gate.wait()
        progress(1.0, "done:")
        self._set(warm=True)

    async def set_paused(self, paused: bool, message: str) -> None:
        self._set(paused=paused)

    async def blocked_attempts(self, limit: int) -> list[dict[str, object]]:
        return []

    async def export_portfolio(self) -> bytes:
        return b"PK\x05\x06" + b"\x00" * 18

    async def wipe(self) -> int:
        return 0

    def _set(self, **changes: object) -> None:
        self.status_value = dataclasses.replace(self.status_value, **changes)  # type: ignore[arg-type]


def _staged(name: str, **status: object) -> StagedSeat:
    values: dict[str, object] = {
        "backends": dict(LIGHTS_OK),
        "warm": True,
        "vram_used_mb": int(6.4 * GB),
        "vram_total_mb": 12 * GB,
    }
    values.update(status)
    return StagedSeat(SeatStatus(seat_name=name, **values))  # type: ignore[arg-type]


def _class(now: float) -> list[tuple[str, StagedSeat]]:
    return [
        ("PC-01", _staged("PC-01")),
        ("PC-02", _staged("PC-02", warm=False, vram_used_mb=700)),
        ("PC-03", _staged("PC-03", stage="generation", vram_used_mb=10 * GB)),
        (
            "PC-04",
            _staged(
                "PC-04",
                stage="",
                last_block="Deine Idee enthält Gewalt oder Waffen; das ist auf dieser Stufe "
                "nicht erlaubt.",
                last_block_at=now - 240,
            ),
        ),
        ("PC-05", _staged("PC-05", stage="interception")),
        ("PC-06", _staged("PC-06")),  # switched off after joining: offline
        (
            "PC-07",
            _staged(
                "PC-07",
                warm=False,
                backends={"ollama": "ready", "swarmui": "error", "comfyui": "off"},
                vram_used_mb=300,
            ),
        ),
        ("PC-08", _staged("PC-08", stage="interception")),
        ("PC-09", _staged("PC-09", warm=False)),
        ("PC-10", _staged("PC-10")),
        ("PC-11", _staged("PC-11", vram_used_mb=None, vram_total_mb=None)),
        ("PC-12", _staged("PC-12", stage="input_safety")),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def capture(out_dir: Path, base: Path) -> list[Path]:
    paths = AppPaths.under(base / "appdata")
    paths.ensure()
    write_fake_gpu(base / "gpu.json")
    store = SettingsStore.load(paths.settings_file)
    store.set("ui.first_run_done", True)
    store.set("lab.console_port", _free_port())
    store.replace(
        dataclasses.replace(
            store.current, lesson=LessonSettings("Tiere im Bauhaus", ("bauhaus",), ())
        )
    )
    tasks = TaskRegistry("screenshot-lab")
    shell = build_shell(
        paths=paths,
        store=store,
        content=load_real_content(paths.user_content_dir),
        gpu=FakeGpuProvider(base / "gpu.json"),
        tasks=tasks,
        demo=True,
    )
    seats: list[LabSeat] = []
    try:
        return await _flows(shell, base, seats, tasks, out_dir)
    finally:
        for seat in seats:
            await seat.close()
        await shell.shutdown()
        await tasks.cancel_all()
        shell.window.hide()
        shell.window.deleteLater()
        await asyncio.sleep(0.2)


async def _open_class(shell: Shell, base: Path, seats: list[LabSeat], tasks: TaskRegistry) -> None:
    vm = shell.lab_console_vm
    assert vm is not None
    vm.start_listening()
    await _until(lambda: vm.listening, "the class to open")
    staged = _class(time.time())
    for index, (name, actions) in enumerate(staged):
        seat = LabSeat(base / f"seat-{index}", actions, heartbeat_s=0.5, status_poll_s=0.05)
        await seat.pair("127.0.0.1", vm.port, vm.class_code, name)
        seats.append(seat)
        tasks.spawn(seat.run(), name=f"seat-{name}")
    await _until(lambda: sum(s.online for s in vm.seats) == len(staged), "every seat online")
    offline = seats[5]
    await offline.close()
    seats.remove(offline)
    await _until(lambda: sum(s.online for s in vm.seats) == len(staged) - 1, "PC-06 offline")
    # "Eyes on me" to the ticked PC-05 only.
    pc05 = next(s.seat_id for s in vm.seats if s.name == "PC-05")
    vm.set_selected(pc05, True)
    vm.pause("")
    await _until(lambda: not vm.attention_busy and vm.last_command == "pause", "the pause")
    vm.clear_selection()
    # The lesson profile to all; PC-09 refuses it (its tile says why).
    refusing = staged[8][1]
    refusing.refuse_profile = "The profile names the rule 'bauhaus', which this PC does not have."
    vm.push_profile()
    await _until(lambda: not vm.busy and vm.last_command == "push", "the profile push")


async def _flows(
    shell: Shell, base: Path, seats: list[LabSeat], tasks: TaskRegistry, out_dir: Path
) -> list[Path]:
    window = shell.window
    window.resize(*SIZES[0])
    window.show()
    window.show_page("lab")
    await _open_class(shell, base, seats, tasks)
    saved = await each_language_and_size(shell, out_dir, "lab_console")
    saved += await _preparing(shell, seats, out_dir)
    saved += await _thirty(shell, base, seats, tasks, out_dir)
    saved += await _seat_side(shell, out_dir)
    return saved


async def _preparing(shell: Shell, seats: list[LabSeat], out_dir: Path) -> list[Path]:
    vm, window = shell.lab_console_vm, shell.window
    assert vm is not None
    window.resize(*SIZES[0])
    gates = [seat.actions.gate for seat in seats if isinstance(seat.actions, StagedSeat)]
    vm.prepare_lesson()
    online = [s.seat_id for s in vm.seats if s.online]
    await _until(
        lambda: all((p := vm.progress(i)) and p.fraction >= 0.5 for i in online), "half way"
    )
    saved = []
    for language in ("de", "en"):
        shell.settings_vm.set_value("ui.language", language)
        saved.append(
            await _grab(window, out_dir / f"lab_console_preparing_{language}_1366x768.png")
        )
    for gate in gates:
        gate.set()
    await _until(lambda: not vm.busy, "the warm-up to end")
    return saved


def _crowd(now: float) -> list[tuple[str, StagedSeat]]:
    """18 more seats for a class of 30, with the longest texts a tile meets."""
    lights = {"ollama": "ready", "comfyui": "starting", "swarmui": "error"}
    crowd = []
    for number in range(14, 32):  # PC-13 is this window, joining later
        name = f"PC-{number:02d}" if number % 3 else f"Raum 214 – Fensterplatz {number:02d}"
        status: dict[str, object] = {"vram_used_mb": 10 * GB}
        if number % 2:
            status.update(stage="output_safety", backends=lights)
        if number % 5 == 0:
            status.update(last_block="Dein Prompt nennt eine echte Person.", last_block_at=now)
        crowd.append((name, _staged(name, **status)))
    return crowd


async def _thirty(
    shell: Shell, base: Path, seats: list[LabSeat], tasks: TaskRegistry, out_dir: Path
) -> list[Path]:
    """A class of 30 at 1366 x 768, scrolled to its last seats."""
    vm, window = shell.lab_console_vm, shell.window
    assert vm is not None
    window.resize(*SIZES[0])
    for name, actions in _crowd(time.time()):
        seat = LabSeat(base / f"seat-{name}", actions, heartbeat_s=0.5, status_poll_s=0.05)
        await seat.pair("127.0.0.1", vm.port, vm.class_code, name)
        seats.append(seat)
        tasks.spawn(seat.run(), name=f"seat-{name}")
    await _until(lambda: len(vm.seats) == 30 and sum(s.online for s in vm.seats) == 29, "30")
    saved = []
    for language in ("de", "en"):
        shell.settings_vm.set_value("ui.language", language)
        saved.append(
            await _grab(
                window,
                out_dir / f"lab_console_30_{language}_1366x768.png",
                scroll_down=window.pages["lab"],
            )
        )
    return saved


async def _seat_side(shell: Shell, out_dir: Path) -> list[Path]:
    """This window joins its own class as a seat: Settings -> Lab, then "eyes on me"."""
    vm, seat_vm, window = shell.lab_console_vm, shell.lab_seat_vm, shell.window
    assert vm is not None
    assert seat_vm is not None
    seat_vm.pair("127.0.0.1", vm.port, vm.class_code, "PC-13")
    await _until(lambda: seat_vm.link == "online", "this window online as a seat")
    # The seat hears "online" before the console's grid has its tile.
    await _until(lambda: any(s.name == "PC-13" for s in vm.seats), "this window's tile")
    page = window.pages["settings"]
    assert isinstance(page, SettingsPage)
    saved = []
    for language in ("de", "en"):
        shell.settings_vm.set_value("ui.language", language)
        window.show_page("settings")
        page.show_tab("lab")
        saved.append(await _grab(window, out_dir / f"lab_seat_{language}.png"))
        window.show_page("create")
        seat_id = next(s.seat_id for s in vm.seats if s.name == "PC-13")
        vm.set_selected(seat_id, True)
        message = {"de": "Schaut bitte alle kurz nach vorne.", "en": "Please look up for a moment."}
        vm.pause(message[language])
        assert shell.pause_overlay is not None
        await _until(
            lambda: shell.pause_overlay is not None and shell.pause_overlay.paused, "pause"
        )
        saved.append(await _grab(window, out_dir / f"lab_pause_{language}.png"))
        await _until(lambda: not vm.attention_busy, "the pause command")
        vm.resume()
        await _until(lambda: not vm.attention_busy, "the resume")
        vm.clear_selection()
    window.show_page("lab")
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="screenshots", type=Path)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    saved: list[Path] = []

    async def run(tmp: Path) -> None:
        saved.extend(await capture(args.out_dir.resolve(), tmp))

    with tempfile.TemporaryDirectory() as tmp:
        run_qt_loop(app, run(Path(tmp)))
    for path in saved:
        print(path, flush=True)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
