"""CSRF protection through the app (app/web/csrf.py: Litestar's checks, our cookie writing): a new visitor's page sets
the cookie exactly as Litestar writes it and carries the same token; unsafe requests without it, or with another's,
are refused; a visitor who has the cookie keeps it; paths without sessions get none."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import litestar.middleware.csrf as litestar_csrf
import pytest
from litestar.config.csrf import CSRFConfig
from litestar.connection import Request
from litestar.middleware.csrf import CSRFMiddleware
from litestar.utils.scope.state import ScopeState

import app.web.csrf as app_csrf
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


async def test_a_page_view_takes_its_token_as_litestars_own_middleware_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """app/web/csrf.py takes a safe method's token without Litestar's Request: the same token in the scope's state and
    the same messages sent as Litestar's own middleware gives, with the cookie, without it and with an empty one, for
    GET, HEAD and OPTIONS, and neither touches an excluded path. Were a release to change what Litestar does there,
    this says so."""
    config = CSRFConfig(secret="x" * 32, cookie_name="csrftoken", cookie_samesite="lax", exclude=["^/static/"])
    minted = "ab" * 64  # what both mint, so that their answers can be compared
    monkeypatch.setattr(litestar_csrf, "generate_csrf_token", lambda secret: minted)
    monkeypatch.setattr(app_csrf, "generate_csrf_token", lambda secret: minted)

    async def run(kind: type[CSRFMiddleware], method: str, path: str, cookie: str | None) -> tuple[object, list[Any]]:
        seen: list[object] = []
        sent: list[Any] = []

        async def page(scope: Any, receive: Any, send: Any) -> None:
            seen.append(ScopeState.from_scope(scope).csrf_token)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": b"ok"})

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope: Any = {
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"cookie", f"csrftoken={cookie}".encode())] if cookie is not None else [],
            "route_handler": SimpleNamespace(opt={}, is_mount=False),
            "litestar_app": SimpleNamespace(request_class=Request),
            "state": {},
        }
        await kind(page, config)(scope, receive, send)
        return seen[0], sent

    for method in ("GET", "HEAD", "OPTIONS"):
        for path, cookie in (("/p", None), ("/p", minted), ("/p", ""), ("/static/app.js", None)):
            ours = await run(app_csrf.CsrfMiddleware, method, path, cookie)
            assert ours == await run(CSRFMiddleware, method, path, cookie), (method, path, cookie)
    # The cases differ: a visitor without the cookie is sent it, one with it is not, an excluded path gets no token.
    assert (await run(app_csrf.CsrfMiddleware, "GET", "/p", None))[1][0]["headers"][-1][0] == b"set-cookie"
    assert len((await run(app_csrf.CsrfMiddleware, "GET", "/p", minted))[1][0]["headers"]) == 1
