"""CSRF protection: Litestar's middleware (a double-submit cookie holding an HMAC-signed token, checked on every
unsafe request against the `X-CSRFToken` header or a form's `_csrf_token`), with one change: the cookie a visitor
without one is sent is written from text made once, not through Litestar's Cookie.

Every page holds a form (base.html: the display and language switches) and htmx's header with the token, so every
page a new visitor opens mints a token and sends the cookie; Litestar wrote each through a dataclass copied with
`dataclasses.asdict` and a SimpleCookie, some 80 Python calls, 7% of a small page. The header is the same byte for
byte (tests/test_csrf_cookie.py); the checks are Litestar's own, unchanged.

A page view (a safe method: GET, HEAD, OPTIONS) is checked against nothing: Litestar only takes its token from the
cookie, or mints one, for the page to carry. It did so through a Request of its own, the request's content type parsed
and, for a form's content type, its body read, neither of which a safe method's token depends on, and it wrapped the
answer's sending even for a visitor who has the cookie already, to whom no cookie is sent. Here a page view takes the
token the same way without those; every unsafe request goes through Litestar's own checks as before."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders

# Its pattern parameter is annotated with a bare Pattern (an unknown type argument to pyright).
from litestar.middleware._utils import should_bypass_middleware  # pyright: ignore[reportUnknownVariableType]
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import ASGIApp, HTTPSendMessage, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

# A token is hex (litestar.middleware.csrf.generate_csrf_token), which a cookie holds as it is, unquoted.
_SAMPLE_VALUE = "0"


def csrf_cookie_header(config: CSRFConfig, token: str) -> str:
    """The Set-Cookie value Litestar writes for `token` under `config`."""
    cookie = Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )
    return cookie.to_header(header="")


# The last config's cookie text: Litestar makes this middleware once per route (a few hundred per app), all with the
# app's one config.
_last_cookie_text: tuple[CSRFConfig, tuple[str, str]] | None = None


def _cookie_text(config: CSRFConfig) -> tuple[str, str]:
    """What the cookie's header holds before and after the token under `config`."""
    global _last_cookie_text
    if _last_cookie_text is not None and _last_cookie_text[0] is config:
        return _last_cookie_text[1]
    sample = csrf_cookie_header(config, _SAMPLE_VALUE)
    name = f"{config.cookie_name}="
    if not sample.startswith(name + _SAMPLE_VALUE):
        raise RuntimeError(f"unexpected CSRF cookie shape: {sample!r}")
    text = (name, sample[len(name) + len(_SAMPLE_VALUE) :])
    _last_cookie_text = (config, text)
    return text


class CsrfMiddleware(CSRFMiddleware):
    """Litestar's CSRFMiddleware, writing its cookie from text made once (see the module's docstring). Installed as
    the innermost of the app's middleware (app/main.py), where Litestar puts its own."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app, config)
        self._cookie_prefix, self._cookie_attributes = _cookie_text(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._bypassed(scope):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in self.config.safe_methods:
            await super().__call__(scope, receive, send)  # Litestar's checks
            return
        # As Litestar takes a safe method's token: the cookie's (parsed once per request, kept in the scope's state),
        # else a new one, which only a visitor without the cookie is then sent.
        cookie = ASGIConnection(scope).cookies.get(self.config.cookie_name)
        token = ScopeState.from_scope(scope).csrf_token = cookie or generate_csrf_token(secret=self.config.secret)
        if cookie is None:
            send = self.create_send_wrapper(send=send, token=token, csrf_cookie=None)
        await self.app(scope, receive, send)

    def _bypassed(self, scope: Scope) -> bool:
        """Litestar's own test of an excluded path (SESSIONLESS_PATHS) or route."""
        return should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,  # pyright: ignore[reportUnknownMemberType]
        )

    def _set_cookie_if_needed(self, message: HTTPSendMessage, token: str) -> None:
        if not token.isalnum():  # never: tokens are hex; a cookie would quote anything else, so let Litestar write it
            super()._set_cookie_if_needed(message, token)
            return
        MutableScopeHeaders.from_message(message).add(
            "set-cookie", self._cookie_prefix + token + self._cookie_attributes
        )
