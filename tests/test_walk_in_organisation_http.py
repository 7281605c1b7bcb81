"""窗口收件 for an organisation (法人办事 at a window, issue 18): after checking the 经办人's ID card the clerk checks
the organisation's authority — its legal representative or a 经办人 in force by the register, or a paper 授权委托书 the
clerk has seen (audited) — and files with the organisation as subject. Everything else is refused: a clerk who did
not check the organisation, a person with no authority and no paper, a 注销 organisation, another visit's choice."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, post, resident, staff_client_sign_up
from tests.case_helpers import answers_for
from tests.org_helpers import HUANG_LEI, LEIDA, LEIDA_NAME, ORG, MakeClient, authorise

pytestmark = pytest.mark.anyio
CHANGE = "business-change"
ORGANISATION = "/api/v1/console/walk-ins/current/organisation"


async def _clerk(make: MakeClient, pool: asyncpg.Pool, settings: Settings) -> httpx.AsyncClient:
    clerk = make()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="武进窗口", role="clerk", region="320412", department="market"
    )
    return clerk


async def _receive(clerk: httpx.AsyncClient, person: dict[str, str]) -> None:
    started = await post(clerk, "/api/v1/console/walk-ins", {**person, "identity_checked": True})
    assert started.status_code == 201, started.text


async def _file(clerk: httpx.AsyncClient, person: dict[str, str], key: str, org: str | None = LEIDA) -> httpx.Response:
    """What the apply page sends at the window: the person's number, and the organisation's code (its header)."""
    headers = {ORG: org} if org else {}
    params = {"on_behalf_of": person["id_number"]}
    form = await clerk.get(f"/api/v1/life-events/{CHANGE}/form", params=params, headers=headers)
    data: dict[str, Any] = answers_for(form.json()) if form.status_code == 200 else {}
    data |= {"new_legal_rep.name": "", "new_legal_rep.id_number": "", "change.address": "常州市新北区太湖东路101号"}
    body = {"life_event": CHANGE, "data": data, "idempotency_key": key, "on_behalf_of": person["id_number"]}
    return await clerk.post("/api/v1/cases", json=body, headers={**await csrf(clerk), **headers})


async def test_a_legal_representative_at_the_window_files_for_his_company(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    clerk = await _clerk(another_client, pool, settings)
    await _receive(clerk, HUANG_LEI)
    chosen = await post(clerk, ORGANISATION, {"uscc": LEIDA})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["organisation"] == {
        "uscc": LEIDA,
        "name": LEIDA_NAME,
        "role": "legal_rep",
        "role_label": "法定代表人",
        "paper_checked": False,
    }
    form = await clerk.get(
        f"/api/v1/life-events/{CHANGE}/form", params={"on_behalf_of": HUANG_LEI["id_number"]}, headers={ORG: LEIDA}
    )
    prefill = {
        f["key"]: f["prefill"]["value"] for s in form.json()["sections"] for f in s["fields"] if f.get("prefill")
    }
    assert prefill["company.name"] == LEIDA_NAME
    created = await _file(clerk, HUANG_LEI, "window-org-0001")
    assert created.status_code == 201, created.text
    case = await pool.fetchrow(
        "SELECT c.subject_org_credit_code, c.channel, c.filed_as, p.name FROM cases c "
        "JOIN people p ON p.id = c.applicant_person_id WHERE c.case_no = $1",
        created.json()["case_no"],
    )
    assert case is not None and tuple(case.values()) == (LEIDA, "window", "clerk", "黄磊")
    note = await pool.fetchval(
        "SELECT note FROM timeline_events t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 "
        "AND t.status = 'submitted'",
        created.json()["case_no"],
    )
    assert "经办人身份：法定代表人" in note
    page = await clerk.get("/console/walk-in")
    assert "申请单位" in page.text and LEIDA_NAME in page.text and "企业变更登记" in page.text
    assert "新生儿出生" not in page.text  # a person's life events are not offered for the company


async def test_a_clerk_who_did_not_check_the_organisation_cannot_file_for_it(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    clerk = await _clerk(another_client, pool, settings)
    await _receive(clerk, HUANG_LEI)  # his ID card checked, but not the company's authority for this visit
    refused = await _file(clerk, HUANG_LEI, "window-org-0002")
    assert refused.status_code == 403
    assert "核验来办人的企业授权" in refused.json()["detail"]
    personal = await _file(clerk, HUANG_LEI, "window-org-0003", org=None)  # nor as a person: it is a company's matter
    assert personal.status_code == 403
    # Without a live ID check, choosing the organisation is refused too.
    other = await _clerk(another_client, pool, settings)
    assert (await post(other, ORGANISATION, {"uscc": LEIDA})).status_code == 400
    refusals = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'organisation.act' AND outcome = 'forbidden' "
        "AND detail->>'reason' = 'organisation not checked for this visit'"
    )
    assert refusals == 2  # the form and the submission, each refused and audited


async def test_someone_without_authority_needs_the_paper_authorisation_the_clerk_checked(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    clerk = await _clerk(another_client, pool, settings)
    await _receive(clerk, ZHANG_WEI)
    refused = await post(clerk, ORGANISATION, {"uscc": LEIDA})
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"paper_checked"}
    assert (await _file(clerk, ZHANG_WEI, "window-org-0004")).status_code == 403

    chosen = await post(clerk, ORGANISATION, {"uscc": LEIDA, "paper_checked": True})
    assert chosen.status_code == 200 and chosen.json()["organisation"]["role"] == "paper"
    created = await _file(clerk, ZHANG_WEI, "window-org-0005")
    assert created.status_code == 201, created.text
    audited = await pool.fetchrow(
        "SELECT subject, detail FROM audit_log WHERE action = 'walk_in.organisation' AND outcome = 'ok'"
    )
    assert audited is not None and audited["subject"] == f"org:{LEIDA}"
    assert audited["detail"]["paper_authorisation_checked"] is True and audited["detail"]["role"] == "paper"
    # Nothing is kept for later: at the next visit (even the same person's) the paper has to be checked again.
    await _receive(clerk, ZHANG_WEI)
    assert (await _file(clerk, ZHANG_WEI, "window-org-0006")).status_code == 403


async def test_an_agent_out_of_scope_at_the_window_is_refused_without_the_paper(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    await authorise(huang, ZHANG_WEI, ["birth"])
    clerk = await _clerk(another_client, pool, settings)
    await _receive(clerk, ZHANG_WEI)
    chosen = await post(clerk, ORGANISATION, {"uscc": LEIDA})
    assert chosen.status_code == 200 and chosen.json()["organisation"]["role"] == "agent"
    refused = await _file(clerk, ZHANG_WEI, "window-org-0007")
    assert refused.status_code == 403  # 企业变更登记 is outside his authorisation


async def test_a_deregistered_or_unknown_organisation_is_refused_at_the_window(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    clerk = await _clerk(another_client, pool, settings)
    await _receive(clerk, HUANG_LEI)
    unknown = await post(clerk, ORGANISATION, {"uscc": "91350100M000100Y43", "paper_checked": True})
    assert unknown.status_code == 400 and "法人库中没有" in unknown.json()["errors"]["uscc"]
    assert (await post(clerk, ORGANISATION, {"uscc": LEIDA})).status_code == 200
    await pool.execute("UPDATE organisations SET status = 'deregistered' WHERE credit_code = $1", LEIDA)
    refused = await _file(clerk, HUANG_LEI, "window-org-0008")
    assert refused.status_code == 403 and "已注销" in refused.json()["detail"]
    again = await post(clerk, ORGANISATION, {"uscc": LEIDA, "paper_checked": True})
    assert again.status_code == 400 and "已注销" in again.json()["errors"]["uscc"]


async def test_the_walk_in_page_checks_the_organisation_and_goes_back_to_the_person(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    clerk = await _clerk(another_client, pool, settings)
    started = await clerk.post(
        "/console/walk-in", data={**HUANG_LEI, "identity_checked": "true"}, headers=await csrf(clerk)
    )
    assert started.status_code == 303
    page = await clerk.get("/console/walk-in")
    assert "为企业办理" in page.text and 'name="uscc"' in page.text
    assert "/life-events/business-change/apply" not in page.text  # not until the organisation is checked
    empty = await clerk.post("/console/walk-in/organisation", data={"uscc": ""}, headers=await csrf(clerk))
    assert empty.status_code == 400 and "法人库中没有" in empty.text
    chosen = await clerk.post("/console/walk-in/organisation", data={"uscc": LEIDA}, headers=await csrf(clerk))
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/console/walk-in?notice=org")
    page = await clerk.get("/console/walk-in?notice=org")
    assert "/life-events/business-change/apply" in page.text and "申请单位：" + LEIDA_NAME in page.text
    apply = await clerk.get("/life-events/business-change/apply")
    assert apply.status_code == 200
    assert f"为{LEIDA_NAME}填写申请表" in apply.text
    assert f'name="on_behalf_of_org" value="{LEIDA}"' in apply.text
    back = await clerk.post("/console/walk-in/organisation/end", headers=await csrf(clerk))
    assert back.status_code == 303
    redirected = await clerk.get("/life-events/business-change/apply")
    assert (redirected.status_code, redirected.headers["location"]) == (
        303,
        "/console/walk-in?notice=org-only#org-heading",
    )
