"""企业变更登记 and 企业注销 over HTTP (issue 18): filed only for an organisation, by its legal representative
or a 经办人 in scope, prefilled from the legal-person register; at 办结 the register is written back (变更: the new
name, address or legal representative, history kept, a new 营业执照; 注销: after the 20-day 公告 and 清税, status
注销, its 经办人 authorisations ended, its certificates void) — and what a person, an agent out of scope or a 注销
company cannot do. Drafts and uploads for the organisation are kept apart from the person's own, and the 法定代表人's
documents are the legal representative's by the register, whoever files."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, post, resident, signed_in_staff
from tests.case_helpers import PNG_1X1, answers_for
from tests.database_fixtures import TEST_SECRET_KEY
from tests.org_helpers import (
    HUANG_LEI,
    LEIDA,
    LEIDA_NAME,
    ORG,
    MakeClient,
    authorise,
    file_for_leida,
    org_form,
)

pytestmark = pytest.mark.anyio
CHANGE = "business-change"
CLOSURE = "business-closure"
NEW_NAME = "常州磊达智能科技有限公司"
NEW_ADDRESS = "江苏省常州市新北区太湖东路101号"
# 张伟 becomes the legal representative: named by the name and number the population register holds.
NEW_REP = {"new_legal_rep.name": ZHANG_WEI["name"], "new_legal_rep.id_number": ZHANG_WEI["id_number"]}
NO_CHANGE = {
    "change.name": "",
    "change.address": "",
    "change.business_scope": "",
    "new_legal_rep.name": "",
    "new_legal_rep.id_number": "",
}


async def _window_and_departments(
    make: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> tuple[httpx.AsyncClient, dict[str, httpx.AsyncClient]]:
    """The 新北 hall's clerk (黄磊 lives in 新北区: his online cases are received there) and its approvers."""
    clerk = await signed_in_staff(
        make, pool, settings, name="新北窗口", role="clerk", region="320411", department="market"
    )
    approvers = {
        department: await signed_in_staff(
            make, pool, settings, name=f"新北{department}", role="approver", region="320411", department=department
        )
        for department in ("market", "tax")
    }
    return clerk, approvers


async def _task_id(clerk: httpx.AsyncClient, case_no: str, item_code: str) -> int:
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    return next(t["id"] for t in case["tasks"] if t["item_code"] == item_code)


async def _move(client: httpx.AsyncClient, task_id: int, action: str) -> httpx.Response:
    return await post(client, f"/api/v1/console/tasks/{task_id}/transition", {"action": action})


async def _to_approved(clerk: httpx.AsyncClient, approver: httpx.AsyncClient, task_id: int) -> None:
    assert (await _move(clerk, task_id, "accept")).status_code == 200
    for action in ("review", "approve"):
        moved = await _move(approver, task_id, action)
        assert moved.status_code == 200, moved.text


async def _register_row(pool: asyncpg.Pool) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT o.name, o.address, o.status, p.name AS legal_rep FROM organisations o "
        "JOIN people p ON p.id = o.legal_rep_person_id WHERE o.credit_code = $1",
        LEIDA,
    )
    assert row is not None
    return dict(row.items())


# --- who may file ---------------------------------------------------------------------------------------------


async def test_a_person_cannot_file_a_business_change_or_closure_for_themself(another_client: MakeClient) -> None:
    zhang = await resident(another_client, ZHANG_WEI)
    for code in (CHANGE, CLOSURE, "CZ-SJ-002"):
        path = f"/api/v1/items/{code}/form" if code.startswith("CZ-") else f"/api/v1/life-events/{code}/form"
        refused = await zhang.get(path)
        assert refused.status_code == 403
        assert "须以企业身份办理" in refused.json()["detail"]
    body = {"life_event": CHANGE, "data": {}, "idempotency_key": "person-change-01"}
    assert (await post(zhang, "/api/v1/cases", body)).status_code == 403
    draft = await zhang.put(
        f"/api/v1/drafts/{CHANGE}", json={"data": {}, "version": 0, "form_checksum": "x"}, headers=await csrf(zhang)
    )
    assert draft.status_code == 403
    page = await zhang.get(f"/life-events/{CHANGE}/apply")
    assert (page.status_code, page.headers["location"]) == (303, "/me?notice=org-only#identity-heading")
    assert "这件事须以企业身份办理" in (await zhang.get("/me?notice=org-only")).text
    guide = await zhang.get(f"/life-events/{CHANGE}")
    assert guide.status_code == 200 and "须以企业身份办理" in guide.text


