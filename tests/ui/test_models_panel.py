"""Settings → Models: states per output, the licence asked first, download with progress,
pause, resume and cancel against a loopback file host, the full check, both languages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.models.catalogue import catalogue_file, parse_catalogue
from ai4artsed_desktop.models.progress import Phase, TransferProgress
from ai4artsed_desktop.models.service import ModelRoots
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator, load_catalogue
from ai4artsed_desktop.ui.viewmodels.models_vm import ModelsViewModel, OutputRow
from ai4artsed_desktop.ui.widgets.models_panel import LicenceDialog, ModelsPanel, progress_text
from tests.fakes.file_server import Faults, FileHost, file_host
from tests.fakes.safetensors_files import safetensors_bytes

from .helpers import run

SD15 = "v1-5-pruned-emaonly.safetensors"
DATA = safetensors_bytes({f"w{i}": ("F16", (400_000,)) for i in range(4)})
CONTENT = load_content(resources_dir() / "configs")


@pytest.fixture
def host() -> Iterator[FileHost]:
    with file_host({SD15: DATA}) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)


def _vm(host: FileHost, comfy: Path, recheck: list[int], **options: Any) -> ModelsViewModel:
    data: dict[str, Any] = json.loads(catalogue_file().read_text(encoding="utf-8"))
    data["files"][SD15].update(
        size=len(DATA),
        approx_size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        urls=[host.url(SD15)],
    )
    return ModelsViewModel(
        parse_catalogue(data),
        CONTENT,
        lambda: ModelRoots(comfy, None),
        TaskRegistry("models-test"),
        translator=Translator("de"),
        token=lambda: None,
        on_files_changed=lambda: recheck.append(1),
        **options,
    )


def _panel(
    qtbot: Any, vm: ModelsViewModel, language: str = "de", answers: list[bool] | None = None
) -> tuple[ModelsPanel, list[OutputRow]]:
    asked: list[OutputRow] = []
    replies = list(answers if answers is not None else [True])

    def confirm(row: OutputRow) -> bool:
        asked.append(row)
        return replies.pop(0)

    panel = ModelsPanel(vm, Translator(language), confirm_licence=confirm)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(vm.rows_changed, timeout=5000):
        panel.show()
    return panel, asked


def test_each_output_shows_its_state_and_files_with_verified_or_unverified(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost
) -> None:
    comfy = tmp_path / "ComfyUI"
    sdxl = comfy / "models" / "checkpoints" / "sd_xl_base_1.0.safetensors"
    sdxl.parent.mkdir(parents=True)
    sdxl.write_bytes(DATA)  # whole-looking, but not the published 6.9 GB: damaged
    vm = _vm(host, comfy, [])
    panel, _asked = _panel(qtbot, vm)
    states = {r.output_id: r.state for r in vm.rows}
    assert states["sd15"] == "missing"
    assert states["sdxl"] == "damaged"
    assert states["swarmui_t2i"] == "no_folder"
    card = panel.cards["sdxl"]
    assert card.state.text() == "beschädigt"
    assert "geprüft" in card.files.text()
    assert "ungeprüft" in panel.cards["ace_step"].files.text()
    assert not card.get_button.isHidden()
    assert "Holen" in card.get_button.text()
    assert panel.cards["swarmui_t2i"].get_button.isHidden()
    assert "nicht eingerichtet" in panel.summary.text() or "beschädigt" in panel.summary.text()
    run(qtbot, vm.shutdown())


def test_the_licence_is_asked_first_and_a_refusal_downloads_nothing(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost
) -> None:
    vm = _vm(host, tmp_path / "ComfyUI", [])
    panel, asked = _panel(qtbot, vm, answers=[False])
    panel.cards["sd15"].get_button.click()
    assert [r.output_id for r in asked] == ["sd15"]
    assert asked[0].licences[0].licence == "CreativeML OpenRAIL-M"
    assert not vm.busy("sd15")
    assert host.seen == []
    assert vm.get("sd15") is False  # the view-model refuses without acceptance, too
    run(qtbot, vm.shutdown())


def test_get_downloads_with_progress_then_the_output_is_ready(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost
) -> None:
    comfy = tmp_path / "ComfyUI"
    recheck: list[int] = []
    vm = _vm(host, comfy, recheck)
    panel, _asked = _panel(qtbot, vm)
    events: list[TransferProgress] = []
    vm.progress.connect(lambda _output, event: events.append(event))
    with qtbot.waitSignal(vm.downloaded, timeout=10000):
        panel.cards["sd15"].get_button.click()
    qtbot.waitUntil(lambda: vm.row("sd15") is not None and vm.row("sd15").state == "ok")  # type: ignore[union-attr]
    assert (comfy / "models" / "checkpoints" / SD15).read_bytes() == DATA
    assert events[-1].phase is Phase.done
    assert recheck  # Create's model board looks again
    assert "Alle Dateien sind da" in panel.message.text()
    card = panel.cards["sd15"]
    assert card.get_button.isHidden()
    with qtbot.waitSignal(vm.busy_changed, timeout=5000, check_params_cb=lambda _o, b: not b):
        card.check_button.click()
    qtbot.waitUntil(lambda: "geprüft: die Datei des Anbieters" in card.files.text())
    run(qtbot, vm.shutdown())


def test_pause_resume_and_cancel_on_a_slow_server(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost
) -> None:
    host.faults[SD15] = Faults(chunk_delay=0.05)
    comfy = tmp_path / "ComfyUI"
    vm = _vm(host, comfy, [])
    panel, _asked = _panel(qtbot, vm, language="en")
    card = panel.cards["sd15"]
    card.get_button.click()
    qtbot.waitUntil(lambda: not card.pause_button.isHidden(), timeout=5000)
    assert not card.bar.isHidden()
    card.pause_button.click()
    assert vm.paused("sd15")
    assert card.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: card.progress.text().startswith(f"{SD15}: Paused at"), timeout=5000)
    card.pause_button.click()
    assert not vm.paused("sd15")
    qtbot.waitUntil(lambda: "MB/s" in card.progress.text(), timeout=5000)
    with qtbot.waitSignal(vm.busy_changed, timeout=5000, check_params_cb=lambda _o, b: not b):
        card.cancel_button.click()
    part = comfy / "models" / "checkpoints" / (SD15 + ".part")
    assert not part.exists()
    assert not (comfy / "models" / "checkpoints" / SD15).exists()
    ranges = [s.range for s in host.requests_for(SD15)]
    assert ranges[0] is None
    assert ranges[1] is not None  # resumed after the pause with a range request
    run(qtbot, vm.shutdown())


@pytest.mark.parametrize(
    ("fault", "key"),
    [("gone", "error.models_not_found"), ("changed", "error.models_hash_mismatch")],
)
def test_a_failed_download_is_said_in_german_and_reworded_on_a_switch(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost, fault: str, key: str
) -> None:
    if fault == "gone":
        host.faults[SD15] = Faults(status=404)
    else:  # the same size, another byte: not the published file
        host.files[SD15] = DATA[:-1] + bytes([DATA[-1] ^ 1])
    comfy = tmp_path / "ComfyUI"
    vm = _vm(host, comfy, [])
    panel, _asked = _panel(qtbot, vm, answers=[True, True])  # the licence, each try
    raised: list[Any] = []
    vm.error_raised.connect(raised.append)
    with qtbot.waitSignal(vm.failed, timeout=10000) as failed:
        panel.cards["sd15"].get_button.click()
    german = load_catalogue("de")[key].format(name=SD15)
    english = load_catalogue("en")[key].format(name=SD15)
    assert panel.message.text() == german
    assert failed.args is not None
    assert failed.args[0] == german  # the vm's text, too
    assert [e.key for e in raised] == [key]
    assert "HTTP" in raised[0].detail or "sha256" in raised[0].detail  # for the log
    assert panel.message.objectName() == "errorText"  # red, not a grey hint
    panel._tr.set_language("en")
    assert panel.message.text() == english
    assert not (comfy / "models" / "checkpoints" / SD15).exists()
    # A new attempt clears the old message; a success then says so in the UI language.
    host.faults.pop(SD15, None)
    host.files[SD15] = DATA
    qtbot.waitUntil(lambda: not vm.busy("sd15"), timeout=5000)
    with qtbot.waitSignal(vm.downloaded, timeout=10000):
        panel.cards["sd15"].get_button.click()
        assert panel.message.text() == ""
    qtbot.waitUntil(lambda: "all files are here" in panel.message.text(), timeout=5000)
    panel._tr.set_language("de")
    assert "Alle Dateien sind da" in panel.message.text()
    assert panel.message.objectName() == "hint"
    run(qtbot, vm.shutdown())


def test_the_licence_dialog_needs_the_tick(
    qloop: Any, qtbot: Any, tmp_path: Path, host: FileHost
) -> None:
    vm = _vm(host, tmp_path / "ComfyUI", [])
    run(qtbot, vm._refresh())
    row = vm.row("sd35_large")
    assert row is not None
    dialog = LicenceDialog(row, Translator("en"))
    qtbot.addWidget(dialog)
    ok = dialog.buttons.buttons()[0]
    assert not ok.isEnabled()
    dialog.accept_box.setChecked(True)
    assert ok.isEnabled()


def test_progress_texts_in_both_languages() -> None:
    event = TransferProgress("f", Phase.downloading, 2 * 2**30, 4 * 2**30, 50e6, 125.0)
    assert progress_text(Translator("en").tr, event) == (
        "2.0 of 4.0 GB · 50.0 MB/s · about 2 min left"
    )
    assert progress_text(Translator("de").tr, event) == (
        "2.0 von 4.0 GB · 50.0 MB/s · noch etwa 2 min"
    )
    paused = TransferProgress("f", Phase.paused, 2**30, None)
    assert progress_text(Translator("de").tr, paused) == "Angehalten bei 1.0 GB"
