r"""Deterministic, plausible answers for the Ollama simulator (no AI involved).

The simulator recognises what the pipeline asks for from keywords in the system and user
text and writes a fitting answer; the same request (texts, model, seed, temperature)
always gives the same answer:

* **code**: "p5.js" / "createCanvas" -> a runnable p5.js sketch defining ``setup``/``draw``;
  "Tone.js" -> a Tone.js piece defining ``play``/``stop`` (plain code, no Markdown fences);
* **safety**: "SAFE"/"UNSAFE", "safety", "verdict", "moderation", "unbedenklich" or a
  ``llama-guard*`` model -> the verdict of :mod:`._judge` (the app's word lists plus a
  check for harmful concepts, answered the way the model would; ``FAKE_OLLAMA_JUDGE``
  switches to prose or cut-off answers like small real models give);
* **translation**: "translate" / "übersetze" -> a word-by-word German -> English mapping;
* **image prompt**: "image prompt", "Bildprompt", "text-to-image" -> comma-separated tags;
* **vision** (a request with images) -> a short description of a made-up picture; with a
  safety prompt the judge looks at what ``FAKE_OLLAMA_VISION_SEES`` says is in it;
* anything else is a **transformation**: the idea's words mixed with the rules' words.

``format: "json"`` (or a JSON schema) turns any of these into one valid JSON object.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from . import _judge
from ._textgen_words import (
    DE_EN,
    INSTRUCTION,
    PALETTES,
    RENDER_TAGS,
    SCALES,
    STOP_DE,
    STOP_EN,
    STYLE_POOL,
)

_TOKEN = re.compile(r"\s*\S+|\s+")
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß\-]*")


@dataclass(frozen=True)
class TextRequest:
    """What the answer depends on: the texts of the request plus model, seed and format."""

    model: str
    system: str
    prompt: str
    seed: int | None = None
    temperature: float | None = None
    fmt: object = None
    images: int = 0


@dataclass(frozen=True)
class Answer:
    """A simulated model answer: optional reasoning, then the visible text."""

    thinking: str
    text: str


def tokenize(text: str) -> list[str]:
    """Split text into word pieces (long words in chunks of four); joins back losslessly."""
    pieces: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        word = token.lstrip()
        lead = token[: len(token) - len(word)]
        if len(word) <= 7:
            pieces.append(token)
            continue
        chunks = [word[i : i + 4] for i in range(0, len(word), 4)]
        pieces.append(lead + chunks[0])
        pieces.extend(chunks[1:])
    return pieces


def content_words(text: str) -> list[str]:
    """Distinct words of three or more letters that are neither stop nor task words."""
    seen: dict[str, str] = {}
    for word in _WORD.findall(text):
        low = word.lower()
        common = low in STOP_EN or low in STOP_DE or low in INSTRUCTION
        if len(low) >= 3 and not common and low not in seen:
            seen[low] = word
    return list(seen.values())


def is_german(text: str) -> bool:
    """Rough language guess: more German than English stop words."""
    words = [w.lower() for w in _WORD.findall(text)]
    return sum(w in STOP_DE for w in words) > sum(w in STOP_EN for w in words)


def translate_words(text: str) -> str:
    """Map German words to English word by word; unknown words stay as they are."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        english = DE_EN.get(word.lower())
        if english is None:
            return word
        return english.capitalize() if word[0].isupper() and match.start() == 0 else english

    return _WORD.sub(swap, text)


def _rng(req: TextRequest, task: str) -> random.Random:
    key = json.dumps([req.model, req.system, req.prompt, req.seed, req.temperature, task])
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


_LABEL = re.compile(
    r"^\s*(?P<label>idea|idee|input|eingabe|was|text|rules|regeln|wie|style|stil)\s*:\s*",
    re.IGNORECASE | re.MULTILINE,
)
_RULE_LABELS = {"rules", "regeln", "wie", "style", "stil"}


