"""Fakes for the safety gate: a judge that records what it was asked, tiny word lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.safety import JudgeReply
from ai4artsed_desktop.pipeline.safety_words import Hit

HARMLESS_P5 = "function setup() {\n  createCanvas(400, 400);\n}\nfunction draw() {}\n"


@dataclass
class Scripted:
    """A safety model that answers from a script and records exactly what it was asked.

    An answer is a text, a ``JudgeReply`` (e.g. cut off) or an exception to raise.
    """

    answers: list[str | JudgeReply | Exception]
    calls: list[list[Message]] = field(default_factory=list)

    async def __call__(self, messages: list[Message]) -> JudgeReply:
        self.calls.append(messages)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, JudgeReply) else JudgeReply(answer)

    def judged(self, index: int = 0) -> str:
        """The user turn of call ``index`` (ends with the judged text)."""
        return self.calls[index][-1].content

    def system(self, index: int = 0) -> str:
        return self.calls[index][0].content


@dataclass
class Lists:
    """Word lists with a few whole-word terms (the real lists are another module's test)."""

    terms: dict[str, str] = field(
        default_factory=lambda: {
            "sword": "violence",
            "schwert": "violence",
            "blood": "violence",
            "blut": "violence",
            "knife": "violence",
            "slurword": "hate",
            "kinderporno": "sexual",
        }
    )
    adult: frozenset[str] = frozenset({"kinderporno", "slurword"})

    def match(self, text: str, level: str) -> list[Hit]:
        if level == "research":
            return []
        hits = []
        for m in re.finditer(r"\w+", text):
            word = m.group(0).lower()
            if word in self.terms and (level != "adult" or word in self.adult):
                hits.append(Hit(word, self.terms[word], (m.start(), m.end())))
        return hits
