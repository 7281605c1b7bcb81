"""Litestar's compression middleware, with its gzip compressor made only for an answer that needs one.

Litestar makes the compressor (a GzipFile: zlib's level-6 state, about 270 KB to set up and free) for every request
whose browser takes gzip — every browser's — before it knows the answer. An answer compressed already (the tracking
page sent from its kept gzip parts, app/web/shared_pages.py, marked cached for this middleware) or smaller than the
configured minimum size then made one and dropped it unused: on every look at a kept tracking page. Here the answer's
start waits for its first body, as it does in Litestar; those two kinds are sent as they are, as Litestar sends them.

A whole answer (one body: a page, a JSON answer) is gzipped in one call, which writes the gzip member itself, with the
headers Litestar sets; Litestar's GzipFile (Python layers over zlib, a flush per write) cost about twice as much for the
same bytes. The call is ISA-L's (the `isal` package: Intel's deflate, the same gzip a browser reads), twice as fast as
zlib or more for a page of the same size (issue 20: zlib was a quarter of the instructions our code spent on a
signed-in case page).
An answer sent in parts (streamed) goes through Litestar's own compression, made then and handed the start and the
body."""

from __future__ import annotations

import zlib
from typing import Literal, TypeGuard

from isal import isal_zlib
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Scope, Send
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

# How hard every answer drawn per request is gzipped (ISA-L's levels run 0 to 3): here, by Litestar's for a streamed
# answer (app/main.py's CompressionConfig, zlib at the same number) and the kept pages' parts (app/web/shared_pages.py)
# alike. ISA-L's 2, its default, took 44 µs for the 15.5 KB case page where zlib's 3 took 95 µs (the best of five runs
# each; 51 and 246 µs on a busy machine), for 2 % more bytes (4,994 for 4,894); its 3 took 112 µs for 4,933. A few
# bytes per page, far under the 60 KB a first visit may weigh.
GZIP_LEVEL = 2
# How hard a static file is gzipped (app/web/assets.py), by zlib: once per process, so the smallest bytes are worth the
# time (a level ISA-L does not have).
PRECOMPRESSED_LEVEL = 9
# A gzip member (not a zlib stream): zlib writes its header and trailer.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_WINDOW = 32 * 1024  # how far back deflate refers


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


def gzipped(body: bytes) -> bytes:
    """The body as one gzip member, in one ISA-L call: an answer drawn for its request."""
    return isal_zlib.compress(body, GZIP_LEVEL, wbits=_GZIP_WBITS)


def deflated_part(stretch: bytes, *, following: bytes) -> bytes:
    """`stretch` as raw deflate (no zlib header: a gzip member's is the caller's) at the pages' level, compressed as
    following what precedes it (the last window of `following`), ended at a byte boundary (a sync flush, not the
    final block), so that parts can be joined into one deflate stream."""
    if following:
        compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, -zlib.MAX_WBITS, zdict=following[-_WINDOW:])
    else:
        compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(stretch) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)


def gzipped_smallest(body: bytes) -> bytes:
    """The body as one gzip member as small as zlib makes it: a file gzipped once and sent many times."""
    return zlib.compress(body, PRECOMPRESSED_LEVEL, wbits=_GZIP_WBITS)


def with_gzip_headers(start: HTTPResponseStartEvent, state: ScopeState, length: int) -> None:
    """Set on the answer's start the headers Litestar's compression sets on a whole answer it gzips."""
    headers = MutableScopeHeaders(start)
    headers["Content-Encoding"] = CompressionEncoding.GZIP
    headers["Content-Length"] = str(length)
    headers.extend_header_value("vary", "Accept-Encoding")
    state.response_compressed = True
