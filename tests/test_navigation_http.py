"""Every account's own menu opens: a resident, a window clerk, an approver, a village helper and an administrator
never meet a 403 from the main navigation; an error page says what to do and offers a way back; 登录 and 注册 keep
where the person was going."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest

from app.web.redirects import sign_in_url
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up, staff_client_sign_up

pytestmark = pytest.mark.anyio

_NAV = re.compile(r'<nav class="site-nav" aria-label="主导航">(.*?)</nav>', re.S)


def _menu(html: str) -> list[str]:
    found = _NAV.search(html)
    assert found, "the page has the main navigation"
    return re.findall(r'<a href="([^"]+)"', found.group(1))


async def _opens(client: httpx.AsyncClient, path: str) -> int:
    return (await client.get(path, follow_redirects=False)).status_code


STAFF = [
    ("clerk", "police", "/console"),
    ("approver", "health", "/console"),
    ("helper", None, "/helper"),
    ("admin", None, None),
]


@pytest.mark.parametrize(("role", "department", "own"), STAFF)
async def test_staff_never_meet_a_403_from_their_own_menu(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    role: str,
    department: str | None,
    own: str | None,
) -> None:
    region = "320481002002" if role == "helper" else "320402"
    await staff_client_sign_up(
        client, pool, settings.secret_key, name=f"菜单{role}", role=role, region=region, department=department
    )
    menu = _menu((await client.get("/")).text)
    assert "/cases" not in menu  # 我的办件 is a resident's: staff file nothing of their own
    if own:
        assert own in menu
    assert "/console" not in menu or role in ("clerk", "approver")
    for path in menu:
        assert await _opens(client, path) == 200, path


async def test_a_residents_menu_opens_and_an_anonymous_one_asks_to_sign_in(client: httpx.AsyncClient) -> None:
    anonymous = _menu((await client.get("/life-events/birth")).text)
    assert anonymous == ["/", "/cases", "/scan", "/login?next=%2Flife-events%2Fbirth"]
    assert await _opens(client, "/cases") == 303  # to sign in, and back
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    menu = _menu((await client.get("/")).text)
    assert menu == ["/", "/cases", "/scan", "/notifications", "/me"]
    for path in menu:
        assert await _opens(client, path) == 200, path


async def test_an_approver_is_not_offered_to_apply_and_a_403_page_shows_the_way_back(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="刘审批", role="approver", region="320402", department="health"
    )
    event = (await client.get("/life-events/birth")).text
    assert "/life-events/birth/apply" not in event and "您的账户用于后台审批" in event
    refused = await client.get("/life-events/birth/apply")
    assert refused.status_code == 403
    assert "不在您的账户可以办理的范围内" in refused.text
    assert '<a class="button" href="/console">返回工作台</a>' in refused.text
    assert '<a class="button" href="/">返回首页</a>' in refused.text
    assert "返回上一页" in refused.text  # shown by shell.js when the page before was ours


async def test_a_missing_page_says_so_plainly_with_a_way_home(client: httpx.AsyncClient) -> None:
    missing = await client.get("/cases/CZ20260101000001/nothing-here")
    assert missing.status_code == 404
    assert "可能是链接有误" in missing.text and 'href="/">返回首页' in missing.text


@pytest.mark.parametrize(
    ("page", "path", "query", "expected"),
    [
        ("/login", "/life-events/birth/apply", {}, "/login?next=%2Flife-events%2Fbirth%2Fapply"),
        ("/login", "/cases", {"page": "2"}, "/login?next=%2Fcases%3Fpage%3D2"),
        ("/login", "/", {}, "/login"),
        # On the sign-in pages themselves the next they were given carries on, checked again.
        ("/register", "/login", {"next": "/life-events/birth/apply"}, "/register?next=%2Flife-events%2Fbirth%2Fapply"),
        ("/login", "/register", {"next": "/me"}, "/login?next=%2Fme"),
        ("/register", "/login", {"next": "//evil.example"}, "/register"),
        ("/register", "/login", {"next": "https://evil.example/"}, "/register"),
        ("/register", "/login", {}, "/register"),
    ],
)
def test_sign_in_links_carry_where_the_person_was_going_and_nothing_else(
    page: str, path: str, query: dict[str, str], expected: str
) -> None:
    assert sign_in_url(page, path, query) == expected
