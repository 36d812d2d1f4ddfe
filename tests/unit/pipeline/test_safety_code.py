"""Code scan: every category with line numbers; clean p5/Tone code passes."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.safety_code import scan_code, strip_comments

# (code, category, name, line)
BLOCKED = [
    ("fetch('data.json')", "network", "fetch", 1),
    ("const r = await window.fetch(u);", "network", "fetch", 1),
    ("let x = new XMLHttpRequest();", "network", "XMLHttpRequest", 1),
    ("\n\nconst ws = new WebSocket(addr);", "network", "WebSocket", 3),
    ("new EventSource('/s')", "network", "EventSource", 1),
    ("const m = await import('./x.js');", "network", "import()", 1),
    ("import { a } from 'lib';", "network", "import", 1),
    ("importScripts('w.js');", "network", "importScripts", 1),
    ("navigator.sendBeacon(u, d);", "network", "sendBeacon", 1),
    ("let img;\nimg = loadImage('https://example.org/cat.png');", "network", "URL", 2),
    ("loadSound('http://x.org/a.mp3')", "network", "URL", 1),
    ("const p = new Tone.Player('//cdn.example.com/a.mp3');", "network", "URL", 1),
    ("httpGet(u, 'json', cb)", "network", "httpGet", 1),
    ("new Worker('w.js')", "network", "Worker", 1),
    ("localStorage.setItem('a', 1);", "storage", "localStorage", 1),
    ("sessionStorage.clear()", "storage", "sessionStorage", 1),
    ("indexedDB.open('db')", "storage", "indexedDB", 1),
    ("document.cookie = 'a=b';", "storage", "document.cookie", 1),
    ("storeItem('score', 3);", "storage", "storeItem", 1),
    ("eval(code)", "eval", "eval", 1),
    ("const f = new Function('return 1');", "eval", "new Function", 1),
    ("setTimeout('draw()', 10);", "eval", "setTimeout with a string", 1),
    ('setInterval("tick()", 10);', "eval", "setTimeout with a string", 1),
    ("document.body.innerHTML = '<b>x</b>';", "dom", "innerHTML", 1),
    ("el.outerHTML = s;", "dom", "innerHTML", 1),
    ("document.write('<p>');", "dom", "document.write", 1),
    ("el.insertAdjacentHTML('beforeend', s);", "dom", "insertAdjacentHTML", 1),
    ("const s = document.createElement('script');", "dom", "script element", 1),
    ("window.open('x.html');", "dom", "window.open", 1),
    ("location = 'other.html';", "dom", "location", 1),
    ("window.location.href = u;", "dom", "location", 1),
    ("location.replace(u);", "dom", "location", 1),
    ("window.parent.postMessage(1, '*');", "dom", "parent window", 1),
    ("top.location.reload();", "dom", "location", 1),
    ("parent.document.title = 'x';", "dom", "parent window", 1),
]


@pytest.mark.parametrize(("code", "category", "name", "line"), BLOCKED)
def test_blocked_patterns(code: str, category: str, name: str, line: int) -> None:
    findings = scan_code(code)
    assert (category, name, line) in {(f.category, f.name, f.line) for f in findings}


P5 = """// p5.js sketch: a calm sea (no fetch, no localStorage here)
const palette = ["#264653", "#2a9d8f"];
let t = 0;
/* eval(...) is never used;
   innerHTML neither */
function setup() {
  createCanvas(400, 400);
  noStroke();
}

function draw() {
  background(palette[0]);
  const top = 10;            // a local variable called top
  const waves = { top: top }; // ... and a property
  ellipse(width / 2, waves.top + 100 * sin(t), 40, 40);
  text("http is just a word", 10, 20);
  t += 0.01;
  setTimeout(() => {}, 10);
}
"""

TONE = """// Tone.js piece: rain
const synth = new Tone.PolySynth(Tone.Synth).toDestination();
let loop = null;
async function play() {
  await Tone.start();
  loop = new Tone.Loop((time) => synth.triggerAttackRelease("C4", "8n", time), "4n").start(0);
  Tone.getTransport().start();
}
function stop() {
  if (loop) { loop.dispose(); loop = null; }
  Tone.getTransport().stop();
}
"""


@pytest.mark.parametrize("code", [P5, TONE])
def test_clean_code_passes(code: str) -> None:
    assert scan_code(code) == []


def test_findings_carry_line_column_and_snippet() -> None:
    code = "function setup() {\n  createCanvas(10, 10);\n  fetch('https://x.org');\n}\n"
    findings = scan_code(code)
    assert [(f.category, f.name, f.line) for f in findings] == [
        ("network", "fetch", 3),
        ("network", "URL", 3),
    ]
    assert findings[0].column == 3
    assert findings[0].snippet == "fetch('https://x.org');"


def test_comment_stripping_keeps_strings_and_lines() -> None:
    code = "let u = 'http://a.b'; // fetch(x)\n/* a\nb */ let v = 1;"
    stripped = strip_comments(code)
    assert stripped.count("\n") == code.count("\n")
    assert "http://a.b" in stripped
    assert "fetch" not in stripped
    assert "let v = 1;" in stripped
    assert (
        strip_comments("let s = 'it\\'s // not a comment';") == "let s = 'it\\'s // not a comment';"
    )


def test_unterminated_string_ends_at_line_end() -> None:
    code = "let s = 'broken\nfetch(u); // x"
    assert [f.line for f in scan_code(code)] == [2]
