"""Versioned static URLs: `/static/app.css?v=<content hash>`, so files can be cached as immutable.

A file asked for without `?v=` (an ES module imported by another one: `import … from "./forms.js"`) is answered
with `Cache-Control: no-cache` instead, so the browser checks it (a cheap 304) rather than keeping a year-old copy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parents[2] / "pwa" / "static"
# What is asked for under its content hash (?v=…) is the same for a year: the static files, our scripts' texts.
IMMUTABLE = CacheControlHeader(max_age=31_536_000, public=True, immutable=True)


def content_version(content: bytes) -> str:
    """The `?v=` of a file: its content hash, 12 hex digits."""
    return hashlib.sha256(content).hexdigest()[:12]


class StaticAssets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._directory = directory
        self._versions: dict[str, str] = {}

    def version(self, name: str) -> str:
        """The file's content hash (12 hex digits), computed once per process: files do not change while it runs."""
        version = self._versions.get(name)
        if version is None:
            version = content_version((self._directory / name).read_bytes())
            self._versions[name] = version
        return version

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.version(name)}"

    def names(self, pattern: str) -> list[str]:
        """Names (relative to the static folder, with /) of the files matching a glob, sorted."""
        return sorted(p.relative_to(self._directory).as_posix() for p in self._directory.glob(pattern) if p.is_file())

    def read_text(self, name: str) -> str:
        return (self._directory / name).read_text(encoding="utf-8")


def unversioned_static_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/static/") or b"v=" in scope["query_string"]:
            await app(scope, receive, send)
            return

        async def send_revalidated(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["Cache-Control"] = "no-cache"
            await send(message)

        await app(scope, receive, send_revalidated)

    return middleware
