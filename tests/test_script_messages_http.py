"""Our scripts' texts in the reader's language (issue 21): every page carries the table of its language for
pwa/static/js/i18n.js, and the service worker gets its own from /i18n/<language>.json, precached with the offline
page in every language and part of its version."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from app.shell.service import PWA_DIR, ScriptMessages, ServiceWorker
from app.web.assets import StaticAssets

_TABLE = re.compile(
    r'<script type="application/json" id="i18n" data-language="(\w+)" data-plural="([^"]*)">(.*?)</script>', re.DOTALL
)


def _found(page: str) -> re.Match[str]:
    found = _TABLE.search(page)
    assert found, "no script text table in the page"
    return found


def _table_of(page: str) -> tuple[str, dict[str, str | list[str]]]:
    found = _found(page)
    return found.group(1), json.loads(found.group(3))


def _plural_rule_of(page: str) -> dict[str, int]:
    return json.loads(html.unescape(_found(page).group(2)))


COUNTDOWN = "重新获取验证码（%(seconds)s秒后）"


async def test_a_count_in_a_script_reads_in_its_languages_form_one_second_two_seconds(
    client: httpx.AsyncClient,
) -> None:
    """A script's count (tn): the English page carries both forms of the text and which form each Intl.PluralRules
    category takes; Chinese has one form, its text the key."""
    page = (await client.get("/register", headers={"Accept-Language": "en"})).text
    assert _table_of(page)[1][COUNTDOWN] == [
        "Send a new code (in %(seconds)s second)",
        "Send a new code (in %(seconds)s seconds)",
    ]
    assert _plural_rule_of(page) == {"one": 0, "other": 1}
    chinese = (await client.get("/register")).text
    assert _table_of(chinese) == ("zh", {}) and _plural_rule_of(chinese) == {"other": 0}
    # The worker's table carries the forms too (the same table).
    assert (await client.get("/i18n/en.json")).json()[COUNTDOWN][0] == "Send a new code (in %(seconds)s second)"


async def test_an_english_page_carries_its_scripts_english_and_a_chinese_page_nothing(
    client: httpx.AsyncClient,
) -> None:
    language, english = _table_of((await client.get("/login", headers={"Accept-Language": "en"})).text)
    assert language == "en"
    assert english["登录失败，请重试"] == "Could not sign in. Try again"
    assert english["已保存到本机 %(time)s"] == "Saved on this device at %(time)s"
    drawn = [text for value in english.values() for text in ([value] if isinstance(value, str) else value)]
    assert all(not re.search(r"[\u3400-\u9fff]", text) for text in drawn)
    # Chinese is the default: the scripts' own texts are the keys, nothing to send.
    assert _table_of((await client.get("/login")).text) == ("zh", {})


async def test_the_worker_reads_its_texts_in_every_language_and_nothing_else(client: httpx.AsyncClient) -> None:
    english = await client.get("/i18n/en.json")
    assert english.status_code == 200 and english.headers["cache-control"] == "no-cache"
    assert english.json()["您有一条新消息，点按查看"] == "You have a new message. Tap to read it"
    assert (await client.get("/i18n/zh.json")).json() == {}
    for unknown in ("/i18n/fr.json", "/i18n/en", "/i18n/..%2Fsettings.json"):
        assert (await client.get(unknown)).status_code == 404, unknown


async def test_the_offline_page_is_precached_in_each_language_whatever_the_device_chose(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("ywtb_lang", "zh")
    english = (await client.get("/offline?lang=en")).text
    assert '<html lang="en"' in english and "当前没有网络" not in english
    assert _table_of(english)[0] == "en"
    chinese = (await client.get("/offline?lang=zh", headers={"Accept-Language": "en"})).text
    assert '<html lang="zh-CN"' in chinese and "当前没有网络" in chinese
    # An unknown ?lang= is no choice: the device's.
    assert '<html lang="zh-CN"' in (await client.get("/offline?lang=xx")).text


def test_a_changed_translation_is_a_new_service_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    static = shutil.copytree(PWA_DIR / "static", tmp_path / "static")
    worker_source = PWA_DIR / "sw.js"

    def version() -> str:
        assets = StaticAssets(static)
        worker = ServiceWorker(assets, messages=ScriptMessages(assets, worker_source))
        worker.script()
        return worker.version

    first = version()
    assert version() == first
    monkeypatch.setattr(ScriptMessages, "table", lambda self, language: {"正在提交…": "Sending it off…"})
    assert version() != first
