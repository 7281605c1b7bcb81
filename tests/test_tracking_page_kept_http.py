"""The tracking page an anonymous visitor sees is kept beside the case's snapshot (tracking_pages) and sent again while
its tag stands, rather than drawn again: each visitor gets it with their own CSRF token, byte for byte the page drawn
for them; anything the page shows changing (a timeline step, a notice's delivery, the display, the release) draws it
again at once; a signed-in viewer is never sent it and nothing of any visitor is kept; purge removes it."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx
import msgspec
import pytest
from isal import isal_zlib
from litestar import Litestar

from app import purge
from app.calendar.service import today_in_china
from app.shell.service import ELDER_COOKIE, TEXT_COOKIE
from app.web import shared_pages
from app.web.compression import GZIP_LEVEL
from app.web.language import LANGUAGE_COOKIE
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.test_retention_purge import _ended

pytestmark = pytest.mark.anyio

MakeClient = Callable[[], httpx.AsyncClient]
# Written into a kept page by the tests below: seen in an answer, it was sent from what is kept.
MARK = b"<!-- sent as kept -->"


async def _file(client: httpx.AsyncClient, key: str) -> dict[str, str]:
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return created.json()


async def _filed(client: httpx.AsyncClient) -> dict[str, str]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    return await _file(client, "kept-page-0001")


async def _kept(pool: asyncpg.Pool, token: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT p.variant, p.etag, p.body, p.gzip FROM tracking_pages p JOIN cases c ON c.id = p.case_id "
        "WHERE c.tracking_token = $1 ORDER BY p.variant",
        token,
    )


async def _mark_kept(pool: asyncpg.Pool, settings: Settings, token: str) -> None:
    """MARK added to each page kept for the case, as it would be drawn (its gzip parts made again)."""
    rows = await pool.fetch(
        "SELECT p.case_id, p.variant, p.body FROM tracking_pages p JOIN cases c ON c.id = p.case_id "
        "WHERE c.tracking_token = $1",
        token,
    )
    assert rows
    for row in rows:
        body = row["body"] + MARK
        await pool.execute(
            "UPDATE tracking_pages SET body = $3, gzip = $4 WHERE case_id = $1 AND variant = $2",
            row["case_id"],
            row["variant"],
            body,
            shared_pages.parts_between(body, shared_pages.slot_for(settings.secret_key)),
        )


async def _visit(visitor: httpx.AsyncClient, page: str) -> httpx.Response:
    answer = await visitor.get(page)
    assert answer.status_code == 200, answer.text
    return answer


async def test_a_kept_page_is_the_page_drawn_for_each_visitor_with_their_own_token(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    first, second = another_client(), another_client()

    drawn = await _visit(first, page)
    [kept] = await _kept(pool, filed["tracking_token"])
    assert kept["etag"] == drawn.headers["etag"] and kept["variant"] == "False:0:zh"
    first_token = first.cookies["csrftoken"]
    assert first_token.encode() in drawn.content
    assert first_token.encode() not in kept["body"]  # nothing of the visitor is kept

    await _mark_kept(pool, settings, filed["tracking_token"])
    sent = await _visit(second, page)
    assert MARK in sent.content  # sent from what is kept, not drawn again
    second_token = second.cookies["csrftoken"]
    assert second_token.encode() in sent.content and first_token.encode() not in sent.content
    assert sent.content.count(second_token.encode()) == drawn.content.count(first_token.encode())

    # Byte for byte what drawing it for this visitor gives, with the same headers.
    await pool.execute("DELETE FROM tracking_pages")
    from_kept = await _visit(second, page)
    await pool.execute("DELETE FROM tracking_pages")
    redrawn = await _visit(second, page)
    assert MARK not in from_kept.content and from_kept.content == redrawn.content
    for header in ("content-type", "etag", "cache-control", "content-security-policy"):
        assert from_kept.headers.get(header) == redrawn.headers.get(header) == drawn.headers.get(header), header

    # A browser holding the page still gets its 304, with nothing drawn or sent.
    again = await second.get(page, headers={"If-None-Match": sent.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


async def _raw(visitor: httpx.AsyncClient, page: str) -> tuple[httpx.Headers, bytes]:
    """The answer to a browser taking gzip, as it came (not decoded)."""
    async with visitor.stream("GET", page, headers={"Accept-Encoding": "gzip, deflate, br"}) as answer:
        assert answer.status_code == 200
        return answer.headers, b"".join([chunk async for chunk in answer.aiter_raw()])


async def test_a_browser_taking_gzip_is_sent_the_kept_parts_and_reads_the_same_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    visitor = another_client()
    drawn_headers, drawn = await _raw(visitor, page)  # drawn, kept, and sent from the parts just made
    [kept] = await _kept(pool, filed["tracking_token"])
    sent_headers, sent = await _raw(visitor, page)  # from what is kept
    plain = await visitor.get(page, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for headers, body in ((drawn_headers, drawn), (sent_headers, sent)):
        assert headers["content-encoding"] == "gzip" and "accept-encoding" in headers["vary"].lower()
        assert int(headers["content-length"]) == len(body)
        # One gzip member, its CRC and length checked: the very page sent to a browser taking none.
        assert gzip.decompress(body) == plain.content
        # About as small as the whole page gzipped at once: its tokens are sent as they are (stored blocks).
        tokens = plain.content.count(visitor.cookies["csrftoken"].encode())
        whole = len(isal_zlib.compress(plain.content, GZIP_LEVEL, wbits=16 + zlib.MAX_WBITS))
        assert len(body) <= whole + tokens * 140, (len(body), len(plain.content))
    assert visitor.cookies["csrftoken"].encode() in plain.content
    assert visitor.cookies["csrftoken"].encode() not in kept["gzip"] + kept["body"]
    assert sent == drawn  # the same visitor, the same page: the same bytes


async def test_a_new_timeline_step_shows_at_once_and_overwrites_the_kept_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    before = await _visit(another_client(), page)
    await _mark_kept(pool, settings, filed["tracking_token"])
    assert "已受理" not in before.text

    case = (await client.get(f"/api/v1/cases/{filed['case_no']}")).json()
    task = next(t for t in case["tasks"] if t["department"] == "police")
    clerk = another_client()
    await staff_client_sign_up(clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402")
    moved = await post(clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "accept"})
    assert moved.status_code == 200, moved.text

    after = await _visit(another_client(), page)
    assert "已受理" in after.text and MARK not in after.content
    assert after.headers["etag"] != before.headers["etag"]
    [kept] = await _kept(pool, filed["tracking_token"])  # one row for the display, overwritten
    assert kept["etag"] == after.headers["etag"] and MARK not in kept["body"]


async def test_a_notice_reaching_the_resident_shows_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    case = (await client.get(f"/api/v1/cases/{filed['case_no']}")).json()
    clerk = another_client()
    await staff_client_sign_up(clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402")
    task = next(t for t in case["tasks"] if t["department"] == "police")
    refused = await post(
        clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "reject", "note": "不属于本窗口受理范围"}
    )
    assert refused.status_code == 200, refused.text
    sending = await _visit(another_client(), page)
    assert 'data-state="sending"' in sending.text and "notice-channels" not in sending.text
    await _mark_kept(pool, settings, filed["tracking_token"])

    # The worker's outcome: texted. No timeline step, the same snapshot; the page shows it at once.
    await pool.execute(
        "UPDATE notice_arrivals SET state = 'delivered', texted_at = now() WHERE case_id = "
        "(SELECT id FROM cases WHERE tracking_token = $1)",
        filed["tracking_token"],
    )
    delivered = await _visit(another_client(), page)
    assert 'data-state="delivered"' in delivered.text and "notice-channels" in delivered.text
    assert MARK not in delivered.content
    assert delivered.headers["etag"] != sending.headers["etag"]


async def test_each_display_and_language_is_its_own_kept_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    devices = {
        "plain": {},
        "elder": {ELDER_COOKIE: "1"},
        "elder_larger": {ELDER_COOKIE: "1", TEXT_COOKIE: "3"},
        "english": {LANGUAGE_COOKIE: "en"},
    }

    def device(cookies: dict[str, str]) -> httpx.AsyncClient:
        made = another_client()
        for name, value in cookies.items():
            made.cookies.set(name, value)
        return made

    pages = {name: await _visit(device(cookies), page) for name, cookies in devices.items()}
    assert len({p.headers["etag"] for p in pages.values()}) == 4
    kept = await _kept(pool, filed["tracking_token"])
    assert [r["variant"] for r in kept] == ["False:0:en", "False:0:zh", "True:0:zh", "True:3:zh"]

    await _mark_kept(pool, settings, filed["tracking_token"])
    again = {name: await _visit(device(cookies), page) for name, cookies in devices.items()}
    assert all(MARK in p.content for p in again.values())  # each display sent its own kept page
    assert 'class="elder"' in again["elder"].text and 'class="elder text-3"' in again["elder_larger"].text
    assert 'class="elder' not in again["plain"].text and 'class="elder' not in again["english"].text
    assert again["english"].text.startswith('<!doctype html><html lang="en')
    assert again["plain"].text.startswith('<!doctype html><html lang="zh-CN"') and "办件进度" in again["plain"].text
    # Visited again and again, still one row per display.
    assert len(await _kept(pool, filed["tracking_token"])) == 4


async def test_a_new_release_draws_the_page_again(
    app: Litestar, client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    before = await _visit(another_client(), page)
    await _mark_kept(pool, settings, filed["tracking_token"])
    release = app.state.release
    app.state.release = release + "-next"
    try:
        after = await _visit(another_client(), page)
    finally:
        app.state.release = release
    assert MARK not in after.content and after.headers["etag"] != before.headers["etag"]
    [kept] = await _kept(pool, filed["tracking_token"])
    assert kept["etag"] == after.headers["etag"]


async def test_a_page_kept_under_another_secret_key_is_drawn_again(
    app: Litestar, client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    """The token's slot comes from the secret key: after a new key a kept page's slot would stay unfilled (a page
    whose forms are refused), so it is no longer current."""
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    before = await _visit(another_client(), page)
    await _mark_kept(pool, settings, filed["tracking_token"])
    app.state.settings = msgspec.structs.replace(settings, secret_key=settings.secret_key + "-rotated")
    try:
        visitor = another_client()
        after = await _visit(visitor, page)
    finally:
        app.state.settings = settings
    assert MARK not in after.content and after.headers["etag"] != before.headers["etag"]
    assert shared_pages.slot_for(settings.secret_key).encode() not in after.content
    assert visitor.cookies["csrftoken"].encode() in after.content


async def test_a_signed_in_viewer_is_never_sent_the_kept_page_and_their_page_is_never_kept(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    mine = await _visit(client, page)  # the applicant, signed in, first
    assert await _kept(pool, filed["tracking_token"]) == []  # their page, naming them in its menu, is not kept

    await _visit(another_client(), page)
    await _mark_kept(pool, settings, filed["tracking_token"])
    mine_again = await _visit(client, page)
    assert MARK not in mine_again.content and "etag" not in mine_again.headers
    assert "/notifications" in mine.text and "/notifications" in mine_again.text  # the signed-in menu
    [kept] = await _kept(pool, filed["tracking_token"])
    assert b"/notifications" not in kept["body"]


async def test_an_address_with_a_query_is_drawn_for_its_visitor_alone(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    """The page's forms and 登录 link bring the visitor back to the address they opened: a query someone put in a link
    must not reach the page kept for everyone."""
    filed = await _filed(client)
    page = f"/t/{filed['tracking_token']}"
    odd = await _visit(another_client(), page + "?from=wechat-share")
    assert "wechat-share" in odd.text
    assert await _kept(pool, filed["tracking_token"]) == []
    await _visit(another_client(), page)
    await _mark_kept(pool, settings, filed["tracking_token"])
    odd_again = await _visit(another_client(), page + "?from=wechat-share")
    assert MARK not in odd_again.content
    [kept] = await _kept(pool, filed["tracking_token"])
    assert b"wechat-share" not in kept["body"]


async def test_purge_removes_the_kept_pages_of_the_cases_it_purges(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    old, recent = await _file(client, "kept-page-old"), await _file(client, "kept-page-recent")
    for filed in (old, recent):
        await _visit(another_client(), f"/t/{filed['tracking_token']}")
        assert len(await _kept(pool, filed["tracking_token"])) == 1
    await _ended(pool, old["case_no"], "rejected", timedelta(days=400))  # refused: kept a year, past

    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china())
    assert report.cases == 1

    assert await _kept(pool, old["tracking_token"]) == []
    assert len(await _kept(pool, recent["tracking_token"])) == 1
    # Viewed again, the purged case's page is drawn (from what the case keeps) and not kept again.
    assert "办件进度" in (await _visit(another_client(), f"/t/{old['tracking_token']}")).text
    assert await _kept(pool, old["tracking_token"]) == []
