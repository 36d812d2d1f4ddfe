from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
from PIL import Image

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.store.media import AI_NOTE
from ai4artsed_desktop.store.record import LoraApplied, MediaRecord, RunRecord, StageRecord
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.store.video import read_tags

from .helpers import inputs, png_bytes, png_text, video_bytes, video_frames


def _read(path: Path) -> RunRecord:
    return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))


def test_new_run_creates_folder_and_run_json(store: RunStore) -> None:
    record = store.new_run(inputs("Ein Baum"))
    assert record.status == "running"
    on_disk = _read(store.folder(record.id) / "run.json")
    assert on_disk == record
    assert on_disk.inputs.idea == "Ein Baum"
    assert store.search()[0].id == record.id


def test_save_updates_file_timestamp_and_index(store: RunStore) -> None:
    record = store.new_run(inputs())
    first_update = record.updated_at
    record.stages.append(StageRecord(Stage.interception, "t", model="m", text="Quadrate"))
    record.status = "done"
    record.prompt = "squares"
    store.save(record)
    assert record.updated_at >= first_update
    assert store.load(record.id) == record
    (hit,) = store.search(text="quadrate")
    assert (hit.status, hit.prompt) == ("done", "squares")


def _tagged_record(store: RunStore) -> RunRecord:
    record = store.new_run(inputs("Ein Haus"))
    record.prompt = "a house on a hill"
    record.seed = 42
    record.models = {"generation": "sd3.5_medium"}
    record.loras_applied = [
        LoraApplied(file="ink.safetensors", strength=0.75, trigger="", node_id="9")
    ]
    return record


def test_add_png_writes_metadata_thumbnail_and_record(store: RunStore) -> None:
    record = _tagged_record(store)
    item = store.add_media(
        record, png_bytes((640, 480)), filename="image.png", mime="image/png", kind="image",
        metadata={"steps": "25"},
    )  # fmt: skip
    folder = store.folder(record.id)
    data = (folder / "image.png").read_bytes()
    assert item == MediaRecord("image.png", "image/png", "image", hashlib.sha256(data).hexdigest())
    text = png_text(data)
    assert text["AI-generated"] == AI_NOTE
    assert text["prompt"] == "a house on a hill"
    assert text["idea"] == "Ein Haus"
    assert text["config"] == "bauhaus"
    assert text["seed"] == "42"
    assert text["model"] == "generation: sd3.5_medium"
    assert text["loras"] == "ink.safetensors (0.75)"
    assert text["Software"] == "AI4ArtsEd Desktop 0.1.0"
    assert text["steps"] == "25"
    assert "negative_prompt" not in text  # empty values are left out
    with Image.open(folder / "thumb.jpg") as thumb:
        assert max(thumb.size) == 256
    assert _read(folder / "run.json").media == [item]
    assert store.search()[0].thumbnail == folder / "thumb.jpg"
    assert store.search()[0].media_kind == "image"


def test_second_file_with_same_name_gets_a_suffix(store: RunStore) -> None:
    record = store.new_run(inputs())
    first = store.add_media(record, png_bytes(), filename="img.png", mime="image/png", kind="image")
    thumb = (store.folder(record.id) / "thumb.jpg").read_bytes()
    second = store.add_media(
        record, png_bytes((10, 10)), filename="img.png", mime="image/png", kind="image"
    )
    assert (first.path, second.path) == ("img.png", "img-2.png")
    assert (store.folder(record.id) / "thumb.jpg").read_bytes() == thumb  # first image stays
    assert [m.path for m in store.load(record.id).media] == ["img.png", "img-2.png"]


def test_audio_is_stored_verbatim_without_thumbnail(store: RunStore) -> None:
    record = store.new_run(inputs())
    item = store.add_media(record, b"fLaC\x00\x01", filename="klang.flac", mime="audio/flac",
                           kind="audio")  # fmt: skip
    assert (store.folder(record.id) / "klang.flac").read_bytes() == b"fLaC\x00\x01"
    assert not (store.folder(record.id) / "thumb.jpg").exists()
    assert store.media_path(record, item) == store.folder(record.id) / "klang.flac"
    assert store.search()[0].media_kind == "audio"


