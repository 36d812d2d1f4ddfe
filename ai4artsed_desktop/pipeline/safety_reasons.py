"""Student-friendly block reasons in German and English, per safety level.

Kids never see the matched word; nobody ever sees a matched slur (category ``hate``).
"""

from __future__ import annotations

from .safety_code import CodeFinding

Where = str  # "idea", "rules", "prompt", "code"

UNAVAILABLE = {
    "en": "The safety check is not available, so this cannot run. Ask your teacher.",
    "de": "Die Sicherheitsprüfung ist gerade nicht verfügbar, deshalb kann das nicht "
    "starten. Frag deine Lehrkraft.",
}

RESEARCH_NOT_CONFIRMED = {
    "en": "The research level switches every safety check off. A teacher has to confirm "
    "this once per session before anything can run.",
    "de": "Die Stufe „Forschung“ schaltet alle Sicherheitsprüfungen aus. Eine Lehrkraft "
    "muss das in jeder Sitzung einmal bestätigen, bevor etwas laufen kann.",
}

_WHERE = {
    "en": {"idea": "Your idea", "rules": "Your rules", "prompt": "The final text", "code": ""},
    "de": {"idea": "Deine Idee", "rules": "Deine Regeln", "prompt": "Der fertige Text", "code": ""},
}

_TOPIC = {
    "en": {
        "violence": "violence or weapons",
        "sexual": "sexual content",
        "self_harm": "hurting yourself",
        "drugs": "drugs, alcohol or smoking",
        "hate": "hateful words against people",
        "": "something that is not suitable here",
    },
    "de": {
        "violence": "Gewalt oder Waffen",
        "sexual": "sexuelle Inhalte",
        "self_harm": "sich selbst verletzen",
        "drugs": "Drogen, Alkohol oder Rauchen",
        "hate": "abwertende Worte gegen Menschen",
        "": "etwas, das hier nicht passt",
    },
}

_KIDS = {
    "en": "{where} is about {topic}. That is not allowed here. Try a different idea – what "
    "else could happen in your picture?",
    "de": "{where} handelt von {topic}. Das ist hier nicht erlaubt. Probier eine andere "
    "Idee aus – was könnte sonst in deinem Bild passieren?",
}
_OLDER = {
    "en": "{where} contains {topic}{word}, which is not allowed at this level. Change the "
    "text and try again.",
    "de": "{where} enthält {topic}{word}; das ist auf dieser Stufe nicht erlaubt. Ändere den "
    "Text und versuche es noch einmal.",
}

_CODE_TOPIC = {
    "en": {
        "network": "tries to use the internet",
        "storage": "tries to store data on this computer",
        "eval": "tries to run text as a program",
        "dom": "tries to change or leave the page",
    },
    "de": {
        "network": "versucht, das Internet zu benutzen",
        "storage": "versucht, Daten auf diesem Computer zu speichern",
        "eval": "versucht, Text als Programm auszuführen",
        "dom": "versucht, die Seite zu verändern oder zu verlassen",
    },
}
_CODE = {
    "en": "The code {topic} (line {line}: {name}). Code here has to run on its own, without "
    "the network or other pages. Generate it again or change that line.",
    "de": "Der Code {topic} (Zeile {line}: {name}). Code muss hier für sich allein laufen, "
    "ohne Netzwerk und ohne andere Seiten. Lass ihn neu erzeugen oder ändere diese Zeile.",
}
_CODE_CONTENT = {
    "en": "The code contains {topic}. That is not allowed at this level. Generate it again "
    "with a different text.",
    "de": "Der Code enthält {topic}. Das ist auf dieser Stufe nicht erlaubt. Lass ihn mit "
    "einem anderen Text neu erzeugen.",
}


def _lang(lang: str) -> str:
    return "de" if lang == "de" else "en"


def content_reason(category: str, *, level: str, lang: str, where: Where, term: str = "") -> str:
    """Why a text was blocked, in words for the student of ``level``.

    Args:
        category: The word-list category (``violence``, ...) or ``""`` when unknown.
        level: The safety level; kids never see ``term``.
        lang: ``de`` or ``en``.
        where: Which text: ``idea``, ``rules``, ``prompt`` or ``code``.
        term: The matched surface text, shown to youth/adult except for slurs.
    """
    lang = _lang(lang)
    topic = _TOPIC[lang].get(category, _TOPIC[lang][""])
    if where == "code":
        return _CODE_CONTENT[lang].format(topic=topic)
    place = _WHERE[lang].get(where, _WHERE[lang]["prompt"])
    if level == "kids":
        return _KIDS[lang].format(where=place, topic=topic)
    show = term and category != "hate"
    word = f" („{term}“)" if show and lang == "de" else f" (“{term}”)" if show else ""
    return _OLDER[lang].format(where=place, topic=topic, word=word)


def code_reason(finding: CodeFinding, *, lang: str) -> str:
    """Why generated code was blocked, naming the category and the line."""
    lang = _lang(lang)
    topic = _CODE_TOPIC[lang][finding.category]
    return _CODE[lang].format(topic=topic, line=finding.line, name=finding.name)


def unavailable_reason(lang: str) -> str:
    """The fail-closed message for kids and youth."""
    return UNAVAILABLE[_lang(lang)]


def research_reason(lang: str) -> str:
    """The message when the research level has not been confirmed by a teacher."""
    return RESEARCH_NOT_CONFIRMED[_lang(lang)]


#: Llama Guard hazard codes -> our categories (others stay unnamed).
GUARD_TO_CATEGORY = {
    "S1": "violence",
    "S9": "violence",
    "S3": "sexual",
    "S4": "sexual",
    "S12": "sexual",
    "S10": "hate",
    "S11": "self_harm",
}
