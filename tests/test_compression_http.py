"""Answers to a browser taking gzip (every browser): a whole answer gzipped in one zlib call with Litestar's headers,
Litestar's compressor made for none of them — not for a page, an answer compressed already (the kept tracking page),
one under the minimum size (app/web/compression.py), nor a static file, gzipped once and sent as kept
(app/web/assets.py)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from isal import isal_zlib
from litestar.middleware.compression import middleware as litestar_compression
from litestar.middleware.compression.gzip_facade import GzipCompression
from litestar.types import Message, Receive, Scope, Send

from app.web.assets import STATIC_DIR, SentPrecompressed, StaticAssets
from app.web.compression import GZIP_LEVEL, PRECOMPRESSED_LEVEL
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
MakeClient = Callable[[], httpx.AsyncClient]


@pytest.fixture
def compressors(monkeypatch: pytest.MonkeyPatch) -> list[GzipCompression]:
    """Every gzip compressor Litestar's compression makes, as it is made."""
    made: list[GzipCompression] = []

    class Counted(GzipCompression):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # pyright: ignore[reportArgumentType]
            made.append(self)

    monkeypatch.setattr(litestar_compression, "GzipCompression", Counted)
    return made


async def _raw(client: httpx.AsyncClient, path: str) -> tuple[httpx.Headers, bytes]:
    async with client.stream("GET", path, headers=BROWSER) as answer:
        assert answer.status_code == 200, path
        return answer.headers, b"".join([chunk async for chunk in answer.aiter_raw()])


@pytest.fixture
async def tracking_page(client: httpx.AsyncClient, another_client: MakeClient) -> AsyncIterator[str]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "compression-0001"))
    page = f"/t/{created.json()['tracking_token']}"
    await _raw(another_client(), page)  # drawn and kept
    yield page


async def test_no_compressor_for_a_kept_page_or_a_small_answer(
    tracking_page: str, another_client: MakeClient, compressors: list[GzipCompression]
) -> None:
    headers, body = await _raw(another_client(), tracking_page)
    assert headers["content-encoding"] == "gzip" and b"<!doctype html>" in gzip.decompress(body)
    headers, body = await _raw(another_client(), "/healthz/live")
    assert "content-encoding" not in headers and len(body) < 500
    assert compressors == []


async def test_a_page_is_gzipped_with_litestars_headers_without_its_compressor(
    another_client: MakeClient, compressors: list[GzipCompression]
) -> None:
    visitor = another_client()
    plain = await visitor.get("/", headers={"Accept-Encoding": "identity"})  # the visitor's CSRF cookie, then
    headers, body = await _raw(visitor, "/")
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body) and gzip.decompress(body) == plain.content
    # One gzip member at the pages' level, as ISA-L writes it.
    assert body == isal_zlib.compress(plain.content, GZIP_LEVEL, wbits=16 + zlib.MAX_WBITS)
    assert compressors == []


async def test_a_static_file_is_sent_gzipped_once_not_compressed_for_each_answer(
    client: httpx.AsyncClient, compressors: list[GzipCompression]
) -> None:
    file = (STATIC_DIR / "app.css").read_bytes()
    kept = gzip.compress(file, compresslevel=PRECOMPRESSED_LEVEL, mtime=0)
    for _ in range(2):
        headers, body = await _raw(client, "/static/app.css?v=1")
        assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
        assert int(headers["content-length"]) == len(body) and gzip.decompress(body) == file
        assert body[10:] == kept[10:]  # the kept bytes (past the header's OS byte), not gzipped again
        assert "immutable" in headers["cache-control"] and headers["etag"]
    assert compressors == []
    plain = await client.get("/static/app.css?v=1", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == file


async def test_a_static_files_head_and_range_answers_agree_with_its_get(client: httpx.AsyncClient) -> None:
    got, body = await _raw(client, "/static/js/forms.js?v=1")
    head = await client.head("/static/js/forms.js?v=1", headers=BROWSER)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-encoding", "content-length", "etag", "cache-control", "last-modified"):
        assert head.headers[name] == got[name], name
    async with client.stream("GET", "/static/js/forms.js?v=1", headers={**BROWSER, "Range": "bytes=0-99"}) as ranged:
        # Litestar's static files answer a range with the whole file, as before.
        assert ranged.status_code == 200
        assert b"".join([chunk async for chunk in ranged.aiter_raw()]) == body


async def test_a_static_file_is_gzipped_from_its_folder_only() -> None:
    assets = StaticAssets(STATIC_DIR)
    kept = assets.gzipped("js/forms.js")
    assert kept is not None and gzip.decompress(kept) == (STATIC_DIR / "js" / "forms.js").read_bytes()
    assert assets.gzipped("js/./forms.js") == kept and assets.gzipped("vendor/../js/forms.js") == kept
    assert assets.gzipped("../../app/main.py") is None and assets.gzipped("js/absent.js") is None
    assert assets.gzipped("js/forms\x00.js") is None


async def test_a_file_read_in_several_chunks_is_sent_its_gzip_once() -> None:
    """Litestar reads a file in chunks of 1 MB: the kept gzip stands in for the first, and nothing for the others —
    not the whole gzip again for each (a file past 1 MB would have been sent corrupt)."""
    packed = b"\x1f\x8bkept gzip"

    class Kept(StaticAssets):
        def gzipped(self, name: str) -> bytes | None:
            return packed

    async def file_in_two_chunks(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2000000")]})
        await send({"type": "http.response.body", "body": b"a" * 1_000_000, "more_body": True})
        await send({"type": "http.response.body", "body": b"b" * 1_000_000, "more_body": False})

    sent: list[Message] = []

    async def collect(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/static/big.js", "headers": [(b"accept-encoding", b"gzip")], "state": {}}
    await SentPrecompressed(file_in_two_chunks, Kept())(scope, None, collect)  # pyright: ignore[reportArgumentType]
    bodies = b"".join(m["body"] for m in sent if m["type"] == "http.response.body")
    assert bodies == packed
