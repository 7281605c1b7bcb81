"""Security headers on every answer: a strict CSP (no inline script, no CDN) and friends, HSTS over https, and
`Cache-Control: no-store` on every answer that may hold someone's data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from litestar.handlers.base import BaseRouteHandler
from litestar.types import HTTPResponseStartEvent, HTTPScope, Scope

from auth.access import answers_personal_data
from auth.sessions import serving_someone

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # The camera is used by the QR scanner on our own pages only.
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


HSTS = "max-age=63072000; includeSubDomains"  # two years: only ever sent when PUBLIC_URL is https
NO_STORE = "no-store"
_NO_STORE = NO_STORE.encode("latin-1")
_CACHE_CONTROL = b"cache-control"


def _personal(scope: Scope) -> bool:
    """Whether this answer may hold someone's data: the route says so by its access rule (auth/access.py). And while
    a shared device serves someone (a helper's client, the resident at a clerk's window) every answer may name them
    (the banner, prefilled forms): none is kept by a cache or for the back button after the next person comes."""
    handler = cast("Mapping[str, object]", scope).get("route_handler")  # none before routing (a 404)
    return (isinstance(handler, BaseRouteHandler) and answers_personal_data(handler)) or serving_someone(scope)


def security_headers(*, https: bool) -> Callable[[HTTPResponseStartEvent, HTTPScope], Awaitable[None]]:
    """Done to every answer as it starts (app/ops/requests.py, around the whole app): those of routes and of their
    middleware, and those Litestar makes before routing (404, 405) or from an exception raised anywhere (the error
    pages, a 500)."""
    fixed = {**_HEADERS, "Strict-Transport-Security": HSTS} if https else dict(_HEADERS)
    # Encoded once, as MutableScopeHeaders would encode each on every answer.
    encoded = tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in fixed.items())

    async def add_headers(start: HTTPResponseStartEvent, scope: HTTPScope) -> None:
        # The answer's own list (app/ops/requests.py copied it to add the request id), changed in place.
        headers = cast("list[tuple[bytes, bytes]]", start["headers"])
        # Those the answer has not set itself.
        present = {name.lower() for name, _ in headers}
        headers.extend(header for header in encoded if header[0] not in present)
        if _personal(scope):
            _not_stored(headers)

    return add_headers


def _not_stored(headers: list[tuple[bytes, bytes]]) -> None:
    """`Cache-Control: no-store` in place of the answer's own, unless its (first) Cache-Control says no-store already:
    as MutableScopeHeaders' `headers["Cache-Control"] = NO_STORE` writes it, where the first one stood."""
    at = [i for i, (name, _) in enumerate(headers) if name.lower() == _CACHE_CONTROL]
    if at and _NO_STORE in headers[at[0]][1]:
        return
    for i in reversed(at[1:]):
        del headers[i]
    if at:
        headers[at[0]] = (_CACHE_CONTROL, _NO_STORE)
    else:
        headers.append((_CACHE_CONTROL, _NO_STORE))
