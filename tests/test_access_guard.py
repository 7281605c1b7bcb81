"""The access guard (auth/access.py) stands on every route, and reads the route's own handler: Litestar 2 copied the
handler for each guard on every request (about 80 Python calls), which `guards_read_the_route_handler_itself` ends."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from auth.access import access_guard, public, roles


async def test_every_route_of_the_app_is_guarded(app: Litestar) -> None:
    unguarded = [
        f"{route.path} {sorted(getattr(handler, 'http_methods', []))}"
        for route in app.routes
        for handler in route.route_handlers  # type: ignore[attr-defined]
        if access_guard not in handler.resolve_guards()
    ]
    assert unguarded == []


async def test_the_guards_read_the_route_handler_itself_and_still_refuse(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    handed: list[bool] = []

    async def seen(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        handed.append(handler is connection.route_handler)

    async def answer() -> str:
        return "ok"

    app.register(get("/api/v1/probe/public", opt=public(), guards=[seen])(answer))
    app.register(get("/api/v1/probe/residents", opt=roles("resident"), guards=[seen])(answer))
    app.register(get("/api/v1/probe/undeclared", guards=[seen])(answer))

    assert (await client.get("/api/v1/probe/public")).status_code == 200
    assert (await client.get("/api/v1/probe/residents")).status_code == 401  # not signed in
    assert (await client.get("/api/v1/probe/undeclared")).status_code == 403  # no rule: refused
    # The app's guard runs first and refuses the last two before the route's own guard is asked.
    assert handed == [True]
