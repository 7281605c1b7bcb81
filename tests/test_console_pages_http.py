"""The back-office pages: queue, a case with masked ID numbers that staff may reveal (audited), actions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from litestar import Litestar

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def clerk(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50200))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(
            client, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
        )
        yield client


async def _case_no(client: httpx.AsyncClient) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "pages-key-1"))
    return created.json()["case_no"]


async def test_the_clerk_finds_a_case_by_number_and_accepts_a_task(
    client: httpx.AsyncClient, clerk: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    case_no = await _case_no(client)
    home = await clerk.get("/console")
    assert home.status_code == 200 and case_no in home.text
    found = await clerk.get("/console", params={"q": case_no.lower()}, follow_redirects=True)
    assert found.status_code == 200 and "受理" in found.text
    assert "320402********0119" in found.text and ZHANG_WEI["id_number"] not in found.text
    task_id = await pool.fetchval("SELECT min(id) FROM tasks")
    response = await clerk.post(
        f"/console/tasks/{task_id}/transition",
        data={"case_no": case_no, "action": "accept"},
        headers=await csrf(clerk),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "accepted"
    again = await clerk.post(
        f"/console/tasks/{task_id}/transition", data={"case_no": case_no, "action": "accept"}, headers=await csrf(clerk)
    )
    assert again.status_code == 409 and "不能执行该操作" in again.text


async def test_showing_a_full_id_number_is_audited(
    client: httpx.AsyncClient, clerk: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    case_no = await _case_no(client)
    reveal = f"/console/cases/{case_no}/reveal"
    revealed = await clerk.post(f"{reveal}/mother.id_number", headers={**await csrf(clerk), "HX-Request": "true"})
    assert revealed.status_code == 200 and "320402199506180126" in revealed.text
    rows = await pool.fetch("SELECT actor, detail FROM audit_log WHERE action = 'pii.read'")
    assert len(rows) == 1 and rows[0]["detail"]["field"] == "mother.id_number"
    assert (await clerk.post(f"{reveal}/child.name", headers=await csrf(clerk))).status_code == 404


async def test_a_clerk_outside_the_region_cannot_open_the_case(
    client: httpx.AsyncClient, app: Litestar, pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _case_no(client)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50201))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as far:
        await staff_client_sign_up(
            far, pool, settings.secret_key, name="钟窗口", role="clerk", region="320404", department="police"
        )
        assert (await far.get(f"/console/cases/{case_no}")).status_code == 403
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.open' AND outcome = 'forbidden'") == 1
    )
    assert (await client.get(f"/console/cases/{case_no}", follow_redirects=False)).status_code == 403


async def test_a_clerk_issues_an_enrollment_code_after_checking_the_id_card(
    client: httpx.AsyncClient, clerk: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    unchecked = await clerk.post("/console/enrollment", data={**ZHANG_WEI}, headers=await csrf(clerk))
    assert unchecked.status_code == 400 and "核验" in unchecked.text
    issued = await post(clerk, "/api/v1/console/enrollment-codes", {**ZHANG_WEI, "identity_checked": True})
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert issued.json()["id_number_masked"] == "320402********0119"
    response = await sign_up(client, new_authenticator(), ZHANG_WEI, enrollment_code=code)
    assert response.status_code == 201
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'enrollment_code.issue' AND outcome = 'ok'")
        == 1
    )
