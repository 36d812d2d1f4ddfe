"""Run-time switchable UI translations read from ``resources/i18n/<lang>.json``.

Every visible string goes through :meth:`Translator.tr`; widgets connect a ``retranslate()``
method to :attr:`Translator.language_changed` so a switch updates everything at once. Qt's own
texts (file dialogs, standard buttons, context menus) follow too: the translator installs
Qt's ``qtbase_<lang>.qm`` from PySide6's translations folder.

Plural forms: a key ``name`` with a count has ``name.one`` and ``name.other`` variants;
:meth:`Translator.plural` picks one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QObject, QTranslator, Signal

from ..content.schema import ContentProblem, Text
from ..errors import AppError
from ..paths import resources_dir
from ..settings import LANGUAGES

log = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"


def catalogue_dir() -> Path:
    """The folder of the ``<lang>.json`` catalogues."""
    return resources_dir() / "i18n"


def load_catalogue(language: str, folder: Path | None = None) -> dict[str, str]:
    """Read the flat ``key -> text`` catalogue of ``language``.

    ``<lang>.json`` holds the shared texts; ``<area>.<lang>.json`` files (one per page,
    e.g. ``training.de.json``) are merged in. A missing or broken file gives nothing and
    one logged error; the others still load.
    """
    base = folder or catalogue_dir()
    merged: dict[str, str] = {}
    for path in [base / f"{language}.json", *sorted(base.glob(f"*.{language}.json"))]:
        merged.update(_read_catalogue(path))
    return merged


def _read_catalogue(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.error("Translation catalogue %s unusable: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        log.error("Translation catalogue %s is not a JSON object", path)
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


_QT_TEXTS = "ai4artsedQtTexts"


def _qt_texts_translator() -> QTranslator:
    """The one translator for Qt's own texts in this application.

    Qt's texts are application-wide, so every Translator shares one ``QTranslator`` (a child
    of the application): the last language set wins, and a Translator that is gone cannot
    leave its old language installed behind the current one.
    """
    app = QCoreApplication.instance()
    if app is None:
        return QTranslator()
    found = app.findChild(QTranslator, _QT_TEXTS)
    if isinstance(found, QTranslator):
        return found
    translator = QTranslator(app)
    translator.setObjectName(_QT_TEXTS)
    return translator


class Translator(QObject):
    """Looks up UI texts in the current language and announces language switches.

    Missing keys fall back to English, then to the key itself (so a gap is visible but
    never crashes). Content texts (:class:`Text`) are picked with :meth:`text`.

    Signals:
        language_changed(str): the language switched; widgets retranslate.
    """

    language_changed = Signal(str)

    def __init__(
        self, language: str = "de", *, folder: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._catalogues = {lang: load_catalogue(lang, folder) for lang in LANGUAGES}
        self._language = language if language in LANGUAGES else FALLBACK_LANGUAGE
        self._qt = _qt_texts_translator()
        self._install_qt_texts()

    @property
    def language(self) -> str:
        """The current language code (``de`` or ``en``)."""
        return self._language

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language a catalogue exists for."""
        return LANGUAGES

    def set_language(self, language: str) -> None:
        """Switch the language; emits :attr:`language_changed` when it really changed."""
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        if language == self._language:
            return
        self._language = language
        self._install_qt_texts()
        self.language_changed.emit(language)

    @property
    def qt_texts_language(self) -> str:
        """The language of Qt's own texts now ("" when Qt's English built-ins are used)."""
        return self._qt.language()

    def _install_qt_texts(self) -> None:
        """Qt's own dialogs and buttons in the UI language (English needs no file)."""
        app = QCoreApplication.instance()
        if app is None:
            return
        app.removeTranslator(self._qt)
        if self._language == "en":
            self._qt.load("")  # forget the old file: language() says "" again
            return
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if self._qt.load(f"qtbase_{self._language}", folder):
            app.installTranslator(self._qt)
        else:
            log.info("Qt's own texts stay English: no qtbase_%s.qm in %s", self._language, folder)

    def has(self, key: str, language: str | None = None) -> bool:
        """True when ``key`` exists in the catalogue of ``language`` (default: current)."""
        return key in self._catalogues.get(language or self._language, {})

    # Deliberately replaces Qt's QObject.tr: our texts live in JSON catalogues, not .qm files.
    def tr(self, key: str, /, **fmt: Any) -> str:  # type: ignore[override]
        """The text for ``key`` in the current language, formatted with ``fmt``."""
        text = self._catalogues[self._language].get(key)
        if text is None:
            text = self._catalogues[FALLBACK_LANGUAGE].get(key)
        if text is None:
            log.debug("Missing translation key %r", key)
            return key
        if not fmt:
            return text
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            log.debug("Translation %r does not fit the arguments %r", key, fmt)
            return text

    def text_in(self, language: str, key: str, fmt: Mapping[str, str]) -> str | None:
        """The text of ``key`` in ``language`` formatted with ``fmt``; None when missing."""
        text = self._catalogues.get(language, {}).get(key)
        if text is None:
            return None
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            log.debug("Translation %r does not fit the arguments %r", key, fmt)
            return text

    def plural(self, key: str, count: int, /, **fmt: Any) -> str:
        """``key.one`` for a count of 1, else ``key.other``, formatted with ``count``."""
        form = "one" if count == 1 else "other"
        return self.tr(f"{key}.{form}", count=count, **fmt)

    def text(self, value: Text) -> str:
        """A content text (config name, rules, ...) in the current language."""
        return value.get(self._language)


