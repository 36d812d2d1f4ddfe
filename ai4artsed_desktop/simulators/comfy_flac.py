"""A small, dependency-free FLAC writer (verbatim subframes, 16-bit PCM) for the simulator.

ComfyUI's SaveAudio writes FLAC; Pillow and the stdlib cannot, so this writes a valid,
uncompressed FLAC stream: STREAMINFO with the MD5 of the samples, a VORBIS_COMMENT block
with the metadata, and fixed-blocksize frames whose subframes are VERBATIM. Every decoder
reads it; it is just not smaller than WAV.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array
from collections.abc import Mapping, Sequence

BLOCK_SIZE = 4096
_SAMPLE_RATE_CODES = {88200: 0b0001, 176400: 0b0010, 192000: 0b0011, 8000: 0b0100,
                      16000: 0b0101, 22050: 0b0110, 24000: 0b0111, 32000: 0b1000,
                      44100: 0b1001, 48000: 0b1010, 96000: 0b1011}  # fmt: skip


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_UTF8_LIMITS = ((2, 1 << 11), (3, 1 << 16), (4, 1 << 21), (5, 1 << 26), (6, 1 << 31), (7, 1 << 36))
_CRC8 = _crc8_table()
_CRC16 = _crc16_table()


def crc8(data: bytes) -> int:
    """FLAC frame-header CRC-8 (polynomial 0x07, init 0)."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16(data: bytes) -> int:
    """FLAC frame CRC-16 (polynomial 0x8005, init 0, not reflected)."""
    crc = 0
    table = _CRC16
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def _utf8_number(value: int) -> bytes:
    """FLAC's "UTF-8 like" coding of the frame number."""
    if value < 0x80:
        return bytes([value])
    count = next(n for n, limit in _UTF8_LIMITS if value < limit)
    lead = (0xFF << (8 - count)) & 0xFF | (value >> (6 * (count - 1)))
    tail = [0x80 | ((value >> (6 * i)) & 0x3F) for i in range(count - 2, -1, -1)]
    return bytes([lead, *tail])


def _metadata_header(kind: int, length: int, last: bool) -> bytes:
    return bytes([(0x80 if last else 0) | kind]) + length.to_bytes(3, "big")


def _streaminfo(rate: int, channels: int, total: int, md5: bytes, frame_sizes: list[int]) -> bytes:
    packed = (rate << 44) | ((channels - 1) << 41) | (15 << 36) | total
    return (
        struct.pack(">HH", BLOCK_SIZE, BLOCK_SIZE)
        + min(frame_sizes).to_bytes(3, "big")
        + max(frame_sizes).to_bytes(3, "big")
        + packed.to_bytes(8, "big")
        + md5
    )


def _vorbis_comment(tags: Mapping[str, str]) -> bytes:
    vendor = b"ai4artsed comfyui simulator"
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(tags))
    for key, value in tags.items():
        entry = f"{key}={value}".encode()
        out += struct.pack("<I", len(entry)) + entry
    return out


def _frame(number: int, rate_code: int, channels: Sequence[array[int]], start: int) -> bytes:
    count = min(BLOCK_SIZE, len(channels[0]) - start)
    size_code = 0b1100 if count == BLOCK_SIZE else 0b0111
    header = bytearray(b"\xff\xf8")
    header.append((size_code << 4) | rate_code)
    header.append(((len(channels) - 1) << 4) | (0b100 << 1))  # independent, 16 bits per sample
    header += _utf8_number(number)
    if size_code == 0b0111:
        header += (count - 1).to_bytes(2, "big")
    header.append(crc8(bytes(header)))
    body = bytearray(header)
    for samples in channels:
        chunk = samples[start : start + count]
        if sys.byteorder == "little":
            chunk.byteswap()
        body.append(0x02)  # subframe header: VERBATIM, no wasted bits
        body += chunk.tobytes()
    return bytes(body) + crc16(bytes(body)).to_bytes(2, "big")


def encode_flac(channels: Sequence[array[int]], rate: int, tags: Mapping[str, str]) -> bytes:
    """Encode signed 16-bit channels (equal lengths, ``array('h')``) as a FLAC file.

    Args:
        channels: one array of samples per channel (1 to 8 channels).
        rate: sample rate in Hz; one of the rates FLAC frame headers can name directly.
        tags: Vorbis comments (for example ``prompt`` with the graph JSON).
    """
    if not 1 <= len(channels) <= 8 or rate not in _SAMPLE_RATE_CODES:
        raise ValueError("unsupported channel count or sample rate")
    total = len(channels[0])
    interleaved = array("h", [0]) * (total * len(channels))
    for index, samples in enumerate(channels):
        interleaved[index :: len(channels)] = samples
    if sys.byteorder == "big":
        interleaved.byteswap()
    md5 = hashlib.md5(interleaved.tobytes(), usedforsecurity=False).digest()
    frames = [
        _frame(number, _SAMPLE_RATE_CODES[rate], channels, start)
        for number, start in enumerate(range(0, total, BLOCK_SIZE))
    ]
    sizes = [len(f) for f in frames] or [0]
    info = _streaminfo(rate, len(channels), total, md5, sizes)
    comment = _vorbis_comment(tags)
    return (
        b"fLaC"
        + _metadata_header(0, len(info), False)
        + info
        + _metadata_header(4, len(comment), True)
        + comment
        + b"".join(frames)
    )
