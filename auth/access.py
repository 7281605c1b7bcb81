"""Who may call a route: every handler declares it in `opt["access"]`, one app-wide guard enforces it.

A handler without a declared rule is refused (fail closed), and tests/test_access_rules.py lists
every route so that a new one without a rule fails the suite before it can ship.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeAlias, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from auth.models import CurrentClient, CurrentUser
from i18n import N_

ACCESS_KEY: Final = "access"
PUBLIC: Final = "public"
SIGNED_IN: Final = "signed_in"
ROLES: Final = frozenset({"resident", "clerk", "approver", "helper", "admin", "supervisor"})
PERSONAL_KEY: Final = "personal"
# Why a route that declares no rule is refused (Litestar's own OPTIONS handlers too: app/web/options.py).
UNDECLARED: Final = N_("此功能未声明访问规则，已拒绝")


def public(*, personal: bool = False) -> dict[str, Any]:
    """opt for a route anyone may call, signed in or not. `personal`: its answer to a signed-in caller holds their
    own data (a form prefilled for them), so it is never stored by a cache, as every non-public route's answer."""
    return {ACCESS_KEY: PUBLIC, PERSONAL_KEY: True} if personal else {ACCESS_KEY: PUBLIC}


def signed_in() -> dict[str, Any]:
    """opt for a route any signed-in account may call."""
    return {ACCESS_KEY: SIGNED_IN}


def roles(*names: str) -> dict[str, Any]:
    """opt for a route only the named roles may call."""
    unknown = set(names) - ROLES
    if unknown or not names:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return {ACCESS_KEY: frozenset(names)}


class ClientScopes(frozenset[str]):
    """The rule of a data-exchange route: only an API client (auth.clients) whose token grants one of these scopes."""


def clients(*scopes: str) -> dict[str, Any]:
    """opt for a route only API clients may call (a department's or a hospital's system, with a bearer token from
    POST /oauth/token), holding one of `scopes`. No signed-in account reaches it, and no client reaches any other."""
    if not scopes:
        raise ValueError("a client route names the scopes it accepts")
    return {ACCESS_KEY: ClientScopes(scopes)}


def declared_access(handler: BaseRouteHandler) -> Any:
    return handler.opt.get(ACCESS_KEY)


def answers_personal_data(handler: BaseRouteHandler) -> bool:
    """Whether a route's answers may hold someone's data: every route only signed-in callers may call (even its
    redirects and errors), and the public ones declared personal. app/web/security.py marks them no-store."""
    return declared_access(handler) != PUBLIC or bool(handler.opt.get(PERSONAL_KEY))


def user_of(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    """The signed-in account behind a request (what auth.sessions put in scope["user"]), or None."""
    # Litestar types the scope as its own keys only; "user" is the session middleware's.
    user = cast("Mapping[str, object]", connection.scope).get("user")
    return user if isinstance(user, CurrentUser) else None


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentClient | None:
    """The API client behind a request's bearer token (what auth.clients put in scope["ywtb.api_client"]), or None."""
    client = cast("Mapping[str, object]", connection.scope).get("ywtb.api_client")
    return client if isinstance(client, CurrentClient) else None


def _caller_roles(connection: ASGIConnection[Any, Any, Any, Any]) -> frozenset[str] | None:
    user = user_of(connection)
    return user.roles if user is not None else None


_AsyncGuard: TypeAlias = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def guards_read_the_route_handler_itself() -> None:
    """From now on in this process, a route's guards are handed its handler itself, not a copy (create_app calls it;
    calling it again changes nothing). Litestar 2 copies the handler for each guard on every request, setting its 66
    attributes one by one (about 80 Python calls: 2 % of a kept tracking page under load), so that a guard cannot
    change the route; ours only reads its rule (`opt`). tests/test_access_guard.py fails when a release moves it."""
    BaseRouteHandler.authorize_connection = _authorize_connection  # type: ignore[method-assign]


async def _authorize_connection(self: BaseRouteHandler, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    # Litestar's own loop (litestar/handlers/base.py), without its copy(self). It has made every guard async.
    guards = cast("list[_AsyncGuard]", self.resolve_guards())  # pyright: ignore[reportUnknownMemberType]
    for guard in guards:
        await guard(connection, self)


async def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    rule = declared_access(handler)
    if rule == PUBLIC:
        return
    if rule is None:
        raise PermissionDeniedException(UNDECLARED)
    if isinstance(rule, ClientScopes):
        _check_client(connection, rule)
        return
    caller = _caller_roles(connection)
    if caller is None:
        raise NotAuthorizedException(N_("请先登录"))
    if rule == SIGNED_IN:
        return
    if not (caller & rule):
        raise PermissionDeniedException(N_("您没有权限执行此操作"))


def _check_client(connection: ASGIConnection[Any, Any, Any, Any], accepted: ClientScopes) -> None:
    client = client_of(connection)
    if client is None:
        # A session, a missing, expired or foreign token, a revoked client: all the same here (RFC 6750 §3).
        raise NotAuthorizedException(
            N_("请提供有效的访问令牌（Authorization: Bearer，由 POST /oauth/token 获取）"),
            headers={"WWW-Authenticate": 'Bearer realm="ywtb-exchange", error="invalid_token"'},
        )
    if not (client.scopes & accepted):
        wanted = " ".join(sorted(accepted))
        raise PermissionDeniedException(
            N_("访问令牌的授权范围不包括此接口，需要：%(wanted)s"),
            headers={"WWW-Authenticate": f'Bearer realm="ywtb-exchange", error="insufficient_scope", scope="{wanted}"'},
            extra={"params": {"wanted": wanted}},  # filled in after translating (app/web/errors.py)
        )


def calling_client(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentClient:
    """The API client of a request that the guard let through (a route declared with `clients`)."""
    client = client_of(connection)
    if client is None:
        raise NotAuthorizedException(N_("请提供有效的访问令牌"))
    return client


def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The signed-in account of a request that the guard let through as signed in (or a role)."""
    user = user_of(connection)
    if user is None:
        raise NotAuthorizedException(N_("请先登录"))
    return user
