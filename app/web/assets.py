"""Versioned static URLs: `/static/app.css?v=<content hash>`, so files can be cached as immutable.

A file asked for without `?v=` (an ES module imported by another one: `import … from "./forms.js"`) is answered
with `Cache-Control: no-cache` instead, so the browser checks it (a cheap 304) rather than keeping a year-old copy.

A file is gzipped once per process (per release: files do not change while it runs), harder than a page drawn per
request can afford, and that is what a browser taking gzip is sent; Litestar's static files still answer (their
ETag, Last-Modified, HEAD), with the compressed bytes swapped in.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from litestar.datastructures import CacheControlHeader, Headers, MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.web.compression import gzipped_smallest, with_gzip_headers

STATIC_DIR = Path(__file__).resolve().parents[2] / "pwa" / "static"
# What is asked for under its content hash (?v=…) is the same for a year: the static files, our scripts' texts.
IMMUTABLE = CacheControlHeader(max_age=31_536_000, public=True, immutable=True)
# Litestar's static files send a file up to this size in one body (larger ones in chunks of it): only those are swapped.
_WHOLE_FILE_LIMIT = 1024 * 1024


def content_version(content: bytes) -> str:
    """The `?v=` of a file: its content hash, 12 hex digits."""
    return hashlib.sha256(content).hexdigest()[:12]


class StaticAssets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._directory = directory
        self._versions: dict[str, str] = {}
        self._gzipped: dict[str, bytes | None] = {}

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

    def gzipped(self, name: str) -> bytes | None:
        """The file gzipped as small as zlib makes it, made once per process; None if gzip does not make it smaller or
        it is not a file of the folder. Names come from URLs: only a file's own name is kept (at most one entry per
        file), another spelling of it (`js/./forms.js`) is looked up again."""
        if name in self._gzipped:
            return self._gzipped[name]
        if "\x00" in name:  # no file's name: the route answers it (a 400, app/web/input_checks.py)
            return None
        root = self._directory.resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        own_name = path.relative_to(root).as_posix()
        if own_name not in self._gzipped:
            content = path.read_bytes()
            packed = gzipped_smallest(content)
            self._gzipped[own_name] = packed if len(packed) < len(content) <= _WHOLE_FILE_LIMIT else None
        return self._gzipped[own_name]


class SentPrecompressed:
    """The static files' router middleware: to a browser taking gzip (as the compression middleware decides), a file's
    answer carries its kept gzip (StaticAssets.gzipped) with the headers that middleware sets, and is marked cached so
    that middleware (inside this one) sends it as it is instead of compressing the file again."""

    def __init__(self, app: ASGIApp, assets: StaticAssets) -> None:
        self.app = app
        self.assets = assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        packed = self._kept_gzip(scope)
        if packed is None:
            await self.app(scope, receive, send)
            return
        state = ScopeState.from_scope(scope)
        state.is_cached = True
        found = sent = False

        async def send_packed(message: Message) -> None:
            nonlocal found, sent
            if message["type"] == "http.response.start":
                found = message["status"] == 200
                if found:
                    with_gzip_headers(message, state, len(packed))
            elif found and message["type"] == "http.response.body" and message["body"]:  # a HEAD's is empty
                # The whole gzip in place of the file's first body, nothing for any further one: a file is kept only
                # up to Litestar's chunk (_WHOLE_FILE_LIMIT), so there is one, unless Litestar reads smaller chunks.
                message["body"] = b"" if sent else packed
                sent = True
            await send(message)

        await self.app(scope, receive, send_packed)

    def _kept_gzip(self, scope: Scope) -> bytes | None:
        if "gzip" not in Headers.from_scope(scope).get("accept-encoding", ""):
            return None
        return self.assets.gzipped(scope["path"].removeprefix("/static/"))


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
