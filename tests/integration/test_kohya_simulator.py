"""The kohya sd-scripts simulator follows protocols.md 4 (streams, bars, files, exit codes)."""

from __future__ import annotations

import json
import re
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from ai4artsed_desktop.simulators.kohya_output import format_meter, format_num
from ai4artsed_desktop.training.events import TrainingProgress
from ai4artsed_desktop.training.progress import ProgressParser
from tests.unit.training.helpers import SIMULATOR, dataset_folder, run_sim, sim_env, write_toml


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    dataset_folder(tmp_path / "images", images=3, repeats=5)
    (tmp_path / "images" / "no_repeats").mkdir()
    (tmp_path / "base.safetensors").write_bytes(b"x")
    write_toml(
        tmp_path / "cfg.toml",
        f"""
[model_arguments]
pretrained_model_name_or_path = "{tmp_path / "base.safetensors"}"
[dataset_arguments]
train_data_dir = "{tmp_path / "images"}"
caption_extension = ".txt"
train_batch_size = 2
[training_arguments]
output_dir = "{tmp_path / "out"}"
output_name = "clay"
max_train_epochs = 4
save_every_n_epochs = 2
console_log_simple = true
cache_latents = true
learning_rat = 0.1
[network_arguments]
network_dim = 8
""",
    )
    return tmp_path


