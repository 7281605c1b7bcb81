"""CSRF protection: Litestar's middleware (a double-submit cookie holding an HMAC-signed token, checked on every
unsafe request against the `X-CSRFToken` header or a form's `_csrf_token`), with one change: the cookie a visitor
without one is sent is written from text made once, not through Litestar's Cookie.

Every page holds a form (base.html: the display and language switches) and htmx's header with the token, so every
page a new visitor opens mints a token and sends the cookie; Litestar wrote each through a dataclass copied with
`dataclasses.asdict` and a SimpleCookie, some 80 Python calls, 7% of a small page. The header is the same byte for
byte (tests/test_csrf_cookie.py); the checks are Litestar's own, unchanged."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, HTTPSendMessage

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


class CsrfMiddleware(CSRFMiddleware):
    """Litestar's CSRFMiddleware, writing its cookie from text made once (see the module's docstring). Installed as
    the innermost of the app's middleware (app/main.py), where Litestar puts its own."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app, config)
        sample = csrf_cookie_header(config, _SAMPLE_VALUE)
        name = f"{config.cookie_name}="
        if not sample.startswith(name + _SAMPLE_VALUE):
            raise RuntimeError(f"unexpected CSRF cookie shape: {sample!r}")
        self._cookie_prefix = name
        self._cookie_attributes = sample[len(name) + len(_SAMPLE_VALUE) :]

    def _set_cookie_if_needed(self, message: HTTPSendMessage, token: str) -> None:
        if not token.isalnum():  # never: tokens are hex; a cookie would quote anything else, so let Litestar write it
            super()._set_cookie_if_needed(message, token)
            return
        MutableScopeHeaders.from_message(message).add(
            "set-cookie", self._cookie_prefix + token + self._cookie_attributes
        )
