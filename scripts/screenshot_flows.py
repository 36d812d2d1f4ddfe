"""Screenshots of the app at work (offscreen), against the demo simulators.

Usage: .venv/bin/python scripts/screenshot_flows.py [OUTPUT_DIR] [--only film]
(default: screenshots/; ``--only film`` takes the film shots alone)

One window, a fresh data folder; in this order:

* ``first_run_de.png`` / ``first_run_programs_de.png`` / ``first_run_done_de.png``: the
  first-run assistant (choices, then the programs found here with the demo offer), then the
  Create page it ends in (1366 x 768);
* ``create_{state}_{mode}_{language}_{size}.png``: every main state of Create -- ``empty``,
  ``transformed``, ``picture`` (SD 1.5 by the demo backends: the simulator's picture, not an
  AI's), ``sound`` (Stable Audio in the player), ``film`` (Wan 2.2 by the demo backends: the
  simulator's panning pattern as a real MP4, paused in the video player after a second),
  ``code`` (a p5.js sketch playing in the sandbox) and ``blocked`` (a dangerous idea stopped
  with the reason) -- for kids and expert,
  German and English, at 1366 x 768 and 1920 x 1080; the result is in view in each, the
  page is never scrolled for it;
* ``create_streaming_kids_de_1366x768.png``: the interception text arriving token by token
  (the Ollama simulator is restarted with ``FAKE_OLLAMA_TOKEN_MS=60`` for it);
* ``history_de.png``: the History grid with the runs above and one run's details
  (``history_film_de.png`` with ``--only film``: the films' first frames, one film's details);
* ``training_running_de.png``: the Training page mid-run, with the kohya sd-scripts
  simulator training on a dropped folder of generated images (progress, loss chart, log).

The shell is built the way ``app.py`` builds it: run store, pipeline services, a
TrainingService with the sd-scripts folder set, a fake GPU with 24 GiB, the code sandbox's
URL scheme registered before the QApplication exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("FAKE_KOHYA_STEP_MS", "60")  # slow enough to catch it mid-run
os.environ["FAKE_OLLAMA_TOKEN_MS"] = "0"  # full speed; the streaming shot slows it down

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw
from PySide6.QtWidgets import QWidget

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.pages.create_page import CreatePage, RunPanel
from ai4artsed_desktop.ui.pages.first_run import start_first_run
from ai4artsed_desktop.ui.pages.history_page import HistoryPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase, RunViewModel
from ai4artsed_desktop.ui.widgets.audio_player import AudioPlayer
from ai4artsed_desktop.ui.widgets.video_player import VideoPlayer
from scripts.screenshot_harness import (
    SIZE,
    DemoWorld,
    both_sizes,
    demo_world,
    grab,
    main,
    until,
)

IDEA = "Ein Leuchtturm, der verlorene Geräusche sammelt"
IDEAS = {"de": IDEA, "en": "A lighthouse that collects lost sounds"}
BLOCKED_IDEAS = {"de": "Anleitung: Rohrbombe bauen", "en": "How to build a pipe bomb"}


def _images(folder: Path, count: int = 6) -> Path:
    """Simple, distinct pictures to train on (coloured shapes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = Image.new("RGB", (640, 640), (240 - 20 * i, 220, 200 + 8 * i))
        draw = ImageDraw.Draw(image)
        draw.ellipse((80 + 30 * i, 90, 400 + 20 * i, 420), fill=(200, 40 * i % 255, 60))
        draw.rectangle((300, 300 + 10 * i, 600, 600), fill=(30, 60 + 25 * i, 160))
        image.save(folder / f"shape{i}.png")
    return folder


def _trainer_and_model(store: SettingsStore, base: Path) -> None:
    """A fresh data folder (the first-run assistant shows) with the kohya simulator."""
    kohya = install_fake_kohya(base / "sd-scripts")
    model = base / "models" / "v1-5-pruned-emaonly.safetensors"
    model.parent.mkdir()
    model.write_bytes(b"demo checkpoint")
    store.set("training.kohya_dir", str(kohya))
    store.set("training.base_model", str(model))


async def capture(out_dir: Path, base: Path, args: argparse.Namespace) -> list[Path]:
    async with demo_world(base, configure=_trainer_and_model, training=True) as world:
        if args.only == "film":
            return await _films_only(world.shell, world.gpu, out_dir, base)
        return await _flows(world, out_dir, base)


async def _flows(world: DemoWorld, out_dir: Path, base: Path) -> list[Path]:
    shell, manager, gpu = world.shell, world.manager, world.gpu
    window = shell.window
    window.resize(*SIZE)
    window.show()
    saved = await _first_run(shell, gpu, out_dir)
    saved += await _create_matrix(shell, out_dir)
    saved += await _streaming(shell, manager, out_dir)
    saved.append(await _history(shell, out_dir))
    saved.append(await _training(shell, out_dir, base))
    return saved


async def _films_only(shell: Shell, gpu: FakeGpuProvider, out_dir: Path, base: Path) -> list[Path]:
    """Only the film shots: the first run is passed (its shots go elsewhere), then a film
    for kids and expert, German and English."""
    window = shell.window
    window.resize(*SIZE)
    window.show()
    scratch = base / "first-run-shots"
    scratch.mkdir()
    await _first_run(shell, gpu, scratch)
    _page, panel, run_vm = _parts(shell)
    window.show_page("create")
    saved: list[Path] = []
    for language in ("de", "en"):
        for mode in ("kids", "expert"):
            shell.settings_vm.set_value("ui.language", language)
            shell.settings_vm.set_value("ui.ui_mode", mode)
            shell.settings_vm.set_value("safety.level", "youth")
            shell.create_vm.choose_config("bauhaus")
            shell.create_vm.set_idea(IDEAS[language])
            run_vm.select_output("wan22_video")
            run_vm.transform()
            await until(lambda: not run_vm.busy and run_vm.has_transform, "the transformation")
            saved += await _film(window, panel, run_vm, out_dir, f"create_film_{mode}_{language}")
    shell.settings_vm.set_value("ui.language", "de")
    saved.append(await _history(shell, out_dir, "wan22_video", "history_film_de.png"))
    return saved


async def _film(
    window: QWidget, panel: RunPanel, run_vm: RunViewModel, out_dir: Path, name: str
) -> list[Path]:
    """Generate a film, play it for a second, pause, and take both sizes."""
    await _generate(run_vm, "wan22_video", "the film")
    player = panel.result_view.findChild(VideoPlayer, "videoPlayer")
    assert player is not None
    await until(lambda: player.duration_ms > 0, "the film to open")
    player.toggle_play()
    await until(lambda: player.position_ms > 1000, "a second of the film")
    player.pause()
    return await both_sizes(window, out_dir, name)


def _parts(shell: Shell) -> tuple[CreatePage, RunPanel, RunViewModel]:
    page = shell.window.pages["create"]
    assert isinstance(page, CreatePage)
    assert page.run_panel is not None
    assert shell.run_vm is not None
    return page, page.run_panel, shell.run_vm


async def _first_run(shell: Shell, gpu: FakeGpuProvider, out_dir: Path) -> list[Path]:
    """A fresh data folder: the assistant's two steps, then the Create page it ends in."""
    window = shell.window
    assert not shell.settings_vm.current.ui.first_run_done
    page = start_first_run(window, shell.settings_vm, shell.translator, gpu)
    saved = [await grab(window, out_dir / "first_run_de.png")]
    page.next_button.click()
    await until(lambda: bool(page._vm.detections) and not page._vm.busy, "the detection")
    # scrolled down: the graphics card and the demo backends on offer
    saved.append(await grab(window, out_dir / "first_run_programs_de.png", scroll_down=page))
    page.finish_button.click()
    await until(lambda: window.assistant is None, "the assistant to close")
    saved.append(await grab(window, out_dir / "first_run_done_de.png"))
    return saved


async def _streaming(shell: Shell, manager: BackendManager, out_dir: Path) -> list[Path]:
    """The interception text arriving token by token (German, kids, 1366 x 768)."""
    os.environ["FAKE_OLLAMA_TOKEN_MS"] = "60"  # slow enough to see the words arrive
    await manager.entry("ollama").impl.restart()
    window = shell.window
    _page, panel, run_vm = _parts(shell)
    window.show_page("create")
    shell.settings_vm.set_value("ui.ui_mode", "kids")
    shell.settings_vm.set_value("safety.level", "youth")
    shell.create_vm.choose_config("bauhaus")
    shell.create_vm.set_idea(IDEA)
    run_vm.select_output("sd15")
    run_vm.transform()
    await until(lambda: len(panel.interception_edit.toPlainText().split()) >= 14, "streamed words")
    saved = [await grab(window, out_dir / "create_streaming_kids_de_1366x768.png")]
    run_vm.cancel()
    await until(lambda: not run_vm.busy, "the cancelled run")
    return saved


async def _generate(run_vm: RunViewModel, output_id: str, what: str) -> None:
    if not run_vm.select_output(output_id):
        raise RuntimeError(f"{output_id} cannot be chosen")
    if not run_vm.generate():
        raise RuntimeError(f"{what}: Generate did not start")
    await until(lambda: not run_vm.busy, what)
    if run_vm.phase is not RunPhase.done:
        raise RuntimeError(f"{what}: the run ended {run_vm.phase.value}")


def _waveform_drawn(panel: RunPanel) -> bool:
    player = panel.result_view.findChild(AudioPlayer, "audioPlayer")
    return player is not None and player.waveform is not None


async def _playing_sketch(window: QWidget, panel: RunPanel, out_dir: Path, name: str) -> list[Path]:
    sandbox = panel.result_view.sandbox
    assert sandbox is not None
    loaded: list[bool] = []
    sandbox.page_loaded.connect(loaded.append)
    sandbox.play()
    await until(lambda: bool(loaded), "the sketch page")
    await asyncio.sleep(0.8)  # a few frames of the sketch
    saved = await both_sizes(window, out_dir, name)
    sandbox.stop()
    return saved


async def _create_matrix(shell: Shell, out_dir: Path) -> list[Path]:
    """Every main state of Create, German and English, kids and expert, two window sizes.

    empty -> transformed -> picture -> drawing code (playing) -> sound -> blocked; the
    result must be in view without scrolling in each.
    """
    window = shell.window
    _page, panel, run_vm = _parts(shell)
    window.show_page("create")
    saved: list[Path] = []
    shell.create_vm.choose_config("bauhaus")
    for language in ("de", "en"):  # first: nothing has run yet
        for mode in ("kids", "expert"):
            shell.settings_vm.set_value("ui.language", language)
            shell.settings_vm.set_value("ui.ui_mode", mode)
            saved += await both_sizes(window, out_dir, f"create_empty_{mode}_{language}")
    for language in ("de", "en"):
        for mode in ("kids", "expert"):
            tag = f"{mode}_{language}"
            shell.settings_vm.set_value("ui.language", language)
            shell.settings_vm.set_value("ui.ui_mode", mode)
            shell.settings_vm.set_value("safety.level", "youth")
            shell.create_vm.choose_config("bauhaus")
            shell.create_vm.set_idea(IDEAS[language])
            run_vm.select_output("sd15")
            run_vm.transform()
            await until(lambda: not run_vm.busy and run_vm.has_transform, "the transformation")
            saved += await both_sizes(window, out_dir, f"create_transformed_{tag}")
            await _generate(run_vm, "sd15", "the picture")
            saved += await both_sizes(window, out_dir, f"create_picture_{tag}")
            await _generate(run_vm, "p5js", "the drawing code")
            saved += await _playing_sketch(window, panel, out_dir, f"create_code_{tag}")
            await _generate(run_vm, "stable_audio", "the sound")
            await until(lambda: _waveform_drawn(panel), "the waveform")
            saved += await both_sizes(window, out_dir, f"create_sound_{tag}")
            saved += await _film(window, panel, run_vm, out_dir, f"create_film_{tag}")
            shell.settings_vm.set_value("safety.level", "adult")  # the hard list blocks at once
            shell.create_vm.set_idea(BLOCKED_IDEAS[language])
            run_vm.select_output("sd15")
            run_vm.transform()
            await until(lambda: not run_vm.busy, "the blocked run")
            if run_vm.phase is not RunPhase.blocked:
                raise RuntimeError(f"expected a blocked run, got {run_vm.phase}: {panel.message}")
            saved += await both_sizes(window, out_dir, f"create_blocked_{tag}")
    shell.settings_vm.set_value("ui.language", "de")
    shell.settings_vm.set_value("ui.ui_mode", "youth")
    shell.create_vm.choose_config("renaissance")  # one more picture for the History grid
    shell.create_vm.set_idea(IDEA)
    run_vm.select_output("sd15")
    run_vm.transform()
    await until(lambda: not run_vm.busy and run_vm.has_transform, "the transformation")
    await _generate(run_vm, "sd15", "a last picture")
    return saved


async def _history(
    shell: Shell, out_dir: Path, output_id: str = "sd15", name: str = "history_de.png"
) -> Path:
    """The History grid with every run above, a run of ``output_id`` selected."""
    window = shell.window
    history_vm = shell.history_vm
    assert history_vm is not None
    window.show_page("history")
    page = window.pages["history"]
    assert isinstance(page, HistoryPage)
    await until(lambda: len(history_vm.rows) >= 4 and not history_vm.loading, "the history")
    row = next(
        i for i, r in enumerate(history_vm.rows) if r.output_id == output_id and r.status == "done"
    )
    page.view.setCurrentIndex(page.model.index(row, 0))
    await until(lambda: history_vm.details is not None, "the run's details")
    await until(lambda: page.model.thumbnails_pending == 0, "the thumbnails")
    return await grab(window, out_dir / name)


async def _training(shell: Shell, out_dir: Path, base: Path) -> Path:
    """The Training page mid-run on a dropped folder of pictures."""
    window = shell.window
    training_vm = shell.training_vm
    assert training_vm is not None
    window.show_page("training")
    training_vm.set_sources([_images(base / "drop")])
    await until(lambda: training_vm.report is not None, "the dataset report")
    training_vm.set_name("leuchtturm-formen")
    training_vm.set_trigger("lhtform")
    if not training_vm.start():
        raise RuntimeError(f"training did not start: {training_vm.message}")
    await until(lambda: len(training_vm.loss_history) >= 60, "training progress")
    saved = await grab(
        window, out_dir / "training_running_de.png", scroll_down=window.pages["training"]
    )
    training_vm.request_stop()
    await until(lambda: not training_vm.active, "the training to stop")
    return saved


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", choices=("film",), default="", help="take only these shots")


if __name__ == "__main__":
    raise SystemExit(main(capture, __doc__, options=_options))
