from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.training.captions import CAPTION_EXTENSION, build_caption
from ai4artsed_desktop.training.dataset import choose_repeats, prepare, scan
from tests.unit.training.helpers import make_image


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    root = tmp_path / "drop"
    make_image(root / "a.png", seed=1)
    make_image(root / "B.JPG", seed=2, fmt="JPEG")
    (root / "a.txt").write_text("a red clay figure\nsecond line ignored\n", encoding="utf-8")
    shutil.copyfile(root / "a.png", root / "copy_of_a.png")  # exact duplicate
    make_image(root / "tiny.png", size=(200, 300), seed=3)
    make_image(root / "anim.gif", seed=4, fmt="GIF")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    (root / "photo.heic").write_bytes(b"not decodable by pillow")
    (root / "notes.md").write_text("hello", encoding="utf-8")
    (root / ".DS_Store").write_bytes(b"junk")
    make_image(root / "nested" / "deeper" / "c.webp", seed=5, fmt="WEBP")
    (root / "nested" / "deeper" / "c.caption").write_text("   \n", encoding="utf-8")
    return root


def test_scan_reports_problems_of_a_messy_folder(messy: Path) -> None:
    report = scan([messy])
    names = sorted(image.source.name for image in report.images)
    assert names == ["B.JPG", "a.png", "anim.gif", "c.webp", "tiny.png"]
    kinds = {p.path.name: p.kind for p in report.problems}
    assert kinds == {
        "broken.png": "unreadable",
        "copy_of_a.png": "duplicate",
        "tiny.png": "too_small",
        "anim.gif": "convert",
        "photo.heic": "unsupported",
        "notes.md": "ignored",
    }
    by_name = {image.source.name: image for image in report.images}
    assert by_name["a.png"].caption == "a red clay figure"
    assert by_name["c.webp"].caption == ""  # blank caption file counts as none
    assert by_name["anim.gif"].convert
    assert report.count == 5
    assert report.captions_found == 1
    assert "5 usable images" in report.summary()
    assert report.problems_of("too_small")[0].used


def test_scan_can_skip_small_images_and_accepts_single_files(messy: Path) -> None:
    report = scan([messy / "tiny.png", messy / "a.png"], skip_small=True, min_side=256)
    assert [i.source.name for i in report.images] == ["a.png"]
    assert report.problems_of("too_small")[0].used is False


def test_near_duplicates_are_reported_but_kept(tmp_path: Path) -> None:
    make_image(tmp_path / "one.png", seed=7)
    make_image(tmp_path / "two.png", size=(641, 641), seed=7)  # same picture, other size
    report = scan([tmp_path])
    assert report.count == 2
    assert [p.kind for p in report.problems] == ["near_duplicate"]


def test_prepare_builds_the_sd_scripts_layout(messy: Path, tmp_path: Path) -> None:
    report = scan([messy])
    project = tmp_path / "project"
    prepared = prepare(report, project, trigger="lmnx style", batch_size=2, epochs=4)
    assert prepared.repeats == choose_repeats(5) == 30
    assert prepared.subset_dir == project / "images" / "30_lmnx style"
    files = sorted(p.name for p in prepared.subset_dir.iterdir())
    images = [f for f in files if not f.endswith(CAPTION_EXTENSION)]
    captions = [f for f in files if f.endswith(CAPTION_EXTENSION)]
    assert len(images) == len(captions) == 5
    assert any(f.endswith("anim.png") for f in images)  # the GIF was converted
    assert not any(f.endswith(".gif") for f in files)
    texts = {p.name: p.read_text(encoding="utf-8") for p in prepared.subset_dir.glob("*.txt")}
    assert all(t.strip() for t in texts.values()), "no caption may be empty"
    assert texts["0002_a.txt"] == "lmnx style, a red clay figure\n"
    assert texts["0003_anim.txt"] == "lmnx style\n"
    assert prepared.total_steps == 5 * 30 // 2 * 4
    assert "5 images × 30 repeats" in prepared.summary()


def test_prepare_replaces_an_earlier_dataset(messy: Path, tmp_path: Path) -> None:
    report = scan([messy])
    project = tmp_path / "p"
    prepare(report, project, trigger="abc", repeats=3)
    prepared = prepare(report, project, trigger="abc", repeats=7)
    assert [p.name for p in (project / "images").iterdir()] == ["7_abc"]
    assert prepared.repeats == 7


def test_prepare_refuses_bad_input(messy: Path, tmp_path: Path) -> None:
    report = scan([messy])
    with pytest.raises(ConfigError):
        prepare(report, tmp_path, trigger="a,b")
    with pytest.raises(ConfigError):
        prepare(report, tmp_path, trigger="abc", repeats=0)
    with pytest.raises(ConfigError):
        prepare(scan([]), tmp_path, trigger="abc")


@pytest.mark.parametrize("count", [1, 2, 7, 33, 60, 99, 101, 150, 199, 250, 1000])
def test_repeats_aim_for_100_to_200_images_per_epoch(count: int) -> None:
    repeats = choose_repeats(count)
    assert repeats >= 1
    if count <= 200:
        assert 100 <= count * repeats <= 200 or (count * repeats >= 100 and repeats == 1)
    else:
        assert repeats == 1


def test_captions_put_the_trigger_first_and_are_never_empty() -> None:
    assert build_caption("lmnx", "") == "lmnx"
    assert build_caption("lmnx", "  a   cat ") == "lmnx, a cat"
    assert build_caption("lmnx", "photo of LMNX dog") == "photo of LMNX dog"
