"""Languages (issue 21): which language a request is answered in, the switch that remembers it, and the catalogue —
every text marked for translation has its English, and the templates already translated keep no Chinese outside
their marked texts."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import i18n
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_in, sign_up

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "pwa" / "templates"
CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A marked text in a template: _("…") or _('…') (its Chinese is the key), a count's ngettext("…", "…", n), a text with
# its context pgettext("…", "…"); and Jinja comments (notes for us).
_QUOTED = r"""(?P<q{n}>["'])(?:(?!(?P=q{n})).)*(?P=q{n})"""
_MARKED = re.compile(rf"(?:\b_|gettext)\(\s*{_QUOTED.format(n=1)}(?:\s*,\s*{_QUOTED.format(n=2)})?", re.DOTALL)
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def _untranslated_chinese(path: Path) -> list[str]:
    text = _MARKED.sub("", _COMMENT.sub("", path.read_text(encoding="utf-8")))
    return [line.strip() for line in text.splitlines() if CHINESE.search(line)]


# --- which language ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("saved", "account", "accept", "expected"),
    [
        (None, None, None, "zh"),  # nothing said: Chinese, the language of record
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR,en-GB;q=0.8", "en"),  # French first, which we lack; then British English
        (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, None, "en;q=0.5,zh;q=0.9", "zh"),  # by quality, not by order
        (None, None, "de-DE", "zh"),
        (None, None, "en;q=0", "zh"),  # "not English"
        (None, "en", "zh-CN", "en"),  # the account's choice over the browser's
        ("zh", "en", "en", "zh"),  # this device's choice over the account's
        ("xx", None, "en", "en"),  # a cookie we do not know is no choice
    ],
)
def test_the_language_is_the_devices_else_the_accounts_else_the_browsers(
    saved: str | None, account: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.language_from(saved, account, accept) == expected


def test_a_text_is_drawn_in_the_language_in_use_and_chinese_by_default() -> None:
    assert i18n.gettext("首页") == "首页"
    with i18n.use_language("en"):
        assert i18n.gettext("首页") == "Home"
        assert i18n.gettext("一段没有英文的话") == "一段没有英文的话"  # untranslated: the Chinese stays
        assert i18n.html_lang() == "en"
    with i18n.use_language("xx"):
        assert i18n.current_language() == "zh"
    assert i18n.html_lang() == "zh-CN"


# --- the catalogue ----------------------------------------------------------------------------------------------


def _marked_texts() -> set[str]:
    """Every text marked for translation in the code, templates and scripts, found as `make messages` finds them."""
    method_map, options_map = parse_mapping_cfg((REPO / "babel.cfg").open(encoding="utf-8"))
    keywords = {
        "_": None,
        "N_": None,
        "N_plural": (1, 2),
        "gettext": None,
        "ngettext": (1, 2),
        "pgettext": ((1, "c"), 2),
        "t": None,
    }
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_text_has_its_english() -> None:
    with (REPO / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        # A count's text (ngettext) by its singular, translated when every plural form is.
        english = {
            m.id[0] if isinstance(m.id, tuple) else m.id: all(m.string) if isinstance(m.string, tuple) else m.string
            for m in read_po(po, locale="en")
            if m.id
        }
    missing = sorted(t for t in _marked_texts() if not english.get(t))
    assert not missing, "run `make messages` and translate in locale/en/LC_MESSAGES/messages.po: " + " | ".join(missing)


def test_templates_keep_no_chinese_outside_their_marked_texts() -> None:
    found = {
        str(p.relative_to(TEMPLATES)): lines
        for p in sorted(TEMPLATES.rglob("*.html"))
        if (lines := _untranslated_chinese(p))
    }
    assert not found, f"Chinese outside _(…) (mark it, then `make messages`): {found}"


# --- over HTTP ----------------------------------------------------------------------------------------------------


async def test_a_browser_asking_for_english_gets_the_page_in_english(client: httpx.AsyncClient) -> None:
    english = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 200
    assert '<html lang="en"' in english.text and "Skip to content" in english.text and "跳到正文" not in english.text
    # The switch offers the other language in its own words.
    assert 'lang="zh-CN">中文</button>' in english.text
    chinese = await client.get("/")
    assert '<html lang="zh-CN"' in chinese.text and "跳到正文" in chinese.text
    assert 'lang="en">English</button>' in chinese.text


async def test_the_switch_remembers_the_language_on_this_device(client: httpx.AsyncClient) -> None:
    switched = await client.post("/preferences", data={"language": "en", "next": "/stats"}, headers=await csrf(client))
    assert switched.status_code == 303 and switched.headers["location"] == "/stats"
    assert client.cookies["ywtb_lang"] == "en"
    page = await client.get("/", headers={"Accept-Language": "zh-CN"})  # the device's choice over the browser's
    assert '<html lang="en"' in page.text
    back = await client.put("/api/v1/preferences", json={"language": "zh"}, headers=await csrf(client))
    assert back.status_code == 200 and back.json()["language"] == "zh"
    assert '<html lang="zh-CN"' in (await client.get("/", headers={"Accept-Language": "en"})).text


async def test_a_language_we_do_not_have_is_refused_with_a_message(client: httpx.AsyncClient) -> None:
    refused = await client.put("/api/v1/preferences", json={"language": "fr"}, headers=await csrf(client))
    assert refused.status_code == 400 and "language" in refused.text


async def test_the_accounts_language_follows_it_to_a_new_device(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    passkey = new_authenticator()
    assert (await sign_up(client, passkey, ZHANG_WEI)).status_code == 201
    saved = await client.put("/api/v1/preferences", json={"language": "en"}, headers=await csrf(client))
    assert saved.status_code == 200
    # Another browser with no cookie of ours signs in to the same account: English, though it asks for Chinese.
    other = another_client()
    assert (await sign_in(other, passkey)).status_code == 200
    page = await other.get("/me", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in page.text


async def test_a_tracking_page_kept_in_one_language_is_never_revalidated_for_the_other(
    client: httpx.AsyncClient,
) -> None:
    """The anonymous tracking page's ETag names the language: a browser switching to English never gets a 304 for
    the Chinese page it kept (the same holds for /stats, whose tag is made the same way)."""
    chinese = await client.get("/stats")
    english = await client.get("/stats", headers={"Accept-Language": "en"})
    assert chinese.headers["etag"] != english.headers["etag"]
    again = await client.get("/stats", headers={"Accept-Language": "en", "If-None-Match": chinese.headers["etag"]})
    assert again.status_code == 200


async def test_the_pages_a_visitor_meets_first_are_in_english_when_asked(client: httpx.AsyncClient) -> None:
    """Home, sign-in and an error page: a foreign resident's first steps, every marked text in English."""
    english = {"Accept-Language": "en"}
    home = await client.get("/", headers=english)
    assert "Find a service guide" in home.text and "查找办事指南" not in home.text
    login = await client.get("/login", headers=english)
    assert "Sign in with a passkey" in login.text and 'href="/register' in login.text
    missing = await client.get("/no-such-page", headers={**english, "Accept": "text/html"})
    assert missing.status_code == 404 and "Error code 404" in missing.text and "Home page" in missing.text


async def test_me_offers_the_language_beside_large_print(client: httpx.AsyncClient) -> None:
    passkey = new_authenticator()
    assert (await sign_up(client, passkey, ZHANG_WEI)).status_code == 201
    page = (await client.get("/me")).text
    assert 'id="language-heading"' in page and 'name="language" value="en"' in page
    english = (await client.get("/me", headers={"Accept-Language": "en"})).text
    assert "The language of these pages" in english and 'name="language" value="zh"' in english


def test_a_number_is_refused_in_the_readers_language() -> None:
    from app.people.identity import id_number_problem

    assert id_number_problem("123") == "身份证号码应为18位，您输入了3位，请核对后重新输入"
    with i18n.use_language("en"):
        assert (
            id_number_problem("123") == "An ID number has 18 characters; you typed 3: please check it and type it again"
        )


def test_a_foreign_permanent_residents_card_number_passes_the_id_check() -> None:
    """外国人永久居留身份证 (2023): 9, the province of issue (32 江苏), the nationality (840), the date of birth, a
    serial and the GB 11643 check character."""
    from app.people.identity import check_char, id_number_problem

    first17 = "93284019800101001"
    assert id_number_problem(first17 + check_char(first17)) is None
    wrong = "0" if check_char(first17) != "0" else "1"
    assert id_number_problem(first17 + wrong) is not None


async def test_the_sign_up_form_says_what_is_wrong_in_english(client: httpx.AsyncClient) -> None:
    refused = await client.post(
        "/api/v1/auth/register/options",
        json={"name": "Anna Schmidt", "id_number": "123"},
        headers={**await csrf(client), "Accept-Language": "en"},
    )
    assert refused.status_code == 400
    assert "An ID number has 18 characters" in refused.text
    assert refused.json()["detail"] == "Please check the fields marked"  # translated as the answer leaves


async def test_an_error_of_the_api_is_in_the_callers_language(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and missing.json()["detail"] == "This page does not exist, or has been removed"
    assert (await client.get("/api/v1/no-such-thing")).json()["detail"] == "页面不存在或已被删除"


# --- our scripts (pwa/static/js, the service worker) ---------------------------------------------------------------

SCRIPTS = sorted([*(REPO / "pwa" / "static" / "js").glob("*.js"), REPO / "pwa" / "sw.js"])
_QUOTES = "\"'`"


def _script_texts(source: str) -> tuple[list[str], list[str]]:
    """Chinese in a script that is neither in a comment nor the text of a `t("…")` (or `t('…')`): what a reader
    would meet untranslated; and the texts of its t() calls. A small scanner, not a regex, so `//` in a string or a
    `"` in a comment cannot fool it; a Chinese text in a template literal (`…`) counts as unmarked, as
    `make messages` cannot extract it."""
    found: list[str] = []
    marked_texts: list[str] = []
    plural_after = -1  # where a tn("…")'s first text ends: its second text (the plural) follows a comma
    i, n = 0, len(source)
    while i < n:
        if source.startswith("//", i):
            i = source.find("\n", i) if "\n" in source[i:] else n
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif source[i] in _QUOTES:
            quote, j = source[i], i + 1
            while j < n and source[j] != quote:
                j += 2 if source[j] == "\\" else 1
            text = source[i : j + 1]
            opens_call = re.search(r"(?<![\w.$])tn?\(\s*$", source[max(0, i - 40) : i])
            plural = plural_after >= 0 and re.fullmatch(r"\s*,\s*", source[plural_after:i]) is not None
            marked = quote != "`" and (opens_call is not None or plural)
            plural_after = j + 1 if marked and opens_call is not None and opens_call.group().startswith("tn") else -1
            if marked:
                marked_texts.append(ast.literal_eval(text) if quote == '"' else text[1:-1])
            elif CHINESE.search(text):
                found.append(text)
            i = j + 1
        else:
            if CHINESE.search(source[i]):
                line_start = source.rfind("\n", 0, i) + 1
                found.append(source[line_start : source.find("\n", i)].strip())
                i = source.find("\n", i)
                if i < 0:
                    break
            else:
                i += 1
    return found, marked_texts


def _script_chinese_outside_t(source: str) -> list[str]:
    return _script_texts(source)[0]


def test_our_scripts_keep_no_chinese_outside_t_and_every_t_text_has_its_english() -> None:
    """A message a script shows is `t("中文")` (pwa/static/js/i18n.js, the service worker's table): the test fails on
    Chinese anywhere else but a comment, and on a t() text the English catalogue lacks."""
    unmarked = {p.name: lines for p in SCRIPTS if (lines := _script_chinese_outside_t(p.read_text(encoding="utf-8")))}
    assert not unmarked, f'Chinese outside t("…") (mark it, then `make messages`): {unmarked}'

    from app.shell.service import ScriptMessages
    from app.web.assets import StaticAssets

    texts = ScriptMessages(StaticAssets()).texts()
    assert "已保存到本机 %(time)s" in texts and "常州一网通办" in texts  # a page's and the service worker's
    # Every t() is found as `make messages` finds it (Babel skips a t() inside another one's arguments).
    marked = {p.name: set(_script_texts(p.read_text(encoding="utf-8"))[1]) for p in SCRIPTS}
    unextracted = {name: sorted(found - set(texts)) for name, found in marked.items() if found - set(texts)}
    assert not unextracted, f"t() texts `make messages` cannot find (compute them outside the other t()): {unextracted}"
    with (REPO / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        # A count's text (tn) is keyed by its singular and needs every form.
        english = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(po, locale="en") if m.id}
    missing = sorted(text for text in texts if not english.get(text) or not all(english[text]))
    assert not missing, "run `make messages` and translate: " + " | ".join(missing)


def test_the_scanner_finds_chinese_outside_t() -> None:
    source = """
    // 注释里的中文可以
    /* 块注释
       也可以 */
    say(t("已保存"));
    say(t('单引号'), t(
      "换行"));
    const url = "http://example.com"; // 网址后的注释
    say("没有标记");
    say(`模板 ${x}`);
    say(t(`模板里的 ${x}`));
    say(tn("%(n)s秒后", "%(n)s秒后",
      n, { n }), "没有标记的第二个");
    label.replace(/（选填）/, "");
    """
    assert _script_chinese_outside_t(source) == [
        '"没有标记"',
        "`模板 ${x}`",
        "`模板里的 ${x}`",
        '"没有标记的第二个"',
        'label.replace(/（选填）/, "");',
    ]