@pytest.mark.parametrize(
    "filename", ["../escape.png", "../../escape.png", "sub/x.png", "..\\x.png", "/tmp/x.png"]
)
def test_path_traversal_in_filename_is_rejected(store: RunStore, filename: str) -> None:
    record = store.new_run(inputs())
    before = sorted(p.name for p in store.runs_dir.rglob("*"))
    with pytest.raises(ValueError, match="unsafe"):
        store.add_media(record, png_bytes(), filename=filename, mime="image/png", kind="image")
    assert sorted(p.name for p in store.runs_dir.rglob("*")) == before
    assert record.media == []


def test_unknown_media_kind_is_rejected(store: RunStore) -> None:
    record = store.new_run(inputs())
    with pytest.raises(ValueError, match="kind"):
        store.add_media(record, b"x", filename="x.gltf", mime="model/gltf", kind="model")  # type: ignore[arg-type]


def test_media_path_refuses_a_tampered_record(store: RunStore) -> None:
    record = store.new_run(inputs())
    with pytest.raises(ValueError, match="unsafe"):
        store.media_path(record, MediaRecord("../../secret.txt", "text/plain", "code", ""))


@pytest.mark.usefixtures("expect_log_warnings")
def test_png_that_is_not_a_png_is_saved_as_is(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    record = store.new_run(inputs())
    with caplog.at_level(logging.WARNING):
        store.add_media(record, b"garbage", filename="a.png", mime="image/png", kind="image")
    assert (store.folder(record.id) / "a.png").read_bytes() == b"garbage"
    assert "without metadata" in caplog.text
    assert "no thumbnail" in caplog.text


def test_bad_metadata_keyword_is_a_programming_error(store: RunStore) -> None:
    record = store.new_run(inputs())
    with pytest.raises(ValueError, match="keyword"):
        store.add_media(record, png_bytes(), filename="a.png", mime="image/png", kind="image",
                        metadata={"": "x"})  # fmt: skip


def test_saving_a_deleted_run_is_refused(store: RunStore) -> None:
    record = store.new_run(inputs())
    store.delete(record.id)
    with pytest.raises(ConfigError, match="deleted"):
        store.save(record)
    assert not store.folder(record.id).exists()
    with pytest.raises(ConfigError, match="deleted"):
        store.add_media(record, b"x", filename="a.js", mime="text/javascript", kind="code")


def test_load_missing_and_bad_ids(store: RunStore) -> None:
    with pytest.raises(ConfigError, match="no longer exists"):
        store.load("20260101-000000-abcdef")
    with pytest.raises(ValueError, match="not a run id"):
        store.load("../index.sqlite3")


@pytest.mark.usefixtures("expect_log_warnings")
def test_broken_run_json_is_skipped_with_a_warning_and_listed(
    app_paths: object, store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    good = store.new_run(inputs("gut"))
    broken = store.new_run(inputs("kaputt"))
    (store.folder(broken.id) / "run.json").write_text('{"id": "2026', encoding="utf-8")
    other = store.new_run(inputs("fremd"))
    moved = store.load(other.id).to_json()
    moved["id"] = good.id
    (store.folder(other.id) / "run.json").write_text(json.dumps(moved), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        count = store.rebuild_index()
    assert count == 1
    assert [s.id for s in store.search()] == [good.id]
    assert [b.run_id for b in store.broken_runs] == sorted([broken.id, other.id])
    assert "another run" in dict((b.run_id, b.reason) for b in store.broken_runs)[other.id]
    assert caplog.text.count("unreadable") == 2
    with pytest.raises(ConfigError, match="damaged"):
        store.load(broken.id)


@pytest.mark.usefixtures("expect_log_warnings")
def test_broken_run_is_listed_when_the_store_opens(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    record = store.new_run(inputs())
    store.close()
    (store.folder(record.id) / "run.json").write_bytes(b"\xff\xfe not json")
    (store.runs_dir / "index.sqlite3").unlink()
    with caplog.at_level(logging.WARNING), RunStore(store.runs_dir) as reopened:
        assert reopened.search() == []
        assert [b.run_id for b in reopened.broken_runs] == [record.id]
    assert "skipping run" in caplog.text


def test_set_favourite_persists(store: RunStore) -> None:
    record = store.new_run(inputs())
    store.set_favourite(record.id, True)
    assert store.load(record.id).favourite is True
    assert store.search(favourites_only=True)[0].id == record.id
    store.set_favourite(record.id, False)
    assert store.search(favourites_only=True) == []


def test_unwritable_runs_dir_gives_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="could not be opened"):
        RunStore(blocker / "runs")


def test_thumbnail_of_png_matches_picture(store: RunStore) -> None:
    record = store.new_run(inputs())
    store.add_media(record, png_bytes((512, 512)), filename="r.png", mime="image/png", kind="image")
    with Image.open(io.BytesIO((store.folder(record.id) / "thumb.jpg").read_bytes())) as thumb:
        red, green, blue = thumb.convert("RGB").getpixel((128, 128))  # type: ignore[misc]
    assert red > 150
    assert green < 80
    assert blue < 80


def test_run_of_a_vanished_process_is_marked_interrupted_on_open(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with RunStore(runs) as first:
        mine = first.new_run(inputs())
        gone = first.new_run(inputs())
        gone.owner = "2147483646:1.00"  # no such process
        first.save(gone)
    with RunStore(runs) as second:
        assert second.load(gone.id).status == "failed"
        error = second.load(gone.id).error
        assert error is not None
        assert "interrupted" in error["message"]
        assert second.load(mine.id).status == "running"  # this process still runs it
        summaries = {row.id: row.status for row in second.search()}
        assert summaries == {mine.id: "running", gone.id: "failed"}


def test_runs_are_private_to_the_user(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs") as store:
        record = store.new_run(inputs())
        item = store.add_media(
            record, png_bytes(), filename="a.png", mime="image/png", kind="image"
        )
        folder = store.folder(record.id)
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "run.json").stat().st_mode & 0o777 == 0o600
        assert store.media_path(record, item).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("fmt", "mime"), [("mp4", "video/mp4"), ("webm", "video/webm")])
def test_a_video_gets_the_ai_note_as_tags_and_its_first_frame_as_thumbnail(
    store: RunStore, fmt: str, mime: str
) -> None:
    record = _tagged_record(store)
    original = video_bytes(fmt=fmt)
    item = store.add_media(
        record, original, filename=f"film.{fmt}", mime=mime, kind="video",
        metadata={"fps": "24.0"},
    )  # fmt: skip
    folder = store.folder(record.id)
    data = (folder / f"film.{fmt}").read_bytes()
    assert item == MediaRecord(f"film.{fmt}", mime, "video", hashlib.sha256(data).hexdigest())
    tags = {key.lower(): value for key, value in read_tags(data).items()}  # WebM: capitals
    assert tags["ai-generated"] == AI_NOTE
    assert tags["comment"] == AI_NOTE
    assert tags["prompt"] == "a house on a hill"  # ComfyUI's graph JSON gives way to ours
    assert tags["idea"] == "Ein Haus"
    assert tags["loras"] == "ink.safetensors (0.75)"
    assert tags["fps"] == "24.0"
    assert list(tags).count("prompt") == 1
    assert video_frames(data) == video_frames(original)  # remuxed, not re-encoded
    with Image.open(folder / "thumb.jpg") as thumb:
        assert thumb.size == (64, 48)
        red, green, blue = thumb.convert("RGB").getpixel((32, 24))  # type: ignore[misc]
    assert red > 150 > green  # the first frame (red), not a later one
    assert blue < 100
    hit = store.search()[0]
    assert (hit.media_kind, hit.thumbnail) == ("video", folder / "thumb.jpg")


@pytest.mark.usefixtures("expect_log_warnings")
def test_an_unreadable_video_is_kept_as_it_came_without_tags_or_thumbnail(
    store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    record = store.new_run(inputs())
    broken = b"\x00\x00\x00\x18ftypmp42 not really a video"
    with caplog.at_level(logging.WARNING):
        store.add_media(record, broken, filename="film.mp4", mime="video/mp4", kind="video")
    assert (store.folder(record.id) / "film.mp4").read_bytes() == broken
    assert not (store.folder(record.id) / "thumb.jpg").exists()
    assert "video saved without metadata" in caplog.text