async def test_an_agent_files_a_change_only_within_scope(pool: asyncpg.Pool, another_client: MakeClient) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    agent = await authorise(huang, ZHANG_WEI, ["business"])
    out_of_scope = await org_form(zhang, CHANGE)
    assert out_of_scope.status_code == 403 and "超出授权范围" in out_of_scope.json()["detail"]
    body = {"life_event": CHANGE, "data": {}, "idempotency_key": "scope-change-01", "on_behalf_of_org": LEIDA}
    assert (await post(zhang, "/api/v1/cases", body)).status_code == 403
    refused = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'organisation.act' AND outcome = 'forbidden'"
    )
    assert refused >= 2
    await zhang.delete(f"/api/v1/organisations/{LEIDA}/agents/{agent}", headers=await csrf(zhang))
    await authorise(huang, ZHANG_WEI, [CHANGE])
    created = await file_for_leida(zhang, CHANGE, "scope-change-02", {"change.address": NEW_ADDRESS})
    assert created.status_code == 201, created.text
    case = await pool.fetchrow(
        "SELECT subject_org_credit_code, p.name FROM cases c JOIN people p ON p.id = c.applicant_person_id "
        "WHERE case_no = $1",
        created.json()["case_no"],
    )
    assert case is not None and (case["subject_org_credit_code"], case["name"]) == (LEIDA, "张伟")


