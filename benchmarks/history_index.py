"""History index: opening the store + the first search page at 1,000 and 10,000 runs.

Product target (product.md §10): a history of 10,000 runs opens in < 0.5 s.

The runs are synthetic records written straight to disk (``run.json`` per folder, no
fsync: setting up 10,000 runs through ``RunStore.save`` would spend minutes in fsync and
measure the disk, not the index). The first ``RunStore`` open builds the index from the
folders (reported as "rebuild"); each timed sample then opens a fresh ``RunStore`` on the
warm index, as the app does at start, and fetches the first page (200 runs, newest first).

Run: ``python -m benchmarks.history_index [--sizes 1000,10000] [--repeat 15]``
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ai4artsed_desktop.events import Stage
from ai4artsed_desktop.store.record import MediaRecord, RunInputs, RunRecord, StageRecord
from ai4artsed_desktop.store.runs import RunStore

from ._stats import machine, summary

WORDS = (
    "Katze", "Hund", "Baum", "Haus", "Stadt", "Meer", "Wolke", "Sonne", "Mond", "Roboter",
    "Garten", "Brücke", "Vogel", "Fluss", "Berg", "Schule", "Fahrrad", "Blume", "Spiegel",
    "Fenster", "cat", "dog", "tree", "house", "city", "sea", "cloud", "sun", "moon", "robot",
    "garden", "bridge", "bird", "river", "mountain", "school", "bicycle", "flower", "mirror",
    "window", "geometric", "bauhaus", "pastel", "ink", "watercolour", "collage", "pixel", "neon",
    "shadow", "light",
)  # fmt: skip
CONFIGS = ("bauhaus", "haiku", "dada", "cubism", "impressionism", "your_call")
OUTPUTS = ("sd35_image", "flux_image", "p5js", "tonejs", "stable_audio")
MODELS = ("llama3.2:3b", "qwen3:4b", "gemma3:4b", "mistral:7b")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def synthetic_record(rng: random.Random, created: datetime, run_id: str) -> RunRecord:
    """A run with realistic text sizes: an idea, three stage texts, a prompt, one image."""
    stamp = created.isoformat(timespec="milliseconds")
    model = rng.choice(MODELS)
    stages = [
        StageRecord(stage, stamp, stamp, model, _text(rng, 90), None, {}, 1200.0)
        for stage in (Stage.interception, Stage.adaptation, Stage.translation)
    ]
    return RunRecord(
        id=run_id,
        created_at=stamp,
        updated_at=stamp,
        status="done",
        inputs=RunInputs(
            idea=_text(rng, 12),
            rules=_text(rng, 8),
            config_id=rng.choice(CONFIGS),
            output_id=rng.choice(OUTPUTS),
            level="youth",
            language="de",
            ui_mode="guided",
        ),
        stages=stages,
        prompt=_text(rng, 45),
        models={"interception": model, "generation": "sd3.5_medium"},
        parameters={"steps": 25, "cfg": 5.5, "width": 1024, "height": 1024},
        seed=rng.randrange(2**32),
        media=[MediaRecord("image.png", "image/png", "image", "0" * 64)],
        favourite=rng.random() < 0.05,
    )


def write_runs(runs_dir: Path, count: int, seed: int = 7) -> None:
    """Write ``count`` synthetic run folders (one per minute, ending now)."""
    rng = random.Random(seed)
    runs_dir.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(minutes=count)
    for n in range(count):
        created = start + timedelta(minutes=n)
        run_id = f"{created:%Y%m%d-%H%M%S}-{n:06x}"
        record = synthetic_record(rng, created, run_id)
        folder = runs_dir / run_id
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps(record.to_json()), encoding="utf-8")


def _timed(action: object) -> float:
    assert callable(action)
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def bench(count: int, repeat: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        runs_dir = Path(tmp) / "runs"
        write_runs(runs_dir, count)

        def build() -> None:
            RunStore(runs_dir).close()

        rebuild_ms = _timed(build)

        def open_and_first_page() -> None:
            with RunStore(runs_dir) as store:
                assert len(store.search(limit=200)) == min(200, count)

        open_ms = [_timed(open_and_first_page) for _ in range(repeat)]
        with RunStore(runs_dir) as store:
            assert store.count() == count
            text_ms = [_timed(lambda: store.search(text="roboter katze")) for _ in range(repeat)]
            short_ms = [_timed(lambda: store.search(text="ka")) for _ in range(repeat)]
            filter_ms = [
                _timed(lambda: store.search(config_id="dada", model="qwen3:4b"))
                for _ in range(repeat)
            ]
            fts = store._index.use_fts
        return [
            f"{count} runs: first open (index built from the folders): {rebuild_ms:.0f} ms",
            summary(f"{count} runs: open store + first page of 200", open_ms),
            summary(f"{count} runs: text search, 2 words ({'FTS5' if fts else 'LIKE'})", text_ms),
            summary(f"{count} runs: text search, 2 letters (LIKE)", short_ms),
            summary(f"{count} runs: config + model filter", filter_ms),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated run counts")
    parser.add_argument("--repeat", type=int, default=15, help="samples per measurement")
    args = parser.parse_args()
    print(machine())
    for size in (int(s) for s in args.sizes.split(",")):
        for line in bench(size, args.repeat):
            print(line)


if __name__ == "__main__":
    main()
