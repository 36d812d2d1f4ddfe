"""The quick model-file check: reading a 2 GB safetensors file's header, not its weights.

The file has the shape of an SD 1.5 checkpoint in fp16: 1,131 tensors (about 2.1 GB of
data) behind a JSON header of about 100 KiB. By default the data part is sparse (the file
system stores no zeros), since the check reads only the first bytes; ``--dense`` writes every
byte (2 GB of disk, a few seconds) for a check against a file that really holds its data.
The first sample follows creating the file, so the header is in the page cache either way;
the numbers are the cost of the check itself: open, stat, two reads, one JSON parse.

Run: ``python -m benchmarks.model_check [--repeat 50] [--dense]``
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
import time
from pathlib import Path

from ai4artsed_desktop.pipeline.model_files import FileHealth, check_model_file

from ._stats import machine, summary

TENSORS = 1131
TARGET_BYTES = 2 * 10**9


def _header() -> tuple[bytes, int]:
    """A header of TENSORS fp16 tensors that together fill TARGET_BYTES; its data size."""
    per = (TARGET_BYTES // TENSORS) // 2 * 2
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    for index in range(TENSORS):
        start = index * per
        name = f"model.diffusion_model.output_blocks.{index // 12}.{index % 12}.weight"
        header[name] = {"dtype": "F16", "shape": [per // 2], "data_offsets": [start, start + per]}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, TENSORS * per


def _write(path: Path, dense: bool) -> int:
    head, data = _header()
    with path.open("wb") as handle:
        handle.write(head)
        if dense:
            chunk = bytes(64 * 2**20)
            left = data
            while left:
                left -= handle.write(chunk[: min(left, len(chunk))])
        else:
            handle.truncate(len(head) + data)
    return len(head)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dense", action="store_true")
    args = parser.parse_args()
    print(f"# model_check ({machine()})")
    with tempfile.TemporaryDirectory(prefix="ai4artsed-bench-") as tmp:
        path = Path(tmp) / "v1-5-pruned-emaonly-fp16.safetensors"
        head = _write(path, args.dense)
        size = path.stat().st_size
        kind = "dense" if args.dense else "sparse"
        print(
            f"file: {size / 1e9:.2f} GB ({kind}), {TENSORS} tensors, header {head / 1024:.0f} KiB"
        )
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            check = check_model_file(path)
            samples.append((time.perf_counter() - start) * 1000)
            assert check.health is FileHealth.ok, check
        print(summary("header check, whole 2 GB file", samples))
        with path.open("r+b") as handle:
            handle.truncate(size - 1000)  # the download stopped 1000 bytes early
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            check = check_model_file(path)
            samples.append((time.perf_counter() - start) * 1000)
            assert check.health is FileHealth.truncated, check
        print(summary("header check, cut-off 2 GB file", samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
