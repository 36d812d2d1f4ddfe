from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.store.media import AI_NOTE
from ai4artsed_desktop.store.record import MediaRecord, RunRecord, StageRecord
from ai4artsed_desktop.store.runs import RunStore

from .helpers import inputs, png_bytes, video_bytes

EVIL = '<script>alert("x")</script> & Katze'


def _image_run(store: RunStore) -> RunRecord:
    record = store.new_run(inputs(EVIL, rules="<b>fett</b>"))
    record.stages.append(StageRecord(Stage.interception, "t", model="llama3.2", text="Original <i>",
                                     edited_text="Bearbeitet"))  # fmt: skip
    record.stages.append(StageRecord(Stage.translation, "t", text="A cat"))
    record.prompt = "a cat </dd><script>"
    record.status = "done"
    store.add_media(record, png_bytes(), filename="bild 1.png", mime="image/png", kind="image")
    return record


def _code_run(store: RunStore) -> RunRecord:
    record = store.new_run(inputs("Kreise", output_id="p5js"))
    record.code = "function draw() { if (a < b && c > d) {} }"
    store.add_media(record, record.code.encode(), filename="sketch.js", mime="text/javascript",
                    kind="code")  # fmt: skip
    store.add_media(record, b"ID3", filename="ton.mp3", mime="audio/mpeg", kind="audio")
    return record


def _links(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', page)


def test_portfolio_zip_contents(store: RunStore, tmp_path: Path) -> None:
    image, code = _image_run(store), _code_run(store)
    dest = store.export_portfolio([image.id, code.id, image.id], tmp_path / "mappe.zip")
    assert dest == tmp_path / "mappe.zip"
    with zipfile.ZipFile(dest) as archive:
        names = set(archive.namelist())
        page = archive.read("index.html").decode("utf-8")
        assert json.loads(archive.read(f"runs/{image.id}/run.json"))["id"] == image.id
        stored_png = archive.read(f"runs/{image.id}/bild 1.png")
    assert names == {
        "index.html",
        f"runs/{image.id}/run.json",
        f"runs/{image.id}/bild 1.png",
        f"runs/{code.id}/run.json",
        f"runs/{code.id}/sketch.js",
        f"runs/{code.id}/ton.mp3",
    }
    assert stored_png == (store.folder(image.id) / "bild 1.png").read_bytes()
    links = _links(page)
    assert links
    for link in links:
        assert not link.startswith(("/", "file:", "http"))
        assert ".." not in link
        assert unquote(link) in names
    assert page.count(f'id="run-{image.id}"') == 1  # duplicates are exported once


def test_portfolio_html_is_escaped(store: RunStore, tmp_path: Path) -> None:
    image = _image_run(store)
    code = _code_run(store)
    dest = store.export_portfolio([image.id, code.id], tmp_path / "p.zip")
    with zipfile.ZipFile(dest) as archive:
        page = archive.read("index.html").decode("utf-8")
    assert "<script" not in page
    assert "<b>" not in page
    assert "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Katze" in page
    assert "a &lt; b &amp;&amp; c &gt; d" in page
    assert AI_NOTE in page
    assert "Bearbeitet" in page
    assert "Original &lt;i&gt;" in page
    assert "A cat" in page
    assert "llama3.2" in page
    assert "&lt;b&gt;fett&lt;/b&gt;" in page
    assert "<style>" in page
    assert "<link" not in page


def test_portfolio_in_german(store: RunStore, tmp_path: Path) -> None:
    record = _image_run(store)
    dest = store.export_portfolio([record.id], tmp_path / "p.zip", language="de")
    with zipfile.ZipFile(dest) as archive:
        page = archive.read("index.html").decode("utf-8")
    assert '<html lang="de">' in page
    assert "Mit KI erzeugt" in page
    assert "Idee" in page
    assert "Übersetzung" in page


@pytest.mark.usefixtures("expect_log_warnings")
def test_missing_or_unsafe_media_are_left_out(store: RunStore, tmp_path: Path) -> None:
    record = _image_run(store)
    (store.folder(record.id) / "bild 1.png").unlink()
    record.media.append(MediaRecord("../../etc/passwd", "text/plain", "code", ""))
    store.save(record)
    dest = store.export_portfolio([record.id], tmp_path / "p.zip")
    with zipfile.ZipFile(dest) as archive:
        names = archive.namelist()
        page = archive.read("index.html").decode("utf-8")
    assert names == [f"runs/{record.id}/run.json", "index.html"]
    assert page.count("file missing") == 2


def test_unknown_run_and_unwritable_destination(store: RunStore, tmp_path: Path) -> None:
    record = _image_run(store)
    with pytest.raises(ConfigError, match="no longer exists"):
        store.export_portfolio(["20200101-000000-000000"], tmp_path / "p.zip")
    with pytest.raises(ConfigError, match="portfolio"):
        store.export_portfolio([record.id], tmp_path / "missing-folder" / "p.zip")
    assert not list(tmp_path.glob("*.zip"))


def test_existing_zip_is_replaced_whole(store: RunStore, tmp_path: Path) -> None:
    record = _image_run(store)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "p.zip"
    dest.write_bytes(b"old")
    store.export_portfolio([record.id], dest)
    assert zipfile.is_zipfile(dest)
    assert [p.name for p in out.iterdir()] == ["p.zip"]


def test_headings_name_the_rule_and_output_and_the_status_in_words(
    store: RunStore, tmp_path: Path
) -> None:
    record = store.new_run(inputs("Ein Fuchs", config_id="the_opposite", output_id="tonejs"))
    record.status = "done"
    store.save(record)
    names = {"the_opposite": "Das Gegenteil", "tonejs": "Code – Tone.js (Musik)"}
    dest = store.export_portfolio([record.id], tmp_path / "p.zip", language="de", names=names)
    with zipfile.ZipFile(dest) as archive:
        page = archive.read("index.html").decode("utf-8")
    assert "Das Gegenteil · Code – Tone.js (Musik)" in page
    assert "the_opposite" not in page.split("<h2>")[1].split("</h2>")[0]
    assert "<dd>Fertig</dd>" in page
    assert "<dd>done</dd>" not in page
    assert "<p>1 Durchlauf</p>" in page  # one run, not "1 Durchläufe"


def test_a_film_is_in_the_portfolio_as_a_playable_video(store: RunStore, tmp_path: Path) -> None:
    record = store.new_run(inputs("Ein Papierboot", output_id="wan22_video"))
    record.status = "done"
    store.add_media(record, video_bytes(), filename="film 1.mp4", mime="video/mp4", kind="video")
    dest = store.export_portfolio([record.id], tmp_path / "mappe.zip")
    with zipfile.ZipFile(dest) as archive:
        page = archive.read("index.html").decode("utf-8")
        info = archive.getinfo(f"runs/{record.id}/film 1.mp4")
        stored = archive.read(info)
    assert stored == (store.folder(record.id) / "film 1.mp4").read_bytes()
    assert info.compress_type == zipfile.ZIP_STORED  # already compressed
    [video_tag] = re.findall(r"<video [^>]*>", page)
    assert "controls" in video_tag
    src = re.search(r'src="([^"]*)"', video_tag)
    assert src is not None
    assert unquote(src.group(1)) == f"runs/{record.id}/film 1.mp4"
    assert AI_NOTE in page
