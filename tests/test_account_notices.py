"""Enrollment codes and new passkeys never take over an account silently (issue 13, finding 6), and an elder hears
of each delegation recorded in their name (finding 8): account notices in the inbox and on the devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar

from config.settings import Settings
from tests.auth_helpers import (
    ZHANG_WEI,
    csrf,
    new_authenticator,
    post,
    sign_up,
    staff_client_sign_up,
)
from tests.push_helpers import local_push_service, resident_with_device, run_worker
from tests.test_cli import run_cli
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

Client = httpx.AsyncClient
pytestmark = pytest.mark.anyio


@pytest.fixture
async def clerk(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50200))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(
            client, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
        )
        yield client


async def _notices(client: Client) -> list[dict]:
    return [e for e in (await client.get("/api/v1/notifications")).json()["items"] if e["kind"] == "account"]


async def _issue_at_the_window(clerk: Client, person: dict[str, str]) -> httpx.Response:
    return await clerk.post(
        "/console/enrollment", data={**person, "identity_checked": "true"}, headers=await csrf(clerk)
    )


async def test_the_first_passkey_of_a_new_account_is_no_news(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert await _notices(client) == []


async def test_a_passkey_added_on_a_signed_in_device_is_told_in_the_inbox_and_pushed(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    async with local_push_service(client) as service:
        device = await resident_with_device(client, service)
        options = await post(client, "/api/v1/auth/passkeys/options")
        added = await post(
            client, "/api/v1/auth/register/verify", {"credential": new_authenticator().create(options.json())}
        )
        assert added.status_code == 201
        [notice] = await _notices(client)
        assert notice["title"] == "账户安全：新增了通行密钥"
        assert "在已登录的设备上添加" in notice["body"] and "北京时间" in notice["body"]
        assert "删除" in notice["body"] and notice["url"] == "/me#passkeys-heading"
        assert notice["case_no"] is None and notice["event_id"] is None
        assert settings.database_url
        await run_worker(pool, settings.database_url, settings)
        [push] = service.pushes_to(device)
        # The lock screen gets what the inbox says, and nothing personal: no name, no number.
        assert push.payload == {
            "title": notice["title"],
            "body": notice["body"],
            "url": "/me#passkeys-heading",
            "notice_id": notice["id"],
        }
        assert "张伟" not in str(push.payload) and "0119" not in str(push.payload)


async def test_an_enrollment_code_from_the_window_names_the_clerk_the_hall_and_the_time(
    client: Client, clerk: Client, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    page = await _issue_at_the_window(clerk, ZHANG_WEI)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert "开户码（只显示这一次）" in page.text and "320402********0119" in page.text
    assert ZHANG_WEI["id_number"] not in page.text
    [notice] = await _notices(client)
    assert notice["title"] == "账户安全：已为您签发开户码"
    assert "窗口工作人员 王窗口（天宁区 · 公安）" in notice["body"], notice["body"]
    assert "北京时间" in notice["body"] and "删除不认识的通行密钥" in notice["body"]
    audited = await pool.fetchrow(
        "SELECT actor, detail FROM audit_log WHERE action = 'enrollment_code.issue' AND outcome = 'ok'"
    )
    assert audited["actor"].startswith("account:") and audited["detail"]["hall"] == "天宁区 · 公安"


async def test_the_window_issues_a_code_only_after_the_card_is_checked_at_any_hall_of_the_city(
    clerk: Client, pool: asyncpg.Pool
) -> None:
    unchecked = await clerk.post("/console/enrollment", data=ZHANG_WEI, headers=await csrf(clerk))
    assert unchecked.status_code == 400 and "error-summary" in unchecked.text and "核验" in unchecked.text
    # 全城通办: the 天宁 hall serves a resident of 溧阳 too; only someone the register places outside Changzhou is sent
    # to their own hall.
    far = {"name": "史永生", "id_number": "320481194702282050"}  # 溧阳市
    await pool.execute("UPDATE people SET region_code = NULL WHERE name = $1", far["name"])
    outside = await _issue_at_the_window(clerk, far)
    assert outside.status_code == 400 and "户籍所在地" in outside.text
    assert await pool.fetchval("SELECT count(*) FROM enrollment_codes WHERE person_id IS NOT NULL") == 0
    await pool.execute("UPDATE people SET region_code = '320481002002' WHERE name = $1", far["name"])
    issued = await _issue_at_the_window(clerk, far)
    assert issued.status_code == 200 and "code-display" in issued.text
    assert await pool.fetchval("SELECT count(*) FROM enrollment_codes WHERE person_id IS NOT NULL") == 1


async def test_a_passkey_added_with_an_enrollment_code_is_told_and_the_owner_removes_it(
    client: Client, clerk: Client, app: Litestar
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    page = await _issue_at_the_window(clerk, ZHANG_WEI)
    code = page.text.split('<p class="code-display"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50600))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as stranger:
        taken = await sign_up(stranger, new_authenticator(), ZHANG_WEI, enrollment_code=code)
        assert taken.status_code == 201, taken.text
    notices = await _notices(client)
    assert [n["title"] for n in notices] == ["账户安全：新增了通行密钥", "账户安全：已为您签发开户码"]
    assert "凭政务服务窗口签发的开户码登记" in notices[0]["body"]
    # The owner, on their own phone, removes the passkey they do not recognise.
    keys = (await client.get("/api/v1/me/passkeys")).json()
    assert len(keys) == 2
    removed = await client.delete(f"/api/v1/me/passkeys/{keys[1]['id']}", headers=await csrf(client))
    assert removed.status_code == 204
    assert len((await client.get("/api/v1/me/passkeys")).json()) == 1


async def test_an_enrollment_code_from_the_command_line_is_told(
    client: Client, database_url: str, tmp_path: Path
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    result = run_cli(database_url, tmp_path, "enroll-code", "--id-number", ZHANG_WEI["id_number"])
    assert result.returncode == 0, result.stderr
    [notice] = await _notices(client)
    assert "系统管理员（命令行）为您的账户签发了开户码" in notice["body"]


async def test_the_inbox_page_shows_an_account_notice(client: Client, clerk: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await _issue_at_the_window(clerk, ZHANG_WEI)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "account-notice" in page.text and "账户安全：已为您签发开户码" in page.text
    [notice] = await _notices(client)
    opened = await client.get(f"/notifications/{notice['id']}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/me#passkeys-heading"


async def test_the_elder_hears_of_a_new_delegation(
    client: Client, app: Litestar, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ELDER)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as helper:
        await staff_client_sign_up(helper, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        until = date.today() + timedelta(days=90)
        created = await post(helper, "/api/v1/delegations", delegation_body(ELDER, expires_on=until.isoformat()))
        assert created.status_code == 201, created.text
    [notice] = await _notices(client)
    assert notice["body"] == (
        f"您已授权帮办员 陈帮办 为您代办全部事项，至 {until.isoformat()}；如非本人意愿，可在“我的”中撤销"
    )
    assert notice["url"] == "/me#delegations-heading"
