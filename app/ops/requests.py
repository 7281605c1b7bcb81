"""Every request, before routing: its id, one access-log line, and the HTTP series of /metrics.

The request id is `X-Request-ID` when a proxy (or another system) sent a sane one — 8 to 64 letters, digits, `.`,
`_`, `-`, and no run of digits long enough to be an ID number — else a new one like `7KQ2-M9XD-4HTA` (60 random
bits, in a Crockford base32 a resident can read out to 12345). It is sent back on every answer, stamped on every
log line written while the request runs (app/ops/logs.py), and printed on the error page.

This wraps the whole app, not one route: unknown paths (404), refused methods (405) and errors raised in
middleware (a session that cannot be read while the database is away: 503) are counted and logged too. Litestar's
own Prometheus middleware runs per route, so it misses those and records an error escaping a middleware as a 200.

What every answer carries besides its id (the security headers, the data-exchange API's audit: app/main.py) is added
here too, once as the answer starts, rather than by Litestar's before_send, which wraps the same send and calls each
hook on every message of the answer.

Labels and log fields hold the route template (`/t/{token}`), never the path: no case number, tracking token
or ID number reaches a metric or the access log.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence

from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from app.ops.context import RequestContext, enter, leave
from app.ops.logs import ACCESS_LOGGER
from app.ops.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger(ACCESS_LOGGER)

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
_LONG_NUMBER = re.compile(r"\d{15}")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode("ascii"))
# Probes and scrapes every few seconds: not worth a log line each while all is well.
_QUIET_ROUTES = frozenset({"/healthz", "/healthz/live", "/healthz/ready", "/metrics"})


def new_request_id() -> str:
    # 60 random bits, 12 characters: base32's first 12 of 8 random bytes, in Crockford's letters.
    chars = base64.b32encode(os.urandom(8))[:12].translate(_TO_CROCKFORD).decode("ascii")
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def sane_request_id(value: str | None) -> str | None:
    """The caller's id if it is one we can log as it is."""
    if value and _SANE.fullmatch(value) and not _LONG_NUMBER.search(value):
        return value
    return None


# Done to every answer as it starts: given its start message (its status, and its headers with the request id, which it
# may change in place) and the request's scope (its route once routed).
AnswerHook = Callable[[HTTPResponseStartEvent, HTTPScope], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def request_context(app: ASGIApp, on_answer: Sequence[AnswerHook] = ()) -> ASGIApp:
    """Wrap the app (its handler before routing: app/main.py); `on_answer` in turn on every answer's start."""
    hooks = tuple(on_answer)

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        context = RequestContext(sane_request_id(_header(scope, HEADER)) or new_request_id(), scope)
        token = enter(context)
        status = 500  # unless an answer starts: an error no handler caught
        started = time.perf_counter()
        echoed = (HEADER, context.request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                start: HTTPResponseStartEvent = {**message, "headers": [*message.get("headers", ()), echoed]}
                for hook in hooks:
                    await hook(start, scope)
                message = start
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            _finish(context, status, time.perf_counter() - started)
            leave(token)

    return handle


# (method, route, status) -> its request counter and duration histogram: `.labels()` builds and checks the label
# values and takes the metric's lock at every call; the children it returns are the series themselves, so a request
# counts the same through a kept one. Bounded: 8 methods × the app's route templates × the statuses it answers.
_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _series_of(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    series = _series.get((method, route, status))
    if series is None:
        series = HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route)
        _series[(method, route, status)] = series
    return series


def _finish(context: RequestContext, status: int, seconds: float) -> None:
    method, route = context.method, context.route
    _count(method, route, status, seconds)
    if (status < 400 and route in _QUIET_ROUTES) or not log.isEnabledFor(logging.INFO):
        return
    _write_access_line(context, method, route, status, seconds)


def _count(method: str, route: str, status: int, seconds: float) -> None:
    requests, duration = _series_of(method, route, status)
    requests.inc()
    duration.observe(seconds)


def _write_access_line(context: RequestContext, method: str, route: str, status: int, seconds: float) -> None:
    milliseconds = seconds * 1000
    # The record made here, not by log.info(): that would walk the stack to find this line (the same for every
    # request). The request's fields come with it, so RequestFields (app/ops/logs.py) has nothing left to look up.
    extra = {
        "request_id": context.request_id,
        "method": method,
        "route": route,
        "account_id": context.account_id,
        "http_status": status,
        "duration_ms": round(milliseconds, 1),
    }
    args = (method, route, status, milliseconds)
    line = _write_access_line.__code__.co_firstlineno
    record = log.makeRecord(
        log.name, logging.INFO, __file__, line, "%s %s %s %.1f ms", args, None, "_write_access_line", extra
    )
    log.handle(record)
