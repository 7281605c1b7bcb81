"""Where the app may send a browser back to after sign-in or a form: a path on this site, never another host.

One rule for every `next`/return path. Browsers are lenient in ways a prefix check misses: they read `\\`
as `/` (`/\\evil.example` is `//evil.example`), drop tabs and newlines inside URLs (`/%09/evil.example`),
and take `//host` as another site. Only a path that parses with no scheme and no host, and contains none
of those characters, is kept; anything else becomes the home page.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

HOME = "/"
# A backslash, a control character or DEL anywhere in a path: never kept (one search, not a Python test per character).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def local_path(raw: str | None, default: str = HOME) -> str:
    if not raw or not raw.startswith("/") or raw.startswith("//"):
        return default
    if _UNSAFE.search(raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw


# The pages that sign a person in: a link to them from there keeps the `next` they were given.
SIGN_IN_PAGES = frozenset({"/login", "/register"})


def sign_in_url(page: str, path: str, query: dict[str, str]) -> str:
    """`page` (/login or /register) with `next`: where the person is now (`path` and its `query`), or, on a sign-in
    page itself, the `next` that page was given — so 开始办理 → 登录 → 注册 still ends on the form."""
    if path in SIGN_IN_PAGES:
        target = local_path(query.get("next"), "")
    else:
        target = local_path(path + (f"?{urlencode(query)}" if query else ""), "")
    return f"{page}?{urlencode({'next': target})}" if target and target != HOME else page
