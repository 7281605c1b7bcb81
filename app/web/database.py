"""The database as a page view's route sees it: one pool connection for the whole view (db/request_pool.py).

A GET or HEAD whose route takes `db` gets a RequestPool: the session middleware reads the session and its account on
it, and the route's statements follow on the same connection, one acquire and release for the page. It goes back to
the pool as the answer starts (after the page is drawn, before its body is sent: a slow client never holds one) or,
at the latest, when the request ends. Other methods keep the plain pool: a form's or an upload's body arrives after the
session is read, and a connection is not held while a slow client sends it.
"""

from __future__ import annotations

import asyncpg
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from db.request_pool import SCOPE_KEY, RequestPool, pool_of_request

_PAGE_VIEWS = frozenset({"GET", "HEAD"})


def request_pool_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _PAGE_VIEWS or not _takes_db(scope):
            await app(scope, receive, send)
            return
        lent = RequestPool(scope["app"].state.pool)
        scope[SCOPE_KEY] = lent  # type: ignore[literal-required]

        async def send_after_giving_back(message: Message) -> None:
            if message["type"] == "http.response.start":
                await lent.give_back()
            await send(message)

        try:
            await app(scope, receive, send_after_giving_back)
        finally:
            await lent.give_back()

    return middleware


def _takes_db(scope: Scope) -> bool:
    """Whether the route reads the database (takes `db`): one without it needs only the session's one statement."""
    return "db" in scope["route_handler"].parsed_fn_signature.parameters


def provide_db(scope: Scope) -> asyncpg.Pool:
    """The `db` dependency: the request's RequestPool on a page view, else the app's pool."""
    return pool_of_request(scope, scope["app"].state.pool)
