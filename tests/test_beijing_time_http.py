"""Every time a page shows is Beijing time, on a server that runs in UTC as servers usually do: 我的 (when a passkey
was made) and the console's case page (提交时间) print what the receipt prints, never the UTC clock as if local."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
BEIJING = ZoneInfo("Asia/Shanghai")
SHOWN = "%Y-%m-%d %H:%M"


@pytest.fixture
def utc_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone is UTC while the test runs (what .astimezone() with no zone would use)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _shown(moment: datetime) -> tuple[str, str]:
    """(as Beijing reads it, as the UTC clock reads it)."""
    return moment.astimezone(BEIJING).strftime(SHOWN), moment.astimezone(ZoneInfo("UTC")).strftime(SHOWN)


async def test_me_and_the_console_show_the_receipts_beijing_time_on_a_utc_server(
    utc_server: None,
    client: httpx.AsyncClient,
    another_client: Callable[[], httpx.AsyncClient],
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    assert time.localtime().tm_gmtoff == 0
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    body = await submission_for(client, "retirement", "beijing-time-0001")
    created = await client.post("/api/v1/cases", json=body, headers=await csrf(client))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    filed = await pool.fetchval("SELECT created_at FROM cases WHERE case_no = $1", case_no)
    made = await pool.fetchval("SELECT created_at FROM credentials")
    filed_beijing, filed_utc = _shown(filed)
    made_beijing, made_utc = _shown(made)

    receipt = (await client.get(f"/cases/{case_no}/receipt")).text
    assert f">{filed_beijing}</time>" in receipt

    me = (await client.get("/me")).text
    assert f"创建于 {made_beijing}" in me and f"创建于 {made_utc}" not in me

    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="hrss"
    )
    console = (await clerk.get(f"/console/cases/{case_no}")).text
    assert f"<dt>提交时间</dt><dd>{filed_beijing}</dd>" in console
    assert f"<dd>{filed_utc}</dd>" not in console
