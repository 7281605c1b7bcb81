"""法人办事 over HTTP (issue 18): a legal representative acts for their organisation at once and authorises 经办人
(scope, expiry within a year, revocable, audited); everyone else gets one 403 that tells nothing about the
organisation's agents; a case filed for an organisation has it as subject, and its 经办人 see it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.catalogue import service as catalogue
from app.forms import parties
from app.forms import service as forms
from app.forms import store as forms_store
from app.people.identity import credit_code_check_char
from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, post, resident, staff_client_sign_up
from tests.case_helpers import PNG_1X1, answers_for
from tests.database_fixtures import TEST_SECRET_KEY

pytestmark = pytest.mark.anyio
HUANG_LEI = {"name": "黄磊", "id_number": "320411198309093113"}
WANG_MEIFANG = {"name": "王美芳", "id_number": "320402197005202623"}
LEIDA = "91320411MA1T4U5W2G"  # 常州磊达电子科技有限公司, 黄磊 its legal representative
MEIFANG_SHOP = "92320402MA1X6Y7A0U"  # 天宁区美芳便利店, 王美芳's
NOBODYS = "91350100M000100Y43"  # a well-formed code the register does not hold
FORM = "/api/v1/life-events/business/form"
ORG = "X-On-Behalf-Of-Org"


def _agent(person: dict[str, str], **overrides: Any) -> dict[str, Any]:
    expires = (date.today() + timedelta(days=90)).isoformat()
    return {
        "id_number": person["id_number"],
        "name": person["name"],
        "scope": "all",
        "expires_on": expires,
        **overrides,
    }


async def _authorise(legal_rep: httpx.AsyncClient, person: dict[str, str], **overrides: Any) -> int:
    response = await post(legal_rep, f"/api/v1/organisations/{LEIDA}/agents", _agent(person, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _file_for_leida(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = (await client.get(FORM, headers={ORG: LEIDA})).json()
    data = answers_for(form)
    uploads = []
    for material in form["materials"]["to_upload"]:
        if material["required"]:
            response = await client.post(
                "/api/v1/uploads",
                data={"life_event": "business", "material_code": material["code"], "on_behalf_of_org": LEIDA},
                files={"file": ("scan.png", PNG_1X1, "image/png")},
                headers=await csrf(client),
            )
            assert response.status_code == 201, response.text
            uploads.append(response.json()["token"])
    body = {"life_event": "business", "data": data, "idempotency_key": key, "uploads": uploads}
    return await client.post("/api/v1/cases", json=body, headers={**await csrf(client), ORG: LEIDA})


async def test_the_legal_representative_acts_for_the_organisation_at_once(
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    mine = (await huang.get("/api/v1/organisations/mine")).json()
    assert mine == [
        {"uscc": LEIDA, "name": "常州磊达电子科技有限公司", "role": "legal_rep", "scope": None, "expires_on": None}
    ]
    form = await huang.get(FORM, headers={ORG: LEIDA})
    assert form.status_code == 200
    prefill = {f["key"]: f["prefill"] for s in form.json()["sections"] for f in s["fields"] if f.get("prefill")}
    assert prefill["company.name"]["value"] == "常州磊达电子科技有限公司"
    assert prefill["company.name"]["source"] == "法人库"
    assert prefill["company.address"]["value"] == "江苏省常州市新北区太湖东路9号"
    assert prefill["company.type"]["value"] == "llc"
    assert prefill["company.legal_rep_name"]["value"] == "黄磊"
    assert prefill["company.legal_rep_id_number"]["value"] == "320411********3113"


async def test_someone_else_gets_one_403_whether_or_not_the_organisation_exists(
    pool: asyncpg.Pool, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    wang = await resident(another_client, WANG_MEIFANG)
    answers = [await wang.get(FORM, headers={ORG: code}) for code in (LEIDA, NOBODYS, "not-a-code")] + [
        await wang.get(f"/api/v1/organisations/{code}/agents") for code in (LEIDA, NOBODYS)
    ]
    assert {r.status_code for r in answers} == {403}
    assert len({r.json()["detail"] for r in answers}) == 1
    adding = await post(wang, f"/api/v1/organisations/{LEIDA}/agents", _agent(WANG_MEIFANG))
    assert adding.status_code == 403
    submitted = await wang.post(
        "/api/v1/cases",
        json={"life_event": "business", "data": {}, "idempotency_key": "org-wang-0001", "on_behalf_of_org": LEIDA},
        headers=await csrf(wang),
    )
    assert submitted.status_code == 403
    refused = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'organisation.act' AND outcome = 'forbidden'"
    )
    assert refused >= 6
    assert [o["uscc"] for o in (await wang.get("/api/v1/organisations/mine")).json()] == [MEIFANG_SHOP]


async def test_an_agent_acts_within_scope_until_revoked_and_sees_the_organisations_cases(
    pool: asyncpg.Pool, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    assert (await zhang.get(FORM, headers={ORG: LEIDA})).status_code == 403
    agent_id = await _authorise(huang, ZHANG_WEI)
    listed = (await huang.get(f"/api/v1/organisations/{LEIDA}/agents")).json()
    assert [(a["id"], a["name"], a["id_number_masked"], a["status"]) for a in listed] == [
        (agent_id, "张伟", "320402********0119", "active")
    ]
    assert [(o["uscc"], o["role"]) for o in (await zhang.get("/api/v1/organisations/mine")).json()] == [
        (LEIDA, "agent")
    ]
    # An agent may not see or authorise the organisation's other agents.
    assert (await zhang.get(f"/api/v1/organisations/{LEIDA}/agents")).status_code == 403
    assert (await post(zhang, f"/api/v1/organisations/{LEIDA}/agents", _agent(WANG_MEIFANG))).status_code == 403

    created = await _file_for_leida(zhang, "org-zhang-0001")
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    assert await pool.fetchval("SELECT subject_org_credit_code FROM cases WHERE case_no = $1", case_no) == LEIDA
    # The legal representative sees the case the agent filed for the organisation, and may open it.
    org_cases = (await huang.get(f"/api/v1/organisations/{LEIDA}/cases")).json()
    assert [c["case_no"] for c in org_cases] == [case_no]
    assert (await huang.get(f"/api/v1/cases/{case_no}")).status_code == 200

    revoked = await zhang.delete(f"/api/v1/organisations/{LEIDA}/agents/{agent_id}", headers=await csrf(zhang))
    assert revoked.status_code == 204
    assert (await zhang.get(FORM, headers={ORG: LEIDA})).status_code == 403
    assert (await zhang.get(f"/api/v1/organisations/{LEIDA}/cases")).status_code == 403
    assert (await zhang.get("/api/v1/organisations/mine")).json() == []


async def test_an_agent_outside_scope_or_past_expiry_is_refused(
    pool: asyncpg.Pool, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    await _authorise(huang, ZHANG_WEI, scope=["birth"])
    assert (await zhang.get(FORM, headers={ORG: LEIDA})).status_code == 403
    assert (await zhang.get("/api/v1/life-events/birth/form", headers={ORG: LEIDA})).status_code == 200
    await pool.execute("UPDATE organisation_agents SET expires_on = current_date - 1")
    assert (await zhang.get("/api/v1/life-events/birth/form", headers={ORG: LEIDA})).status_code == 403
    assert (await huang.get(f"/api/v1/organisations/{LEIDA}/agents")).json()[0]["status"] == "expired"


async def test_an_authorisation_needs_a_registered_person_a_scope_and_an_expiry_within_a_year(
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    too_late = (date.today() + timedelta(days=400)).isoformat()
    response = await post(
        huang,
        f"/api/v1/organisations/{LEIDA}/agents",
        _agent({"name": "李四", "id_number": ZHANG_WEI["id_number"]}, scope=[], expires_on=too_late),
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"id_number", "scope", "expires_on"}
    own = await post(huang, f"/api/v1/organisations/{LEIDA}/agents", _agent(HUANG_LEI))
    assert own.status_code == 400


async def test_a_deregistered_organisation_cannot_be_acted_for(
    pool: asyncpg.Pool, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    await pool.execute("UPDATE organisations SET status = 'deregistered' WHERE credit_code = $1", LEIDA)
    refused = await huang.get(FORM, headers={ORG: LEIDA})
    assert refused.status_code == 403
    assert "已注销" in refused.json()["detail"]
    assert (await huang.get("/api/v1/organisations/mine")).json() == []


async def test_the_organisations_certificates_stand_for_its_materials(pool: asyncpg.Pool) -> None:
    """A company material is held from the library of the organisation acted for (its 营业执照), never from a
    person's; filed for nobody, it is to be uploaded."""
    cipher = PiiCipher(TEST_SECRET_KEY)
    items = [i for i in await catalogue.items_of_life_event(pool, "business") if i.code != "CZ-SJ-001"]
    form = forms.merge_form("business", items, await forms_store.load_catalogue(pool))
    company = await parties.company_of(pool, cipher, LEIDA)
    assert company is not None
    applicant = await parties.applicant_of(pool, cipher, company.organisation.legal_rep_person_id)
    held, _ = parties.sort_materials(form, await parties.resolve(pool, cipher, form, applicant, {}, company))
    licences = [(need.about, party.source, cert.kind) for need, party, cert in held if need.about == "company"]
    assert licences and set(licences) == {("company", "企业电子证照", "business_license")}
    _, rest = parties.sort_materials(form, await parties.resolve(pool, cipher, form, applicant, {}))
    assert {m.state for m in rest if m.about == "company"} == {"upload"}


