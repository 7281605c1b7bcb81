"""The signed-in resident's case page keeps its own part (what case.html's blocks draw) for every reader of one kind
and language (case_pages) and sends it again while nothing it shows has changed, with the layout drawn for the
reader: byte for byte the page drawing it gives; anything the page shows changing (a step, a task, a note, a
notice's delivery, the case's own row) draws it again at once; the applicant and a linked party each get their own
page, a stranger none, and nothing of an account is kept; purge removes the kept pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx
import msgspec
import pytest

from app import purge
from app.calendar.service import today_in_china
from app.cases.timeline import record_event
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, resident, sign_up
from tests.case_helpers import submission_for
from tests.test_case_page_drawn_http import _some_tasks_further_on
from tests.test_retention_purge import _ended

pytestmark = pytest.mark.anyio

MakeClient = Callable[[], httpx.AsyncClient]
# Written into a kept page's main block by the tests below: seen in an answer, it was sent from what is kept.
MARK = "<!-- sent as kept -->"
_BLOCKS = msgspec.msgpack.Decoder(dict[str, str])


async def _file(client: httpx.AsyncClient, key: str) -> str:
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def _filed(client: httpx.AsyncClient) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    return await _file(client, "kept-case-page-0001")


async def _kept(pool: asyncpg.Pool, case_no: str) -> dict[str, dict[str, str]]:
    """The blocks kept for each variant of the case's page."""
    rows = await pool.fetch(
        "SELECT p.variant, p.blocks FROM case_pages p JOIN cases c ON c.id = p.case_id WHERE c.case_no = $1", case_no
    )
    return {row["variant"]: _BLOCKS.decode(row["blocks"]) for row in rows}


async def _mark_kept(pool: asyncpg.Pool, case_no: str) -> None:
    """MARK added to the main block of each page kept for the case."""
    rows = await pool.fetch(
        "SELECT p.case_id, p.variant, p.blocks FROM case_pages p JOIN cases c ON c.id = p.case_id WHERE c.case_no = $1",
        case_no,
    )
    assert rows
    for row in rows:
        blocks = _BLOCKS.decode(row["blocks"])
        blocks["main"] += MARK
        await pool.execute(
            "UPDATE case_pages SET blocks = $3 WHERE case_id = $1 AND variant = $2",
            row["case_id"],
            row["variant"],
            msgspec.msgpack.encode(blocks),
        )


async def _view(client: httpx.AsyncClient, case_no: str) -> httpx.Response:
    page = await client.get(f"/cases/{case_no}")
    assert page.status_code == 200, page.text
    return page


