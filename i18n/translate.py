"""Which language a text is drawn in, and its translation from the catalogues in `locale/`."""

from __future__ import annotations

import contextvars
import functools
import gettext as gnu_gettext
import hashlib
import io
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from babel.core import Locale, UnknownLocaleError, negotiate_locale
from babel.support import NullTranslations, Translations

# Babel's catalogue tools (babel.messages: about 0.5 MB of each web worker with what they import) are imported where
# a .po is first read or a plural rule looked up: a worker drawing Chinese from compiled templates needs neither
# (tests/test_web_worker_imports.py).
if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

DEFAULT_LANGUAGE = "zh"
# Each language by its code (cookie, account, catalogue folder), with the name it calls itself by: a switch shows
# each language in its own words, so a person who reads only that one finds it.
LANGUAGES: dict[str, str] = {"zh": "中文", "en": "English"}
# <html lang>, Content-Language and Babel's formats: the tag of each language as we write it.
_TAGS = {"zh": "zh-CN", "en": "en"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def html_lang(language: str | None = None) -> str:
    return _TAGS[language or current_language()]


@contextmanager
def use_language(language: str | None) -> Generator[str]:
    """Draw texts in `language` (a known code, else the default) inside the block: a notice for its recipient."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def set_language(language: str | None) -> str:
    """For the rest of this request (its task): the middleware's choice."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _current.set(chosen)
    return chosen


def language_from(saved: str | None, account: str | None, accept_language: str | None) -> str:
    """This device's choice (a cookie), else the account's, else the browser's languages in their order of
    preference, else Chinese."""
    for choice in (saved, account):
        if choice in LANGUAGES:
            return choice
    return _negotiated(accept_language or "")


@functools.lru_cache(maxsize=256)
def _negotiated(header: str) -> str:
    wanted: list[tuple[float, str]] = []
    for position, part in enumerate(header.split(",")[:16]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            wanted.append((-quality + position / 1000, tag.strip().replace("-", "_")))
    preferred = [tag for _, tag in sorted(wanted)]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="_") if preferred else None
    if found is None:  # "en-GB" against "en": Babel matches whole tags; try the language part alone
        for tag in preferred:
            try:
                language = Locale.parse(tag).language
            except (ValueError, UnknownLocaleError):
                continue
            if language in LANGUAGES:
                return language
    return found or DEFAULT_LANGUAGE


@functools.cache
def _catalogue(language: str) -> Catalog | None:
    """The .po of `language`, read once per process (no compiled file to keep in step); None for the default
    language, whose texts are their own message ids."""
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not source.exists():
        return None
    from babel.messages.pofile import read_po

    with source.open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


@functools.cache
def _translations(language: str) -> NullTranslations:
    catalogue = _catalogue(language)
    if catalogue is None:
        return NullTranslations()
    from babel.messages.mofile import write_mo

    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def plural_forms(language: str, singular: str) -> tuple[str, ...] | None:
    """Every form of a count's text (`ngettext`'s) in `language`, in the catalogue's order (English: 1 second,
    2 seconds), for a script to choose from; None while it is untranslated (the Chinese shows)."""
    catalogue = _catalogue(language)
    message = catalogue.get(singular) if catalogue is not None else None
    if message is None or message.fuzzy or not isinstance(message.string, tuple | list):
        return None
    forms = tuple(str(form) for form in message.string)
    return forms if forms and all(forms) else None


@functools.cache
def plural_indices(language: str) -> dict[str, int]:
    """Which of a count's forms (gettext's index, the catalogue's Plural-Forms) each CLDR plural category takes in
    `language`: a script asks the browser's Intl.PluralRules for the category of its count (no expression to
    evaluate in the page). English: {"one": 0, "other": 1}; Chinese, one form: {"other": 0}."""
    from babel.messages.plurals import get_plural

    catalogue = _catalogue(language)
    rule = catalogue if catalogue is not None else get_plural(language)
    forms, expression = rule.num_plurals, rule.plural_expr
    if forms == 1:
        # One form for every count (Chinese): whatever the category, the script falls back to "other"'s. Asked when
        # every page's template is compiled, so Babel's CLDR data (its global data and the language's, some 3.5 MB
        # of each web worker's memory, issue 20) is loaded only for a language with forms to choose between.
        return {"other": 0}
    index_of = gnu_gettext.c2py(expression)
    category_of = Locale.parse(language).plural_form
    indices: dict[str, int] = {}
    for count in range(1000):
        category, index = category_of(count), index_of(count)
        if indices.setdefault(category, index) != index:
            raise ValueError(f"{language}: the plural category {category} takes two forms of the catalogue")
    return indices


@functools.cache
def known_messages() -> frozenset[str]:
    """Every text marked in our code and templates (locale/messages.pot, which `make messages` writes and a test
    keeps complete): the only ones a template may draw as HTML. Empty when the file is absent."""
    template = LOCALE_DIR / f"{DOMAIN}.pot"
    if not template.exists():
        return frozenset()
    from babel.messages.pofile import read_po

    with template.open("rb") as pot:
        return frozenset(message.id for message in read_po(pot) if isinstance(message.id, str) and message.id)


def catalogue_fingerprint(language: str) -> bytes:
    """What a language's catalogue holds, as a hash: part of the service worker's version, which precaches pages
    drawn from it (the offline page)."""
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    return hashlib.sha256(source.read_bytes()).digest() if source.exists() else b""


def N_(message: str) -> str:
    """A text marked for `make messages` where it is written and translated where it is shown (a table of texts
    made at import, an error's message translated as the answer leaves): the Chinese itself."""
    return message


def N_plural(singular: str, plural: str) -> str:
    """A count's text (1 minute, 5 minutes) marked for `make messages` with its plural, translated where it is shown
    with `ngettext` and the count (app/web/errors.py: an error's `plural` names the param that counts): the Chinese
    itself, which has one form (the plural repeats it)."""
    del plural
    return singular


def gettext(message: str) -> str:
    return _translations(current_language()).gettext(message)


def gettext_in(language: str, message: str) -> str:
    """`message` in `language`, whatever the request's: a template compiled for that language."""
    return _translations(language).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations(current_language()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """A text whose translation depends on where it stands (`办结` as a status, as a button)."""
    return str(_translations(current_language()).pgettext(context, message))
