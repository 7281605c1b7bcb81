"""What is recorded stays Chinese (the text of record) whatever the language of the person who acted, and each reader
reads it in their own (issue 21): a consent request filed by someone reading English, a delegation recorded by a
helper reading English."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import pytest

from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_up
from tests.test_consents_http import _birth_as_father, _file, _materials_block
from tests.test_delegations_http import ELDER, delegation_body, helper  # noqa: F401 (a fixture)

pytestmark = pytest.mark.anyio
ENGLISH = {"Accept-Language": "en"}


async def test_a_consent_request_filed_in_english_is_recorded_and_sent_in_chinese_and_read_in_each_language(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    li_na = another_client()
    await sign_up(li_na, new_authenticator(), LI_NA)
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    client.headers.update(ENGLISH)  # 张伟 reads English; 李娜 never chose a language
    filed = await _file(client, "birth", "i18n-record-0001", _birth_as_father(LI_NA["id_number"]))
    assert filed.status_code == 201, filed.text

    assert await pool.fetchval("SELECT life_event_name FROM consents") == "新生儿出生"
    inbox = (await li_na.get("/api/v1/notifications")).json()["items"]
    assert any(item["body"].startswith("张伟申请新生儿出生，需使用您的居民身份证") for item in inbox), inbox
    [chinese] = (await li_na.get("/api/v1/consents")).json()
    assert chinese["life_event_name"] == "新生儿出生"
    [english] = (await li_na.get("/api/v1/consents", headers=ENGLISH)).json()
    assert english["life_event_name"] == "Birth of a child"
    assert "Birth of a child" in english["text"] and "新生儿出生" not in english["text"]


async def test_a_delegation_recorded_by_a_helper_reading_english_is_told_to_the_elder_in_theirs(
    helper: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, new_authenticator(), ELDER)  # the elder reads Chinese
    helper.headers.update(ENGLISH)
    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=["retirement"]))
    assert created.status_code == 201, created.text
    [notice] = (await client.get("/api/v1/notifications")).json()["items"]
    assert "为您代办退休" in notice["body"], notice
    assert "Retirement" not in notice["body"]


async def test_a_passkey_is_named_in_the_language_its_owner_signs_up_in(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    client.headers["user-agent"] = linux
    client.cookies.set("ywtb_lang", "en")
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    [english] = (await client.get("/api/v1/me/passkeys")).json()
    assert english["name"] == "Passkey on a Linux device", english
    li_na = another_client()
    li_na.headers["user-agent"] = linux
    await sign_up(li_na, new_authenticator(), LI_NA)
    [chinese] = (await li_na.get("/api/v1/me/passkeys")).json()
    assert chinese["name"] == "Linux 设备上的通行密钥", chinese


async def test_why_a_partys_documents_must_be_uploaded_or_wait_reads_in_english(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    client.cookies.set("ywtb_lang", "en")
    waiting = await _materials_block(client, "birth", _birth_as_father(LI_NA["id_number"]))
    assert "agree on their phone" in waiting and "本人在手机上同意" not in waiting, waiting
    stranger = await _materials_block(client, "death", {"deceased.id_number": "320412194104121430"})
    assert "could not confirm that you are related" in stranger and "亲属关系" not in stranger, stranger
