"""The legal-person register's entry and history (登记信息, 变更记录) over HTTP (issue 18): the people acting for an
organisation — its legal representative and its 经办人 in force — read what the register holds and every change a
completed case made to it, with the date and the case (API and /org/register); anyone else, a revoked or expired
经办人 and a former legal representative are refused; the console shows it on the organisation's case."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from app.calendar.service import today_in_china
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, post, resident, signed_in_staff
from tests.org_helpers import HUANG_LEI, LEIDA, LEIDA_NAME, MakeClient, authorise, file_for_leida

pytestmark = pytest.mark.anyio
REGISTER = f"/api/v1/organisations/{LEIDA}/register"
OLD_ADDRESS = "江苏省常州市新北区太湖东路9号"  # db/seed/organisations.csv
NEW_ADDRESS = "江苏省常州市新北区太湖东路101号"
WANG_MEIFANG = {"name": "王美芳", "id_number": "320402197005202623"}  # runs a shop of her own, nothing of 磊达's


async def _change_completed(
    make: MakeClient, pool: asyncpg.Pool, settings: Settings, filer: httpx.AsyncClient, changes: dict[str, str]
) -> tuple[str, httpx.AsyncClient]:
    """企业变更登记 filed for 磊达 and completed by 新北's 市场监管 (黄磊 lives in 新北区); the case number, and the
    hall's clerk."""
    created = await file_for_leida(filer, "business-change", "register-change-0001", changes)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    clerk = await signed_in_staff(
        make, pool, settings, name="新北窗口", role="clerk", region="320411", department="market"
    )
    market = await signed_in_staff(
        make, pool, settings, name="新北登记", role="approver", region="320411", department="market"
    )
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    task = next(t["id"] for t in case["tasks"] if t["item_code"] == "CZ-SJ-002")
    path = f"/api/v1/console/tasks/{task}/transition"
    assert (await post(clerk, path, {"action": "accept"})).status_code == 200
    for action in ("review", "approve", "complete"):
        moved = await post(market, path, {"action": action})
        assert moved.status_code == 200, moved.text
    return case_no, clerk


async def test_the_people_acting_for_the_organisation_read_its_register_and_each_change_with_its_case(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    li = await resident(another_client, LI_NA)
    await authorise(huang, LI_NA, ["business"])  # an agent for 企业开办 only still reads the register

    before = await huang.get(REGISTER)
    assert before.status_code == 200, before.text
    entry = before.json()
    assert {k: entry[k] for k in ("uscc", "name", "type", "legal_rep_name", "address", "status", "changes")} == {
        "uscc": LEIDA,
        "name": LEIDA_NAME,
        "type": "有限责任公司",
        "legal_rep_name": "黄磊",
        "address": OLD_ADDRESS,
        "status": "active",
        "changes": [],
    }
    assert entry["district"] == "新北区" and entry["established_on"] == "2019-12-02"
    assert "320411" not in before.text.replace(LEIDA, "")  # no ID number of the legal representative, not even masked

    new_rep = {"new_legal_rep.name": ZHANG_WEI["name"], "new_legal_rep.id_number": ZHANG_WEI["id_number"]}
    zhang = await resident(another_client, ZHANG_WEI)
    case_no, clerk = await _change_completed(
        another_client,
        pool,
        settings,
        huang,
        {"change.name": "", "change.address": NEW_ADDRESS, "change.business_scope": "", **new_rep},
    )

    # 张伟 is the legal representative now: he reads the register as it is and what changed, by whose case.
    after = (await zhang.get(REGISTER)).json()
    assert (after["address"], after["legal_rep_name"]) == (NEW_ADDRESS, "张伟")
    today = today_in_china().isoformat()
    assert after["changes"] == [
        {
            "field": "address",
            "label": "住所",
            "before": OLD_ADDRESS,
            "after": NEW_ADDRESS,
            "changed_on": today,
            "case_no": case_no,
        },
        {
            "field": "legal_rep",
            "label": "法定代表人",
            "before": "黄磊",
            "after": "张伟",
            "changed_on": today,
            "case_no": case_no,
        },
    ]
    assert ZHANG_WEI["id_number"] not in (await zhang.get(REGISTER)).text
    # 李娜's authorisation, given by 黄磊, is still in force: she reads it too.
    assert (await li.get(REGISTER)).json()["changes"] == after["changes"]

    # The page, for the organisation chosen under 我的 › 办事身份: the entry, and each change dated with its case.
    await zhang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(zhang))
    page = await zhang.get("/org/register")
    assert page.status_code == 200
    for shown in ("登记信息", "变更记录", "住所", OLD_ADDRESS, NEW_ADDRESS, "黄磊", "张伟", case_no):
        assert shown in page.text, shown
    assert f'href="/cases/{case_no}"' in page.text  # the legal representative may open the case
    assert "/org/register" in (await zhang.get("/org/cases")).text
    await li.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(li))
    agent_page = await li.get("/org/register")
    assert case_no in agent_page.text
    assert f'href="/cases/{case_no}"' not in agent_page.text  # 企业变更登记 is outside her scope: no dead link

    # The console shows the organisation's register on its case.
    console = await clerk.get(f"/console/cases/{case_no}")
    assert "法人库登记信息" in console.text and OLD_ADDRESS in console.text and NEW_ADDRESS in console.text
    staff_json = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    assert staff_json["organisation_register"]["changes"] == after["changes"]

    # 黄磊 is no longer its legal representative (nor an agent): refused like anyone else.
    assert (await huang.get(REGISTER)).status_code == 403


async def test_a_stranger_is_refused_the_register_whatever_the_code(another_client: MakeClient) -> None:
    wang = await resident(another_client, WANG_MEIFANG)
    for code in (LEIDA, "91350100M000100Y43", "not-a-code"):
        refused = await wang.get(f"/api/v1/organisations/{code}/register")
        assert refused.status_code == 403, code
    # The page reads the organisation chosen in the session, which she cannot choose; so she is sent to choose one.
    assert (await wang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(wang))).status_code == 403
    page = await wang.get("/org/register")
    assert page.status_code == 303 and page.headers["location"].startswith("/me")


async def test_a_revoked_or_expired_agent_is_refused_the_register(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    huang = await resident(another_client, HUANG_LEI)
    li = await resident(another_client, LI_NA)
    agent = await authorise(huang, LI_NA)
    await li.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(li))
    assert (await li.get(REGISTER)).status_code == 200
    assert (await li.get("/org/register")).status_code == 200

    revoked = await huang.delete(f"/api/v1/organisations/{LEIDA}/agents/{agent}", headers=await csrf(huang))
    assert revoked.status_code == 204
    assert (await li.get(REGISTER)).status_code == 403
    assert (await li.get("/org/register")).status_code == 403  # chosen before the revocation: checked again
    assert (await li.get("/org/register")).status_code == 303  # and dropped from her session

    again = await authorise(huang, LI_NA)
    assert (await li.get(REGISTER)).status_code == 200
    # Its last day was yesterday (Beijing time).
    yesterday = date.fromordinal(today_in_china().toordinal() - 1)
    await pool.execute("UPDATE organisation_agents SET expires_on = $2 WHERE id = $1", again, yesterday)
    expired = await li.get(REGISTER)
    assert expired.status_code == 403 and "过期" in expired.json()["detail"]
