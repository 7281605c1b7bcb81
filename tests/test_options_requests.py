"""OPTIONS as clients get it: refused (403, as any route without an access rule: auth/access.py) on every path of ours,
whoever asks and whether or not it is a CORS preflight (the app configures no CORS); 204 with Allow on the paths whose
router declares the rule (Litestar's /schema, the static files). Answered by one mechanism for the whole app rather than
by a handler per path (app/web/options.py): the same answers, about 2 MB less of each web worker."""

from __future__ import annotations

from pathlib import Path

import httpx
from litestar import Litestar, Router
from litestar.routes import HTTPRoute

from app.main import create_app
from auth.access import declared_access
from config.settings import load_settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up
from tests.test_security_headers_http import assert_not_stored, assert_security_headers

REFUSED = "此功能未声明访问规则，已拒绝"
PREFLIGHT = {"origin": "https://example.org", "access-control-request-method": "POST"}
# A public API list, a public page, a page and an API route only a signed-in caller may call, a path with parameters,
# a route with two methods, and the data-exchange API (API clients only).
OURS = (
    "/api/v1/life-events",
    "/",
    "/me",
    "/api/v1/me",
    "/cases/CZ20260101000001",
    "/api/v1/auth/logout",
    "/api/exchange/v1/tasks",
)


async def _options(client: httpx.AsyncClient, path: str, **headers: str) -> httpx.Response:
    return await client.options(path, headers=headers)


def _assert_refused(response: httpx.Response) -> None:
    where = f"OPTIONS {response.request.url.path}"
    assert response.status_code == 403, where
    assert "allow" not in response.headers, where
    assert "access-control-allow-origin" not in response.headers, where
    if response.request.url.path.startswith("/api/"):
        assert response.json() == {"status_code": 403, "detail": REFUSED}, where
    else:
        assert response.headers["content-type"].startswith("text/html"), where
        assert REFUSED in response.text, where
    assert_security_headers(response)
    assert_not_stored(response)


async def test_options_on_our_paths_is_refused_as_a_route_without_a_rule(client: httpx.AsyncClient) -> None:
    for path in OURS:
        _assert_refused(await _options(client, path))
        _assert_refused(await _options(client, path, **PREFLIGHT))


async def test_options_is_refused_to_a_signed_in_resident_too(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    for path in OURS:
        _assert_refused(await _options(client, path))


async def test_options_where_the_router_declares_the_rule_answers_204_with_allow(client: httpx.AsyncClient) -> None:
    for path in ("/schema/openapi.json", "/static/js/passkeys.js", "/static/nowhere.css"):
        for headers in ({}, PREFLIGHT):
            response = await _options(client, path, **headers)
            assert (response.status_code, response.headers["allow"]) == (204, "GET, OPTIONS"), path
            assert response.content == b""
            assert "access-control-allow-origin" not in response.headers
            assert_security_headers(response)


def _options_handlers(app: Litestar) -> set[tuple[str, object]]:
    """Litestar's own OPTIONS handlers the app keeps, with the access rule they inherited from their router: on its
    routes, and on the routes of the routers its handlers belong to (a controller is a router of its own)."""
    handlers = [handler for route in app.routes if isinstance(route, HTTPRoute) for handler in route.route_handlers]
    routers = {
        id(layer): layer for handler in handlers for layer in handler.ownership_layers if isinstance(layer, Router)
    }
    return {
        (route.path, declared_access(handler))
        for router in routers.values()
        for route in router.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if "OPTIONS" in handler.http_methods
    }


def test_only_the_paths_whose_router_declares_a_rule_keep_an_options_handler(tmp_path: Path) -> None:
    kept = _options_handlers(create_app(load_settings({"DATA_DIR": str(tmp_path)})))
    paths = {"/schema", "/schema/openapi.json", "/schema/{path:str}", "/static/{file_path:path}"}
    assert {path for path, _ in kept} <= paths  # each router's own paths are relative to it
    assert len(kept) >= len(paths)
    assert {rule for _, rule in kept} == {"public"}
