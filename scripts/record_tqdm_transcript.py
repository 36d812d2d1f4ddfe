"""Record what sd-scripts' training bar really writes (run with a Python that has tqdm).

train_network.py drives its ``steps`` bar like this per optimisation step (sd-scripts
48d368f, lines 1357-1516): ``progress_bar.update(1)``, ``progress_bar.unpause()``, then
``progress_bar.set_postfix(avr_loss=...)``; epochs are announced with ``accelerator.print``
on stdout. This script makes the same calls with the real tqdm so the bytes (``\\r``
between draws, the unicode blocks, the postfix order) are tqdm's own, not a copy.

    mkdir /tmp/sd-scripts && cp scripts/record_tqdm_transcript.py /tmp/sd-scripts/train_network.py
    cd /tmp/sd-scripts && PYTHONIOENCODING=utf-8 python train_network.py steps > steps.bin 2>&1
    cd /tmp/sd-scripts && PYTHONIOENCODING=utf-8 python train_network.py crash > crash.bin 2>&1

(Copied to a neutral folder, so the traceback names no machine's checkout.)

``steps``: two epochs of two steps, each step slower than tqdm's 0.1 s ``mininterval`` so
``update`` draws too. ``crash``: the fourth step fails with a chained exception while the bar
is open, so Python's traceback follows the last bar draw without a newline.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm  # type: ignore[import-untyped]

LOSSES = (0.2131, 0.1874, 0.1702, 0.1655)
FIRST = "[Errno 2] No such file: 'cache/latents_0002.npz'"
FATAL = "CUDA error: an illegal memory access was encountered"


def main(mode: str) -> None:
    print("running training / 学習開始", flush=True)
    print("  total optimization steps / 学習ステップ数: 4", flush=True)
    progress_bar = tqdm(range(4), smoothing=0, disable=False, desc="steps")
    global_step = 0
    for epoch in range(2):
        print(f"\nepoch {epoch + 1}/2", flush=True)
        for _step in range(2):
            time.sleep(0.15)
            if mode == "crash" and global_step == 3:
                try:
                    raise FileNotFoundError(FIRST)
                except FileNotFoundError as exc:
                    raise RuntimeError(FATAL) from exc
            progress_bar.update(1)
            global_step += 1
            progress_bar.unpause()
            progress_bar.set_postfix(avr_loss=LOSSES[global_step - 1])
    progress_bar.close()
    print("\nsaving checkpoint: /data/out/clay.safetensors", flush=True)
    print("model saved.", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "steps")
