"""Security headers on every answer: a strict CSP (no inline script, no CDN) and friends."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.delegations import current
from auth import walk_in

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


# While a shared device serves someone (a helper's client, the resident at a clerk's window) every answer may name
# them (the banner, prefilled forms): none is kept by a cache or for the back button after the next person comes.
_SERVING_SOMEONE = (current.SESSION_KEY, walk_in.SESSION_KEY)


def _serving_someone(scope: Scope) -> bool:
    session = scope.get("session")
    return isinstance(session, dict) and any(key in session for key in _SERVING_SOMEONE)


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if _serving_someone(scope):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