def split_idea_rules(system: str, prompt: str) -> tuple[str, str]:
    """Find the idea (WAS) and the rules (WIE) in labelled sections, else prompt vs system."""
    combined = f"{system}\n{prompt}"
    marks = list(_LABEL.finditer(combined))
    idea, rules = "", ""
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(combined)
        body = combined[mark.end() : end].strip()
        if mark.group("label").lower() in _RULE_LABELS:
            rules = rules or body
        else:
            idea = idea or body
    if not idea:
        paragraphs = [p for p in prompt.split("\n\n") if p.strip()]
        idea = paragraphs[-1].strip() if paragraphs and not system else prompt.strip()
    return idea, rules or system


def detect_task(req: TextRequest) -> str:
    """One of code_p5, code_tone, safety, translate, image_prompt, vision, transform."""
    both = f"{req.system}\n{req.prompt}"
    low = both.lower()
    if req.model.startswith("llama-guard"):  # a classifier: it only ever judges
        return "safety"
    if "tone.js" in low or "tonejs" in low:
        return "code_tone"
    if "p5.js" in low or "p5js" in low or "createcanvas" in low:
        return "code_p5"
    if "SAFE" in both or re.search(
        r"\b(unsafe|safety|verdict|moderation|unbedenklich|jugendschutz)\b", low
    ):
        return "safety"
    if re.search(r"\b(translate|translation|übersetze|übersetzen|übersetzung)\b", low):
        return "translate"
    if re.search(r"image prompt|bildprompt|text-to-image|prompt for an image|bildgenerator", low):
        return "image_prompt"
    return "vision" if req.images else "transform"


def _pick(words: list[str], index: int, fallback: tuple[str, ...]) -> str:
    pool = words or list(fallback)
    return pool[index % len(pool)]


def _transform(req: TextRequest, rng: random.Random) -> str:
    idea, rules = split_idea_rules(req.system, req.prompt)
    german = is_german(idea)
    iw, rw = content_words(idea), content_words(rules)
    if german:  # nouns first: German nouns are capitalised
        iw = sorted(iw, key=lambda w: not w[:1].isupper())
    rng.shuffle(rw)
    phrase = " ".join(idea.split()[:12]).rstrip(".!?") or ("die Idee" if german else "the idea")
    phrase = phrase[:1].lower() + phrase[1:] if phrase[:2].istitle() else phrase
    i1, i2 = (_pick(iw, k, ("idea",)) for k in range(2))
    r0, r1, r2 = (_pick(rw, k, STYLE_POOL) for k in range(3))
    if german:
        lines = [
            f"Stell dir {phrase} vor, neu gedacht mit {r0}.",
            f"{i1} trägt Spuren von {r1}, während {i2} in {r2} übergeht.",
            f"Am Ende bleibt {i1}: verwandelt, aber wiedererkennbar, voller {r0}.",
        ]
    else:
        lines = [
            f"Imagine {phrase}, reimagined through {r0}.",
            f"The {i1} carries traces of {r1}, while {i2} dissolves into {r2}.",
            f"What remains is {i1}: transformed, yet recognisable, full of {r0}.",
        ]
    return " ".join(lines[: 2 + rng.randrange(2)])


def _judged(req: TextRequest) -> tuple[str, str]:
    """The text a safety request judges and its context (what a vision model "sees")."""
    if req.images:
        return _judge.vision_sees(), ""
    head, sep, tail = req.prompt.rpartition("Text:\n")
    return (tail, head) if sep else (req.prompt, "")


def _safety(req: TextRequest) -> tuple[bool, str]:
    text, context = _judged(req)
    safe, category, _context = _judge.verdict(text, req.system, context_text=context)
    return safe, category


def _safety_text(req: TextRequest) -> str:
    text, context = _judged(req)
    return _judge.answer(text, req.system, req.model, context_text=context)


def _image_prompt(req: TextRequest, rng: random.Random) -> str:
    idea, _rules = split_idea_rules(req.system, req.prompt)
    words = content_words(translate_words(idea))[:6] or ["an open landscape"]
    return ", ".join([*words, *rng.sample(RENDER_TAGS, 3), "highly detailed"])


