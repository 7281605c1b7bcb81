"""The request being answered, as the code running for it (a log call, a template) can see it without being handed
it: a context variable, set around each request by app/ops/requests.py."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import cast

from litestar.types import Scope

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


class RequestContext:
    """What the log lines of one request carry; the scope is read when a line is written, so the route and the
    signed-in account appear as soon as routing and the session have found them."""

    __slots__ = ("request_id", "scope")

    def __init__(self, request_id: str, scope: Scope) -> None:
        self.request_id = request_id
        self.scope = scope

    def _read(self, key: str) -> object:
        # Litestar types the scope as its own keys only; "user" is the session middleware's.
        return cast("Mapping[str, object]", self.scope).get(key)

    @property
    def method(self) -> str:
        method = str(self._read("method") or "")
        return method if method in _METHODS else "OTHER"

    @property
    def route(self) -> str:
        return str(self._read("path_template") or UNMATCHED)

    @property
    def account_id(self) -> int | None:
        return getattr(self._read("user"), "account_id", None)


_current: ContextVar[RequestContext | None] = ContextVar("ywtb_request", default=None)


def enter(context: RequestContext) -> Token[RequestContext | None]:
    return _current.set(context)


def leave(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str:
    """For templates (the error page): the id of the request being answered, '' outside one."""
    context = _current.get()
    return context.request_id if context else ""
