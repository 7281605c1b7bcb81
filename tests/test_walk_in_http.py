"""窗口收件 over HTTP: a clerk checks a walk-in resident's ID card, fills the merged form for them without
uploads (the paper originals are checked at the window), and prints the receipt; nothing for anyone else."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from auth import walk_in
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
WANG = {"name": "王建国", "id_number": "320412196608080133"}  # lives in 武进区 (320412)


async def _clerk(client: Client, pool: asyncpg.Pool, settings: Settings, region: str = "320412") -> Client:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="武进窗口", role="clerk", region=region, department="hrss"
    )
    return client


@pytest.fixture
async def clerk(client: Client, pool: asyncpg.Pool, settings: Settings) -> Client:
    return await _clerk(client, pool, settings)


async def _start(client: Client, **fields: str) -> httpx.Response:
    data = {**WANG, "identity_checked": "true", **fields}
    return await client.post("/console/walk-in", data={k: v for k, v in data.items() if v}, headers=await csrf(client))


def _posted_form(form: dict[str, Any], on_behalf_of: str, key: str) -> tuple[dict[str, str], list[Any]]:
    """What the apply page posts without JavaScript when no scan is attached: every file input goes as an
    empty part, as a browser sends it."""
    fields = {k: "true" if v is True else str(v) for k, v in answers_for(form).items()}
    fields.update({"idempotency_key": key, "on_behalf_of": on_behalf_of})
    files = [
        (f"materials.{need['code']}", ("", b"", "application/octet-stream")) for need in form["materials"]["to_upload"]
    ]
    return fields, files


async def test_the_walk_in_page_is_for_clerks_only(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert (await client.get("/console/walk-in")).status_code == 403
    assert (await post(client, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})).status_code == 403
    approver = another_client()
    await staff_client_sign_up(
        approver, pool, settings.secret_key, name="人社审批", role="approver", region="320412", department="hrss"
    )
    assert (await approver.get("/console/walk-in")).status_code == 403
    assert (await approver.get("/life-events/retirement/apply")).status_code == 403
    anonymous = another_client()
    assert (await anonymous.get("/console/walk-in")).status_code in (302, 303, 401)


async def test_each_field_of_the_id_check_is_refused_with_its_own_message(clerk: Client, pool: asyncpg.Pool) -> None:
    page = await clerk.get("/console/walk-in")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "核验来办人身份" in page.text and "正在接待" not in page.text

    empty = await clerk.post("/console/walk-in", data={}, headers=await csrf(clerk))
    assert empty.status_code == 400
    for message in ("请填写姓名", "请先当面核验居民身份证，再勾选确认"):
        assert message in empty.text
    assert 'id="walk-in-id-number" name="id_number" value=""' in empty.text
    assert empty.text.count('aria-invalid="true"') == 3

    typo = await _start(clerk, id_number="320412196608080134")  # wrong check digit
    assert typo.status_code == 400 and "校验位不正确" in typo.text
    assert 'value="320412196608080134"' in typo.text  # what was typed comes back to be corrected

    unchecked = await _start(clerk, identity_checked="")
    assert unchecked.status_code == 400 and "请先当面核验居民身份证" in unchecked.text

    mismatch = await _start(clerk, name="王建")
    assert mismatch.status_code == 400 and "姓名与公民身份号码不匹配" in mismatch.text
    refused = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'walk_in.start' AND outcome = 'refused'"
    )
    assert refused == 1
    # Nothing was started by any of these.
    assert (await clerk.get("/api/v1/console/walk-ins/current")).status_code == 404


async def test_any_hall_of_changzhou_receives_a_resident_of_any_district(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    # 全城通办: a 天宁 hall receives 王建国 of 武进区 (his tasks go to the offices competent for them).
    clerk = await _clerk(client, pool, settings, region="320402")
    assert (await _start(clerk)).status_code == 303
    started = await pool.fetchrow("SELECT detail FROM audit_log WHERE action = 'walk_in.start' AND outcome = 'ok'")
    assert started is not None and started["detail"]["hall"] == "320402"
    assert (await clerk.get("/api/v1/console/walk-ins/current")).status_code == 200


async def test_a_city_hall_serves_every_district(client: Client, pool: asyncpg.Pool, settings: Settings) -> None:
    clerk = await _clerk(client, pool, settings, region="320400")  # 常州市: 320412… does not start with 320400
    assert (await _start(clerk)).status_code == 303


async def test_a_clerk_files_for_a_walk_in_without_uploads_and_prints_the_receipt(
    clerk: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    # Without a checked ID card the form sends the clerk to the check first.
    first = await clerk.get("/life-events/retirement/apply")
    assert first.status_code == 303 and first.headers["location"] == "/console/walk-in?notice=choose"

    started = await _start(clerk)
    assert started.status_code == 303 and started.headers["location"] == "/console/walk-in?notice=started"
    page = await clerk.get("/console/walk-in?notice=started")
    assert "正在接待：王建国" in page.text and "320412********0133" in page.text
    assert WANG["id_number"] not in page.text
    assert 'href="/life-events/retirement/apply"' in page.text
    assert "窗口收件：正在为 <strong>王建国</strong>" in page.text  # the banner
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'walk_in.start' AND outcome = 'ok'") == 1

    apply = await clerk.get("/life-events/retirement/apply")
    assert apply.status_code == 200 and apply.headers["cache-control"] == "no-store"
    assert "为王建国填写申请表" in apply.text and "纸质材料（窗口核验）" in apply.text
    assert "取自人口库（已当面核验身份证件）" in apply.text
    assert f'name="on_behalf_of" value="{WANG["id_number"]}"' in apply.text
    client_key = re.search(r'data-client="(w[^"]+)"', apply.text)
    assert client_key, "the form names the visit for what the browser keeps"

    form = (await clerk.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": WANG["id_number"]})).json()
    fields, files = _posted_form(form, WANG["id_number"], "walk-in-page-0001")
    filed = await clerk.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(clerk))
    assert filed.status_code == 303, filed.text
    case = await pool.fetchrow("SELECT case_no, channel, filed_as, applicant_person_id FROM cases")
    assert (case["channel"], case["filed_as"]) == ("window", "clerk")
    assert filed.headers["location"] == f"/console/cases/{case['case_no']}/receipt"
    assert await pool.fetchval("SELECT count(*) FROM uploads") == 0

    receipt = await clerk.get(filed.headers["location"])
    assert receipt.status_code == 200 and receipt.headers["cache-control"] == "no-store"
    assert case["case_no"] in receipt.text and "<svg" in receipt.text
    assert "由综合窗口 武进窗口 当面收件" in receipt.text
    assert WANG["id_number"] not in receipt.text
    listed = await clerk.get("/console/walk-in")
    assert f'href="/console/cases/{case["case_no"]}/receipt"' in listed.text

    # Another clerk of the same hall did not file it: no receipt for them (the case page is theirs to work on).
    colleague = another_client()
    await staff_client_sign_up(
        colleague, pool, settings.secret_key, name="另一窗口", role="clerk", region="320412", department="hrss"
    )
    assert (await colleague.get(f"/console/cases/{case['case_no']}/receipt")).status_code == 404
    assert (await colleague.get(f"/console/cases/{case['case_no']}")).status_code == 200

    # The case is the resident's: 王建国 signs up and finds it, with the window's step on the timeline.
    resident = another_client()
    assert (await sign_up(resident, new_authenticator(), WANG)).status_code == 201
    mine = (await resident.get(f"/api/v1/cases/{case['case_no']}")).json()
    assert mine["channel"] == "window" and "综合窗口已收件" in mine["timeline"][0]["title"]


async def test_ending_the_visit_or_its_expiry_stops_filing_for_that_person(
    clerk: Client, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _start(clerk)
    form = (await clerk.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": WANG["id_number"]})).json()
    body = {"life_event": "retirement", "data": answers_for(form), "on_behalf_of": WANG["id_number"]}

    ended = await clerk.post("/console/walk-in/end", headers=await csrf(clerk))
    assert ended.status_code == 303 and ended.headers["location"] == "/console/walk-in?notice=ended"
    assert (await clerk.get("/life-events/retirement/apply")).status_code == 303
    refused = await post(clerk, "/api/v1/cases", {**body, "idempotency_key": "walk-in-ended-01"})
    assert refused.status_code == 403
    assert (await clerk.get("/api/v1/drafts/retirement", params={"on_behalf_of": WANG["id_number"]})).status_code in (
        403,
        404,
    )

    await _start(clerk)
    started_at = walk_in.now()
    monkeypatch.setattr(walk_in, "now", lambda: started_at + walk_in.WALK_IN_MINUTES * 60 + 1)
    assert (await clerk.get("/life-events/retirement/apply")).status_code == 303
    late = await post(clerk, "/api/v1/cases", {**body, "idempotency_key": "walk-in-late-0001"})
    assert late.status_code == 403
    assert "正在接待" not in (await clerk.get("/console/walk-in")).text
    assert await pool.fetchval("SELECT count(*) FROM cases") == 0
    checks = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'walk_in.check' AND outcome = 'forbidden'"
    )
    assert checks >= 2


async def test_a_form_filled_for_the_previous_person_is_not_filed_for_the_next(
    clerk: Client, pool: asyncpg.Pool
) -> None:
    await _start(clerk)
    form = (await clerk.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": WANG["id_number"]})).json()
    fields, files = _posted_form(form, WANG["id_number"], "walk-in-switch-01")
    # The next person in the queue is received before the first form was sent (another tab, a back button).
    assert (await _start(clerk, name="刘桂芳", id_number="320412196802141227")).status_code == 303
    filed = await clerk.post("/life-events/retirement/apply", data=fields, files=files, headers=await csrf(clerk))
    assert filed.status_code == 303 and filed.headers["location"] == "/console/walk-in?notice=switched"
    assert await pool.fetchval("SELECT count(*) FROM cases") == 0


async def test_the_walk_in_api_starts_shows_and_ends_a_visit(clerk: Client) -> None:
    bad = await post(clerk, "/api/v1/console/walk-ins", {"name": "", "id_number": "123", "identity_checked": False})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"name", "id_number", "identity_checked"}
    started = await post(clerk, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
    assert started.status_code == 201
    view = started.json()
    assert view["name"] == "王建国" and view["id_number_masked"] == "320412********0133"
    assert "id_number" not in view
    assert (await clerk.get("/api/v1/console/walk-ins/current")).json()["visit"] == view["visit"]
    ended = await clerk.delete("/api/v1/console/walk-ins/current", headers=await csrf(clerk))
    assert ended.status_code == 204
    assert (await clerk.get("/api/v1/console/walk-ins/current")).status_code == 404


async def _save_draft(clerk: Client, id_number: str) -> None:
    form = (await clerk.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": id_number})).json()
    saved = await clerk.put(
        "/api/v1/drafts/retirement",
        params={"on_behalf_of": id_number},
        json={"data": {"bank.name": "常州农商行"}, "version": 0, "form_checksum": form["checksum"]},
        headers=await csrf(clerk),
    )
    assert saved.status_code == 200, saved.text


async def test_a_visit_that_ends_leaves_no_draft_of_the_resident_on_the_server(
    clerk: Client, pool: asyncpg.Pool
) -> None:
    await _start(clerk)
    await _save_draft(clerk, WANG["id_number"])
    await _start(clerk)  # the same card checked again: the visit goes on, the draft too
    assert await pool.fetchval("SELECT count(*) FROM drafts") == 1
    await clerk.post("/console/walk-in/end", headers=await csrf(clerk))
    assert await pool.fetchval("SELECT count(*) FROM drafts") == 0

    await _start(clerk)
    await _save_draft(clerk, WANG["id_number"])
    await _start(clerk, name="刘桂芳", id_number="320412196802141227")  # the next person in the queue
    assert await pool.fetchval("SELECT count(*) FROM drafts") == 0


async def test_our_pages_name_the_person_in_a_header_not_the_url(clerk: Client) -> None:
    await _start(clerk)
    header = {"X-On-Behalf-Of": WANG["id_number"]}
    form = (await clerk.get("/api/v1/life-events/retirement/form", headers=header)).json()
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    assert fields["applicant.name"]["prefill"]["value"] == "王建国"
    draft = await clerk.get("/api/v1/drafts/retirement", headers=header)
    assert draft.status_code == 200
    saved = await clerk.put(
        "/api/v1/drafts/retirement",
        json={"data": {"bank.name": "常州农商行"}, "version": 0, "form_checksum": form["checksum"]},
        headers={**header, **await csrf(clerk)},
    )
    assert saved.status_code == 200
    someone_else = await clerk.get("/api/v1/drafts/retirement", headers={"X-On-Behalf-Of": "320402199403150119"})
    assert someone_else.status_code == 403


async def test_while_someone_is_at_the_window_no_answer_is_cached(clerk: Client) -> None:
    before = await clerk.get("/")
    assert before.headers.get("cache-control") != "no-store"
    await _start(clerk)
    for path in ("/", "/console", "/me", "/life-events/retirement", "/api/v1/console/walk-ins/current"):
        response = await clerk.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
