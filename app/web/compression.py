"""Litestar's compression middleware, with its gzip compressor made only for an answer that needs one.

Litestar makes the compressor (a GzipFile: zlib's level-6 state, about 270 KB to set up and free) for every request
whose browser takes gzip — every browser's — before it knows the answer. An answer compressed already (the tracking
page sent from its kept gzip parts, app/web/shared_pages.py, marked cached for this middleware) or smaller than the
configured minimum size then made one and dropped it unused: on every look at a kept tracking page. Here the answer's
start waits for its first body, as it does in Litestar; those two kinds are sent as they are, as Litestar sends them.

A whole answer (one body: a page, a JSON answer) is gzipped in one call to zlib, which writes the gzip member itself,
with the headers Litestar sets; Litestar's GzipFile (Python layers over zlib, a flush per write) cost about twice as
much for the same bytes. An answer sent in parts (streamed) goes through Litestar's own compression, made then and
handed the start and the body."""

from __future__ import annotations

import zlib
from typing import Literal, TypeGuard

from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Scope, Send
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

# How hard every answer drawn per request is gzipped: here, by Litestar's (app/main.py's CompressionConfig) and the kept
# pages' parts (app/web/shared_pages.py) alike. Level 3 (zlib's fast matching, as at 1) costs the case page about 35 %
# fewer instructions than 6 (lazy matching, 4 and up) for about 6 % more bytes (3.9 KB for 3.7 KB; the birth form
# 8.1 KB for 7.4 KB): a few hundred bytes per page, far under the 60 KB a first visit may weigh (README, bench).
GZIP_LEVEL = 3
# How hard a static file is gzipped (app/web/assets.py): once per process, so the smallest bytes are worth the time.
PRECOMPRESSED_LEVEL = 9
# A gzip member (not a zlib stream): zlib writes its header and trailer.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_GZIP = CompressionEncoding.GZIP.value.encode("latin-1")
_VARY = b"vary"
_ACCEPT_ENCODING = b"Accept-Encoding"


class CompressionWhenNeeded(CompressionMiddleware):
    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        state = ScopeState.from_scope(scope)
        start: HTTPResponseStartEvent | None = None
        compressing: Send | None = None
        as_it_is = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, compressing, as_it_is
            if as_it_is:
                await send(message)
            elif compressing is not None:
                await compressing(message)
            elif message["type"] == "http.response.start":
                start = message
            elif start is not None and self._sent_as_it_is(message, state):
                as_it_is = True
                await send(start)
                await send(message)
            elif start is not None and compression_encoding == CompressionEncoding.GZIP and is_whole(message):
                as_it_is = True
                message["body"] = gzipped(message["body"])
                with_gzip_headers(start, state, len(message["body"]))
                await send(start)
                await send(message)
            else:
                compressing = super(CompressionWhenNeeded, self).create_compression_send_wrapper(
                    send, compression_encoding, scope
                )
                if start is not None:
                    await compressing(start)
                await compressing(message)

        return send_wrapper

    def _sent_as_it_is(self, message: Message, state: ScopeState) -> bool:
        """Whether Litestar's compression would send this first body and its start as they are: the answer is
        compressed already (marked cached), or it is whole and smaller than the minimum size."""
        if message["type"] != "http.response.body":
            return False
        if value_or_default(state.is_cached, False):
            return True
        return not message.get("more_body", False) and len(message["body"]) < self.config.minimum_size


def is_whole(message: Message) -> TypeGuard[HTTPResponseBodyEvent]:
    """Whether this first body is the whole answer (nothing more follows)."""
    return message["type"] == "http.response.body" and not message.get("more_body", False)


def gzipped(body: bytes, level: int = GZIP_LEVEL) -> bytes:
    """The body as one gzip member, in one zlib call."""
    return zlib.compress(body, level, wbits=_GZIP_WBITS)


def with_gzip_headers(start: HTTPResponseStartEvent, state: ScopeState, length: int) -> None:
    """Set on the answer's start the headers Litestar's compression sets on a whole answer it gzips, as its
    MutableScopeHeaders sets them (each in place of the first of its name, any others of that name dropped; Vary
    extended), on the start's own list: MutableScopeHeaders decoded and lowered every name for each of the three."""
    if not isinstance(start["headers"], list):
        start["headers"] = list(start["headers"])
    headers = start["headers"]
    _set(headers, b"content-encoding", _GZIP)
    _set(headers, b"content-length", str(length).encode("latin-1"))
    vary = next((value for name, value in headers if name.lower() == _VARY), None)
    _set(headers, _VARY, _ACCEPT_ENCODING if vary is None else vary + b"," + _ACCEPT_ENCODING)
    state.response_compressed = True


def _set(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> None:
    at = [i for i, (present, _) in enumerate(headers) if present.lower() == name]
    if not at:
        headers.append((name, value))
        return
    for i in reversed(at[1:]):
        del headers[i]
    headers[at[0]] = (name, value)