def localized_params(params: Mapping[str, str], language: str) -> dict[str, str]:
    """``params`` plus, for each ``<name>_de`` / ``<name>_en`` pair, ``<name>`` in ``language``.

    The core does not know the UI language: an error about an output names it in both
    (``output_de``, ``output_en``) and the catalogues write ``{output}``.
    """
    filled = dict(params)
    for name, value in params.items():
        stem, _, lang = name.rpartition("_")
        if stem and lang == language:
            filled[stem] = value
    return filled


def user_message(translator: Translator, key: str, params: Mapping[str, str], english: str) -> str:
    """An ``AppError``'s message in the UI language.

    The catalogue text of ``key`` filled with ``params``; the English ``english`` the error
    was raised with when there is no key, or the current catalogue does not have it.
    """
    if not key or not translator.has(key):
        return english
    return translator.tr(key, **localized_params(params, translator.language))


def both_languages(
    translator: Translator, name: str, key: str, params: Mapping[str, str], english: str
) -> dict[str, str]:
    """``<name>_<lang>`` for every language: a keyed message to fill into another one.

    An error that names another (a seat's reason in the console's sentence) carries both,
    and :func:`localized_params` fills ``{name}`` in whichever language the window shows
    it, then or after a switch. A language without the key gets ``english``.
    """
    filled = {}
    for language in translator.languages:
        text = (
            translator.text_in(language, key, localized_params(params, language)) if key else None
        )
        filled[f"{name}_{language}"] = english if text is None else text
    return filled


def error_text(translator: Translator, error: AppError) -> str:
    """The message of ``error`` in the UI language (:func:`user_message` of its key)."""
    return user_message(translator, error.key, error.params, error.user_message)


def problem_text(translator: Translator, problem: ContentProblem) -> str:
    """A content or profile problem in the UI language: file, field and the sentence.

    The sentence is the catalogue text of ``problem.key`` (filled with its ``params``); the
    English ``problem.problem`` when it has no key or the catalogue lacks it.
    """
    text = user_message(translator, problem.key, problem.params, problem.problem)
    if problem.field:
        return translator.tr(
            "content.problem_where", file=problem.file, field=problem.field, problem=text
        )
    return translator.tr("content.problem_file", file=problem.file, problem=text)
