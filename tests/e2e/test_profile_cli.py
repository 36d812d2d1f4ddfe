"""``profile export|import|show`` as a teacher runs them: real subprocesses, isolated data dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ai4artsed_desktop import settings as s
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.teacher_lock import TeacherLock, default_path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin"
    return subprocess.run(
        [sys.executable, "-m", "ai4artsed_desktop", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=60,
        cwd=REPO,
        check=False,
    )


def _export(tmp_path: Path) -> Path:
    teacher = tmp_path / "teacher"
    path = tmp_path / "lesson.json"
    result = run_cli(
        "profile", "export", str(path), "--data-dir", str(teacher),
        "--name", "Kunst 7b", "--configs", "dada,bauhaus", "--outputs", "sd15",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Kunst 7b" in result.stdout
    return path


def test_export_import_show_configures_a_seat(tmp_path: Path) -> None:
    path = _export(tmp_path)
    seat = tmp_path / "seat"
    result = run_cli("profile", "import", str(path), "--data-dir", str(seat))
    assert result.returncode == 0, result.stderr
    settings = s.load(AppPaths.under(seat).settings_file).settings
    assert settings.lesson == s.LessonSettings("Kunst 7b", ("dada", "bauhaus"), ("sd15",))
    shown = run_cli("profile", "show", "--data-dir", str(seat))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == json.loads(path.read_text(encoding="utf-8"))


def test_broken_profile_exits_1_with_problems_and_changes_nothing(tmp_path: Path) -> None:
    path = _export(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["allowed_outputs"] = ["sd99"]
    data["safety_level"] = "toddler"
    path.write_text(json.dumps(data), encoding="utf-8")
    seat = tmp_path / "seat"
    result = run_cli("profile", "import", str(path), "--data-dir", str(seat))
    assert result.returncode == 1
    assert "lesson.json (field 'allowed_outputs[0]'): There is no output 'sd99'" in result.stderr
    assert "field 'safety_level'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not AppPaths.under(seat).settings_file.exists()


def test_bad_json_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "lesson.json"
    path.write_text("{", encoding="utf-8")
    result = run_cli("profile", "import", str(path), "--data-dir", str(tmp_path / "seat"))
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr


def test_import_on_a_locked_seat_needs_the_teacher_pin(tmp_path: Path) -> None:
    path = _export(tmp_path)
    seat = tmp_path / "seat"
    paths = AppPaths.under(seat)
    TeacherLock(default_path(paths.config_dir)).set_pin("4711")
    wrong = run_cli("profile", "import", str(path), "--data-dir", str(seat), stdin="0000\n")
    assert wrong.returncode == 1
    assert "PIN is wrong" in wrong.stderr
    assert not paths.settings_file.exists()
    right = run_cli("profile", "import", str(path), "--data-dir", str(seat), stdin="4711\n")
    assert right.returncode == 0, right.stderr
    assert s.load(paths.settings_file).settings.lesson.profile_name == "Kunst 7b"
