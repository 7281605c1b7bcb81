"""A page drawn once for every anonymous visitor and sent again while its tag stands (the tracking page, issue 20).

Every page holds the visitor's CSRF token (base.html: htmx's header, and the display and language forms that work
without script), so "the same page for everyone" is the same page but for that token. Such a page is drawn with a
slot where the token goes and each visitor is sent it with their own token put in: byte for byte the page drawn for
them (tests/test_tracking_page_kept_http.py). Nothing of any visitor is kept. The slot is the same in every worker
(a page kept in the database is sent by any of them) and derived from the secret key: nobody can write it into
what a page shows (a step's title) to have a visitor's token put there."""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any, cast

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from app.web.types import AnyRequest


@functools.cache
def _slot(secret_key: str) -> str:
    # Hex, as a token is (escaping leaves it as it is), and shorter than any token Litestar mints (128).
    return hmac.new(secret_key.encode(), b"csrf slot of a page drawn for anyone", hashlib.sha256).hexdigest()[:40]


def _csrf_slot(request: AnyRequest) -> str:
    return _slot(request.app.state.settings.secret_key)


def draw_for_anyone(request: AnyRequest, template_name: str, context: dict[str, Any]) -> bytes:
    """The page as Litestar's Template draws it (the same context: request, csrf_input), with the slot for the
    token: `csrf_token()` and `csrf_input` both read it from the request's scope state."""
    # Litestar types the app's engine with an unbound type argument; it is the Jinja engine app.main configures.
    engine = cast("JinjaTemplateEngine", request.app.template_engine)  # pyright: ignore[reportUnknownMemberType]
    state = ScopeState.from_scope(request.scope)
    token = state.csrf_token
    state.csrf_token = _csrf_slot(request)
    try:
        full_context = Template(template_name, context=context).create_template_context(request)  # pyright: ignore[reportUnknownMemberType]
        drawn = engine.get_template(template_name).render(**full_context)
    finally:
        state.csrf_token = token
    return drawn.encode()


def visitor_token(request: AnyRequest) -> str | None:
    """This visitor's CSRF token, if a page drawn for anyone can carry it as drawing would: hex, as every token
    Litestar mints. None for anything else (a cookie made up by hand): that page is drawn for the visitor alone."""
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    return token if token.isalnum() else None


def for_visitor(request: AnyRequest, page: bytes, token: str) -> bytes:
    """The page drawn for anyone, with this visitor's token in its slots."""
    return page.replace(_csrf_slot(request).encode(), token.encode())


def holds_token(page: bytes, token: str) -> bool:
    """Whether a visitor's token is in a page (never in one drawn for anyone: checked before it is kept)."""
    return token.encode() in page
