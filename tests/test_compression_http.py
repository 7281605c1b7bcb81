"""Answers to a browser taking gzip (every browser): compressed by Litestar's middleware as before, but its compressor
is made only for an answer that needs one — not for an answer compressed already (the kept tracking page) nor for
one under the minimum size (app/web/compression.py)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from litestar.middleware.compression import middleware as litestar_compression
from litestar.middleware.compression.gzip_facade import GzipCompression

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


async def test_a_page_is_compressed_as_litestar_compresses_it(
    another_client: MakeClient, compressors: list[GzipCompression]
) -> None:
    visitor = another_client()
    plain = await visitor.get("/", headers={"Accept-Encoding": "identity"})  # the visitor's CSRF cookie, then
    headers, body = await _raw(visitor, "/")
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body) and gzip.decompress(body) == plain.content
    assert len(compressors) == 1
