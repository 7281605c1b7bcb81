"""更正 over HTTP against PostgreSQL: a resident (or the window clerk after checking papers) asks to correct a field
of a certificate a case issued; the issuing department approves or refuses it as a correction task; 办结 issues the
corrected certificate, voids the old one (its 亮证 says 已作废, no form uses it) — each step on the timeline and
audited. And what an attacker meets: someone else's case or certificate is 404, a clerk without a live check 403,
another department's approver 403, a second approval 409."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from app.calendar.service import today_in_china
from auth import clients
from config.settings import Settings
from hooks import store as hooks_store
from tests.auth_helpers import LI_NA, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.birth_helpers import (
    IssuedCertificate,
    act,
    birth_certificate_of,
    born_days_ago,
    file_birth_case,
    issued_birth_certificate,
)
from tests.case_helpers import PNG_1X1
from tests.database_fixtures import TEST_SECRET_KEY
from tests.window_helpers import WANG, clerk_signs_in, file_walk_in, receive_walk_in

pytestmark = pytest.mark.anyio
MakeClient = Callable[[], httpx.AsyncClient]

CORRECTION = "CZ-WJ-001-GZ"  # 出生医学证明信息更正: 卫健, 市级


@pytest.fixture
async def issued(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> IssuedCertificate:
    """张伟, signed in on `client`, holds the 出生医学证明 of his 新生儿出生 with the child's name misspelt 张小宝."""
    return await issued_birth_certificate(client, another_client, pool, settings.secret_key, "corr-birth-1")


def _asked(certificate_id: int, **change: Any) -> dict[str, Any]:
    return {
        "certificate_id": certificate_id,
        "field": "child.name",
        "value": "张晓宝",
        "reason": "助产机构录入时写错",
    } | change


async def _ask(client: httpx.AsyncClient, case_no: str, body: dict[str, Any]) -> httpx.Response:
    return await post(client, f"/api/v1/cases/{case_no}/corrections", body)


async def _accepted(client: httpx.AsyncClient, issued: IssuedCertificate) -> int:
    """张伟 asks to correct the child's name on the certificate, and the window accepts the correction task: its id."""
    task_id = (await _ask(client, issued.case_no, _asked(issued.certificate["id"]))).json()["task_id"]
    assert (await act(issued.desk.clerk, task_id, "accept")).status_code == 200
    return task_id


