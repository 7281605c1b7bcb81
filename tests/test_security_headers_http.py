"""Security headers on every answer, whoever made it: a page, the API, a static file, a redirect, an error page, a
404 or 405 that Litestar answers before any route, a 429, a 500 from a handler or from a middleware. HSTS only when
PUBLIC_URL is https. Answers holding someone's data (every route only signed-in callers may call, and the merged
form prefilled for a signed-in caller) are never stored by a cache."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar, get

from app.main import create_app
from auth.access import public
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.database_fixtures import settings_for

Client = httpx.AsyncClient
HSTS = "max-age=63072000; includeSubDomains"


def assert_security_headers(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    headers = response.headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), where
    assert "script-src 'self'" in headers["content-security-policy"], where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    assert "camera=(self)" in headers.get("permissions-policy", ""), where


def assert_not_stored(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    assert "no-store" in response.headers.get("cache-control", ""), where


async def _boom() -> None:
    raise RuntimeError("a bug")


def with_failing_route(app: Litestar) -> Litestar:
    app.register(get("/boom", opt=public())(_boom))
    return app


async def test_every_kind_of_answer_carries_the_security_headers(client: Client, app: Litestar) -> None:
    with_failing_route(app)
    page = (await client.get("/")).text
    static = re.search(r'href="(/static/[^"]+\?v=[0-9a-f]+)"', page)
    assert static
    answers = [
        await client.get("/"),  # a page
        await client.get("/api/v1/life-events"),  # the API
        await client.get(static.group(1)),  # a versioned static file
        await client.get("/static/js/passkeys.js"),  # an unversioned one (rewritten by its own middleware)
        await client.get("/static/nowhere.css"),  # a static file that is not there
        await client.get("/sw.js"),
        await client.get("/me"),  # a redirect to sign in
        await client.get("/api/v1/me"),  # a 401 from the exception handler
        await client.get("/nowhere"),  # a 404 page, answered before routing
        await client.get("/api/v1/nowhere"),  # a 404 JSON, answered before routing
        await client.delete("/api/v1/life-events", headers=await csrf(client)),  # a 405, before routing
        await client.post("/api/v1/auth/logout"),  # a 403: no CSRF header
        await client.get("/scan/case", params={"no": "x"}),  # a 400 page
        await client.get("/t/no-such-token"),  # a 404 page from a handler
        await client.get("/boom"),  # a 500 page from a handler
        await client.get("/boom", headers={"accept": "application/json"}),  # a 500 JSON
        await client.options("/api/v1/life-events"),
        await client.head(static.group(1)),
    ]
    kinds = {(r.request.method, r.status_code) for r in answers}
    assert {("GET", 200), ("GET", 303), ("GET", 401), ("GET", 404), ("DELETE", 405), ("GET", 500)} <= kinds
    for response in answers:
        assert_security_headers(response)


async def test_a_429_carries_the_security_headers(database_url: str, tmp_path: Path, pool: asyncpg.Pool) -> None:
    app = create_app(settings_for(database_url, tmp_path / "data", TRACK_SCANS_PER_MINUTE="1"), pool=pool)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        answers = [await client.get("/t/no-such-token") for _ in range(3)]
        answers += [await client.get("/api/v1/track/no-such-token") for _ in range(3)]
    assert 429 in {r.status_code for r in answers}
    for response in answers:
        assert_security_headers(response)


async def test_a_500_from_a_middleware_carries_the_security_headers(client: Client, pool: asyncpg.Pool) -> None:
    # The database gone: the session middleware fails before any route's own error handling.
    await pool.close()
    response = await client.get("/", headers={"cookie": "ywtb_session=" + "ab" * 32})
    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert_security_headers(response)


@pytest.fixture
async def https_client(database_url: str, tmp_path: Path, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    settings = settings_for(database_url, tmp_path / "data", PUBLIC_URL="https://ywtb.example.cn")
    app = with_failing_route(create_app(settings, pool=pool))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://ywtb.example.cn") as client:
        yield client


async def test_hsts_on_every_answer_when_served_over_https(https_client: Client) -> None:
    for path in ("/", "/api/v1/life-events", "/nowhere", "/me", "/boom", "/static/css/app.css"):
        response = await https_client.get(path)
        assert response.headers.get("strict-transport-security") == HSTS, (path, response.status_code)
    response = await https_client.delete("/api/v1/life-events")
    assert response.status_code in (403, 405)
    assert response.headers.get("strict-transport-security") == HSTS


async def test_no_hsts_over_plain_http(client: Client, app: Litestar) -> None:
    with_failing_route(app)
    for path in ("/", "/api/v1/life-events", "/nowhere", "/me", "/boom"):
        assert "strict-transport-security" not in (await client.get(path)).headers, path


async def test_a_residents_pages_and_answers_are_never_stored(client: Client) -> None:
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    case = await submission_for(client, "birth", "headers-1")
    created = await client.post("/api/v1/cases", json=case, headers=await csrf(client))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    for path in (
        "/me",
        "/me/devices",
        "/cases",
        f"/cases/{case_no}",
        f"/cases/{case_no}/receipt",
        "/notifications",
        "/notifications/badge",
        "/life-events/birth/apply",
        "/api/v1/me",
        "/api/v1/me/passkeys",
        "/api/v1/cases",
        f"/api/v1/cases/{case_no}",
        f"/api/v1/cases/{case_no}/qr.svg",
        "/api/v1/drafts/birth",
        "/api/v1/notifications",
        "/api/v1/certificates",
        "/api/v1/delegations",
        "/api/v1/push/subscriptions",
        # Public, but prefilled with the resident's own data when signed in.
        "/api/v1/life-events/birth/form",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_not_stored(response)
        assert_security_headers(response)
    # Kept for reading offline by the service worker (which stores it itself): still no HTTP cache.
    case_page = await client.get(f"/cases/{case_no}")
    assert case_page.headers["ywtb-offline"] == "keep"


async def test_staff_pages_and_answers_are_never_stored(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    helper = another_client()
    await staff_client_sign_up(helper, pool, settings.secret_key, name="刘帮办", role="helper", region="320402001001")
    for client, path in (
        (clerk, "/console"),
        (clerk, "/console/walk-in"),
        (clerk, "/api/v1/console/tasks"),
        (clerk, "/api/v1/console/walk-ins/current"),  # 404 while no one is at the window: not stored either
        (helper, "/helper"),
        (helper, "/helper/delegations/new"),
        (helper, "/api/v1/delegations"),
    ):
        response = await client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert_not_stored(response)


async def test_public_answers_keep_their_own_caching(client: Client) -> None:
    # Nothing personal: the tracking page and the catalogue are not marked no-store (nor are static files cached less).
    assert "no-store" not in (await client.get("/t/no-such-token")).headers.get("cache-control", "")
    assert "no-store" not in (await client.get("/api/v1/life-events")).headers.get("cache-control", "")
    page = (await client.get("/")).text
    static = re.search(r'href="(/static/[^"]+\?v=[0-9a-f]+)"', page)
    assert static
    assert "immutable" in (await client.get(static.group(1))).headers["cache-control"]
    assert (await client.get("/sw.js")).headers["cache-control"] == "no-cache"
