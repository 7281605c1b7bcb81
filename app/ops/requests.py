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
from config.logging import NoIdNumberRecord

log = logging.getLogger(ACCESS_LOGGER)

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
_LONG_NUMBER = re.compile(r"\d{15}")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Every two characters of an id, by the 10 bits they stand for.
_PAIRS = tuple(first + second for first in _ALPHABET for second in _ALPHABET)
# Probes and scrapes every few seconds: not worth a log line each while all is well.
_QUIET_ROUTES = frozenset({"/healthz", "/healthz/live", "/healthz/ready", "/metrics"})
_EIGHTEEN_DIGITS = 10**17


def new_request_id() -> str:
    # 60 random bits, 12 characters of 5 bits each, two at a time (base64.b32encode took a few µs per request).
    bits = int.from_bytes(os.urandom(8), "big") >> 4
    pair = _PAIRS
    return (
        f"{pair[bits >> 50]}{pair[bits >> 40 & 1023]}-{pair[bits >> 30 & 1023]}{pair[bits >> 20 & 1023]}-"
        f"{pair[bits >> 10 & 1023]}{pair[bits & 1023]}"
    )


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
    account_id = context.account_id
    args = (method, route, status, milliseconds)
    line = _write_access_line.__code__.co_firstlineno
    # The record made here, not by log.info(): that would walk the stack to find this line (the same for every
    # request). Left unmasked when none of its fields can hold an ID number (see _holds_no_id_number).
    kind = NoIdNumberRecord if _holds_no_id_number(status, account_id) else logging.LogRecord
    record = kind(log.name, logging.INFO, __file__, line, "%s %s %s %.1f ms", args, None, "_write_access_line")
    # The request's fields come with it, so RequestFields (app/ops/logs.py) has nothing left to look up.
    record.request_id = context.request_id
    record.method = method
    record.route = route
    record.account_id = account_id
    record.http_status = status
    record.duration_ms = round(milliseconds, 1)
    log.handle(record)


def _holds_no_id_number(status: int, account_id: int | None) -> bool:
    """Whether an access line's fields cannot hold an ID number: 18 characters, 17 of them digits, standing alone
    (config/logging.py). Its method is one of RequestContext's or OTHER; its route the template of one of our routes
    (tests/test_ops_request_cost.py walks them) or "unmatched", never the path; its request id one of ours (groups of
    4) or a caller's without a run of 15 digits (sane_request_id); its duration a few digits; its time, level, logger,
    module and pid fixed forms. That leaves the two numbers, which a number below 10^17 (17 digits at most) cannot
    be: an HTTP status is 3 digits, and an account id would need 10^17 accounts made first, but a mistake costs
    an ID number in clear where a check costs nothing."""
    return status < _EIGHTEEN_DIGITS and (account_id or 0) < _EIGHTEEN_DIGITS
