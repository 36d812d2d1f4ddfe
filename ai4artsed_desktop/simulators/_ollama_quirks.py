"""Small-model behaviour for the Ollama simulator, switched on per test (no AI inside).

Real small models (SmolLM2-135M through llama.cpp, 1-3 B Ollama models) answer in ways
the pipeline must survive. ``FAKE_OLLAMA_QUIRKS`` switches them on: a comma list of
``name`` or ``name:N`` (only the next N matching answers; no count means every one):

* ``prose_code``: a p5.js / Tone.js request gets a chatty description instead of code;
* ``untranslated``: a translation request gets the German text back unchanged;
* ``cutoff``: a non-safety answer stops halfway with ``done_reason: "length"``;
* ``echo``: a transformation or translation starts with "Sure! Here is the text:" and
  an echoed "Text:" label.

Safety verdicts are never changed: the judge's own answers belong to its tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

QUIRKS = frozenset({"prose_code", "untranslated", "cutoff", "echo"})
_APPLIES_TO = {
    "prose_code": frozenset({"code_p5", "code_tone"}),
    "untranslated": frozenset({"translate"}),
    "cutoff": frozenset({"code_p5", "code_tone", "translate", "transform", "image_prompt"}),
    "echo": frozenset({"translate", "transform", "image_prompt"}),
}
PROSE = (
    "Here's a possible solution for your idea:\n\n"
    "The sketch would show soft shapes that drift slowly across the screen, in the "
    "colours of the idea. You could make the shapes bigger when the mouse moves and "
    "change the colours over time to make it feel alive."
)


@dataclass
class Quirks:
    """The armed quirks: name -> answers left (None: every answer)."""

    left: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Quirks:
        """Parse ``FAKE_OLLAMA_QUIRKS`` (unknown names are ignored)."""
        left: dict[str, int | None] = {}
        for part in env.get("FAKE_OLLAMA_QUIRKS", "").split(","):
            name, _, count = part.strip().partition(":")
            if name in QUIRKS:
                left[name] = int(count) if count.strip().isdigit() else None
        return cls(left)

    def take(self, task: str) -> frozenset[str]:
        """The quirks that apply to this answer (counted down)."""
        active = set()
        for name, left in list(self.left.items()):
            if task not in _APPLIES_TO[name] or left == 0:
                continue
            active.add(name)
            if left is not None:
                self.left[name] = left - 1
        return frozenset(active)


def apply_text(quirks: frozenset[str], task: str, text: str, source: str) -> str:
    """The answer text after the text-changing quirks (cut-off is applied to the pieces)."""
    if "prose_code" in quirks:
        text = PROSE
    if "untranslated" in quirks:
        text = source
    if "echo" in quirks:
        text = f"Sure! Here is the text:\nText: {text}"
    return text