def read_header(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert len(data) == 8 + length
    header = json.loads(data[8:])
    assert isinstance(header, dict)
    return header


def test_full_run_in_simple_mode(setup: Path) -> None:
    result = run_sim("train_network.py", "--config_file", str(setup / "cfg"))  # .toml added
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert (
        "ignore directory without repeats / 繰り返し回数のないディレクトリを無視します: no_repeats"
        in out
    )
    assert f"found directory {setup / 'images' / '5_lmnx'} contains 3 image files" in out
    assert "15 train images with repeats." in out
    assert "  total optimization steps / 学習ステップ数: 32" in out  # ceil(15/2)=8 × 4
    assert [line for line in out if re.fullmatch(r"epoch \d+/\d+", line)] == [
        f"epoch {n}/4" for n in range(1, 5)
    ]
    saves = [line for line in out if line.startswith("saving checkpoint: ")]
    assert saves == [
        f"saving checkpoint: {setup / 'out' / 'clay-000002.safetensors'}",
        f"saving checkpoint: {setup / 'out' / 'clay.safetensors'}",
    ]  # epoch 4 is the last: only the final file
    assert out[-1] == "model saved."
    assert "epoch" not in result.stderr.replace("validation", "")  # bars only on stderr
    # Two draws a step (update, then set_postfix) and one more when tqdm closes the bar.
    assert result.stderr.count("\rsteps:") == 2 * 32 + 1
    metadata = read_header(setup / "out" / "clay.safetensors")["__metadata__"]
    assert isinstance(metadata, dict)
    assert metadata["ss_steps"] == "32"
    assert metadata["ss_epoch"] == "4"
    assert metadata["ss_network_dim"] == "8"
    assert "ss_training_finished_at" in metadata
    assert sorted(p.name for p in (setup / "out").iterdir()) == [
        "clay-000002.safetensors",
        "clay.safetensors",
    ]


def test_output_parses_into_progress(setup: Path) -> None:
    result = run_sim("train_network.py", "--config_file", str(setup / "cfg.toml"))
    parser = ProgressParser()
    events = parser.feed(result.stdout) + parser.feed(result.stderr) + parser.finish()
    progress = [e for e in events if isinstance(e, TrainingProgress)]
    assert progress[0].step == 0
    assert progress[-1].step == progress[-1].total == 32
    assert progress[-1].loss is not None
    assert parser.done


def test_cli_flags_override_the_file(setup: Path) -> None:
    result = run_sim(
        "sdxl_train_network.py", "--config_file", str(setup / "cfg.toml"),
        "--max_train_epochs", "1", "--output_name", "other",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "  total optimization steps / 学習ステップ数: 8" in result.stdout.splitlines()
    assert (setup / "out" / "other.safetensors").is_file()


def test_rich_mode_puts_logger_lines_on_stderr(setup: Path) -> None:
    result = run_sim(
        "train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
        "--console_log_simple",
        "false",
    )
    assert result.returncode == 0
    assert "model saved." not in result.stdout
    assert "model saved." in result.stderr
    assert "epoch 1/4" in result.stdout.splitlines()  # accelerator.print stays on stdout


def test_missing_config_exits_1(tmp_path: Path) -> None:
    result = run_sim("train_network.py", "--config_file", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert f"{tmp_path / 'nope.toml'} not found." in result.stderr


def test_no_data_exits_0_without_a_model(setup: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_sim(
        "train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
        "--train_data_dir",
        str(tmp_path / "empty"),
    )
    assert result.returncode == 0
    assert "No data found. Please verify arguments" in result.stdout
    assert not (setup / "out").exists()


def test_default_caption_extension_ignores_txt(setup: Path) -> None:
    result = run_sim(
        "train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
        "--caption_extension",
        ".caption",
    )
    assert "No caption file found for 3 images." in result.stdout


def test_real_empty_caption_aborts(setup: Path) -> None:
    (setup / "images" / "5_lmnx" / "0.txt").write_text("", encoding="utf-8")
    result = run_sim("train_network.py", "--config_file", str(setup / "cfg.toml"))
    assert result.returncode == 1
    assert "AssertionError: caption file is empty" in result.stderr


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        ("oom", "torch.OutOfMemoryError: CUDA out of memory."),
        ("missing_model", "FileNotFoundError: [Errno 2] No such file or directory"),
        ("empty_caption", "AssertionError: caption file is empty"),
        ("crash", "RuntimeError: simulated trainer crash"),
    ],
)
def test_faults(setup: Path, fault: str, text: str) -> None:
    result = run_sim(
        "train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
        env=sim_env(FAKE_KOHYA_FAULT=fault),
    )
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert text in result.stderr
    assert not (setup / "out" / "clay.safetensors").exists()


def test_missing_text_encoder_for_sd3(setup: Path) -> None:
    result = run_sim(
        "sd3_train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
        "--clip_l",
        str(setup / "nope.safetensors"),
    )
    assert result.returncode == 1
    assert "nope.safetensors" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("sig", "code", "text"), [(signal.SIGTERM, -15, ""), (signal.SIGINT, -2, "KeyboardInterrupt")]
)
def test_signals_end_the_run_without_saving(
    setup: Path, sig: signal.Signals, code: int, text: str
) -> None:
    proc = subprocess.Popen(
        [*SIMULATOR, "train_network.py", "--config_file", str(setup / "cfg.toml")],
        env=sim_env(FAKE_KOHYA_STEP_S="0.05"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("epoch 1/"):
                break
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code
    assert text in err
    assert not (setup / "out" / "clay.safetensors").exists()


def test_accelerate_wrapper_turns_failures_into_exit_1(setup: Path) -> None:
    ok = run_sim(
        "--as-accelerate",
        "launch",
        "--num_cpu_threads_per_process",
        "1",
        "train_network.py",
        "--config_file",
        str(setup / "cfg.toml"),
    )
    assert ok.returncode == 0, ok.stderr
    assert "The following values were not passed to `accelerate launch`" in ok.stderr
    assert (setup / "out" / "clay.safetensors").is_file()
    bad = run_sim(
        "--as-accelerate", "launch", "train_network.py", "--config_file", str(setup / "cfg.toml"),
        env=sim_env(FAKE_KOHYA_FAULT="oom"),
    )  # fmt: skip
    assert bad.returncode == 1
    assert "torch.OutOfMemoryError" in bad.stderr
    assert "subprocess.CalledProcessError" in bad.stderr


def test_unknown_script_and_bad_flags() -> None:
    assert run_sim("flux_train.py").returncode == 2
    assert run_sim("train_network.py", "stray").returncode == 2


def test_tqdm_formatting() -> None:
    assert (
        format_meter(0, 320, 0.0, desc="steps") == "steps:   0%|          | 0/320 [00:00<?, ?it/s]"
    )
    assert (
        format_meter(80, 320, 261.6, desc="steps", postfix={"avr_loss": 0.14212})
        == "steps:  25%|██▌       | 80/320 [04:21<13:04,  3.27s/it, avr_loss=0.142]"
    )
    assert format_meter(8, 8, 6.1) == "100%|██████████| 8/8 [00:06<00:00,  1.31it/s]"
    assert format_num(0.0873) == "0.0873"
    assert format_num(1.2e-05) == "1.2e-5"
