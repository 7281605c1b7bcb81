"""The `catalogue` filter (app/main.py) draws a name the catalogue configures in the reader's language, and looks
each name up once per language for as long as the process runs, not on every page that draws it (issue 20)."""

from __future__ import annotations

import pytest

from app.catalogue import translations
from app.main import _catalogue_name, _catalogue_name_in  # pyright: ignore[reportPrivateUsage]
from i18n import use_language


def test_a_catalogue_name_is_drawn_in_each_language_and_looked_up_once_per_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _catalogue_name_in.cache_clear()  # another test may have drawn it already
    looked_up: list[str] = []
    text = translations.text

    def counted(chinese: str) -> str:
        looked_up.append(chinese)
        return text(chinese)

    monkeypatch.setattr(translations, "text", counted)
    drawn: dict[str, set[str]] = {}
    for language in ("en", "zh", "en", "zh", "en"):
        with use_language(language):
            drawn.setdefault(language, set()).add(_catalogue_name("新生儿出生"))
    assert drawn == {"en": {"Birth of a child"}, "zh": {"新生儿出生"}}
    assert looked_up == ["新生儿出生", "新生儿出生"]  # once in English, once in Chinese