def _vision(rng: random.Random) -> str:
    colours = rng.sample(["red", "blue", "yellow", "green", "grey", "orange"], 2)
    shape = rng.choice(["round shapes", "a tall figure", "soft waves", "a small house"])
    return f"The picture shows {shape} in {colours[0]} and {colours[1]} on a plain background."


def _title(req: TextRequest) -> str:
    idea, _rules = split_idea_rules(req.system, req.prompt)
    return " ".join(content_words(idea)[:6]) or "untitled"


def _p5(req: TextRequest, rng: random.Random) -> str:
    palette = json.dumps(list(rng.choice(PALETTES)))
    count, size = rng.randrange(6, 19), rng.randrange(12, 48)
    shape = rng.choice(["ellipse", "rect"])
    return f"""// p5.js sketch: {_title(req)}
const palette = {palette};
let t = 0;

function setup() {{
  createCanvas(400, 400);
  noStroke();
}}

function draw() {{
  background(palette[1]);
  for (let i = 0; i < {count}; i += 1) {{
    const angle = t + (i * TWO_PI) / {count};
    const r = 120 + 30 * sin(t * 2 + i);
    fill(palette[i % palette.length]);
    {shape}(width / 2 + r * cos(angle), height / 2 + r * sin(angle), {size}, {size});
  }}
  t += 0.01 * {rng.randrange(1, 4)};
}}
"""


def _tone(req: TextRequest, rng: random.Random) -> str:
    scale = list(rng.choice(SCALES))
    notes = json.dumps([rng.choice(scale) for _ in range(8)])
    bpm = rng.randrange(72, 132)
    return f"""// Tone.js piece: {_title(req)}
const synth = new Tone.PolySynth(Tone.Synth).toDestination();
const notes = {notes};
let loop = null;

function play() {{
  const transport = Tone.getTransport();
  transport.bpm.value = {bpm};
  let step = 0;
  loop = new Tone.Loop((time) => {{
    synth.triggerAttackRelease(notes[step % notes.length], "8n", time);
    step += 1;
  }}, "8n").start(0);
  transport.start();
}}

function stop() {{
  if (loop) {{
    loop.dispose();
    loop = null;
  }}
  Tone.getTransport().stop();
}}
"""


def _plain_text(task: str, req: TextRequest, rng: random.Random) -> str:
    if task == "code_p5":
        return _p5(req, rng)
    if task == "code_tone":
        return _tone(req, rng)
    if task == "safety":
        return _safety_text(req)
    if task == "translate":
        return translate_words(split_idea_rules(req.system, req.prompt)[0])
    if task == "image_prompt":
        return _image_prompt(req, rng)
    if task == "vision":
        return _vision(rng)
    return _transform(req, rng)


def _schema_value(schema: Any, text: str, rng: random.Random) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: _schema_value(sub, text, rng) for key, sub in props.items()}
    if kind == "array":
        return [_schema_value(schema.get("items", {}), w, rng) for w in content_words(text)[:3]]
    if kind == "integer":
        return rng.randrange(1, 10)
    if kind == "number":
        return round(rng.random(), 3)
    if kind == "boolean":
        return True
    return text


def _json_text(task: str, req: TextRequest, text: str, rng: random.Random) -> str:
    if isinstance(req.fmt, dict) and req.fmt.get("type") == "object":
        value = _schema_value(req.fmt, text, rng)
    elif task == "safety":
        safe, category = _safety(req)
        value = {"safe": safe, "category": category} if not safe else {"safe": True}
    else:
        value = {"text": text, "keywords": content_words(text)[:5]}
    return json.dumps(value, ensure_ascii=False)


def compose(req: TextRequest) -> Answer:
    """The deterministic answer (and reasoning text for thinking models) to a request."""
    task = detect_task(req)
    rng = _rng(req, task)
    text = _plain_text(task, req, rng)
    if req.fmt is not None:
        text = _json_text(task, req, text, rng)
    words = content_words(split_idea_rules(req.system, req.prompt)[0])[:4]
    thinking = (
        f"The request looks like a {task.replace('_', ' ')} task. "
        f"Key words: {', '.join(words) or 'none'}. I will answer directly and keep it short."
    )
    return Answer(thinking=thinking, text=text)
