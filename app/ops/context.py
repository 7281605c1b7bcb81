"""The request being answered, as the code running for it (a log call, a template) can see it without being handed
it: a context variable, set around each request by app/ops/requests.py."""

from __future__ import annotations

from contextvars import ContextVar, Token

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

    @property
    def method(self) -> str:
        method = str(self.scope.get("method", ""))
        return method if method in _METHODS else "OTHER"

    @property
    def route(self) -> str:
        return str(self.scope.get("path_template") or UNMATCHED)

    @property
    def account_id(self) -> int | None:
        return getattr(self.scope.get("user"), "account_id", None)


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