async def test_a_kept_case_page_is_the_page_drawn_for_the_reader(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    case_no = await _filed(client)
    await _some_tasks_further_on(pool, case_no)  # a supplement form (with the CSRF token), 好差评, notes, notices

    drawn = await _view(client, case_no)
    kept = await _kept(pool, case_no)
    assert set(kept) == {"zh:"} and set(kept["zh:"]) == {"title", "head", "main", "scripts"}
    token = client.cookies["csrftoken"]
    assert token in drawn.text and 'name="file"' in drawn.text
    # Nothing of the reader is kept: not their token, not their device's key, not the menu of their account.
    local_key = drawn.text.split('data-local-key="')[1].split('"')[0]
    for block in kept["zh:"].values():
        assert token not in block and local_key not in block and "site-header" not in block

    await _mark_kept(pool, case_no)
    sent = await _view(client, case_no)
    assert MARK in sent.text  # sent from what is kept, not drawn again

    # Byte for byte what drawing it gives, with the same headers.
    await pool.execute("DELETE FROM case_pages")
    redrawn = await _view(client, case_no)
    from_kept = await _view(client, case_no)
    assert MARK not in from_kept.text
    assert from_kept.content == redrawn.content == drawn.content
    for header in ("content-type", "ywtb-offline", "content-security-policy", "cache-control"):
        assert from_kept.headers.get(header) == redrawn.headers.get(header), header

    # A page confirming something (?notice=) is drawn for that view, never sent as kept nor kept.
    await _mark_kept(pool, case_no)
    confirmed = await client.get(f"/cases/{case_no}?notice=withdrawn")
    assert MARK not in confirmed.text and 'class="notice"' in confirmed.text


async def test_each_change_the_page_shows_draws_it_again_at_once(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    case_no = await _filed(client)
    await _some_tasks_further_on(pool, case_no)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
    task_id = await pool.fetchval("SELECT id FROM tasks WHERE case_id = $1 ORDER BY position LIMIT 1", case_id)
    assert await pool.fetchval("SELECT count(*) FROM notice_arrivals WHERE case_id = $1", case_id) > 0

    async def step() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await record_event(
                conn, case_id=case_id, task_id=None, status="accepted", title="窗口已收到补正材料", notify=False
            )

    changes = {
        "a new step": (step, "窗口已收到补正材料"),
        "a task's status": (
            lambda: pool.execute("UPDATE tasks SET status = 'in_review' WHERE id = $1", task_id),
            "chip-",  # the supplement form goes: checked below by its absence
        ),
        "a task's promised date": (
            lambda: pool.execute("UPDATE tasks SET due_on = '2031-02-03' WHERE id = $1", task_id),
            "2031年2月3日",
        ),
        "a step's note": (
            lambda: pool.execute(
                "UPDATE timeline_events SET note = '请补交清晰的出生医学证明' WHERE case_id = $1 AND note IS NOT NULL",
                case_id,
            ),
            "请补交清晰的出生医学证明",
        ),
        "a notice's delivery": (
            lambda: pool.execute(
                "UPDATE notice_arrivals SET state = 'delivered', texted_at = now() WHERE case_id = $1", case_id
            ),
            'data-state="delivered"',
        ),
        "the case's own row": (
            lambda: pool.execute("UPDATE cases SET channel = 'window' WHERE id = $1", case_id),
            "窗口申请",
        ),
    }
    before = await _view(client, case_no)
    for name, (change, shown) in changes.items():
        await _mark_kept(pool, case_no)
        assert MARK in (await _view(client, case_no)).text, name
        await change()
        after = await _view(client, case_no)
        assert MARK not in after.text, name
        assert shown in after.text, name
        assert after.content != before.content, name
        before = after
        assert set(await _kept(pool, case_no)) == {"zh:"}  # one row for the reader's kind, overwritten
    assert 'name="file"' not in before.text  # the task in review asks for no supplement


async def test_the_applicant_and_a_linked_party_each_get_their_own_page_and_a_stranger_none(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    case_no = await _filed(client)
    await _some_tasks_further_on(pool, case_no)
    party = await resident(another_client, LI_NA)
    await pool.execute(
        "INSERT INTO case_links (case_id, person_id, role) SELECT c.id, a.person_id, '母亲' FROM cases c, accounts a "
        "WHERE c.case_no = $1 AND a.person_id IS NOT NULL AND a.name = $2",
        case_no,
        LI_NA["name"],
    )

    own = await _view(client, case_no)
    linked = await _view(party, case_no)
    assert set(await _kept(pool, case_no)) == {"zh:", "zh:母亲"}
    await _mark_kept(pool, case_no)
    own_again, linked_again = await _view(client, case_no), await _view(party, case_no)
    assert MARK in own_again.text and MARK in linked_again.text
    # Each their own: the applicant answers the 补正告知, the linked party reads the case as its 母亲.
    assert 'name="file"' in own_again.text and "linked-note" not in own_again.text
    assert 'name="file"' not in linked_again.text and "母亲" in linked_again.text
    # Each page's layout is its reader's own: their token and device key, never the other's.
    for mine, theirs in ((client, party), (party, client)):
        page = (await _view(mine, case_no)).text
        assert mine.cookies["csrftoken"] in page and theirs.cookies["csrftoken"] not in page
    assert own.text.split('data-local-key="')[1] != linked.text.split('data-local-key="')[1]

    # Someone who is no party of the case sees no case, whatever is kept.
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), {"name": "黄磊", "id_number": "320411198309093113"})
    refused = await stranger.get(f"/cases/{case_no}")
    assert refused.status_code == 404 and MARK not in refused.text


async def test_purge_removes_the_kept_case_pages_and_a_purged_case_page_is_never_kept(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    old, recent = await _file(client, "kept-case-old"), await _file(client, "kept-case-recent")
    for case_no in (old, recent):
        await _view(client, case_no)
        assert set(await _kept(pool, case_no)) == {"zh:"}
    await _ended(pool, old, "rejected", timedelta(days=400))  # refused: kept a year, past

    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china())
    assert report.cases == 1

    assert await _kept(pool, old) == {}
    assert set(await _kept(pool, recent)) == {"zh:"}
    # Viewed again, the purged case's page says so, drawn on each view and not kept again.
    assert "case-purged" in (await _view(client, old)).text
    assert await _kept(pool, old) == {}


async def test_a_case_that_may_wait_for_consent_is_drawn_on_each_view(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    case_no = await _filed(client)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
    async with pool.acquire() as conn, conn.transaction():
        await record_event(
            conn, case_id=case_id, task_id=None, status="awaiting_consent", title="待他人授权", notify=False
        )
    await _view(client, case_no)
    assert await _kept(pool, case_no) == {}
