"""Every online item on its own (/items/{code}/apply, POST /api/v1/cases with `item`) and choosing the items of a
life event that apply (按需组合: `items`), over HTTP against PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
ELDERLY = "CZ-MZ-002"  # 尊老金申领: 网上办理 · 帮办代办, in no life event
MATERNITY = "CZ-YB-002"  # 生育津贴申领: optional in 新生儿出生
BIRTH_REQUIRED = ["CZ-WJ-001", "CZ-WJ-002", "CZ-GA-001", "CZ-YB-001", "CZ-RS-001"]
WANG = {"name": "王建国", "id_number": "320412196608080133"}  # lives in 武进区 (320412)


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50310))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def _file_item(client: Client, key: str, on_behalf_of: str | None = None, **extra: Any) -> httpx.Response:
    params = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
    answer = await client.get(f"/api/v1/items/{ELDERLY}/form", params=params)
    form = answer.json() if answer.status_code == 200 else {"sections": [], "materials": {"to_upload": []}}
    try:
        uploads = await upload_required_materials(client, ELDERLY, form, on_behalf_of)
    except AssertionError:
        uploads = []  # refused like the submission itself; the submission's answer is what the test checks
    body: dict[str, Any] = {
        "item": ELDERLY,
        "data": answers_for(form),
        "idempotency_key": key,
        "uploads": uploads,
        **extra,
    }
    if on_behalf_of:
        body["on_behalf_of"] = on_behalf_of
    return await post(client, "/api/v1/cases", body)


async def test_the_item_form_is_that_items_fields_and_materials_alone(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    response = await client.get(f"/api/v1/items/{ELDERLY}/form")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    form = response.json()
    assert form["item"] == ELDERLY and form["life_event"] == ELDERLY
    assert [i["code"] for i in form["items"]] == [ELDERLY]
    assert form["items"][0]["required"] is True and form["items"][0]["name"] == "尊老金申领"
    keys = {f["key"] for s in form["sections"] for f in s["fields"]}
    assert keys == {
        "applicant.name",
        "applicant.id_number",
        "applicant.phone",
        "household.address",
        "bank.name",
        "bank.account",
    }
    prefilled = {f["key"]: f.get("prefill") for s in form["sections"] for f in s["fields"]}
    assert prefilled["applicant.name"]["value"] == "张伟"
    held = {m["certificate_kind"] for m in form["materials"]["held"]}
    assert "id_card" in held  # 免提交: from his own library
    assert {m["code"].split(":")[0] for m in form["materials"]["to_upload"]} <= {ELDERLY}


async def test_only_an_item_offered_online_has_a_form_of_its_own(client: Client) -> None:
    assert (await client.get("/api/v1/items/CZ-GA-004/form")).status_code == 404  # 居民身份证换领: in person
    assert (await client.get("/api/v1/items/birth/form")).status_code == 404  # a life event is not an item
    assert (await client.get("/api/v1/items/NO-SUCH/form")).status_code == 404


async def test_a_resident_files_one_item_alone_and_its_name_shows_on_the_case(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    page = await client.get(f"/items/{ELDERLY}/apply")
    assert page.status_code == 200
    assert "尊老金申领：填写申请表" in page.text and f'data-item="{ELDERLY}"' in page.text
    assert f'action="/items/{ELDERLY}/apply"' in page.text
    created = await _file_item(client, "item-self-0001")
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    case = (await client.get(f"/api/v1/cases/{case_no}")).json()
    assert case["life_event_name"] == "尊老金申领"
    assert [t["item_code"] for t in case["tasks"]] == [ELDERLY]
    assert case["timeline"][0]["title"] == "申请已提交，共1个事项，已分送各部门"
    listed = (await client.get("/api/v1/cases")).json()
    assert [c["life_event_name"] for c in listed] == ["尊老金申领"]
    receipt = await client.get(f"/cases/{case_no}/receipt")
    assert receipt.status_code == 200 and "尊老金申领" in receipt.text
    tracked = (await client.get(created.json()["tracking_url"].removeprefix("http://localhost:8000"))).text
    assert "尊老金申领" in tracked


async def test_an_item_is_filed_alone_only_when_offered_online_and_never_with_a_life_event(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    in_person = await post(client, "/api/v1/cases", {"item": "CZ-GA-004", "data": {}, "idempotency_key": "item-x-0001"})
    assert in_person.status_code == 400
    assert in_person.json()["errors"]["item"] == "该事项不能单独在网上办理，请在办事指南中查看办理方式"
    both = {"item": ELDERLY, "life_event": "birth", "data": {}, "idempotency_key": "item-x-0002"}
    assert "item" in (await post(client, "/api/v1/cases", both)).json()["errors"]
    bundle_as_event = {"life_event": ELDERLY, "data": {}, "idempotency_key": "item-x-0003"}
    assert "life_event" in (await post(client, "/api/v1/cases", bundle_as_event)).json()["errors"]
    assert (await client.get("/items/CZ-GA-004/apply")).status_code == 404
    assert (await client.get(f"/life-events/{ELDERLY}/apply")).status_code == 404


async def test_a_helper_files_one_item_alone_under_a_delegation_and_is_refused_without_one(
    helper: Client, pool: asyncpg.Pool
) -> None:
    refused = await _file_item(helper, "item-helper-0001", ELDER["id_number"])
    assert refused.status_code == 403
    # A delegation for 退休 does not cover 尊老金 (no life event of its scope lists it)…
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=["retirement"]))).status_code == 201
    assert (await _file_item(helper, "item-helper-0002", ELDER["id_number"])).status_code == 403
    forbidden = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'delegation.check' AND outcome = 'forbidden'"
    )
    assert forbidden >= 2
    # …one for 全部事项 does.
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    created = await _file_item(helper, "item-helper-0003", ELDER["id_number"])
    assert created.status_code == 201, created.text
    row = await pool.fetchrow("SELECT life_event_code, channel, filed_as FROM cases")
    assert tuple(row) == (ELDERLY, "helper", "helper")
    receipt = await helper.get(f"/helper/cases/{created.json()['case_no']}/receipt")
    assert receipt.status_code == 200 and "尊老金申领" in receipt.text


async def test_a_delegation_for_a_life_event_covers_its_items_filed_alone(helper: Client) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=["death"]))).status_code == 201
    form = await helper.get("/api/v1/items/CZ-RS-005/form", params={"on_behalf_of": ELDER["id_number"]})
    assert form.status_code == 200  # 社会保障卡注销 is an item of 公民身后
    assert (
        await helper.get(f"/api/v1/items/{ELDERLY}/form", params={"on_behalf_of": ELDER["id_number"]})
    ).status_code == 403


async def test_a_clerk_files_one_item_alone_at_the_window(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="武进窗口", role="clerk", region="320412", department="civil_affairs"
    )
    data = {**WANG, "identity_checked": "true"}
    assert (await client.post("/console/walk-in", data=data, headers=await csrf(client))).status_code == 303
    page = await client.get(f"/items/{ELDERLY}/apply")
    assert page.status_code == 200 and "尊老金申领：为王建国填写申请表" in page.text
    form = (await client.get(f"/api/v1/items/{ELDERLY}/form", params={"on_behalf_of": WANG["id_number"]})).json()
    fields = {k: "true" if v is True else str(v) for k, v in answers_for(form).items()}
    fields.update({"idempotency_key": "item-window-0001", "on_behalf_of": WANG["id_number"]})
    files = [(f"materials.{m['code']}", ("", b"", "application/octet-stream")) for m in form["materials"]["to_upload"]]
    filed = await client.post(f"/items/{ELDERLY}/apply", data=fields, files=files, headers=await csrf(client))
    assert filed.status_code == 303, filed.text
    row = await pool.fetchrow("SELECT case_no, life_event_code, channel FROM cases")
    assert (row["life_event_code"], row["channel"]) == (ELDERLY, "window")
    assert filed.headers["location"] == f"/console/cases/{row['case_no']}/receipt"
    receipt = await client.get(filed.headers["location"])
    assert receipt.status_code == 200 and "尊老金申领" in receipt.text


# --- choosing the items of a life event -------------------------------------------------------------------------


async def _birth_form(client: Client, items: list[str] | None) -> dict[str, Any]:
    return (await client.get("/api/v1/life-events/birth/form", params={"items": items} if items else {})).json()


async def _file_birth(client: Client, key: str, items: list[str] | None, **data: Any) -> httpx.Response:
    form = await _birth_form(client, items)
    body: dict[str, Any] = {
        "life_event": "birth",
        "data": {**answers_for(form), "child.relationship": "father", **data},
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, "birth", form),
    }
    if items is not None:
        body["items"] = items
    return await post(client, "/api/v1/cases", body)


async def test_a_birth_case_without_maternity_allowance_has_no_such_task_nor_its_fields(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    without = await _birth_form(client, BIRTH_REQUIRED)
    keys = {f["key"] for s in without["sections"] for f in s["fields"]}
    assert "bank.account" not in keys and "mother.employer" not in keys  # asked only for 生育津贴
    assert MATERNITY not in str(without["materials"])
    choices = {i["code"]: i for i in without["items"]}
    assert choices[MATERNITY]["chosen"] is False and choices[MATERNITY]["required"] is False
    assert choices[MATERNITY]["applies_when"] == "母亲参加了职工基本医疗保险（生育保险）时可以申领"
    with_it = await _birth_form(client, [*BIRTH_REQUIRED, MATERNITY])
    assert "bank.account" in {f["key"] for s in with_it["sections"] for f in s["fields"]}

    created = await _file_birth(client, "birth-choice-0001", BIRTH_REQUIRED)
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    assert [t["item_code"] for t in case["tasks"]] == BIRTH_REQUIRED
    page = await client.get("/life-events/birth/apply", params={"items": BIRTH_REQUIRED})
    assert page.status_code == 200 and 'name="bank.account"' not in page.text
    assert "一张表同时申请5个事项" in page.text


async def test_required_items_cannot_be_dropped_and_foreign_ones_are_refused(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await _file_birth(client, "birth-choice-0002", [MATERNITY])
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    assert [t["item_code"] for t in case["tasks"]] == [*BIRTH_REQUIRED, MATERNITY]
    foreign = await post(
        client,
        "/api/v1/cases",
        {"life_event": "birth", "items": [ELDERLY], "data": {}, "idempotency_key": "birth-choice-0003"},
    )
    assert foreign.status_code == 400
    assert foreign.json()["errors"]["items"] == f"“新生儿出生”不包含事项 {ELDERLY}，请返回事项清单重新勾选"
    assert (await client.get("/api/v1/life-events/birth/form", params={"items": ["NOPE"]})).status_code == 400


async def test_the_registers_pre_tick_maternity_allowance_for_an_insured_mother_with_the_reason(
    client: Client, another_client: Callable[[], Client]
) -> None:
    await sign_up(client, new_authenticator(), LI_NA)  # her library holds a 社会保障卡
    page = await client.get("/life-events/birth/choose")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert f'name="items" value="{MATERNITY}" checked' in page.text
    assert "已为您勾选：母亲的电子证照中有社会保障卡（已参加职工医保）" in page.text
    assert f'<input type="hidden" name="items" value="{BIRTH_REQUIRED[0]}">' in page.text  # required: fixed
    form = await _birth_form(client, None)
    assert {i["code"]: i["chosen"] for i in form["items"]}[MATERNITY] is True
    # Her husband's page is not pre-ticked from her library (hers is not his to read).
    father = another_client()
    await sign_up(father, new_authenticator(), ZHANG_WEI)
    theirs = await father.get("/life-events/birth/choose")
    assert f'name="items" value="{MATERNITY}" checked' not in theirs.text and "已为您勾选" not in theirs.text


async def test_the_draft_keeps_the_choice_of_items(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    saved = await client.put(
        "/api/v1/drafts/birth",
        json={"data": {"child.name": "张小宝"}, "version": 0, "form_checksum": "x", "items": [MATERNITY]},
        headers=await csrf(client),
    )
    assert saved.status_code == 200, saved.text
    draft = (await client.get("/api/v1/drafts/birth")).json()
    assert draft["items"] == [*BIRTH_REQUIRED, MATERNITY]  # the required ones always with it
    # Opened again without a choice in the address, the apply page and the choosing page follow the draft.
    page = await client.get("/life-events/birth/apply")
    assert 'name="bank.account"' in page.text and "一张表同时申请6个事项" in page.text
    choose = await client.get("/life-events/birth/choose")
    assert f'name="items" value="{MATERNITY}" checked' in choose.text
    foreign = await client.put(
        "/api/v1/drafts/birth",
        json={"data": {}, "version": 1, "form_checksum": "x", "items": [ELDERLY]},
        headers=await csrf(client),
    )
    assert foreign.status_code == 400 and "items" in foreign.json()["errors"]


async def test_the_life_event_page_lists_when_each_item_applies_and_leads_to_the_choice(client: Client) -> None:
    page = await client.get("/life-events/birth")
    assert "适用：母亲参加了职工基本医疗保险（生育保险）时可以申领" in page.text
    assert 'href="/life-events/birth/choose"' in page.text


async def test_without_items_a_case_files_the_required_ones_and_those_the_registers_pre_tick(
    client: Client, another_client: Callable[[], Client]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    his = await _file_birth(client, "birth-default-0001", None)
    assert his.status_code == 201, his.text
    assert [t["item_code"] for t in (await client.get(f"/api/v1/cases/{his.json()['case_no']}")).json()["tasks"]] == (
        BIRTH_REQUIRED
    )
    mother = another_client()
    await sign_up(mother, new_authenticator(), LI_NA)
    form = await _birth_form(mother, None)
    assert "bank.account" in {f["key"] for s in form["sections"] for f in s["fields"]}  # 生育津贴 pre-ticked
