"""The language is chosen around routing from the device's cookie and the browser's Accept-Language, and chosen again
after the session is read only when the signed-in account has a choice of its own (app/web/language.py): without one
the second choice was the first's again, parsed twice on every request."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import i18n
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_in, sign_up


@pytest.fixture
def choices(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every language the app sets for a request, in turn."""
    made: list[str] = []
    set_language = i18n.set_language

    def counted(language: str | None) -> str:
        chosen = set_language(language)
        made.append(chosen)
        return chosen

    monkeypatch.setattr(i18n, "set_language", counted)
    return made


async def test_a_visitor_and_an_account_without_a_choice_have_their_language_chosen_once(
    client: httpx.AsyncClient, choices: list[str]
) -> None:
    assert (await client.get("/", headers={"Accept-Language": "en"})).status_code == 200
    assert choices == ["en"]
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    choices.clear()
    page = await client.get("/me", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and '<html lang="en"' in page.text
    assert choices == ["en"]


async def test_an_accounts_choice_is_made_after_the_session_is_read(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], choices: list[str]
) -> None:
    passkey = new_authenticator()
    assert (await sign_up(client, passkey, ZHANG_WEI)).status_code == 201
    saved = await client.put("/api/v1/preferences", json={"language": "en"}, headers=await csrf(client))
    assert saved.status_code == 200
    other = another_client()
    assert (await sign_in(other, passkey)).status_code == 200
    choices.clear()
    page = await other.get("/me", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in page.text
    assert choices == ["zh", "en"]
