"""CSRF protection through the app (app/web/csrf.py: Litestar's checks, our cookie writing): a new visitor's page sets
the cookie exactly as Litestar writes it and carries the same token; unsafe requests without it, or with another's,
are refused; a visitor who has the cookie keeps it; paths without sessions get none."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from litestar.config.csrf import CSRFConfig

from app.web.csrf import csrf_cookie_header


def _form_token(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]*)"', page)
    assert found is not None
    return found.group(1)


async def test_a_new_visitors_page_sets_the_cookie_as_litestar_writes_it_with_the_token_the_page_holds(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/scan")
    cookies = page.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    token = client.cookies["csrftoken"]
    assert re.fullmatch(r"[0-9a-f]{128}", token), token
    expected = csrf_cookie_header(CSRFConfig(secret="x", cookie_name="csrftoken", cookie_samesite="lax"), token)
    assert cookies[0] == expected == f"csrftoken={token}; Path=/; SameSite=lax"
    assert _form_token(page.text) == token and f'"X-CSRFToken": "{token}"' in page.text


async def test_the_cookie_is_secure_where_the_site_is_https() -> None:
    config = CSRFConfig(secret="x", cookie_name="csrftoken", cookie_samesite="lax", cookie_secure=True)
    assert csrf_cookie_header(config, "ab12") == "csrftoken=ab12; Path=/; SameSite=lax; Secure"


async def test_a_form_post_needs_the_visitors_own_token(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    mine = _form_token((await client.get("/scan")).text)
    other = another_client()
    theirs = _form_token((await other.get("/scan")).text)
    assert mine != theirs
    assert (await client.post("/preferences", data={"elder_mode": "1"})).status_code == 403
    assert (await client.post("/preferences", data={"_csrf_token": theirs, "elder_mode": "1"})).status_code == 403
    forged = "0" * 64 + mine[64:]  # another secret under this visitor's signature
    assert (await client.post("/preferences", data={"_csrf_token": forged, "elder_mode": "1"})).status_code == 403
    assert (await client.post("/preferences", data={"_csrf_token": mine, "elder_mode": "1"})).status_code == 303


async def test_an_api_call_needs_the_header(client: httpx.AsyncClient) -> None:
    await client.get("/")
    assert (await client.post("/api/v1/auth/login/options", json={})).status_code == 403
    headers = {"X-CSRFToken": client.cookies["csrftoken"]}
    assert (await client.post("/api/v1/auth/login/options", json={}, headers=headers)).status_code == 200


async def test_a_visitor_with_the_cookie_is_not_sent_another(client: httpx.AsyncClient) -> None:
    await client.get("/")
    token = client.cookies["csrftoken"]
    again = await client.get("/scan")
    assert "set-cookie" not in again.headers and _form_token(again.text) == token


async def test_paths_without_sessions_get_no_csrf_cookie(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert "csrftoken" not in answer.headers.get("set-cookie", "")


def test_our_cookie_writing_still_replaces_litestars_own() -> None:
    """app/web/csrf.py overrides the method Litestar's middleware writes its cookie with; were Litestar to rename it,
    its own (slower, same header) would quietly run instead: this says so at the upgrade."""
    from litestar.middleware.csrf import CSRFMiddleware

    from app.web.csrf import CsrfMiddleware

    assert callable(getattr(CSRFMiddleware, "_set_cookie_if_needed", None))
    assert "_set_cookie_if_needed" in vars(CsrfMiddleware)