async def test_switching_to_the_organisation_names_it_on_every_page_and_prefills_the_apply_page(
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    me = await huang.get("/me")
    assert "企业办事：常州磊达电子科技有限公司" in me.text and 'id="org-banner"' not in me.text
    switched = await huang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(huang))
    assert (switched.status_code, switched.headers["location"]) == (303, "/org/cases")
    page = await huang.get("/org/cases")
    assert page.status_code == 200
    assert 'id="org-banner"' in page.text and "91320411MA1T4U5W2G" in page.text
    assert "营业执照" in page.text  # the organisation's library
    apply = await huang.get("/life-events/business/apply")
    assert apply.status_code == 200
    assert 'name="on_behalf_of_org" value="91320411MA1T4U5W2G"' in apply.text
    assert "企业信息，取自法人库，不能修改" in apply.text
    assert 'value="常州磊达电子科技有限公司" readonly' in apply.text
    back = await huang.post("/org/switch", data={"uscc": ""}, headers=await csrf(huang))
    assert back.status_code == 303
    assert 'id="org-banner"' not in (await huang.get("/me")).text
    assert "以企业身份" not in (await huang.get("/life-events/business/apply")).text


async def test_someone_else_cannot_switch_to_the_organisation(another_client: Callable[[], httpx.AsyncClient]) -> None:
    wang = await resident(another_client, WANG_MEIFANG)
    refused = await wang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(wang))
    assert refused.status_code == 403
    assert (await wang.get("/org/cases")).status_code == 303


