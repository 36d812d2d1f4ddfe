"""A downsampled peak envelope of an audio file, for drawing a waveform.

Decoding uses ``soundfile`` (libsndfile: FLAC, WAV, Ogg Vorbis/Opus, MP3 and more); when
libsndfile cannot be loaded, plain PCM WAV files are still read with the stdlib ``wave``
module. The file is read block by block, so memory stays small for long pieces. Call it in
a worker thread (``asyncio.to_thread``): a few minutes of audio take a moment to decode.

The numeric work lives in :mod:`.waveform_decode`, imported on the first call: numpy (and
its BLAS buffers) stays out of the app until a sound is shown.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AppError

log = logging.getLogger(__name__)

DEFAULT_BUCKETS = 1000
BLOCK_FRAMES = 1 << 16


class WaveformError(AppError):
    """The file could not be decoded as audio."""

    @staticmethod
    def unreadable(path: Path, exc: BaseException) -> WaveformError:
        """``path`` is no audio a decoder can read; ``exc`` is the decoder's reason."""
        return WaveformError(
            f"{path.name} cannot be read as audio.",
            detail=str(exc),
            key="error.audio_unreadable",
            params={"file": path.name},
        )


@dataclass(frozen=True)
class Waveform:
    """The loudest sample (0..1, over all channels) of each equal slice of the file.

    ``peaks`` has at most the requested number of buckets (fewer for very short files,
    none for an empty one); ``duration_s`` is the decoded length.
    """

    peaks: tuple[float, ...]
    duration_s: float
    sample_rate: int
    channels: int


@functools.cache
def _soundfile() -> Any | None:
    """The ``soundfile`` module, or None when it (or libsndfile) cannot be loaded."""
    try:
        import soundfile  # a plain import, so PyInstaller's analysis bundles it

        return soundfile
    except (ImportError, OSError) as exc:  # OSError: libsndfile itself did not load
        log.warning("soundfile unavailable, waveforms only for WAV files: %s", exc)
        return None


def compute_waveform(path: Path, buckets: int = DEFAULT_BUCKETS) -> Waveform:
    """Decode ``path`` and return its peak envelope in ``buckets`` slices.

    Raises:
        WaveformError: the file is missing or not audio we can decode.
        ValueError: ``buckets`` is not positive.
    """
    if buckets <= 0:
        raise ValueError("buckets must be positive")
    from . import waveform_decode as decode

    sf = _soundfile()
    if sf is None:
        return decode.from_wave(path, buckets)
    try:
        with sf.SoundFile(str(path)) as audio:
            return decode.accumulate(
                audio.frames,
                audio.samplerate,
                audio.channels,
                audio.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True),
                buckets,
            )
    except (RuntimeError, OSError, ValueError) as exc:  # LibsndfileError is a RuntimeError
        raise WaveformError.unreadable(path, exc) from exc
