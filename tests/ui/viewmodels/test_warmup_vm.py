"""The warm-up's lines in the UI language: reasons with a catalogue key are translated."""

from __future__ import annotations

from typing import Any

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline import warmup
from ai4artsed_desktop.pipeline.warmup import WarmupEvent, WarmupState
from ai4artsed_desktop.ui.i18n import Translator, load_catalogue
from ai4artsed_desktop.ui.viewmodels.warmup_vm import WarmupViewModel

CONTENT = load_content(resources_dir() / "configs")


def _lines(vm: WarmupViewModel, *events: WarmupEvent) -> list[str]:
    lines: list[str] = []
    vm.progress.connect(lines.append)
    for event in events:
        vm._handle(event)
    return lines


def test_skip_and_failure_reasons_follow_the_ui_language(qapp: Any) -> None:
    translator = Translator("de")
    vm = WarmupViewModel(None, CONTENT, translator)
    busy = WarmupEvent(
        "output", "sd15", WarmupState.failed, "LoRA training 'x' is using it.", key="error.gpu_busy"
    )
    skipped = WarmupEvent(
        "output",
        "p5js",
        WarmupState.skipped,
        "nothing to load",
        key="warmup.reason.nothing_to_load",
    )
    plain = WarmupEvent("model", "qwen3:8b", WarmupState.failed, "connection reset")
    german = _lines(vm, busy, skipped, plain)
    sd15, p5js = CONTENT.outputs["sd15"].name.get("de"), CONTENT.outputs["p5js"].name.get("de")
    assert german == [
        f"Fehlgeschlagen: {sd15} – {load_catalogue('de')['error.gpu_busy']}",
        f"Übersprungen: {p5js} (nichts zu laden)",
        "Fehlgeschlagen: qwen3:8b – connection reset",  # no key: the text as it came
    ]
    translator.set_language("en")
    assert _lines(vm, skipped) == [
        f"Skipped: {CONTENT.outputs['p5js'].name.get('en')} (nothing to load)"
    ]


def test_every_skip_reason_has_a_german_and_an_english_text() -> None:
    keys = [key for _english, key in warmup._SKIPPED.values()]
    assert len(keys) == 3
    for language in ("de", "en"):
        catalogue = load_catalogue(language)
        assert [k for k in keys if not catalogue.get(k)] == [], language