async def test_the_legal_representative_authorises_an_agent_on_the_page_and_hears_of_their_filings(
    pool: asyncpg.Pool, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    await huang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(huang))
    wrong = await huang.post(
        "/org/agents", data={"name": "张伟", "id_number": "", "scope": "all"}, headers=await csrf(huang)
    )
    assert wrong.status_code == 400
    assert "授权有效期须在今天之后、一年以内" in wrong.text
    expires = (date.today() + timedelta(days=30)).isoformat()
    added = await huang.post(
        "/org/agents",
        data={"name": "张伟", "id_number": ZHANG_WEI["id_number"], "scope": "business", "expires_on": expires},
        headers=await csrf(huang),
    )
    assert added.status_code == 303
    assert "320402********0119" in (await huang.get("/org/cases")).text
    created = await _file_for_leida(zhang, "org-zhang-0002")
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    huang_account = await pool.fetchval(
        "SELECT a.id FROM accounts a JOIN people p ON p.id = a.person_id WHERE p.name = '黄磊'"
    )
    told = await pool.fetchval(
        "SELECT count(*) FROM inbox_entries WHERE account_id = $1 AND url LIKE $2", huang_account, f"%{case_no}%"
    )
    assert told >= 1
    assert case_no in (await huang.get("/org/cases")).text