async def _audited(pool: asyncpg.Pool, action: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT outcome, subject, detail FROM audit_log WHERE action = $1 ORDER BY id", action)


async def test_a_resident_corrects_a_name_and_the_corrected_certificate_replaces_the_old_one(
    client: httpx.AsyncClient, pool: asyncpg.Pool, issued: IssuedCertificate, another_client: MakeClient
) -> None:
    desk, case_no, old = issued
    old_token = (await client.get(f"/api/v1/certificates/{old['id']}/share")).json()["token"]
    evidence = await client.post(
        "/api/v1/uploads",
        data={"life_event": "birth", "material_code": "correction"},
        files={"file": ("hospital-note.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
    )
    assert evidence.status_code == 201, evidence.text

    asked = await _ask(client, case_no, _asked(old["id"], evidence=[evidence.json()["token"]]))

    assert asked.status_code == 201, asked.text
    created = asked.json()
    assert (created["item_code"], created["department"], created["status"]) == (CORRECTION, "health", "submitted")
    assert created["due_on"] is not None  # its own SLA: the correction item's promised limit
    case = (await client.get(f"/api/v1/cases/{case_no}")).json()
    step = next(e for e in case["timeline"] if e["task_id"] == created["task_id"])
    assert step["title"] == "出生医学证明信息更正：已申请"
    assert "“张小宝”更正为“张晓宝”" in step["note"] and "助产机构录入时写错" in step["note"]
    tracking = (await client.get(case["tracking_url"].replace("http://localhost:8000/t/", "/api/v1/track/"))).json()
    assert "张晓宝" not in str(tracking) and "张小宝" not in str(tracking)  # the public page has no names

    # The approver of 卫健 sees the certificate as it is and the change side by side, with the evidence.
    assert (await act(desk.clerk, created["task_id"], "accept")).status_code == 200
    seen = (await desk.health.get(f"/api/v1/console/cases/{case_no}")).json()
    side = seen["corrections"][str(created["task_id"])]
    assert (side["field_label"], side["current"], side["requested"]) == ("新生儿姓名", "张小宝", "张晓宝")
    assert side["certificate_number_masked"] == old["number_masked"]
    assert {"key": "child.sex", "label": "新生儿性别", "shown": "男"} in side["rows"]
    assert [u["filename"] for u in side["evidence"]] == ["hospital-note.png"]
    for action in ("review", "approve"):
        assert (await act(desk.health, created["task_id"], action)).status_code == 200
    again = await act(desk.health, created["task_id"], "approve")
    assert again.status_code == 409  # approving twice
    done = await act(desk.health, created["task_id"], "complete")
    assert done.status_code == 200, done.text

    held = [c for c in (await client.get("/api/v1/certificates")).json() if c["kind"] == "birth_medical"]
    assert len(held) == 1 and held[0]["id"] != old["id"]  # the old one is no longer offered
    assert held[0]["number_masked"] == old["number_masked"] + "-GZ1"
    anyone = another_client()
    voided = (await anyone.get(f"/api/v1/verify/{old_token}")).json()
    assert voided["valid"] is False and "已作废" in voided["reason"]
    assert "已作废" in (await anyone.get(f"/verify/{old_token}")).text
    assert (await client.get(f"/api/v1/certificates/{old['id']}/share")).status_code == 409
    new_token = (await client.get(f"/api/v1/certificates/{held[0]['id']}/share")).json()["token"]
    assert (await anyone.get(f"/api/v1/verify/{new_token}")).json()["valid"] is True
    wallet = (await client.get("/certificates")).text
    assert "已作废" in wallet and f"/certificates/{old['id']}" in wallet
    page = (await client.get(f"/certificates/{held[0]['id']}")).text
    assert "新生儿姓名" in page and "张晓宝" in page  # what was corrected

    timeline = (await client.get(f"/api/v1/cases/{case_no}")).json()["timeline"]
    corrected = next(e for e in timeline if e["title"] == "出生医学证明已更正：已换发新证照，原证照作废")
    assert "已作废" in corrected["note"] and "人口库" in corrected["note"]  # the register is not changed
    assert [r["outcome"] for r in await _audited(pool, "correction.request")] == ["ok"]
    steps = [r["detail"]["move"] for r in await _audited(pool, "correction.step")]
    assert steps == ["accept", "review", "approve", "complete"]
    assert [r["subject"] for r in await _audited(pool, "certificate.correct")] == [f"certificate:{held[0]['id']}"]


async def test_a_refused_correction_keeps_the_certificate_and_says_why(
    client: httpx.AsyncClient, issued: IssuedCertificate
) -> None:
    desk, case_no, old = issued
    task_id = await _accepted(client, issued)
    assert (await _ask(client, case_no, _asked(old["id"], value="张晓包"))).status_code == 409  # one open at a time
    await act(desk.health, task_id, "review")

    assert (await act(desk.health, task_id, "deny")).status_code == 400  # a refusal needs its reason
    denied = await act(desk.health, task_id, "deny", note="分娩记录中的姓名为张小宝，与证明一致，不予更正")

    assert denied.status_code == 200, denied.text
    timeline = (await client.get(f"/api/v1/cases/{case_no}")).json()["timeline"]
    assert any(e["note"] == "分娩记录中的姓名为张小宝，与证明一致，不予更正" for e in timeline)
    assert (await birth_certificate_of(client, case_no))["id"] == old["id"]  # still valid, still offered
    assert (await client.get(f"/api/v1/certificates/{old['id']}/share")).status_code == 200
    # Refused, it may be asked again (with better evidence).
    assert (await _ask(client, case_no, _asked(old["id"]))).status_code == 201


async def test_a_correction_its_applicant_withdrew_may_be_asked_again(
    client: httpx.AsyncClient, issued: IssuedCertificate
) -> None:
    case_no, old = issued.case_no, issued.certificate
    task_id = await _accepted(client, issued)

    withdrawn = await post(client, f"/api/v1/cases/{case_no}/withdraw", {"task_ids": [task_id], "reason": "refile"})

    assert withdrawn.status_code == 200, withdrawn.text
    assert next(t for t in withdrawn.json()["tasks"] if t["id"] == task_id)["status"] == "withdrawn"
    assert (await birth_certificate_of(client, case_no))["id"] == old["id"]  # untouched
    assert (await _ask(client, case_no, _asked(old["id"], value="张晓包"))).status_code == 201


async def test_the_window_clerk_asks_after_checking_papers_and_held_materials_use_the_corrected_certificate(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await clerk_signs_in(client, pool, "http://localhost:8000")
    body = await receive_walk_in(client)
    filed = await file_walk_in(client, body, "corr-retire-1")
    assert filed.status_code == 201, filed.text
    case_no = filed.json()["case_no"]
    hrss = another_client()  # 企业职工退休申请 is 市级: the city's 人社 office
    await staff_client_sign_up(
        hrss, pool, TEST_SECRET_KEY, name="人社审批", role="approver", region="320400", department="hrss"
    )
    case = (await client.get(f"/api/v1/console/cases/{case_no}")).json()
    retire = next(t["id"] for t in case["tasks"] if t["item_code"] == "CZ-RS-003")
    assert (await act(client, retire, "accept")).status_code == 200
    for action in ("review", "approve", "complete"):
        assert (await act(hrss, retire, action)).status_code == 200
    person = await pool.fetchval("SELECT id FROM people WHERE name = $1", WANG["name"])
    old_id = await pool.fetchval(
        "SELECT id FROM e_certificates WHERE person_id = $1 AND kind = 'retirement_approval'", person
    )

    asked = await _ask(
        client,
        case_no,
        {
            "certificate_id": old_id,
            "field": "retirement.employer",
            "value": "常州正确单位有限公司",
            "reason": "单位名称录入有误，已核验劳动合同原件",
        },
    )

    assert asked.status_code == 201, asked.text
    task_id = asked.json()["task_id"]
    history = (await client.get(f"/api/v1/console/cases/{case_no}")).json()["task_history"][str(task_id)]
    note = next(step["note"] for step in history if step["title"] == "职工退休审批表信息更正：已申请")
    assert "窗口" in note and "当面" in note
    assert (await act(client, task_id, "accept")).status_code == 200
    for action in ("review", "approve", "complete"):
        assert (await act(hrss, task_id, action)).status_code == 200
    form = await client.get("/api/v1/items/CZ-GJJ-002/form", params={"on_behalf_of": WANG["id_number"]})
    held = {m["certificate_kind"]: m for m in form.json()["materials"]["held"]}
    assert held["retirement_approval"]["number_masked"].endswith("-GZ1")
    filed_by = await _audited(pool, "correction.request")
    assert filed_by[0]["detail"]["filed_as"] == "clerk" and filed_by[0]["detail"]["hall"] == "320412"


async def test_someone_elses_case_or_certificate_is_not_found(
    client: httpx.AsyncClient, pool: asyncpg.Pool, issued: IssuedCertificate, another_client: MakeClient
) -> None:
    case_no, old = issued.case_no, issued.certificate
    li_na = another_client()
    await sign_up(li_na, new_authenticator(), LI_NA)
    own_case = await file_birth_case(li_na, born_days_ago(), "li-na-birth-1")

    on_his_case = await _ask(li_na, case_no, _asked(old["id"]))
    his_certificate_on_her_case = await _ask(li_na, own_case, _asked(old["id"]))
    no_such_case = await _ask(client, "CZ20000101000001", _asked(old["id"]))

    assert [r.status_code for r in (on_his_case, his_certificate_on_her_case, no_such_case)] == [404, 404, 404]
    assert "张小宝" not in on_his_case.text + his_certificate_on_her_case.text
    assert await pool.fetchval("SELECT count(*) FROM certificate_corrections") == 0


async def test_a_clerk_without_a_live_check_of_the_applicant_is_refused(
    pool: asyncpg.Pool, issued: IssuedCertificate
) -> None:
    desk, case_no, old = issued

    unchecked = await _ask(desk.clerk, case_no, _asked(old["id"]))
    started = await post(desk.clerk, "/api/v1/console/walk-ins", {**LI_NA, "identity_checked": True})
    assert started.status_code == 201
    someone_else = await _ask(desk.clerk, case_no, _asked(old["id"]))

    assert (unchecked.status_code, someone_else.status_code) == (403, 403)
    refusals = [r["detail"]["reason"] for r in await _audited(pool, "walk_in.check") if r["outcome"] == "forbidden"]
    assert refusals == ["no live in-person ID check", "in-person ID check was for someone else"]
    assert await pool.fetchval("SELECT count(*) FROM certificate_corrections") == 0


async def test_an_approver_of_another_department_cannot_decide_a_correction(
    client: httpx.AsyncClient, issued: IssuedCertificate
) -> None:
    desk, case_no = issued.desk, issued.case_no
    task_id = await _accepted(client, issued)

    police = await act(desk.police, task_id, "review")
    seen_by_police = (await desk.police.get(f"/api/v1/console/cases/{case_no}")).json()

    assert police.status_code == 403
    assert seen_by_police["corrections"] == {}  # not their department's correction: nothing of it shown
    assert (await act(desk.health, task_id, "review")).status_code == 200


async def test_what_is_asked_is_checked_field_by_field(
    client: httpx.AsyncClient, pool: asyncpg.Pool, issued: IssuedCertificate
) -> None:
    case_no, old = issued.case_no, issued.certificate

    unknown = await _ask(client, case_no, _asked(old["id"], field="applicant.phone", reason=""))
    same = await _ask(client, case_no, _asked(old["id"], value=" 张小宝 "))
    bad_date = await _ask(client, case_no, _asked(old["id"], field="child.birth_date", value="2026-02-30"))
    not_correctable = await _ask(
        client, case_no, _asked(await pool.fetchval("SELECT id FROM e_certificates WHERE kind = 'hukou' LIMIT 1"))
    )

    assert unknown.status_code == 400
    assert set(unknown.json()["errors"]) == {"field", "reason"}
    assert "新生儿姓名" in unknown.json()["errors"]["field"]  # says what may be corrected
    assert same.status_code == 400 and "相同" in same.json()["errors"]["value"]
    assert bad_date.status_code == 400 and "日期" in bad_date.json()["errors"]["value"]
    assert not_correctable.status_code == 404  # 张伟's 户口簿 was not issued by this case
    assert await pool.fetchval("SELECT count(*) FROM certificate_corrections") == 0


async def test_the_issuing_departments_system_hears_of_reads_and_completes_a_correction_task(
    client: httpx.AsyncClient, pool: asyncpg.Pool, issued: IssuedCertificate, another_client: MakeClient
) -> None:
    case_no, old = issued.case_no, issued.certificate
    registered = await clients.register(
        pool,
        name="卫健业务系统",
        department_code="health",
        hospital=None,
        region_code="320400",
        scopes=list(clients.DEPARTMENT_SCOPES),
    )
    await hooks_store.insert_subscription(
        pool,
        client_id=registered.client_id,
        department_code="health",
        region_prefix="3204",
        url="https://hooks.czgov.example/ywtb",
        events=["task.created", "task.updated"],
        secret="whsec_dGVzdA==",
    )

    task_id = (await _ask(client, case_no, _asked(old["id"]))).json()["task_id"]

    heard = await pool.fetch("SELECT event_type, payload FROM webhook_deliveries ORDER BY id")
    assert [(r["event_type"], r["payload"]["data"]["task_id"]) for r in heard] == [("task.created", task_id)]
    assert "张晓宝" not in str(heard[0]["payload"])  # no personal data: the system reads the task with its token
    system = another_client()
    basic = base64.b64encode(f"{registered.client_id}:{registered.secret}".encode()).decode()
    token = (
        await system.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    read = (await system.get(f"/api/exchange/v1/tasks/{task_id}", headers=bearer)).json()
    assert read["correction"] == {
        "certificate_title": "出生医学证明",
        "certificate_number_masked": old["number_masked"],
        "field": "child.name",
        "field_label": "新生儿姓名",
        "current": "张小宝",
        "requested": "张晓宝",
        "reason": "助产机构录入时写错",
    }
    for action in ("accept", "review", "approve"):
        moved = await system.post(
            f"/api/exchange/v1/tasks/{task_id}/transition",
            json={"action": action},
            headers={**bearer, "Idempotency-Key": f"corr-system-{action}"},
        )
        assert moved.status_code == 200, moved.text
    done = await system.post(
        f"/api/exchange/v1/tasks/{task_id}/certificates",
        json={"number": "O320400600777", "issued_on": str(today_in_china()), "data": {"note": "换发"}},
        headers={**bearer, "Idempotency-Key": "corr-system-complete"},
    )
    assert done.status_code == 201, done.text
    held = [c for c in (await client.get("/api/v1/certificates")).json() if c["kind"] == "birth_medical"]
    assert [c["number_masked"] for c in held] == ["*********0777"]  # the department's own number
