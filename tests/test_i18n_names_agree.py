"""One English for each name of a service, a material or a certificate (issue 21): the catalogue (db/seed, its
`_en` keys) is where such a name is translated. A name that our code also marks as a message (a certificate kind's
title, N_("出生医学证明")) must read the same in the messages, or a resident meets "Medical Certificate of Birth" on
one page and "Medical birth certificate" on the next."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from babel.messages.pofile import read_po

from app.catalogue import translations
from i18n import LOCALE_DIR, use_language

pytestmark = pytest.mark.anyio
# Where the catalogue names what a resident applies for, hands in and receives.
NAMED_IN = ("items.json", "certificates.json")
NAME_KEYS = ("name", "title")


def _names(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, list):
        for one in cast("list[Any]", value):
            _names(one, found)
    elif isinstance(value, dict):
        for key, inner in cast("dict[str, Any]", value).items():
            if key in NAME_KEYS and isinstance(inner, str):
                found.add(inner)
            else:
                _names(inner, found)
    return found


def _catalogue_names() -> set[str]:
    found: set[str] = set()
    for name in NAMED_IN:
        _names(json.loads((translations.SEED_DIR / name).read_text(encoding="utf-8")), found)
    return found


def _messages_english() -> dict[str, str]:
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po, locale="en") if isinstance(m.id, str) and isinstance(m.string, str)}


def test_a_name_in_the_catalogue_and_the_messages_reads_the_catalogues_english_in_both() -> None:
    messages = _messages_english()
    names = _catalogue_names()
    assert "出生医学证明" in names and "出生医学证明" in messages  # the case that showed it
    with use_language("en"):
        disagree = {
            chinese: {"messages": messages[chinese], "catalogue": translations.text(chinese)}
            for chinese in sorted(names & messages.keys())
            if messages[chinese] and messages[chinese] != translations.text(chinese)
        }
    assert not disagree, f"give the messages the catalogue's English (locale/en/pending/*.json): {disagree}"


async def test_the_guide_names_the_birth_certificate_as_the_certificate_pages_do(client: httpx.AsyncClient) -> None:
    """出生户口登记's guide lists 出生医学证明 among its materials (the catalogue); the correction chooser and 我的证照
    name it from the messages (tests/test_i18n_names.py): the same English."""
    guide = await client.get("/items/CZ-GA-001", headers={"Accept-Language": "en"})
    assert guide.status_code == 200
    assert "Medical birth certificate" in guide.text and "Medical Certificate of Birth" not in guide.text


def test_the_names_this_file_reads_are_the_catalogues() -> None:
    assert Path(translations.SEED_DIR / "items.json").exists() and len(_catalogue_names()) > 50
