"""Every catalogue key an ``AppError`` is raised with has its text in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.ui.i18n import load_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "ai4artsed_desktop"
#: ``key="error.x"`` and ``key=f"error.x_{...}"`` (the f-string's fixed prefix).
KEY = re.compile(r'key=f?"(error\.[a-z_.]+)(\{)?')


def _catalogue(language: str) -> dict[str, str]:
    data = json.loads((resources_dir() / "i18n" / f"errors.{language}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_raised_error_keys_have_german_and_english_texts() -> None:
    # The window reads every catalogue of a language (errors.*, backends.*, ...), so a key
    # may live in any of them.
    raised = [
        (m.group(1), bool(m.group(2)))
        for path in PACKAGE.rglob("*.py")
        for m in KEY.finditer(path.read_text("utf-8"))
    ]
    assert len(raised) >= 20  # the scan finds the raisers (a broken pattern finds none)
    for language in ("de", "en"):
        texts = load_catalogue(language)
        for key, prefix_only in raised:
            if prefix_only:
                assert any(k.startswith(key) for k in texts), (language, key)
            else:
                assert key in texts, (language, key)


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    german, english = _catalogue("de"), _catalogue("en")
    assert german.keys() == english.keys()
    for key, text in english.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", german[key]))
