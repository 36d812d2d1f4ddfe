"""The app's own memory while a sketch floods the console or fills in-page storage.

Each variant runs in a fresh Python process (``QT_QPA_PLATFORM=offscreen``,
``QTWEBENGINE_DISABLE_SANDBOX=1`` as root needs): a ``CodeSandbox`` plays a hostile sketch
for ``--seconds`` and psutil samples the RSS of the app process itself (not the renderer)
every 250 ms. Reported: RSS before Play, the peak, growth per second over the run, and how
the sandbox ended the sketch (its message line), if it did.

Variants: ``console`` (``console.log`` of 1 KiB lines as fast as the page can),
``frames`` (the same from a fresh iframe's console), ``worker`` (the same from a worker),
``storage`` (Blobs of 8 MiB each, kept and given object URLs: their bytes live in the
browser side, that is, in the app process).

Run: ``python -m benchmarks.sandbox_flood [--seconds 20] [--only console,storage]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from ._stats import machine

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20

_LINE = "'x'.repeat(1024)"
SKETCHES = {
    "console": f"""const line = {_LINE};
setInterval(() => {{ for (let i = 0; i < 5000; i++) {{ console.log(i, line); }} }}, 0);
""",
    "frames": f"""const line = {_LINE};
const frame = document.createElement("iframe");
document.body.append(frame);
const log = frame.contentWindow.console.log;
setInterval(() => {{ for (let i = 0; i < 5000; i++) {{ log(i, line); }} }}, 0);
""",
    "worker": f"""const source = "const line = {"x" * 1024}; "
  + "setInterval(() => {{ for (let i = 0; i < 5000; i++) {{ console.log(i, line); }} }}, 0);";
new Worker(URL.createObjectURL(new Blob([source], {{ type: "text/javascript" }})));
""",
    "storage": """const keep = [];
window.__blobs = 0;
setInterval(() => {
  const block = new Uint8Array(8 * 1024 * 1024).fill(window.__blobs % 251);
  const blob = new Blob([block]);
  keep.push(blob, URL.createObjectURL(blob));
  window.__blobs += 1;
}, 20);
""",
}


def _child(variant: str, seconds: float) -> dict[str, object]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme

    register_sandbox_scheme()
    app = QApplication(sys.argv[:1])
    from ai4artsed_desktop.ui.i18n import Translator
    from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox

    sandbox = CodeSandbox(Translator("en"))
    sandbox.resize(420, 520)
    sandbox.show()
    me = psutil.Process()
    samples: list[tuple[float, int]] = []
    start = time.monotonic()

    def sample() -> None:
        samples.append((time.monotonic() - start, me.memory_info().rss))
        if samples[-1][0] >= seconds:
            app.quit()

    sandbox.set_code(SKETCHES[variant])
    QTimer.singleShot(1000, sandbox.play)  # one second of idle first: the baseline
    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(250)
    app.exec()
    before = max(rss for t, rss in samples if t < 1.0)
    peak = max(rss for _t, rss in samples)
    end_t, end_rss = samples[-1]
    result = {
        "variant": variant,
        "seconds": round(end_t, 1),
        "rss_before_mib": round(before / MIB),
        "rss_peak_mib": round(peak / MIB),
        "rss_end_mib": round(end_rss / MIB),
        "growth_mib_per_s": round((peak - before) / MIB / max(end_t - 1.0, 0.1), 1),
        "message": sandbox.message_label.text(),
        "still_playing": sandbox.stop_button.isEnabled(),
    }
    sandbox.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--only", default=",".join(SKETCHES))
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.seconds)))
        return 0
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"}
    print(json.dumps({"machine": machine()}))
    for variant in args.only.split(","):
        command = [sys.executable, "-m", "benchmarks.sandbox_flood", "--child", variant]
        out = subprocess.run(
            [*command, "--seconds", str(args.seconds)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=args.seconds * 4 + 60,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        print(lines[-1] if lines else json.dumps({"variant": variant, "error": out.stderr[-500:]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
