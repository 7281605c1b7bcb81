"""The village helper's tablet as the helper and the elder meet it: the consent statement read before signing, every
problem of a delegation at once, open cases that lead to their receipts, a receipt that names the elder, and the
life events an elder is unlikely to need listed after the likely ones (never hidden)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.calendar.service import today_in_china
from app.delegations.likely import age_on, age_rules
from app.delegations.pages import one_year_after
from config.settings import Settings
from tests.auth_helpers import csrf, post, staff_client_sign_up
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body
from tests.test_helper_pages_http import _posted_form, _retirement_form

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50450))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def _chosen_elder(helper: Client) -> int:
    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert created.status_code == 201, created.text
    delegation_id = created.json()["id"]
    chosen = await helper.post(f"/helper/clients/{delegation_id}/select", headers=await csrf(helper))
    assert chosen.status_code == 303
    return delegation_id


async def test_the_delegation_form_states_what_the_elder_agrees_to_above_the_signature_pad(helper: Client) -> None:
    html = (await helper.get("/helper/delegations/new")).text
    statement = html[html.index('id="consent-statement"') : html.index('id="signature-pad"')]
    until = one_year_after(today_in_china())
    assert "帮办员<strong>陈帮办</strong>" in statement and "沙河村" in statement  # who
    assert 'data-consent="scope">全部事项' in statement  # what, as chosen (the script follows the choices)
    assert f"{until.year}年{until.month}月{until.day}日" in statement  # until when
    assert "撤销授权" in statement and "12345" in statement  # how to revoke
    assert html.index('id="consent-statement"') < html.index('id="signature-pad"')


async def test_every_problem_of_a_delegation_is_named_at_once(helper: Client) -> None:
    response = await post(
        helper,
        "/api/v1/delegations",
        delegation_body(
            {"name": "", "id_number": "320481194702282051"},
            scope=[],
            expires_on=None,
            identity_check="",
            consent={"method": "signature", "signature_png": None},
        ),
    )
    assert response.status_code == 400, response.text
    assert set(response.json()["errors"]) == {
        "client_name",
        "client_id_number",
        "scope",
        "expires_on",
        "identity_check",
        "consent",
    }


async def test_a_right_client_with_other_problems_still_hears_of_all_of_them(helper: Client) -> None:
    response = await post(
        helper, "/api/v1/delegations", delegation_body(ELDER, scope=[], consent={"method": "signature"})
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"scope", "consent"}


async def test_open_cases_on_the_roster_link_to_their_receipts_which_name_the_elder(
    helper: Client, pool: asyncpg.Pool
) -> None:
    await _chosen_elder(helper)
    fields, files = _posted_form(await _retirement_form(helper, ELDER), ELDER["id_number"], "receipt-name-0001")
    filed = await helper.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(helper))
    assert filed.status_code == 303, filed.text
    case_no = await pool.fetchval("SELECT case_no FROM cases")
    receipt_url = f"/helper/cases/{case_no}/receipt"
    assert f'href="{receipt_url}"' in (await helper.get("/helper")).text
    assert f'href="{receipt_url}"' in (await helper.get("/helper/client")).text
    receipt = (await helper.get(receipt_url)).text
    body = receipt[receipt.index('class="receipt"') :]
    assert "<dt>申请人</dt><dd>史永生（320481********2050）</dd>" in body
    assert ELDER["id_number"] not in receipt


async def test_life_events_unlikely_at_the_clients_age_come_after_the_likely_ones(helper: Client) -> None:
    await _chosen_elder(helper)
    html = (await helper.get("/helper/client")).text
    age = age_on(date(1947, 2, 28), today_in_china())
    assert f"（{age}岁）" in html
    others = html.index("其他事项")
    assert html.index('href="/life-events/death/apply"') < others  # 公民身后: at any age
    assert html.index('href="/life-events/birth/apply"') > others  # 新生儿出生 at 79: listed, after
    assert html.index('href="/life-events/retirement/apply"') > others


def test_the_age_rules_are_data_for_known_life_events() -> None:
    rules = age_rules().events
    assert {"birth", "retirement", "business"} <= set(rules)
    assert all(r.min_age is None or r.max_age is None or r.min_age < r.max_age for r in rules.values())
