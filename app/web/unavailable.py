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
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ServiceUnavailableException

from app.web import errors
from db.pool import database_unavailable
from i18n import N_

log = logging.getLogger("app.unavailable")

MESSAGE = N_("系统维护中，请稍后再试")
RETRY_AFTER_SECONDS = 10
# While the database is away every request fails the same way: one log line per this many seconds says so.
LOG_EVERY_SECONDS = 5.0

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


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
