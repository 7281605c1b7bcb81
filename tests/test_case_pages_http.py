"""The case pages a person reads: public tracking, 我的办件, one case, and the printable receipt."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.cases import qr
from app.cases.timeline import record_event
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_out, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
# What the applicant typed or is: never on the public page (the sample answers reuse LI_NA's number and this mobile).
PERSONAL = (ZHANG_WEI["name"], ZHANG_WEI["id_number"], LI_NA["id_number"], "13800000002")


async def _submitted_case(client: Client) -> dict[str, Any]:
    """Zhang Wei files 新生儿出生; returns the created case merged with its full view."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    response = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-pages-0001"))
    assert response.status_code == 201, response.text
    created = response.json()
    return {**created, **(await client.get(f"/api/v1/cases/{created['case_no']}")).json()}


def _other_client(app: Litestar) -> Client:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50020))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


async def test_tracking_page_shows_each_items_progress_without_personal_data(client: Client) -> None:
    case = await _submitted_case(client)
    await sign_out(client)
    page = await client.get(f"/t/{case['tracking_token']}")
    assert page.status_code == 200
    html = page.text
    assert case["case_no"] in html and case["life_event_name"] in html and "已提交" in html
    for task in case["tasks"]:
        assert task["item_name"] in html and task["department_name"] in html
    assert "申请已提交" in html  # the case-level step on the timeline
    for personal in PERSONAL:
        assert personal not in html


async def test_tracking_page_never_shows_staff_notes_but_the_residents_case_page_does(
    client: Client, pool: asyncpg.Pool
) -> None:
    case = await _submitted_case(client)
    row = await pool.fetchrow(
        "SELECT c.id AS case_id, t.id AS task_id, t.department_code FROM cases c JOIN tasks t ON t.case_id = c.id "
        "WHERE c.case_no = $1 ORDER BY t.position LIMIT 1",
        case["case_no"],
    )
    await pool.execute("UPDATE tasks SET status = 'supplement_requested' WHERE id = $1", row["task_id"])
    async with pool.acquire() as conn, conn.transaction():
        await record_event(
            conn,
            case_id=row["case_id"],
            task_id=row["task_id"],
            department_code=row["department_code"],
            status="supplement_requested",
            title="请补正材料",
            note="张伟的出生医学证明照片不清晰，请重新上传",
        )
    mine = (await client.get(f"/cases/{case['case_no']}")).text
    assert "请补正材料" in mine and "出生医学证明照片不清晰" in mine and "待补正" in mine
    listed = (await client.get("/cases")).text
    assert "待补正" in listed  # the chip says it in words, not colour alone
    public = (await client.get(f"/t/{case['tracking_token']}")).text
    assert "请补正材料" in public and "待补正" in public
    assert "照片不清晰" not in public and "张伟" not in public


async def test_unknown_tracking_token_is_a_chinese_404_page(client: Client) -> None:
    missing = await client.get("/t/" + "x" * 32)
    assert missing.status_code == 404 and "没有找到" in missing.text and "text/html" in missing.headers["content-type"]


async def test_receipt_has_an_inline_qr_of_the_tracking_url_and_prints(client: Client) -> None:
    case = await _submitted_case(client)
    page = await client.get(f"/cases/{case['case_no']}/receipt")
    assert page.status_code == 200
    html = page.text
    assert "常州一网通办" in html and "受理回执" in html and case["case_no"] in html
    assert "<svg" in html and qr.qr_svg_inline(case["tracking_url"]) in html  # the QR encodes the tracking URL
    assert f">{case['tracking_url']}<" in html  # and the URL is printed under it as text
    for task in case["tasks"]:
        assert task["item_name"] in html and task["department_name"] in html
    assert "打印回执" in html and "js/print.js" in html and "cases.css" in html
    # The strict CSP allows no inline script or style: every script is a file (or data the browser never runs: the
    # scripts' texts, type="application/json"), no style attributes.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("src=" in tag or 'type="application/json"' in tag for tag in scripts) and " style=" not in html


async def test_my_cases_lists_each_case_with_a_status_chip_and_link(client: Client) -> None:
    case = await _submitted_case(client)
    page = await client.get("/cases")
    assert page.status_code == 200
    assert f'href="/cases/{case["case_no"]}"' in page.text
    assert case["life_event_name"] in page.text and "已提交" in page.text


async def test_my_cases_is_empty_with_a_way_home_before_the_first_case(client: Client) -> None:
    await sign_up(client, new_authenticator(), LI_NA)
    page = await client.get("/cases")
    assert page.status_code == 200 and "您还没有办件" in page.text and 'href="/"' in page.text


async def test_case_page_shows_tasks_timeline_and_links_to_receipt_and_tracking(client: Client) -> None:
    case = await _submitted_case(client)
    page = await client.get(f"/cases/{case['case_no']}")
    assert page.status_code == 200
    html = page.text
    for task in case["tasks"]:
        assert task["item_name"] in html and task["department_name"] in html and task["status_label"] in html
    assert "申请已提交" in html
    assert f'href="/cases/{case["case_no"]}/receipt"' in html and f'href="{case["tracking_url"]}"' in html


async def test_another_resident_gets_404_for_my_case_pages(client: Client, app: Litestar) -> None:
    case = await _submitted_case(client)
    async with _other_client(app) as other:
        await sign_up(other, new_authenticator(), LI_NA)
        for path in (f"/cases/{case['case_no']}", f"/cases/{case['case_no']}/receipt"):
            response = await other.get(path)
            assert response.status_code == 404 and "没有找到" in response.text
            assert case["tracking_url"] not in response.text
        assert case["case_no"] not in (await other.get("/cases")).text


async def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    for path in ("/cases", "/cases/CZ20260101000001", "/cases/CZ20260101000001/receipt"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/cases")
