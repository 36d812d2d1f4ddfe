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

UNREADABLE = {
    "en": "The safety check could not judge this text — ask your teacher.",
    "de": "Die Sicherheitsprüfung konnte diesen Text nicht beurteilen – frag deine Lehrkraft.",
}

UNREADABLE_IMAGE = {
    "en": "The safety check could not judge this picture, so it stays hidden — ask your teacher.",
    "de": "Die Sicherheitsprüfung konnte dieses Bild nicht beurteilen, deshalb bleibt es "
    "verborgen – frag deine Lehrkraft.",
}

NO_VISION = {
    "en": "Pictures cannot be made here right now: at this level every picture is checked "
    "before you see it, and the picture checker is missing on this computer. Ask your "
    "teacher. (For the teacher: {why} Install it with “{command}”, or switch the picture "
    "check off in Settings with the PIN.)",
    "de": "Bilder können hier gerade nicht gemacht werden: Auf dieser Stufe wird jedes Bild "
    "geprüft, bevor du es siehst, und der Bildprüfer fehlt auf diesem Computer. Frag deine "
    "Lehrkraft. (Für die Lehrkraft: {why} Installieren mit „{command}“ oder die Bildprüfung "
    "in den Einstellungen mit der PIN ausschalten.)",
}

NOT_CHECKED_NOTE = {
    "en": "Not checked: this picture was not looked at by a picture checker ({why}).",
    "de": "Nicht geprüft: Dieses Bild hat kein Bildprüfer angesehen ({why}).",
}

_IMAGE = {
    "en": "The picture that came out shows {topic}. Try a different idea or change the text.",
    "de": "Das Bild, das herauskam, zeigt {topic}. Probier eine andere Idee oder ändere den Text.",
}

RESEARCH_NOT_CONFIRMED = {
    "en": "The research level switches every safety check off. A teacher has to confirm "
    "this once per session before anything can run.",
    "de": "Die Stufe „Forschung“ schaltet alle Sicherheitsprüfungen aus. Eine Lehrkraft "
    "muss das in jeder Sitzung einmal bestätigen, bevor etwas laufen kann.",
}

_WHERE = {
    "en": {
        "idea": "Your idea",
        "rules": "Your rules",
        "prompt": "The final text",
        "code": "",
        "interception": "The transformed text",
        "adaptation": "The adapted text",
        "translation": "The translated text",
    },
    "de": {
        "idea": "Deine Idee",
        "rules": "Deine Regeln",
        "prompt": "Der fertige Text",
        "code": "",
        "interception": "Der verwandelte Text",
        "adaptation": "Der angepasste Text",
        "translation": "Der übersetzte Text",
    },
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
#: Kids, for a text the AI wrote (interception, adaptation, translation): the child did
#: nothing wrong and never saw the text.
_KIDS_AI = {
    "en": "The AI turned your idea into a text about {topic}. That is not allowed here, so "
    "you do not see it. Press “Transform” to try again, or change your idea a little.",
    "de": "Die KI hat aus deiner Idee einen Text über {topic} gemacht. Das ist hier nicht "
    "erlaubt, deshalb siehst du ihn nicht. Drück noch einmal auf „Verwandeln“ oder ändere "
    "deine Idee ein bisschen.",
}
AI_STAGES = frozenset({"interception", "adaptation", "translation"})
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
    if level == "kids" and where in AI_STAGES:
        return _KIDS_AI[lang].format(topic=topic)
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


def unreadable_reason(lang: str, *, image: bool = False) -> str:
    """The judge answered, but not with a verdict (prose, cut off): kids and youth block."""
    return (UNREADABLE_IMAGE if image else UNREADABLE)[_lang(lang)]


def no_vision_reason(lang: str, *, why: str, command: str) -> str:
    """Kids without a vision model: why images cannot be made and the command that fixes it."""
    return NO_VISION[_lang(lang)].format(why=why, command=command)


def not_checked_note(lang: str, *, why: str) -> str:
    """Youth without a vision model: the note shown with the unchecked image."""
    return NOT_CHECKED_NOTE[_lang(lang)].format(why=why)


def image_reason(category: str, *, lang: str) -> str:
    """Why a generated picture is hidden (the vision model judged it unsafe)."""
    lang = _lang(lang)
    return _IMAGE[lang].format(topic=_TOPIC[lang].get(category, _TOPIC[lang][""]))
