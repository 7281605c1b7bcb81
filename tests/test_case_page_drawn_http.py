"""The signed-in resident's case page, and its receipt, drawn byte for byte as recorded (tests/data/*.html): a change
made to draw them faster (issue 20) must draw the same page. What differs from run to run (the case's number and
tracking link, the times, the CSRF token, the device key, the QR code) is put in words first, and so is what every
page has alike: the content hashes of our static files and of our scripts' texts.

A deliberate change to either page records it again: `RECORD_PAGES=1 pytest tests/test_case_page_drawn_http.py`,
and the diff of the recorded file is reviewed with the change."""

from __future__ import annotations

import os
import re
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.cases.timeline import record_event
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
RECORDED = Path(__file__).parent / "data"


async def test_the_case_page_and_its_receipt_are_drawn_as_recorded(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-drawn-0001"))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    await _some_tasks_further_on(pool, case_no)
    token = await pool.fetchval("SELECT tracking_token FROM cases WHERE case_no = $1", case_no)
    pages = {
        "case_page.html": f"/cases/{case_no}",
        "case_page_en.html": f"/cases/{case_no}?notice=withdrawn",
        "case_receipt.html": f"/cases/{case_no}/receipt",
    }
    for name, path in pages.items():
        cookies = {"ywtb_lang": "en"} if name.endswith("_en.html") else {}
        client.cookies.update(cookies)
        page = await client.get(path)
        client.cookies.delete("ywtb_lang")
        assert page.status_code == 200, page.text
        drawn = _in_words(page.text, case_no, token)
        if os.environ.get("RECORD_PAGES"):
            (RECORDED / name).write_text(drawn, encoding="utf-8")
        assert drawn == (RECORDED / name).read_text(encoding="utf-8"), name


async def _some_tasks_further_on(pool: asyncpg.Pool, case_no: str) -> None:
    """The first task waits for a supplement (with the 补正告知's note), the second is 已办结: the page then draws the
    supplement form, 好差评 and 申请更正 beside the table, the timeline and the notices."""
    tasks = await pool.fetch(
        "SELECT c.id AS case_id, t.id AS task_id, t.department_code FROM cases c JOIN tasks t ON t.case_id = c.id "
        "WHERE c.case_no = $1 ORDER BY t.position",
        case_no,
    )
    steps = (
        ("supplement_requested", "请补正材料", "出生医学证明照片不清晰，请重新上传"),
        ("completed", "已办结", None),
    )
    for task, (status, title, note) in zip(tasks, steps, strict=False):
        await pool.execute("UPDATE tasks SET status = $2 WHERE id = $1", task["task_id"], status)
        async with pool.acquire() as conn, conn.transaction():
            await record_event(
                conn,
                case_id=task["case_id"],
                task_id=task["task_id"],
                department_code=task["department_code"],
                status=status,
                title=title,
                note=note,
            )


def _in_words(html: str, case_no: str, token: str) -> str:
    html = html.replace(case_no, "{case_no}").replace(token, "{tracking_token}")
    html = re.sub(r'(name="_csrf_token" value=")[^"]+"', r'\1{csrf_token}"', html)
    html = re.sub(r'("X-CSRFToken": ")[^"]+"', r'\1{csrf_token}"', html)
    html = re.sub(r'(data-local-key=")[^"]+"', r'\1{device_key}"', html)
    html = re.sub(r'<time datetime="[^"]+">[^<]*</time>', "{time}", html)
    html = re.sub(r"(\?v=)[0-9a-f]+", r"\1{version}", html)  # a static file's content hash
    return re.sub(r'<svg [^>]*class="segno">.*?</svg>', "{qr_code}", html, flags=re.S)
