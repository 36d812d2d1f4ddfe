"""compute_waveform: peak envelopes of FLAC and WAV files, the stdlib fallback, errors."""

from __future__ import annotations

import logging
import sys
import wave
from array import array
from pathlib import Path

import numpy as np
import pytest

from ai4artsed_desktop.media import waveform
from ai4artsed_desktop.media.waveform import BLOCK_FRAMES, WaveformError, compute_waveform
from ai4artsed_desktop.simulators.comfy_flac import encode_flac

RATE = 44100


def _write_wav(path: Path, channels: list[list[int]], width: int = 2, rate: int = RATE) -> None:
    """Interleave integer samples (already scaled to ``width`` bytes) into a PCM WAV file."""
    frames = bytearray()
    for frame in zip(*channels, strict=True):
        for value in frame:
            stored = value + 128 if width == 1 else value
            frames += stored.to_bytes(width, "little", signed=width != 1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


@pytest.fixture
def no_soundfile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waveform, "_soundfile", lambda: None)


def test_flac_from_the_simulator_writer(tmp_path: Path) -> None:
    # 2 s stereo: 1 s of silence, then 1 s at half scale on the right channel only.
    left = array("h", [0]) * (2 * RATE)
    right = array("h", [0] * RATE + [16384, -16384] * (RATE // 2))
    path = tmp_path / "sound.flac"
    path.write_bytes(encode_flac([left, right], RATE, {"prompt": "{}"}))

    result = compute_waveform(path, buckets=100)

    assert len(result.peaks) == 100
    assert result.duration_s == pytest.approx(2.0)
    assert (result.sample_rate, result.channels) == (RATE, 2)
    assert max(result.peaks[:50]) == 0.0
    assert result.peaks[50:] == pytest.approx([0.5] * 50)


def test_wav_spike_lands_in_its_bucket(tmp_path: Path) -> None:
    samples = [0] * 10_000
    samples[7_345] = -32768  # full scale, negative: peaks are magnitudes
    samples[2_000] = 8192
    path = tmp_path / "spike.wav"
    _write_wav(path, [samples])

    result = compute_waveform(path, buckets=10)

    assert result.peaks == pytest.approx([0, 0, 0.25, 0, 0, 0, 0, 1.0, 0, 0])
    assert result.duration_s == pytest.approx(10_000 / RATE)


def test_blocks_and_bucket_edges_match_a_direct_computation(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    frames = BLOCK_FRAMES * 3 + 1234  # several decode blocks, buckets straddle them
    data = rng.integers(-32768, 32767, size=(frames, 2), dtype=np.int16)
    path = tmp_path / "noise.flac"
    path.write_bytes(encode_flac([array("h", data[:, 0]), array("h", data[:, 1])], RATE, {}))
    buckets = 777

    result = compute_waveform(path, buckets=buckets)

    level = np.abs(data.astype(np.float32) / 32768).max(axis=1)
    index = np.arange(frames) * buckets // frames
    expected = [float(level[index == b].max()) for b in range(buckets)]
    assert result.peaks == pytest.approx(expected)


def test_fewer_frames_than_buckets_gives_one_peak_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    _write_wav(path, [[0, 16384, -8192]])
    assert compute_waveform(path, buckets=1000).peaks == pytest.approx([0.0, 0.5, 0.25])


def test_empty_wav(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    _write_wav(path, [[]])
    result = compute_waveform(path)
    assert result.peaks == ()
    assert result.duration_s == 0.0


@pytest.mark.parametrize(
    "path_text",
    [pytest.param(b"this is not audio" * 50, id="garbage"), pytest.param(None, id="missing")],
)
def test_unreadable_files_raise_waveform_error(tmp_path: Path, path_text: bytes | None) -> None:
    path = tmp_path / "broken.flac"
    if path_text is not None:
        path.write_bytes(path_text)
    with pytest.raises(WaveformError) as caught:
        compute_waveform(path)
    assert "broken.flac" in caught.value.user_message
    assert caught.value.detail


def test_buckets_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="buckets"):
        compute_waveform(tmp_path / "x.wav", buckets=0)


@pytest.mark.usefixtures("no_soundfile")
@pytest.mark.parametrize(
    ("width", "scale"), [(1, 1 << 7), (2, 1 << 15), (3, 1 << 23), (4, 1 << 31)]
)
def test_stdlib_fallback_reads_every_pcm_width(tmp_path: Path, width: int, scale: int) -> None:
    left = [0, scale // 2, 0, 0]
    right = [0, 0, 0, -scale]
    path = tmp_path / f"w{width}.wav"
    _write_wav(path, [left, right], width=width)

    result = compute_waveform(path, buckets=2)

    assert result.peaks == pytest.approx([0.5, 1.0])
    assert (result.sample_rate, result.channels) == (RATE, 2)


@pytest.mark.usefixtures("no_soundfile")
def test_stdlib_fallback_refuses_flac(tmp_path: Path) -> None:
    path = tmp_path / "sound.flac"
    path.write_bytes(encode_flac([array("h", [0] * 100)], RATE, {}))
    with pytest.raises(WaveformError):
        compute_waveform(path)


@pytest.mark.usefixtures("expect_log_warnings")
def test_missing_libsndfile_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    waveform._soundfile.cache_clear()
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile -> ImportError
    try:
        with caplog.at_level(logging.WARNING, logger=waveform.__name__):
            assert waveform._soundfile() is None
            assert waveform._soundfile() is None
    finally:
        waveform._soundfile.cache_clear()
    messages = [r.getMessage() for r in caplog.records if r.name == waveform.__name__]
    assert len(messages) == 1
    assert "soundfile" in messages[0]
