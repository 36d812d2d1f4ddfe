"""The demo film and what the store does with a film, at Wan 2.2's default size.

Measures, for a 3 s clip (73 frames, 1280 x 704, 24 fps) as the ComfyUI simulator makes it:
encoding it as SaveVideo does (H.264 MP4 through PyAV), the store's tagging remux (metadata
and the AI note, no re-encode), picking the four frames the media check judges, and decoding
the first frame for the thumbnail and the player's poster.

Run: ``python -m benchmarks.video_demo [--repeat 3] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ai4artsed_desktop.simulators.comfy_media import ImageSpec
from ai4artsed_desktop.simulators.comfy_video import VideoValue, write_video
from ai4artsed_desktop.store.video import first_frame, frames_to_check, video_with_tags

from ._stats import machine, summary

WIDTH, HEIGHT, FPS = 1280, 704, 24.0


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    frames = int(args.seconds * FPS / 4) * 4 + 1
    timings: dict[str, list[float]] = {"encode": [], "tag": [], "check": [], "first": []}
    size = 0
    for run in range(args.repeat):
        specs = tuple(
            ImageSpec(WIDTH, HEIGHT, "a paper boat", run, "bench", frame=i, frames=frames)
            for i in range(frames)
        )
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            [entry] = write_video(VideoValue(specs, FPS), "video/bench", Path(folder), {})
            timings["encode"].append(_ms(start))
            data = (Path(folder) / "video" / entry["filename"]).read_bytes()
        size = len(data)
        start = time.perf_counter()
        tagged = video_with_tags(data, "video/mp4", {"AI-generated": "bench"})
        timings["tag"].append(_ms(start))
        start = time.perf_counter()
        frames_to_check(tagged)
        timings["check"].append(_ms(start))
        start = time.perf_counter()
        first_frame(tagged)
        timings["first"].append(_ms(start))
    print(f"# video_demo ({machine()})")
    print(f"# {frames} frames {WIDTH}x{HEIGHT} at {FPS:g} fps, {size / 1e6:.2f} MB MP4")
    print(summary("demo film encode (simulator SaveVideo)", timings["encode"]))
    print(summary("store tagging remux", timings["tag"]))
    print(summary("media check frame picking (4 frames)", timings["check"]))
    print(summary("first frame decode (thumbnail, poster)", timings["first"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