async def test_the_change_form_is_prefilled_from_the_register_and_must_change_something(
    another_client: MakeClient,
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    form = (await org_form(huang, CHANGE)).json()
    prefill = {f["key"]: f["prefill"] for s in form["sections"] for f in s["fields"] if f.get("prefill")}
    assert prefill["company.name"] == {"value": LEIDA_NAME, "source": "法人库", "about": "company"}
    assert prefill["company.credit_code"]["value"] == LEIDA
    assert prefill["company.legal_rep_name"]["value"] == "黄磊"
    held = {m["code"]: m for m in form["materials"]["held"]}
    assert held["CZ-SJ-002:business_license"]["source"] == "企业电子证照"
    assert held["CZ-SJ-002:legal_rep_id_card"]["source"] == "本人电子证照"  # 黄磊 is the legal representative

    nothing = await file_for_leida(huang, CHANGE, "nothing-changes-1", NO_CHANGE)
    assert nothing.status_code == 400
    assert set(nothing.json()["errors"]) == {"change.name"}
    half = await file_for_leida(huang, CHANGE, "nothing-changes-2", {**NO_CHANGE, "new_legal_rep.name": "张伟"})
    assert half.status_code == 400
    assert set(half.json()["errors"]) == {"new_legal_rep.id_number"}


# --- 企业变更登记 written back ------------------------------------------------------------------------------------


async def test_completing_a_change_updates_the_register_keeps_its_history_and_reissues_the_licence(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    before = await _register_row(pool)
    people = {
        r["name"]: str(r["id"]) for r in await pool.fetch("SELECT id, name FROM people WHERE name IN ('黄磊', '张伟')")
    }
    clerk, approvers = await _window_and_departments(another_client, pool, settings)

    # A new legal representative the register does not hold under that name: 办结 is refused, nothing written.
    wrong = {"change.name": NEW_NAME, "new_legal_rep.name": "张三", "new_legal_rep.id_number": ZHANG_WEI["id_number"]}
    case_no = (await file_for_leida(huang, CHANGE, "change-wrong-rep", wrong)).json()["case_no"]
    task = await _task_id(clerk, case_no, "CZ-SJ-002")
    await _to_approved(clerk, approvers["market"], task)
    refused = await _move(approvers["market"], task, "complete")
    assert refused.status_code == 409 and "人口库中不一致" in refused.json()["detail"]
    assert await _register_row(pool) == before

    changes = {**NO_CHANGE, "change.name": NEW_NAME, "change.address": NEW_ADDRESS, **NEW_REP}
    created = await file_for_leida(huang, CHANGE, "change-all-three", changes)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    task = await _task_id(clerk, case_no, "CZ-SJ-002")
    await _to_approved(clerk, approvers["market"], task)
    done = await _move(approvers["market"], task, "complete")
    assert done.status_code == 200, done.text

    assert await _register_row(pool) == {
        "name": NEW_NAME,
        "address": NEW_ADDRESS,
        "status": "active",
        "legal_rep": "张伟",
    }
    history = await pool.fetch(
        "SELECT h.field, h.old_value, h.new_value FROM organisation_changes h JOIN cases c ON c.id = h.case_id "
        "WHERE c.case_no = $1 ORDER BY h.id",
        case_no,
    )
    # Each change with the value before it; the legal representative by person id, never by ID number.
    assert [tuple(r.values()) for r in history] == [
        ("name", LEIDA_NAME, NEW_NAME),
        ("address", before["address"], NEW_ADDRESS),
        ("legal_rep_person_id", people["黄磊"], people["张伟"]),
    ]
    licence = await pool.fetchrow(
        "SELECT e.issued_on, e.voided_at, c.case_no FROM e_certificates e LEFT JOIN cases c ON c.id = e.case_id "
        "WHERE e.org_credit_code = $1 AND e.kind = 'business_license'",
        LEIDA,
    )
    assert licence is not None and (licence["case_no"], licence["voided_at"]) == (case_no, None)
    # The legal representative is the register's from now on: 张伟 acts for the company, 黄磊 no longer.
    assert [(o["uscc"], o["role"]) for o in (await zhang.get("/api/v1/organisations/mine")).json()] == [
        (LEIDA, "legal_rep")
    ]
    assert (await huang.get("/api/v1/organisations/mine")).json() == []
    assert (await org_form(huang, CHANGE)).status_code == 403
    timeline = await pool.fetchval(
        "SELECT string_agg(t.title, '|') FROM timeline_events t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1",
        case_no,
    )
    assert "企业变更登记：法人库已更新，营业执照已换发" in timeline


async def test_a_completed_organisation_case_offers_no_correction_its_certificates_change_by_registration(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    """更正 corrects a person's certificate; an organisation's 营业执照 changes by 变更登记. Its case page, to the legal
    representative who filed it and to a 经办人, offers no 申请更正, and the address typed by hand is no page (to
    the one who filed it, one that says where such a change is made)."""
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    await authorise(huang, ZHANG_WEI)
    clerk, approvers = await _window_and_departments(another_client, pool, settings)
    created = await file_for_leida(huang, CHANGE, "change-no-correction", {**NO_CHANGE, "change.address": NEW_ADDRESS})
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    task = await _task_id(clerk, case_no, "CZ-SJ-002")
    await _to_approved(clerk, approvers["market"], task)
    assert (await _move(approvers["market"], task, "complete")).status_code == 200

    for reader in (huang, zhang):
        page = await reader.get(f"/cases/{case_no}")
        assert page.status_code == 200 and "已办结" in page.text
        assert "申请更正" not in page.text and "/corrections/new" not in page.text
        assert (await reader.get(f"/cases/{case_no}/corrections/new")).status_code == 404
    # The one who filed it is told where such a change is made.
    assert "企业变更登记" in (await huang.get(f"/cases/{case_no}/corrections/new")).text


# --- 企业注销 -------------------------------------------------------------------------------------------------------


async def test_deregistration_waits_for_the_notice_and_the_tax_clearance_then_ends_the_company(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    agent = await authorise(huang, ZHANG_WEI)
    clerk, approvers = await _window_and_departments(another_client, pool, settings)
    created = await file_for_leida(huang, CLOSURE, "closure-leida-01")
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]

    market = await _task_id(clerk, case_no, "CZ-SJ-003")
    await _to_approved(clerk, approvers["market"], market)
    # 受理 started the 20-day 公告: a waiting step on the case, and 办结 is refused until it has run.
    waiting = await pool.fetchrow(
        "SELECT title, note FROM timeline_events WHERE task_id = $1 AND status = 'notice_period'", market
    )
    assert waiting is not None and waiting["title"] == "企业简易注销：公告期20日"
    too_soon = await _move(approvers["market"], market, "complete")
    assert too_soon.status_code == 409 and "公告期" in too_soon.json()["detail"]
    await pool.execute(
        "UPDATE timeline_events SET at = at - interval '21 days' WHERE task_id = $1 AND status = 'accepted'", market
    )
    # The 公告 has run, but no 清税证明 yet.
    no_clearance = await _move(approvers["market"], market, "complete")
    assert no_clearance.status_code == 409 and "清税证明" in no_clearance.json()["detail"]
    assert (await _register_row(pool))["status"] == "active"

    tax = await _task_id(clerk, case_no, "CZ-SW-003")
    await _to_approved(clerk, approvers["tax"], tax)
    assert (await _move(approvers["tax"], tax, "complete")).status_code == 200
    clearance = await pool.fetchval(
        "SELECT count(*) FROM e_certificates WHERE org_credit_code = $1 AND kind = 'tax_clearance'", LEIDA
    )
    assert clearance == 1  # into the company's library, not its 经办人's

    done = await _move(approvers["market"], market, "complete")
    assert done.status_code == 200, done.text
    assert (await _register_row(pool))["status"] == "deregistered"
    assert (
        await pool.fetchval("SELECT revoked_by FROM organisation_agents WHERE id = $1", agent) == f"register:{case_no}"
    )
    library = {
        r["kind"]: r["voided_at"] is not None
        for r in await pool.fetch(
            "SELECT kind, voided_at FROM e_certificates WHERE org_credit_code = $1 AND person_id IS NULL", LEIDA
        )
    }
    assert library == {"business_license": True, "tax_clearance": False, "deregistration_notice": False}
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM organisation_changes h JOIN organisations o ON o.id = h.organisation_id "
            "WHERE o.credit_code = $1 AND h.field = 'status' AND h.new_value = 'deregistered'",
            LEIDA,
        )
        == 1
    )

    # A company 注销 can no longer file, by its former legal representative or its former 经办人.
    for person in (huang, zhang):
        refused = await org_form(person, CHANGE)
        assert refused.status_code == 403
        assert (await person.get("/api/v1/organisations/mine")).json() == []
    assert "已注销" in (await org_form(huang, CHANGE)).json()["detail"]
    again = await post(
        huang,
        "/api/v1/cases",
        {"life_event": CHANGE, "data": {}, "idempotency_key": "after-closure-1", "on_behalf_of_org": LEIDA},
    )
    assert again.status_code == 403


# --- drafts, uploads and the legal representative's documents ---------------------------------------------------


async def test_filing_personally_and_for_the_organisation_keeps_two_drafts(another_client: MakeClient) -> None:
    huang = await resident(another_client, HUANG_LEI)
    path = "/api/v1/drafts/business"
    own = await huang.put(
        path,
        json={"data": {"company.name": "个人的草稿"}, "version": 0, "form_checksum": "x"},
        headers=await csrf(huang),
    )
    assert own.status_code == 200, own.text
    company = await huang.put(
        path,
        json={"data": {"company.name": "企业的草稿"}, "version": 0, "form_checksum": "x"},
        headers={**await csrf(huang), ORG: LEIDA},
    )
    assert company.status_code == 200, company.text  # its own slot: not a stale version of the person's
    assert (await huang.get(path)).json()["data"]["company.name"] == "个人的草稿"
    assert (await huang.get(path, headers={ORG: LEIDA})).json()["data"]["company.name"] == "企业的草稿"


async def test_an_upload_for_the_organisation_is_not_attached_to_a_personal_case(another_client: MakeClient) -> None:
    huang = await resident(another_client, HUANG_LEI)
    form = (await huang.get("/api/v1/life-events/business/form")).json()
    uploads = {}
    for material in form["materials"]["to_upload"]:
        if material["required"]:
            response = await huang.post(
                "/api/v1/uploads",
                data={"life_event": "business", "material_code": material["code"], "on_behalf_of_org": LEIDA},
                files={"file": ("scan.png", PNG_1X1, "image/png")},
                headers=await csrf(huang),
            )
            uploads[material["code"]] = response.json()["token"]
    body = {"life_event": "business", "data": answers_for(form), "idempotency_key": "mixed-up-01"}
    personal = await post(huang, "/api/v1/cases", {**body, "uploads": list(uploads.values())})
    assert personal.status_code == 400
    assert {f"materials.{code}" for code in uploads} <= set(personal.json()["errors"])


async def test_an_agent_files_with_the_legal_representatives_id_card_as_the_register_names_him(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    """法定代表人居民身份证 is 黄磊's (the register's legal representative) when his 经办人 张伟 files, never
    张伟's own; a department's system reads it, and the company's 营业执照, from their libraries."""
    from tests.test_exchange_http import _bearer, _system

    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    await authorise(huang, ZHANG_WEI)
    form = (await org_form(zhang, "CZ-GA-002")).json()
    held = {m["code"]: m for m in form["materials"]["held"]}
    assert held["CZ-GA-002:legal_rep_id_card"]["source"] == "法定代表人的电子证照（法人库登记）"
    assert held["CZ-GA-002:legal_rep_id_card"]["number_masked"] == ""  # 黄磊's number is not shown to his agent
    created = await file_for_leida(zhang, "CZ-GA-002", "seal-by-agent-1")
    assert created.status_code == 201, created.text

    system, token, _ = await _system(another_client, pool, department="police")
    listed = (await system.get("/api/exchange/v1/tasks", headers=_bearer(token))).json()["items"]
    task = next(t for t in listed if t["case_no"] == created.json()["case_no"])
    materials = {m["code"]: m for m in task["materials"]}
    assert materials["CZ-GA-002:business_license"]["provided"] == "e_certificate"
    legal_rep_card = materials["CZ-GA-002:legal_rep_id_card"]
    assert legal_rep_card["provided"] == "e_certificate"
    assert legal_rep_card["certificate"]["number_masked"] == "320411********3113"  # 黄磊's, not 张伟's


async def test_a_new_legal_representatives_id_card_waits_for_their_consent(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    """新任法定代表人居民身份证 is the new legal representative's: typed by number, used only once they agree."""
    huang = await resident(another_client, HUANG_LEI)
    await resident(another_client, LI_NA)
    rep = {"new_legal_rep.name": LI_NA["name"], "new_legal_rep.id_number": LI_NA["id_number"]}
    form = (await org_form(huang, CHANGE)).json()
    answers = {**answers_for(form), **rep}
    created = await huang.post(
        "/api/v1/cases",
        json={
            "life_event": CHANGE,
            "data": answers,
            "idempotency_key": "consent-new-rep-1",
            "uploads": await _required_uploads(huang, form),
        },
        headers={**await csrf(huang), ORG: LEIDA},
    )
    assert created.status_code == 201, created.text
    asked = await pool.fetchval(
        "SELECT about FROM consents c JOIN cases k ON k.id = c.case_id WHERE k.case_no = $1", created.json()["case_no"]
    )
    assert asked == "new_legal_rep"


async def _required_uploads(client: httpx.AsyncClient, form: dict[str, Any]) -> list[str]:
    tokens = []
    for material in form["materials"]["to_upload"]:
        if material["required"]:
            response = await client.post(
                "/api/v1/uploads",
                data={"life_event": form["life_event"], "material_code": material["code"], "on_behalf_of_org": LEIDA},
                files={"file": ("scan.png", PNG_1X1, "image/png")},
                headers=await csrf(client),
            )
            tokens.append(response.json()["token"])
    return tokens


async def test_a_change_of_business_scope_is_kept_in_the_register_and_its_history_and_carried_on_the_licence(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    """经营范围 is registered like the name and the address: a change of it alone is a change (its history row, the
    register's value, the licence reissued with it), the same scope again changes nothing, and a later change of the
    name keeps the scope on the new licence."""
    huang = await resident(another_client, HUANG_LEI)
    clerk, approvers = await _window_and_departments(another_client, pool, settings)

    async def completed(key: str, answers: dict[str, str]) -> tuple[str, httpx.Response]:
        created = await file_for_leida(huang, CHANGE, key, {**NO_CHANGE, **answers})
        assert created.status_code == 201, created.text
        task = await _task_id(clerk, created.json()["case_no"], "CZ-SJ-002")
        await _to_approved(clerk, approvers["market"], task)
        return created.json()["case_no"], await _move(approvers["market"], task, "complete")

    scope = "软件开发；信息技术咨询服务；人工智能应用软件开发"
    case_no, done = await completed("change-scope-1", {"change.business_scope": scope})
    assert done.status_code == 200, done.text
    history = await pool.fetch(
        "SELECT h.field, h.old_value, h.new_value FROM organisation_changes h JOIN cases c ON c.id = h.case_id "
        "WHERE c.case_no = $1",
        case_no,
    )
    assert [tuple(r.values()) for r in history] == [("business_scope", "", scope)]
    assert await pool.fetchval("SELECT business_scope FROM organisations WHERE credit_code = $1", LEIDA) == scope
    register = (await huang.get(f"/api/v1/organisations/{LEIDA}/register")).json()
    assert register["business_scope"] == scope
    newest = register["changes"][0]
    assert (newest["field"], newest["label"], newest["after"]) == ("business_scope", "经营范围", scope)
    await huang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(huang))
    page = (await huang.get("/org/register")).text
    assert page.count(scope) == 2  # 登记信息's 经营范围 and the change's 变更后

    _, same = await completed("change-scope-2", {"change.business_scope": scope})
    assert same.status_code == 409 and "没有需要变更的事项" in same.json()["detail"]

    _, renamed = await completed("change-scope-3", {"change.name": NEW_NAME})
    assert renamed.status_code == 200, renamed.text
    sealed = await pool.fetchval(
        "SELECT data_enc FROM e_certificates WHERE org_credit_code = $1 AND kind = 'business_license' "
        "AND voided_at IS NULL",
        LEIDA,
    )
    licence = PiiCipher(TEST_SECRET_KEY).decrypt_document(sealed)
    assert (licence["name"], licence["business_scope"]) == (NEW_NAME, scope)
