"""The helper's tablet pages over HTTP: the roster, recording a delegation, choosing the client (a banner on every
page), filing for them on the ordinary apply page, the printable receipt, and switching to someone else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.calendar.service import today_in_china
from app.delegations.pages import one_year_after
from config.settings import Settings
from tests.auth_helpers import csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1, answers_for, submission_for, upload_required_materials
from tests.test_delegations_http import ELDER, NEIGHBOUR, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
BANNER = "正在为 <strong>史永生</strong>（320481********2050）办理"


def _client_for(app: Litestar, port: int) -> Client:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", port))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Client]:
    async with _client_for(app, 50400) as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def _delegate(helper: Client, person: dict[str, str], **overrides: Any) -> int:
    response = await post(helper, "/api/v1/delegations", delegation_body(person, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _choose(helper: Client, delegation_id: int) -> httpx.Response:
    return await helper.post(f"/helper/clients/{delegation_id}/select", headers=await csrf(helper))


async def _retirement_form(helper: Client, person: dict[str, str]) -> dict[str, Any]:
    response = await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": person["id_number"]})
    assert response.status_code == 200, response.text
    return response.json()


def _value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def _posted_form(form: dict[str, Any], on_behalf_of: str, key: str) -> tuple[dict[str, str], list[Any]]:
    """What the apply page posts without JavaScript for a client: the answers, the hidden fields and the files."""
    fields = {k: "true" if v is True else str(v) for k, v in answers_for(form).items()}
    fields.update({"idempotency_key": key, "on_behalf_of": on_behalf_of})
    files = [
        (f"materials.{need['code']}", ("scan.png", PNG_1X1, "image/png"))
        for need in form["materials"]["to_upload"]
        if need["required"]
    ]
    return fields, files


async def test_the_roster_lists_the_helpers_clients_with_status_scope_expiry_and_open_cases(
    helper: Client, pool: asyncpg.Pool
) -> None:
    empty = await helper.get("/helper")
    assert empty.status_code == 200 and "还没有居民授权您代办" in empty.text
    assert 'href="/helper/delegations/new"' in empty.text and "新增代办授权" in empty.text
    elder = await _delegate(helper, ELDER, scope=["retirement", "death"])
    neighbour = await _delegate(helper, NEIGHBOUR)
    await pool.execute("UPDATE delegations SET revoked_at = now() WHERE id = $1", neighbour)
    await _choose(helper, elder)
    fields, files = _posted_form(await _retirement_form(helper, ELDER), ELDER["id_number"], "roster-case-0001")
    filed = await helper.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(helper))
    assert filed.status_code == 303, filed.text
    case_no = await pool.fetchval("SELECT case_no FROM cases")

    page = await helper.get("/helper")
    html = page.text
    assert page.headers["cache-control"] == "no-store"
    assert "史永生" in html and "320481********2050" in html and "潘玉兰" in html
    assert ELDER["id_number"] not in html and NEIGHBOUR["id_number"] not in html
    assert "公民身后、退休" in html  # the scope, by the life events' names
    assert "已撤销" in html and "有效" in html and "正在办理" in html
    assert case_no in html
    # The actions: only for the live delegation.
    assert f'action="/helper/clients/{elder}/select"' in html and "为TA办事" in html
    assert f'action="/helper/delegations/{elder}/revoke"' in html
    assert f"/helper/clients/{neighbour}/select" not in html


async def test_only_helpers_reach_the_helper_pages(client: Client) -> None:
    assert (await client.get("/helper")).status_code == 303  # to sign in
    await sign_up(client, new_authenticator(), ELDER)
    for path in ("/helper", "/helper/delegations/new", "/helper/client"):
        assert (await client.get(path)).status_code == 403


async def test_the_new_delegation_page_offers_scope_expiry_identity_checks_and_both_kinds_of_consent(
    helper: Client, pool: asyncpg.Pool
) -> None:
    page = await helper.get("/helper/delegations/new")
    assert page.status_code == 200
    html = page.text
    for name in ("client_name", "client_id_number", "expires_on"):
        assert f'name="{name}"' in html and f'id="{name}-error"' in html
    for code, label in (("id_card", "当面核验居民身份证"), ("household_register", "核验居民户口簿及本人")):
        assert f'<option value="{code}">{label}</option>' in html
    # Every life event of a person; none an organisation's (a helper files for people only: 企业变更登记, 企业注销).
    events = await pool.fetch(
        "SELECT e.code, bool_or(i.for_organisation) AS for_organisation FROM life_events e "
        "JOIN life_event_items le ON le.life_event_code = e.code JOIN service_items i ON i.code = le.item_code "
        "WHERE e.single_item IS NULL GROUP BY e.code"
    )
    for event in events:
        offered = f'name="scope_events" value="{event["code"]}"' in html
        assert offered != event["for_organisation"], event["code"]
    latest = one_year_after(today_in_china())  # the page counts in Beijing time, as every deadline does
    assert f'value="{latest.isoformat()}"' in html and f'max="{latest.isoformat()}"' in html
    assert '<canvas id="signature-pad"' in html and ">清除</button>" in html
    assert 'value="passkey"' in html and "js/delegation.js" in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither


def test_one_year_after_keeps_the_date_or_falls_back_from_29_february() -> None:
    assert one_year_after(date(2026, 11, 26)) == date(2027, 11, 26)
    assert one_year_after(date(2028, 2, 29)) == date(2029, 2, 28)


async def test_choosing_a_client_shows_a_banner_on_every_page_until_it_ends(helper: Client) -> None:
    assert BANNER not in (await helper.get("/")).text
    elder = await _delegate(helper, ELDER, scope=["retirement"])
    chosen = await _choose(helper, elder)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/helper/client"
    client_page = await helper.get("/helper/client")
    assert "为史永生办事" in client_page.text
    assert 'href="/life-events/retirement/apply"' in client_page.text
    assert 'href="/life-events/birth/apply"' not in client_page.text  # outside the delegation's scope
    for path in ("/", "/helper", "/life-events/retirement", "/me"):
        html = (await helper.get(path)).text
        assert BANNER in html, path
        assert f'data-client="{elder}"' in html and 'action="/helper/client/end"' in html
    ended = await helper.post("/helper/client/end", headers=await csrf(helper))
    assert ended.status_code == 303 and ended.headers["location"] == "/helper?notice=ended"
    assert BANNER not in (await helper.get("/")).text
    assert (await helper.get("/helper/client")).headers["location"] == "/helper?notice=choose"


async def test_no_one_can_choose_a_delegation_that_is_not_their_own_and_live(
    app: Litestar, helper: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    elder = await _delegate(helper, ELDER)
    async with _client_for(app, 50401) as other:
        await staff_client_sign_up(other, pool, settings.secret_key, name="李帮办", role="helper", region=VILLAGE)
        assert (await _choose(other, elder)).status_code == 404
        assert "史永生" not in (await other.get("/helper")).text
    await pool.execute("UPDATE delegations SET expires_on = current_date - 1")
    assert (await _choose(helper, elder)).status_code == 403


async def test_the_apply_page_needs_a_chosen_client_and_is_theirs_not_the_helpers(
    helper: Client, pool: asyncpg.Pool
) -> None:
    missing = await helper.get("/life-events/retirement/apply")
    assert missing.status_code == 303 and missing.headers["location"] == "/helper?notice=choose"
    elder = await _delegate(helper, ELDER)
    await _choose(helper, elder)
    page = await helper.get("/life-events/retirement/apply")
    assert page.status_code == 200, page.text
    html = page.text
    assert page.headers["cache-control"] == "no-store"
    assert "退休：为史永生填写申请表" in html
    assert _value(html, "applicant.name") == "史永生"
    assert _value(html, "applicant.id_number") == "320481 ******** 2050"  # read-only: grouped 6-8-4
    assert "史永生本人的信息，取自代办授权，不能修改" in html
    # The page carries the client's number for its requests, each checked in the server.
    assert _value(html, "on_behalf_of") == ELDER["id_number"]
    assert f'data-client="{elder}"' in html and 'data-receipt-prefix="/helper/cases/"' in html
    assert "无需提交" in html  # the client's own e-certificates
    assert "陈帮办" not in html.split("<main", 1)[1]
    uses = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'delegation.use' AND outcome = 'ok'")
    assert len(uses) == 1 and uses[0]["detail"]["life_event"] == "retirement"
    assert (await helper.get("/life-events/nope/apply")).status_code == 404


async def test_a_residents_own_apply_page_has_no_client(client: Client) -> None:
    await sign_up(client, new_authenticator(), ELDER)
    html = (await client.get("/life-events/retirement/apply")).text
    assert _value(html, "applicant.name") == "史永生"
    assert "取自您的账户，不能修改" in html and 'data-receipt-prefix="/cases/"' in html
    assert 'name="on_behalf_of"' not in html and "data-client" not in html and "helper-banner" not in html


async def test_a_life_event_outside_the_delegations_scope_is_refused_and_audited(
    helper: Client, pool: asyncpg.Pool
) -> None:
    await _choose(helper, await _delegate(helper, ELDER, scope=["death"]))
    assert (await helper.get("/life-events/death/apply")).status_code == 200
    refused = await helper.get("/life-events/retirement/apply")
    assert refused.status_code == 403 and "没有有效的代办授权" in refused.text
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'delegation.check' AND outcome = 'forbidden'"
        )
        == 1
    )


async def test_a_helper_files_for_the_client_without_javascript_and_prints_the_receipt(
    app: Litestar, helper: Client, client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await _choose(helper, await _delegate(helper, ELDER))
    form = await _retirement_form(helper, ELDER)
    fields, files = _posted_form(form, ELDER["id_number"], "helper-nojs-0001")
    response = await helper.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(helper))
    assert response.status_code == 303, response.text
    case = await pool.fetchrow(
        "SELECT c.case_no, c.channel, c.filed_as, p.name FROM cases c JOIN people p ON p.id = c.applicant_person_id"
    )
    assert (case["name"], case["channel"], case["filed_as"]) == ("史永生", "helper", "helper")
    assert response.headers["location"] == f"/helper/cases/{case['case_no']}/receipt"
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE case_id IS NOT NULL") == len(files)

    receipt = await helper.get(response.headers["location"])
    assert receipt.status_code == 200
    html = receipt.text
    assert case["case_no"] in html and "由帮办员 陈帮办 代办" in html and "<svg" in html
    assert "/t/" in html and "家人扫描二维码" in html
    assert receipt.headers["cache-control"] == "no-store"
    # The resident's own case pages stay the resident's.
    assert (await helper.get(f"/cases/{case['case_no']}/receipt")).status_code == 403

    # The elder signs up later and sees the case, with the same note on their receipt.
    await sign_up(client, new_authenticator(), ELDER)
    assert case["case_no"] in (await client.get("/cases")).text
    assert "由帮办员 陈帮办 代办" in (await client.get(f"/cases/{case['case_no']}/receipt")).text

    # Another helper, even in the same village, cannot open it.
    async with _client_for(app, 50402) as other:
        await staff_client_sign_up(other, pool, settings.secret_key, name="李帮办", role="helper", region=VILLAGE)
        assert (await other.get(response.headers["location"])).status_code == 404


async def test_the_helper_receipt_is_only_for_cases_the_helper_filed(
    helper: Client, client: Client, pool: asyncpg.Pool
) -> None:
    await _delegate(helper, ELDER)
    await sign_up(client, new_authenticator(), ELDER)
    own = await post(client, "/api/v1/cases", await submission_for(client, "retirement", "elder-own-0001"))
    assert own.status_code == 201, own.text
    # The elder's own case is not the helper's business: not on the roster, and its receipt not theirs to open.
    assert own.json()["case_no"] not in (await helper.get("/helper")).text
    assert (await helper.get(f"/helper/cases/{own.json()['case_no']}/receipt")).status_code == 404
    assert (await helper.get("/helper/cases/CZ20260101000001/receipt")).status_code == 404


async def test_a_form_filled_for_one_client_is_never_filed_for_the_next(helper: Client, pool: asyncpg.Pool) -> None:
    elder = await _delegate(helper, ELDER)
    neighbour = await _delegate(helper, NEIGHBOUR)
    await _choose(helper, elder)
    form = await _retirement_form(helper, ELDER)
    draft = await helper.put(
        "/api/v1/drafts/retirement",
        params={"on_behalf_of": ELDER["id_number"]},
        json={"data": {"retirement.employer": "武进第一纺织厂"}, "version": 0, "form_checksum": form["checksum"]},
        headers=await csrf(helper),
    )
    assert draft.status_code == 200, draft.text
    fields, files = _posted_form(form, ELDER["id_number"], "helper-switch-0001")

    await _choose(helper, neighbour)  # the tablet switches to 潘玉兰 while 史永生's form is still open
    stale = await helper.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(helper))
    assert stale.status_code == 303 and stale.headers["location"] == "/helper?notice=switched"
    assert await pool.fetchval("SELECT count(*) FROM cases") == 0

    html = (await helper.get("/life-events/retirement/apply")).text
    assert _value(html, "applicant.name") == "潘玉兰"
    assert _value(html, "on_behalf_of") == NEIGHBOUR["id_number"]
    assert f'data-client="{neighbour}"' in html
    for first_clients in ("史永生", "320481********2050", ELDER["id_number"], "武进第一纺织厂"):
        assert first_clients not in html
    # Drafts are per (helper, client): hers is empty, his is still his.
    mine = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": NEIGHBOUR["id_number"]})
    assert mine.json()["data"] == {}
    his = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": ELDER["id_number"]})
    assert his.json()["data"] == {"retirement.employer": "武进第一纺织厂"}


async def test_revoking_on_the_roster_ends_the_work_for_that_client(helper: Client, pool: asyncpg.Pool) -> None:
    elder = await _delegate(helper, ELDER)
    await _choose(helper, elder)
    revoked = await helper.post(f"/helper/delegations/{elder}/revoke", headers=await csrf(helper))
    assert revoked.status_code == 303 and revoked.headers["location"] == "/helper?notice=revoked"
    roster = (await helper.get(revoked.headers["location"])).text
    assert "已撤销该授权" in roster and "已撤销" in roster and BANNER not in roster
    assert await pool.fetchval("SELECT revoked_by FROM delegations") is not None
    assert (await helper.get("/life-events/retirement/apply")).headers["location"] == "/helper?notice=choose"
    unknown = await helper.post(f"/helper/delegations/{elder + 1000}/revoke", headers=await csrf(helper))
    assert unknown.status_code == 404


async def test_a_delegation_that_expires_while_chosen_drops_the_client(helper: Client, pool: asyncpg.Pool) -> None:
    await _choose(helper, await _delegate(helper, ELDER))
    await pool.execute("UPDATE delegations SET expires_on = current_date - 1")
    response = await helper.get("/life-events/retirement/apply")
    assert response.status_code == 303 and response.headers["location"] == "/helper?notice=choose"
    assert BANNER not in (await helper.get("/helper")).text


async def _file(client: Client, life_event: str, key: str, on_behalf_of: str | None = None) -> str:
    """File a case through the API; `key` also marks its answers, so no two filings are the same."""
    params = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
    form = (await client.get(f"/api/v1/life-events/{life_event}/form", params=params)).json()
    data = {k: f"{v}{key}" if v == "演示内容" else v for k, v in answers_for(form).items()}
    body: dict[str, Any] = {
        "life_event": life_event,
        "data": data,
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, life_event, form, on_behalf_of),
    }
    if on_behalf_of:
        body["on_behalf_of"] = on_behalf_of
    filed = await post(client, "/api/v1/cases", body)
    assert filed.status_code == 201, filed.text
    return filed.json()["case_no"]


async def _as_if_first(pool: asyncpg.Pool) -> None:
    """The cases so far are about no subject: the next filing for the same elder is not a duplicate (一事不二办 would
    refuse a second retirement of one person; these tests are about who lists which case, not about that)."""
    await pool.execute("UPDATE cases SET subject_key = NULL")


async def test_the_roster_lists_only_the_cases_this_helper_filed_within_the_delegations_scope(
    app: Litestar, helper: Client, client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    # Under an earlier delegation for everything, this helper filed 公民身后 for the elder; it was revoked and the
    # elder now authorises 退休 only.
    earlier = await _delegate(helper, ELDER)
    out_of_scope = await _file(helper, "death", "roster-scope-0001", ELDER["id_number"])
    await helper.delete(f"/api/v1/delegations/{earlier}", headers=await csrf(helper))
    current = await _delegate(helper, ELDER, scope=["retirement"])
    own_filing = await _file(helper, "retirement", "roster-scope-0002", ELDER["id_number"])
    # The elder files for himself, and another helper of the village files for him under a delegation of their own.
    await sign_up(client, new_authenticator(), ELDER)
    await _as_if_first(pool)
    elders_own = await _file(client, "retirement", "roster-scope-0003")
    async with _client_for(app, 50403) as other:
        await staff_client_sign_up(other, pool, settings.secret_key, name="李帮办", role="helper", region=VILLAGE)
        theirs = await _delegate(other, ELDER)
        await _as_if_first(pool)
        others = await _file(other, "retirement", "roster-scope-0004", ELDER["id_number"])
        assert [d["open_cases"] for d in (await other.get("/api/v1/delegations")).json()] == [[others]]

    listed = {d["id"]: d["open_cases"] for d in (await helper.get("/api/v1/delegations")).json()}
    assert listed == {current: [own_filing], earlier: []}
    for page in ("/helper", "/helper/client"):
        if page == "/helper/client":
            await _choose(helper, current)
        html = (await helper.get(page)).text
        assert own_filing in html, page
        for not_theirs in (out_of_scope, elders_own, others):
            assert not_theirs not in html, page
    # The elder sees, for each delegation, what was filed under it.
    given = {d["id"]: d["open_cases"] for d in (await client.get("/api/v1/delegations")).json()}
    assert given == {current: [own_filing], earlier: [], theirs: [others]}


async def test_a_case_leaves_the_open_cases_once_every_task_is_delivered_or_refused(
    helper: Client, pool: asyncpg.Pool
) -> None:
    """Open is the case status of app.cases.states (derive_case_status): not yet 已出件 nor 已结束."""
    delegation = await _delegate(helper, ELDER)
    filed: dict[str, str] = {}
    for name in "abcde":
        await _as_if_first(pool)
        filed[name] = await _file(helper, "retirement", f"open-case-{name}", ELDER["id_number"])
    task_states = {
        "a": ["delivered", "delivered", "delivered"],  # 已出件: closed for the helper
        "b": ["rejected", "denied", "rejected"],  # 已结束
        "c": ["delivered", "rejected", "denied"],  # 已出件 (delivered and refused)
        "d": ["delivered", "delivered", "completed"],  # 已办结, not yet handed over: still open
        "e": ["rejected", "rejected", "supplement_requested"],  # waiting for the elder: still open
    }
    for name, states in task_states.items():
        await pool.execute(
            "UPDATE tasks t SET status = s.status FROM unnest($2::text[]) WITH ORDINALITY AS s(status, n) "
            "WHERE t.case_id = (SELECT id FROM cases WHERE case_no = $1) AND t.position = s.n - 1",
            filed[name],
            states,
        )
    statuses = await pool.fetch(
        "SELECT c.case_no, array_agg(t.status ORDER BY t.position) AS s FROM cases c JOIN tasks t ON t.case_id = c.id "
        "WHERE c.case_no = ANY($1::text[]) GROUP BY c.case_no",
        list(filed.values()),
    )
    assert {r["case_no"]: r["s"] for r in statuses} == {filed[n]: s for n, s in task_states.items()}

    listed = {d["id"]: d["open_cases"] for d in (await helper.get("/api/v1/delegations")).json()}
    assert sorted(listed[delegation]) == sorted([filed["d"], filed["e"]])