async def test_the_back_office_shows_the_organisation_as_the_subject_and_the_person_as_its_agent(
    pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    await _authorise(huang, ZHANG_WEI)
    case_no = (await _file_for_leida(zhang, "org-zhang-0003")).json()["case_no"]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    queue = await clerk.get("/console")
    assert "申请单位" in queue.text and "常州磊达电子科技有限公司" in queue.text
    page = await clerk.get(f"/console/cases/{case_no}")
    assert page.status_code == 200
    assert "统一社会信用代码 91320411MA1T4U5W2G" in page.text and "经办人" in page.text


async def test_completing_business_registration_enters_the_company_with_its_founder_and_licence(
    pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    """企业开办: at 办结 of 设立登记 the market-supervision approver assigns the code (checked, unique); the company
    enters the register with the applicant as legal representative, its 营业执照 in its own library, and the case
    becomes the company's."""
    zhang = await resident(another_client, ZHANG_WEI)
    form = (await zhang.get(FORM)).json()
    data = {
        **answers_for(form),
        "company.name": "常州张伟新材料有限公司",
        "company.address": "常州市天宁区青龙东路1号",
        "company.type": "partnership",  # recorded by its label in db/seed/form.json: 合伙企业
        "company.business_scope": "新材料技术研发；合成材料销售",
    }
    uploads = []
    for material in form["materials"]["to_upload"]:
        if material["required"]:
            response = await zhang.post(
                "/api/v1/uploads",
                data={"life_event": "business", "material_code": material["code"]},
                files={"file": ("scan.png", PNG_1X1, "image/png")},
                headers=await csrf(zhang),
            )
            uploads.append(response.json()["token"])
    body = {"life_event": "business", "data": data, "idempotency_key": "biz-zhang-0001", "uploads": uploads}
    case_no = (await post(zhang, "/api/v1/cases", body)).json()["case_no"]
    clerk, market = another_client(), another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    await staff_client_sign_up(
        market, pool, settings.secret_key, name="钱登记", role="approver", region="320402", department="market"
    )
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    task_id = next(t["id"] for t in case["tasks"] if t["item_code"] == "CZ-SJ-001")
    transition = f"/api/v1/console/tasks/{task_id}/transition"
    assert (await post(clerk, transition, {"action": "accept"})).status_code == 200
    for action in ("review", "approve"):
        assert (await post(market, transition, {"action": action})).status_code == 200
    bad = await post(market, transition, {"action": "complete", "credit_code": "91320402MA1ABCDEF0"})
    assert bad.status_code == 400 and "credit_code" in bad.json()["errors"]
    taken = await post(market, transition, {"action": "complete", "credit_code": LEIDA})
    assert taken.status_code == 400 and "已登记给其他企业" in taken.json()["errors"]["credit_code"]
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "approved"

    new_code = "91320402MA1Y2W3A5" + credit_code_check_char("91320402MA1Y2W3A5")
    done = await post(market, transition, {"action": "complete", "credit_code": new_code})
    assert done.status_code == 200, done.text
    organisation = await pool.fetchrow(
        "SELECT o.name, o.org_type, o.status, o.business_scope, p.name AS legal_rep FROM organisations o "
        "JOIN people p ON p.id = o.legal_rep_person_id WHERE o.credit_code = $1",
        new_code,
    )
    assert organisation is not None and dict(organisation.items()) == {
        "name": "常州张伟新材料有限公司",
        "org_type": "合伙企业",
        "status": "active",
        "business_scope": "新材料技术研发；合成材料销售",  # registered, not only printed on the licence
        "legal_rep": "张伟",
    }
    assert await pool.fetchval("SELECT subject_org_credit_code FROM cases WHERE case_no = $1", case_no) == new_code
    licences = await pool.fetch(
        "SELECT org_credit_code, person_id FROM e_certificates WHERE kind = 'business_license' AND case_id = "
        "(SELECT id FROM cases WHERE case_no = $1)",
        case_no,
    )
    assert [(r["org_credit_code"], r["person_id"]) for r in licences] == [(new_code, None)]
    mine = (await zhang.get("/api/v1/organisations/mine")).json()
    assert [(o["uscc"], o["role"]) for o in mine] == [(new_code, "legal_rep")]
    assert case_no in [c["case_no"] for c in (await zhang.get(f"/api/v1/organisations/{new_code}/cases")).json()]
