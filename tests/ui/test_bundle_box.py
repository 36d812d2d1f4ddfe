"""Settings → Models → Lab bundle: export on one PC, import on another with the key
confirmed, progress, cancel, a refused key, both languages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from ai4artsed_desktop.models import bundle
from ai4artsed_desktop.models.bundle import TRUST_FILE, TrustStore, part_path
from ai4artsed_desktop.models.service import ModelRoots
from ai4artsed_desktop.settings import LessonSettings, Settings
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator, load_catalogue
from ai4artsed_desktop.ui.viewmodels.bundle_vm import BundleViewModel
from ai4artsed_desktop.ui.widgets.bundle_box import BundleBox
from tests.unit.models.test_bundle import BIG, CATALOGUE, TEXT, Seat

from .helpers import run


class PC:
    """One PC of the test: its config folder, model folders, view-model and box."""

    def __init__(
        self, qtbot: Any, base: Path, language: str = "en", lesson: LessonSettings | None = None
    ) -> None:
        self.seat = Seat(base)
        self.config = base / "config"
        self.folders: list[Path | None] = []
        self.trust_answers: list[bool] = []
        self.asked: list[str] = []
        settings = Settings(lesson=lesson or LessonSettings())
        self.files_changed: list[int] = []
        self.vm = BundleViewModel(
            CATALOGUE,
            self.config,
            lambda: settings,
            lambda: ModelRoots(self.seat.roots["comfyui"], self.seat.roots["swarmui"]),
            TaskRegistry("bundle-test"),
            translator=Translator(language),
            on_files_changed=lambda: self.files_changed.append(1),
        )
        self.box = BundleBox(
            self.vm,
            Translator(language),
            ask_folder=lambda _export: self.folders.pop(0),
            ask_trust=self._trust,
        )
        qtbot.addWidget(self.box)
        self.box.show()

    def _trust(self, _folder: str, fpr: str) -> bool:
        self.asked.append(fpr)
        return self.trust_answers.pop(0)


def _wait_idle(qtbot: Any, pc: PC) -> None:
    qtbot.waitUntil(lambda: not pc.vm.busy, timeout=10_000)


def test_export_then_import_on_another_pc_with_the_key_confirmed_once(
    qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    teacher = PC(qtbot, tmp_path / "teacher")
    teacher.seat.put("comfyui", "big.safetensors", BIG)
    teacher.seat.put("comfyui", "text.safetensors", TEXT)
    assert "no signing key yet" in teacher.box.key_label.text()
    stick = tmp_path / "stick"
    teacher.folders.append(stick)
    steps: list[object] = []
    teacher.vm.progress.connect(steps.append)
    with qtbot.waitSignal(teacher.vm.finished, timeout=10_000):
        teacher.box.export_button.click()
    fpr = teacher.vm.key_fingerprint()
    assert teacher.box.result.text() == f"2 files written to {stick}. Key fingerprint: {fpr}."
    assert fpr in teacher.box.key_label.text()
    assert steps  # progress reached the box

    seat = PC(qtbot, tmp_path / "seat")
    seat.folders += [stick, stick]
    seat.trust_answers += [False]
    with qtbot.waitSignal(seat.vm.untrusted, timeout=10_000):
        seat.box.import_button.click()
    qtbot.waitUntil(lambda: seat.asked == [fpr], timeout=5_000)
    _wait_idle(qtbot, seat)
    assert seat.box.result.text() == "Nothing was copied: the key was not confirmed."
    assert not seat.seat.place("comfyui", "big.safetensors").exists()

    seat.trust_answers += [True]
    with qtbot.waitSignal(seat.vm.finished, timeout=10_000):
        seat.box.import_button.click()
    assert seat.box.result.text() == "2 files installed, 0 already intact."
    assert seat.seat.place("comfyui", "big.safetensors").read_bytes() == BIG
    assert TrustStore(seat.config / TRUST_FILE).trusts(fpr)  # remembered
    assert seat.files_changed  # the Models tab checks its files again


def test_the_lessons_bundle_is_imported_with_the_lessons_key_and_can_be_cancelled(
    qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    teacher = PC(qtbot, tmp_path / "teacher", language="de")
    teacher.seat.put("comfyui", "big.safetensors", BIG)
    stick = tmp_path / "stick"
    teacher.folders.append(stick)
    with qtbot.waitSignal(teacher.vm.finished, timeout=10_000):
        teacher.box.export_button.click()
    assert teacher.box.result.text().startswith("1 Dateien nach")
    lesson = LessonSettings(bundle_location=str(stick), bundle_key=teacher.vm.key_fingerprint())
    seat = PC(qtbot, tmp_path / "seat", lesson=lesson)
    assert seat.box.lesson_button.isVisible()
    teacher.box._tr.set_language("en")  # the last result follows the language
    assert teacher.box.result.text().startswith("1 files written to")
    assert teacher.box.export_button.text() == "Export…"
    seat.box.lesson_button.click()
    assert seat.box.cancel_button.isVisible()
    with qtbot.waitSignal(seat.vm.cancelled, timeout=10_000):
        seat.box.cancel_button.click()  # before the first chunk: it stops at once
    assert seat.box.result.text() == "Stopped; no half-copied file was left behind."
    target = seat.seat.place("comfyui", "big.safetensors")
    assert not target.exists()
    assert not part_path(target).exists()
    assert seat.asked == []  # the lesson's key needs no question

    with qtbot.waitSignal(seat.vm.finished, timeout=10_000):
        seat.box.lesson_button.click()
    assert target.read_bytes() == BIG
    assert not seat.box.cancel_button.isVisible()


def test_a_changed_bundle_is_refused_with_the_reason(
    qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    teacher = PC(qtbot, tmp_path / "teacher")
    teacher.seat.put("comfyui", "big.safetensors", BIG)
    stick = tmp_path / "stick"
    teacher.folders.append(stick)
    with qtbot.waitSignal(teacher.vm.finished, timeout=10_000):
        teacher.box.export_button.click()
    manifest = stick / bundle.MANIFEST
    manifest.write_bytes(manifest.read_bytes().replace(b"test.1", b"test.2"))
    seat = PC(qtbot, tmp_path / "seat", language="de")
    seat.folders.append(stick)
    with qtbot.waitSignal(seat.vm.failed, timeout=10_000):
        seat.box.import_button.click()
    assert seat.box.result.text() == load_catalogue("de")["error.bundle_tampered"]
    assert seat.box.result.objectName() == "errorText"
    seat.box._tr.set_language("en")  # the refusal follows the language
    assert seat.box.result.text() == load_catalogue("en")["error.bundle_tampered"]
    run(qtbot, seat.vm.shutdown())


def _exported(qtbot: Any, base: Path) -> Path:
    teacher = PC(qtbot, base / "teacher")
    teacher.seat.put("comfyui", "big.safetensors", BIG)
    stick = base / "stick"
    teacher.folders.append(stick)
    with qtbot.waitSignal(teacher.vm.finished, timeout=10_000):
        teacher.box.export_button.click()
    return stick


def _import_trusted(qtbot: Any, seat: PC, stick: Path, signal: str) -> None:
    seat.folders += [stick, stick]
    seat.trust_answers.append(True)
    with qtbot.waitSignal(getattr(seat.vm, signal), timeout=10_000):
        seat.box.import_button.click()
    _wait_idle(qtbot, seat)


def test_a_full_disk_refuses_the_import_in_the_ui_language(
    qloop: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stick = _exported(qtbot, tmp_path)
    monkeypatch.setattr(bundle, "DISK_MARGIN", 2**62)  # no disk has that much room
    seat = PC(qtbot, tmp_path / "seat", language="de")
    raised: list[Any] = []
    seat.vm.error_raised.connect(raised.append)
    _import_trusted(qtbot, seat, stick, "failed")
    assert [e.key for e in raised] == ["error.bundle_no_space"]
    params = raised[0].params
    assert set(params) == {"needed", "free"}
    texts = {lang: load_catalogue(lang)["error.bundle_no_space"] for lang in ("de", "en")}
    assert seat.box.result.text() == texts["de"].format(**params)
    seat.box._tr.set_language("en")
    assert seat.box.result.text() == texts["en"].format(**params)
    assert not seat.seat.place("comfyui", "big.safetensors").exists()
    run(qtbot, seat.vm.shutdown())


@pytest.mark.usefixtures("expect_log_warnings")
def test_a_file_changed_on_the_stick_is_named_with_its_reason_in_both_languages(
    qloop: Any, qtbot: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stick = _exported(qtbot, tmp_path)
    copy = next(stick.rglob("big.safetensors"))
    data = bytearray(copy.read_bytes())
    data[-1] ^= 1  # the same size, another checksum than signed
    copy.write_bytes(bytes(data))
    seat = PC(qtbot, tmp_path / "seat", language="de")
    _import_trusted(qtbot, seat, stick, "finished")
    texts = {lang: load_catalogue(lang) for lang in ("de", "en")}
    damaged = {
        lang: t["bundle.problem.damaged"].format(names="big.safetensors")
        for lang, t in texts.items()
    }
    assert seat.box.result.text().endswith(" " + damaged["de"])
    assert seat.box.result.text().startswith("0 Dateien installiert")
    seat.box._tr.set_language("en")
    assert seat.box.result.text().endswith(" " + damaged["en"])
    assert not seat.seat.place("comfyui", "big.safetensors").exists()
    assert "is not the signed" in caplog.text  # the checksums: the log
    run(qtbot, seat.vm.shutdown())


def test_the_key_is_asked_outside_the_import_task_as_a_modal_dialog_needs(
    qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    """QMessageBox.question runs its own event loop: inside the import's asyncio task,
    qasync could step no other task ("Cannot enter into task ...") and the window hung."""
    stick = _exported(qtbot, tmp_path)
    seat = PC(qtbot, tmp_path / "seat")
    seen: list[object] = []
    ticks: list[int] = []

    async def other_work() -> None:  # the window's pollers keep running meanwhile
        while True:
            ticks.append(1)
            await asyncio.sleep(0.005)

    def modal_question(_folder: str, _fpr: str) -> bool:
        seen.append(asyncio.current_task())
        before = len(ticks)
        nested = QEventLoop()
        QTimer.singleShot(100, nested.quit)
        nested.exec()  # as QMessageBox.exec does while the teacher reads the fingerprint
        seen.append(len(ticks) > before)
        return True

    seat.box._ask_trust = modal_question
    ticker = asyncio.get_event_loop().create_task(other_work())
    seat.folders.append(stick)
    with qtbot.waitSignal(seat.vm.finished, timeout=10_000):
        seat.box.import_button.click()
    ticker.cancel()
    assert seen == [None, True]  # asked outside any task; other work ran during the question
    assert seat.seat.place("comfyui", "big.safetensors").read_bytes() == BIG
