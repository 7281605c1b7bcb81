"""Where the app may send a browser back to after sign-in or a form: a path on this site, never another host.

One rule for every `next`/return path. Browsers are lenient in ways a prefix check misses: they read `\\`
as `/` (`/\\evil.example` is `//evil.example`), drop tabs and newlines inside URLs (`/%09/evil.example`),
and take `//host` as another site. Only a path that parses with no scheme and no host, and contains none
of those characters, is kept; anything else becomes the home page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/"


def local_path(raw: str | None, default: str = HOME) -> str:
    if not raw or not raw.startswith("/") or raw.startswith("//"):
        return default
    if "\\" in raw or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw
