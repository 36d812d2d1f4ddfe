"""Only the run's own files in ComfyUI's output folder are removed, nothing else."""

from __future__ import annotations

from pathlib import Path

from ai4artsed_desktop.events import OutputFile
from ai4artsed_desktop.pipeline.comfy_cleanup import discard_server_copies, run_prefix

RUN = "20261203-120000-abcd"


def test_removes_the_runs_output_files_in_any_subfolder(tmp_path: Path) -> None:
    out = tmp_path / "output"
    (out / "audio").mkdir(parents=True)
    image = out / f"{run_prefix(RUN)}_00001_.png"
    sound = out / "audio" / f"{run_prefix(RUN)}_00001_.flac"
    other = out / "ComfyUI_00001_.png"  # a teacher's own picture
    for path in (image, sound, other):
        path.write_bytes(b"x")
    removed = discard_server_copies(
        [
            OutputFile(image.name),
            OutputFile(sound.name, "audio"),
            OutputFile(other.name),  # listed, but not the run's name: kept
        ],
        out,
        RUN,
    )
    assert removed == [image.resolve(), sound.resolve()]
    assert not image.exists()
    assert not sound.exists()
    assert other.exists()


def test_leaves_temp_files_other_runs_escapes_and_missing_folders(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.mkdir()
    outside = tmp_path / f"{run_prefix(RUN)}_escape.png"
    outside.write_bytes(b"x")
    other_run = out / "ai4artsed_20261203-110000-ffff_00001_.png"
    other_run.write_bytes(b"x")
    files = [
        OutputFile(f"{run_prefix(RUN)}_00001_.png", type="temp"),
        OutputFile(other_run.name),
        OutputFile(outside.name, ".."),
        OutputFile(f"{run_prefix(RUN)}_gone.png"),  # already removed: no error
    ]
    assert discard_server_copies(files, out, RUN) == []
    assert outside.exists()
    assert other_run.exists()
    assert discard_server_copies(files, None, RUN) == []
