"""The catalogue in each reader's language: the texts of its configuration (db/seed/*.json), each written in Chinese
with its translation beside it under the same key and the language's suffix (`"name": "新生儿出生", "name_en": "Birth
of a child"`, a list beside a list: `process` / `process_en`).

The database keeps the Chinese only (the legal text of record: what a case, a receipt or a register entry says). The
translations are read from the configuration once per process, as one table per language from each Chinese text to
its translation, and a text is drawn through `text()`: the Chinese itself in Chinese, else its translation, else (none
configured, or a text the database holds that the configuration no longer does) the Chinese. Keyed by the Chinese, a
translation can never stand for a text it was not written for, and the one lookup serves every place a catalogue text
reaches a page (a department's name joined into a case, a certificate's title). `missing()` names every text still
without one (tests/test_i18n_catalogue.py fails on it).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from i18n import DEFAULT_LANGUAGE, LANGUAGES, current_language

# The catalogue's configuration (app/seed.py loads it into the database): the files whose texts a resident reads.
SEED_DIR = Path(__file__).resolve().parent.parent.parent / "db" / "seed"
CATALOGUE_FILES = (
    "life_events.json",
    "items.json",
    "form.json",
    "departments.json",
    "halls.json",
    "certificates.json",
    "regions.json",
)
# Parts of a file that are records rather than catalogue: a demo certificate's contents are what the document says
# (names, addresses, 男/女 as printed on it), shown as issued.
_RECORDS = frozenset({"data"})
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Keys whose values are codes the app decides by (网上办理, 工作日, 即办件 …), translated where they are shown with
# gettext (app.catalogue.models.VOCABULARY), and addresses, shown as written (what a taxi driver reads).
_NOT_HERE = frozenset({"channels", "item_type", "level", "subject", "kind", "unit", "address"})


def suffix(language: str) -> str:
    return f"_{language}"


def text(chinese: str) -> str:
    """A catalogue text in the current language: its translation, or the Chinese when it has none."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return chinese
    return _tables().get(language, {}).get(chinese, chinese)


def optional(chinese: str | None) -> str | None:
    return None if chinese is None else text(chinese)


def texts(chinese: list[str]) -> list[str]:
    return [text(one) for one in chinese]


def without_translations(value: Any) -> Any:
    """The configuration as the database keeps it: Chinese only (a key with a language's suffix left out)."""
    if isinstance(value, dict):
        entry = cast("dict[str, Any]", value)
        return {k: without_translations(v) for k, v in entry.items() if not _is_translation(k)}
    if isinstance(value, list):
        return [without_translations(v) for v in cast("list[Any]", value)]
    return value


# (language, file, where in it, the Chinese) of a text without its translation.
Untranslated = tuple[str, str, str, str]


def missing() -> list[Untranslated]:
    """Every text of the catalogue without a translation into some language, and every translation that is not one
    (a list of another length than its Chinese, an empty string): (language, file, where, Chinese)."""
    return [found for _, _, found in _walk_all() if found is not None]


def conflicts() -> dict[str, dict[str, set[str]]]:
    """Chinese texts translated two ways in one language (by language): the table keeps one, so the configuration
    should say the same thing the same way."""
    seen: dict[str, dict[str, set[str]]] = {}
    for language, pairs, _ in _walk_all():
        for chinese, translated in pairs:
            seen.setdefault(language, {}).setdefault(chinese, set()).add(translated)
    return {
        language: {chinese: ways for chinese, ways in table.items() if len(ways) > 1}
        for language, table in seen.items()
        if any(len(ways) > 1 for ways in table.values())
    }


@functools.cache
def _tables() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES if language != DEFAULT_LANGUAGE}
    for language, pairs, _ in _walk_all():
        for chinese, translated in pairs:
            tables[language].setdefault(chinese, translated)
    return tables


def _is_translation(key: str) -> bool:
    return any(key.endswith(suffix(language)) for language in LANGUAGES if language != DEFAULT_LANGUAGE)


def _walk_all() -> Iterator[tuple[str, list[tuple[str, str]], Untranslated | None]]:
    """For each text of the configuration and each language: the (Chinese, translation) pairs it gives, or what is
    missing."""
    for name in CATALOGUE_FILES:
        document = json.loads((SEED_DIR / name).read_text(encoding="utf-8"))
        yield from _walk(name, document, "")


def _walk(name: str, value: Any, where: str) -> Iterator[tuple[str, list[tuple[str, str]], Untranslated | None]]:
    if isinstance(value, list):
        for position, one in enumerate(cast("list[Any]", value)):
            yield from _walk(name, one, f"{where}[{position}]")
        return
    if not isinstance(value, dict):
        return
    entry = cast("dict[str, Any]", value)
    for key, chinese in entry.items():
        if _is_translation(key) or key in _RECORDS:
            continue
        place = f"{where}.{key}"
        if not _is_text(chinese):
            yield from _walk(name, chinese, place)
            continue
        if key in _NOT_HERE:
            continue
        for language in LANGUAGES:
            if language == DEFAULT_LANGUAGE:
                continue
            pairs = _pairs(chinese, entry.get(key + suffix(language)))
            yield language, pairs or [], None if pairs is not None else (language, name, place, str(chinese))


def _is_text(value: Any) -> bool:
    """A Chinese text, or a list of texts one of which is Chinese (a 办事指南's steps)."""
    if isinstance(value, str):
        return _CHINESE.search(value) is not None
    if isinstance(value, list):
        items = cast("list[Any]", value)
        return bool(items) and all(isinstance(one, str) for one in items) and any(_CHINESE.search(o) for o in items)
    return False


def _pairs(chinese: str | list[str], translated: Any) -> list[tuple[str, str]] | None:
    """The (Chinese, translation) pairs a text and its translation give; None when the translation is missing or
    is not one (an empty text, a list of another length)."""
    if isinstance(chinese, str):
        chinese, translated = [chinese], [translated]
    if not isinstance(translated, list):
        return None
    given = cast("list[Any]", translated)
    if len(given) != len(chinese) or not all(isinstance(t, str) and t.strip() for t in given):
        return None
    return [(c, str(t)) for c, t in zip(chinese, given, strict=True) if _CHINESE.search(c)]
