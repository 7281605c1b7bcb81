"""PostgreSQL out of reach (stopped, restarting, refusing connections) answers 503 in Chinese — the error page
for a person, JSON for the API — never a 500 or a stack trace; the same process serves again as soon as the
database is back, without a restart.

One handler for the whole app, because the database fails before any route runs too: the session middleware
reads the session (auth/session_store.py) and the signed-in user on every request. The error page needs no
database (no user lookup), so it can always be drawn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import ServiceUnavailableException

from app.web import errors

log = logging.getLogger("app.unavailable")

MESSAGE = "系统维护中，请稍后再试"
RETRY_AFTER_SECONDS = 10
# While the database is away every request fails the same way: one log line per this many seconds says so.
LOG_EVERY_SECONDS = 5.0

# The server is gone, going or not there yet: connection exceptions (SQLSTATE class 08, e.g. a connection
# cut mid-query), shutdown by an administrator or a crash (57P01, 57P02), still starting (57P03), or full.
_SERVER_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def _raised_in_asyncpg(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        if str(traceback.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        traceback = traceback.tb_next
    return False


def database_unavailable(exc: BaseException | None) -> BaseException | None:
    """The error, `exc` or one it was raised from, that says the database cannot be reached; else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _SERVER_AWAY):
            return exc
        # Statements on a connection the server has closed (asyncpg has no class of its own for it).
        if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
            return exc
        # No server to connect to (refused, no socket file, timed out): plain OSErrors, raised inside asyncpg.
        if isinstance(exc, OSError) and _raised_in_asyncpg(exc.__traceback__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class _Throttle:
    def __init__(self) -> None:
        self.last = float("-inf")
        self.quiet = 0

    def report(self, request: Request[Any, Any, Any], cause: BaseException) -> None:
        now = time.monotonic()
        if now - self.last < LOG_EVERY_SECONDS:
            self.quiet += 1
            return
        log.warning(
            "database unavailable, answering 503 (%s %s: %s: %s; %d more since the last line)",
            request.method,
            request.url.path,
            type(cause).__name__,
            cause,
            self.quiet,
        )
        self.last, self.quiet = now, 0


def unless_database_unavailable(fallback: Handler) -> Handler:
    """The handler for unexpected exceptions: 503 when the database is out of reach, else `fallback`."""
    throttle = _Throttle()
    expiring: set[asyncio.Task[None]] = set()  # held until done (the loop keeps only weak references)

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        cause = database_unavailable(exc)
        if cause is None:
            return fallback(request, exc)
        throttle.report(request, cause)
        pool = request.app.state.pool
        if pool is not None:
            # Connections the server closed are usually noticed by asyncpg itself; ones cut without a word
            # (a host gone, a proxy restarted) are not. Replace them all on their next use rather than let
            # a stale one fail a request after the database is back.
            task = asyncio.get_running_loop().create_task(pool.expire_connections())
            expiring.add(task)
            task.add_done_callback(expiring.discard)
        unavailable = ServiceUnavailableException(MESSAGE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return errors.http_exception_handler(request, unavailable)

    return handler
