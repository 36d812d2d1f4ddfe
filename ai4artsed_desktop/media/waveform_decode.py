"""The numeric part of :mod:`.waveform`: peaks of decoded blocks, and a stdlib WAV reader."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .waveform import BLOCK_FRAMES, Waveform, WaveformError

Samples = npt.NDArray[np.float32]  # shape (frames, channels), values in [-1, 1]


class _PeakAccumulator:
    """Folds decoded blocks into ``buckets`` peak values, block by block."""

    def __init__(self, total_frames: int, buckets: int) -> None:
        self.total = total_frames
        self.buckets = max(0, min(buckets, total_frames))
        self.peaks = np.zeros(self.buckets, dtype=np.float32)
        self.frames = 0

    def add(self, block: Samples) -> None:
        count = len(block)
        if count == 0 or self.buckets == 0:
            self.frames += count
            return
        level = np.abs(block).max(axis=1)
        positions = np.arange(self.frames, self.frames + count, dtype=np.int64)
        index = np.minimum(positions * self.buckets // self.total, self.buckets - 1)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(index)) + 1))
        np.maximum.at(self.peaks, index[starts], np.maximum.reduceat(level, starts))
        self.frames += count

    def result(self, sample_rate: int, channels: int) -> Waveform:
        peaks = np.clip(self.peaks, 0.0, 1.0)
        duration = self.frames / sample_rate if sample_rate else 0.0
        return Waveform(tuple(float(p) for p in peaks), duration, sample_rate, channels)


def accumulate(
    frames: int, rate: int, channels: int, blocks: Iterator[Samples], buckets: int
) -> Waveform:
    """Fold decoded blocks into a :class:`Waveform` of ``buckets`` peaks."""
    if frames <= 0:  # length unknown up front (some compressed streams): decode it all first
        decoded = [np.asarray(b, dtype=np.float32) for b in blocks]
        frames = sum(len(b) for b in decoded)
        blocks = iter(decoded)
    peaks = _PeakAccumulator(frames, buckets)
    for block in blocks:
        peaks.add(block)
    return peaks.result(rate, channels)


def _wave_block(raw: bytes, width: int, channels: int) -> Samples:
    """Little-endian PCM bytes as float samples in [-1, 1], one column per channel."""
    if width == 3:  # 24-bit: widen each sample to 32 bits (sign in the top byte)
        padded = np.zeros((len(raw) // 3, 4), dtype=np.uint8)
        padded[:, 1:] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        values = padded.view("<i4").ravel().astype(np.float32) / 2.0**31
    elif width == 1:  # 8-bit WAV is unsigned
        values = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        values = np.frombuffer(raw, dtype=np.dtype(f"<i{width}")).astype(np.float32)
        values /= float(2 ** (8 * width - 1))
    return values.reshape(-1, channels)


def from_wave(path: Path, buckets: int) -> Waveform:
    """The stdlib fallback: PCM WAV only."""
    try:
        with wave.open(str(path), "rb") as audio:
            width, channels = audio.getsampwidth(), audio.getnchannels()
            if width not in (1, 2, 3, 4):
                raise wave.Error(f"unsupported sample width {width}")
            rate, frames = audio.getframerate(), audio.getnframes()

            def blocks() -> Iterator[Samples]:
                while raw := audio.readframes(BLOCK_FRAMES):
                    yield _wave_block(raw, width, channels)

            return accumulate(frames, rate, channels, blocks(), buckets)
    except (wave.Error, EOFError, OSError, ValueError) as exc:
        raise WaveformError.unreadable(path, exc) from exc
