"""Portfolio export: a ZIP with a self-contained ``index.html``, the media and each run.json."""

from __future__ import annotations

import contextlib
import html
import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from .. import APP_NAME
from ..events import Stage
from .media import AI_NOTE, RECORD_NAME, check_media_name
from .record import MediaRecord, RunRecord, StageRecord

log = logging.getLogger(__name__)

_STORED_TYPES = ("image/", "audio/", "video/")  # already compressed: store, do not deflate

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Portfolio",
        "idea": "Idea",
        "rules": "Rules",
        "prompt": "Prompt",
        "negative_prompt": "Negative prompt",
        "models": "Models",
        "seed": "Seed",
        "loras": "LoRAs",
        "status": "Status",
        "stages": "Stages",
        "original": "Original text (before editing)",
        "missing": "file missing",
        "record": "All details (run.json)",
        "error": "Problem",
        "run": "run",
        "runs": "runs",
        "status_done": "Finished",
        "status_blocked": "Stopped by the safety check",
        "status_failed": "Failed",
        "status_cancelled": "Cancelled",
        "status_stopped": "Stopped before the end",
        "status_running": "Still running",
    },
    "de": {
        "title": "Portfolio",
        "idea": "Idee",
        "rules": "Regeln",
        "prompt": "Prompt",
        "negative_prompt": "Negativer Prompt",
        "models": "Modelle",
        "seed": "Seed",
        "loras": "LoRAs",
        "status": "Status",
        "stages": "Schritte",
        "original": "Ursprünglicher Text (vor dem Bearbeiten)",
        "missing": "Datei fehlt",
        "record": "Alle Details (run.json)",
        "error": "Problem",
        "run": "Durchlauf",
        "runs": "Durchläufe",
        "status_done": "Fertig",
        "status_blocked": "Von der Sicherheitsprüfung gestoppt",
        "status_failed": "Fehlgeschlagen",
        "status_cancelled": "Abgebrochen",
        "status_stopped": "Vor dem Ende angehalten",
        "status_running": "Läuft noch",
    },
}
_STAGE_LABELS: dict[str, dict[Stage, str]] = {
    "en": {
        Stage.input_safety: "Safety check of the idea",
        Stage.interception: "Interception",
        Stage.adaptation: "Adaptation to the model",
        Stage.translation: "Translation",
        Stage.output_safety: "Safety check of the prompt",
        Stage.generation: "Generation",
        Stage.media_check: "Check of the result",
    },
    "de": {
        Stage.input_safety: "Sicherheitsprüfung der Idee",
        Stage.interception: "Umdeutung",
        Stage.adaptation: "Anpassung an das Modell",
        Stage.translation: "Übersetzung",
        Stage.output_safety: "Sicherheitsprüfung des Prompts",
        Stage.generation: "Erzeugung",
        Stage.media_check: "Prüfung des Ergebnisses",
    },
}
_AI_NOTE_DE = "Mit KI erzeugt (AI4ArtsEd Desktop)"

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.5}
header{border-bottom:2px solid #ddd;margin-bottom:1.5rem}
article{border:1px solid #ddd;border-radius:.5rem;padding:1rem 1.25rem;margin:0 0 1.5rem}
.note{background:#fff4d6;border-left:4px solid #e0a800;padding:.25rem .75rem}
dt{font-weight:600}dd{margin:0 0 .5rem 0;white-space:pre-wrap}
.stage{border-top:1px solid #eee;padding-top:.5rem}.stage small{color:#666;font-weight:400}
.text{white-space:pre-wrap}img,video{max-width:100%;height:auto;border-radius:.25rem}
pre{background:#f5f5f7;padding:.75rem;overflow:auto}.error{color:#a00}
"""


def write_portfolio(
    runs: Sequence[tuple[RunRecord, Path]],
    dest_zip: Path,
    *,
    language: str = "en",
    names: Mapping[str, str] | None = None,
) -> Path:
    """Write the portfolio of ``(record, run folder)`` pairs to ``dest_zip`` atomically.

    ``names`` gives the rule configs and outputs by id their names in ``language`` for the
    headings (an id without one is shown as it is).

    Media files listed with an unsafe name or missing on disk are left out (the page
    says so). Returns ``dest_zip``.

    Raises:
        OSError: ``dest_zip`` cannot be written (the old file, if any, is unchanged).
    """
    lang = language if language in _LABELS else "en"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest_zip.name}.", suffix=".tmp", dir=dest_zip.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                articles = [
                    _add_run(archive, record, folder, lang, names or {}) for record, folder in runs
                ]
                archive.writestr("index.html", _page(articles, len(runs), lang))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest_zip)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return dest_zip


def _add_run(
    archive: zipfile.ZipFile,
    record: RunRecord,
    folder: Path,
    lang: str,
    names: Mapping[str, str],
) -> str:
    """Copy a run's files into ``archive`` and return its ``<article>``."""
    base = f"runs/{record.id}"
    archive.write(folder / RECORD_NAME, f"{base}/{RECORD_NAME}")
    blocks: list[str] = []
    for item in record.media:
        source = _media_source(folder, item)
        if source is None:
            blocks.append(f"<p>{_e(item.path)} ({_e(_LABELS[lang]['missing'])})</p>")
            continue
        compress = zipfile.ZIP_STORED if item.mime.startswith(_STORED_TYPES) else None
        archive.write(source, f"{base}/{item.path}", compress_type=compress)
        blocks.append(_media_html(record, item, f"{base}/{item.path}"))
    return _article(record, lang, blocks, f"{base}/{RECORD_NAME}", names)


def _media_source(folder: Path, item: MediaRecord) -> Path | None:
    try:
        check_media_name(item.path)
    except ValueError:
        log.warning("run %s: media path %r is unsafe and was left out", folder.name, item.path)
        return None
    source = folder / item.path
    return source if source.is_file() else None


def _media_html(record: RunRecord, item: MediaRecord, href: str) -> str:
    link = _e(quote(href))
    if item.kind == "image":
        alt = _e(record.inputs.idea[:200] or item.path)
        return f'<figure><a href="{link}"><img src="{link}" alt="{alt}"></a></figure>'
    if item.kind == "video":
        return (
            f'<figure><video controls loop preload="metadata" src="{link}"></video>'
            f'<figcaption><a href="{link}">{_e(item.path)}</a></figcaption></figure>'
        )
    if item.kind in ("audio", "music"):
        return (
            f'<figure><audio controls src="{link}"></audio>'
            f'<figcaption><a href="{link}">{_e(item.path)}</a></figcaption></figure>'
        )
    code = f"<pre><code>{_e(record.code)}</code></pre>" if record.code else ""
    return f'{code}<p><a href="{link}">{_e(item.path)}</a></p>'


def _article(
    record: RunRecord,
    lang: str,
    media_blocks: list[str],
    record_href: str,
    names: Mapping[str, str],
) -> str:
    labels = _LABELS[lang]
    created = record.created.astimezone().strftime("%Y-%m-%d %H:%M")
    config, output = record.inputs.config_id, record.inputs.output_id
    title = " · ".join(
        x for x in (created, names.get(config, config), names.get(output, output)) if x
    )
    facts = [
        ("idea", record.inputs.idea),
        ("rules", record.inputs.rules),
        ("prompt", record.prompt),
        ("negative_prompt", record.negative_prompt),
        ("models", ", ".join(f"{r}: {m}" for r, m in sorted(record.models.items()))),
        ("seed", "" if record.seed is None else str(record.seed)),
        ("loras", ", ".join(f"{x['file']} ({x['strength']:g})" for x in record.loras_applied)),
        ("status", labels.get(f"status_{record.status}", record.status)),
    ]
    items = "".join(f"<dt>{_e(labels[k])}</dt><dd>{_e(v)}</dd>" for k, v in facts if v)
    parts = [
        f'<article id="run-{_e(record.id)}"><h2>{_e(title)}</h2>',
        f'<p class="note">{_e(_ai_note(lang))}</p>',
        *media_blocks,
        f"<dl>{items}</dl>",
    ]
    if record.error is not None:
        parts.append(f'<p class="error">{_e(labels["error"])}: {_e(record.error["message"])}</p>')
    if record.stages:
        parts.append(f"<h3>{_e(labels['stages'])}</h3>")
        parts.extend(_stage_html(stage, lang) for stage in record.stages)
    parts.append(f'<p><a href="{_e(quote(record_href))}">{_e(labels["record"])}</a></p></article>')
    return "\n".join(parts)


def _stage_html(stage: StageRecord, lang: str) -> str:
    label = _STAGE_LABELS[lang][stage.stage]
    model = f" <small>{_e(stage.model)}</small>" if stage.model else ""
    html_parts = [f'<section class="stage"><h4>{_e(label)}{model}</h4>']
    if stage.final_text:
        html_parts.append(f'<p class="text">{_e(stage.final_text)}</p>')
    if stage.edited_text is not None and stage.edited_text != stage.text:
        original = _e(_LABELS[lang]["original"])
        html_parts.append(
            f'<details><summary>{original}</summary><p class="text">{_e(stage.text)}</p></details>'
        )
    html_parts.append("</section>")
    return "".join(html_parts)


def _page(articles: list[str], count: int, lang: str) -> str:
    labels = _LABELS[lang]
    title = f"{APP_NAME} – {labels['title']}"
    runs = labels["run" if count == 1 else "runs"]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<header><h1>{_e(title)}</h1><p>{count} {_e(runs)}</p>",
            f'<p class="note">{_e(_ai_note(lang))}</p></header>',
            *articles,
            "</body></html>",
            "",
        ]
    )


def _ai_note(lang: str) -> str:
    return _AI_NOTE_DE if lang == "de" else AI_NOTE


def _e(text: str) -> str:
    return html.escape(text, quote=True)
