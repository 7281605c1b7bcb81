"""Our scripts' texts in the reader's language (issues 21 and 20): every page links its language's table,
/i18n/<language>.js?v=<content hash>, for pwa/static/js/i18n.js, rather than carrying it (25 KB of every English
page): a browser fetches it once per release and keeps it (immutable), and the service worker precaches it with the
shell (pages work offline) and imports every language's for its own texts; a change of translation is a new worker."""

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

_LINK = re.compile(
    r'<script src="(/i18n/(\w+)\.js\?v=[0-9a-f]{12})" id="i18n" data-language="(\w+)" data-plural="([^"]*)" defer>'
    r"</script>"
)
_SCRIPT = re.compile(r"\(self\.ywtbScriptTexts \?\?= \{\}\)\.(\w+) = (.*);\n", re.DOTALL)


def _linked(page: str) -> re.Match[str]:
    found = _LINK.search(page)
    assert found, "no link to the script texts in the page"
    assert found.group(2) == found.group(3), "the page links another language's texts"
    return found


async def _table_of(client: httpx.AsyncClient, page: str) -> tuple[str, dict[str, str | list[str]]]:
    """The page's language and the table its link gives (what i18n.js reads: self.ywtbScriptTexts[language])."""
    script = await client.get(_linked(page).group(1))
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    found = _SCRIPT.fullmatch(script.text)
    assert found, script.text[:200]
    assert found.group(1) == _linked(page).group(3)
    return found.group(1), json.loads(found.group(2))


def _plural_rule_of(page: str) -> dict[str, int]:
    return json.loads(html.unescape(_linked(page).group(4)))


COUNTDOWN = "重新获取验证码（%(seconds)s秒后）"


async def test_a_count_in_a_script_reads_in_its_languages_form_one_second_two_seconds(
    client: httpx.AsyncClient,
) -> None:
    """A script's count (tn): the English table carries both forms of the text, the page which form each
    Intl.PluralRules category takes; Chinese has one form, its text the key."""
    page = (await client.get("/register", headers={"Accept-Language": "en"})).text
    assert (await _table_of(client, page))[1][COUNTDOWN] == [
        "Send a new code (in %(seconds)s second)",
        "Send a new code (in %(seconds)s seconds)",
    ]
    assert _plural_rule_of(page) == {"one": 0, "other": 1}
    chinese = (await client.get("/register")).text
    assert await _table_of(client, chinese) == ("zh", {}) and _plural_rule_of(chinese) == {"other": 0}


async def test_an_english_page_links_its_scripts_english_and_does_not_carry_it(client: httpx.AsyncClient) -> None:
    page = (await client.get("/login", headers={"Accept-Language": "en"})).text
    language, english = await _table_of(client, page)
    assert language == "en"
    assert english["登录失败，请重试"] == "Could not sign in. Try again"
    assert english["已保存到本机 %(time)s"] == "Saved on this device at %(time)s"
    drawn = [text for value in english.values() for text in ([value] if isinstance(value, str) else value)]
    assert all(not re.search(r"[\u3400-\u9fff]", text) for text in drawn)
    # The page itself carries none of them: only the link (a page's weight, issue 20).
    assert "Saved on this device at" not in page and "Send a new code" not in page
    # Chinese is the default: the scripts' own texts are the keys, nothing to send.
    assert await _table_of(client, (await client.get("/login")).text) == ("zh", {})


async def test_the_texts_are_kept_for_a_year_under_their_content_hash_and_checked_again_under_another(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/login", headers={"Accept-Language": "en"})).text
    client.cookies.clear()
    current = await client.get(_linked(page).group(1))
    # Kept by shared caches too (public): the same for everyone, never a cookie with it (a CSRF token, a session).
    assert "set-cookie" not in current.headers
    # As our static files are kept (their names carry their content hash too).
    stylesheet = await client.get(re.findall(r'href="(/static/app\.css\?v=\w+)"', page)[0])
    assert (
        current.headers["cache-control"] == stylesheet.headers["cache-control"] == "max-age=31536000, public, immutable"
    )
    # A page drawn before a release asks for the older name: today's table, which the browser checks next time.
    older = await client.get("/i18n/en.js?v=000000000000")
    assert older.content == current.content and older.headers["cache-control"] == "no-cache"
    assert (await client.get("/i18n/en.js")).headers["cache-control"] == "no-cache"
    for unknown in ("/i18n/fr.js", "/i18n/en", "/i18n/en.json", "/i18n/..%2Fsettings.js"):
        assert (await client.get(unknown)).status_code == 404, unknown


async def test_the_worker_precaches_and_imports_every_languages_texts(client: httpx.AsyncClient) -> None:
    """Precached, so a page offline still has its texts; imported, for the worker's own (sw-push.js's fallbacks)."""
    first_line = (await client.get("/sw.js")).text.partition("\n")[0]
    shell = json.loads(first_line.removeprefix("const SHELL = ").removesuffix(";"))
    for language in ("zh", "en"):
        url = _linked((await client.get("/login", headers={"Accept-Language": language})).text).group(1)
        assert url in shell["precache"] and url in shell["imports"]
    english = next(url for url in shell["imports"] if url.startswith("/i18n/en.js"))
    texts = _SCRIPT.fullmatch((await client.get(english)).text)
    assert texts and json.loads(texts.group(2))["您有一条新消息，点按查看"] == "You have a new message. Tap to read it"


async def test_the_offline_page_is_precached_in_each_language_whatever_the_device_chose(
    client: httpx.AsyncClient,
) -> None:
    client.cookies.set("ywtb_lang", "zh")
    english = (await client.get("/offline?lang=en")).text
    assert '<html lang="en"' in english and "当前没有网络" not in english
    assert _linked(english).group(3) == "en"
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
