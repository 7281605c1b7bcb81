"""The language a request is answered in (i18n): set once per request, before anything draws a text.

Chosen from this device's cookie, else the signed-in account's choice, else the browser's `Accept-Language`
(i18n.language_from). It is chosen around routing (language_middleware: so an unknown path's 404 and an error raised
in a middleware are in the visitor's language), and again after the session's user is known when the account has a
choice of its own (account_language_middleware: for a person signing in on a new device). Without one the second
choice would be the first's again, from the same cookie and header: it is not made.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.types import ASGIApp, Receive, Scope, Send

import i18n

LANGUAGE_COOKIE = "ywtb_lang"
_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie, as 长辈版's


def language_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            i18n.set_language(_language_of(scope))
        await app(scope, receive, send)

    return middleware


def account_language_middleware(app: ASGIApp) -> ASGIApp:
    """After current_user_middleware (auth.sessions): the language chosen again with the signed-in account's choice."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        user: object = scope.get("user")  # pyright: ignore[reportUnknownMemberType]
        if scope["type"] == "http" and getattr(user, "language", None):
            i18n.set_language(_language_of(scope))
        await app(scope, receive, send)

    return middleware


def _language_of(scope: Scope) -> str:
    # Litestar's own reading of the headers and cookies (kept in the scope, so the request reuses it).
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
    user: object = scope.get("user")  # pyright: ignore[reportUnknownMemberType]
    account = getattr(user, "language", None)
    return i18n.language_from(
        connection.cookies.get(LANGUAGE_COOKIE), account, connection.headers.get("accept-language")
    )


def language_cookie(language: str, secure: bool) -> Cookie:
    """This device remembers the language (read by the server for the first paint and by our scripts)."""
    return Cookie(
        key=LANGUAGE_COOKIE, value=language, max_age=_MAX_AGE, samesite="lax", secure=secure, path="/", httponly=False
    )
