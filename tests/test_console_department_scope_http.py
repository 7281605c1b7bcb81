"""A case crosses departments; each department's back office sees its own part of it.

An approver (a department's back office) sees the answers, the uploaded materials and the full ID numbers of
their own department's items only, on the page, in the JSON API and by a download link; the window clerk
(一窗受理) keeps the whole case. Revealing a full number is a POST with the CSRF token, never a GET.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1, submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
# The sample answers give every ID-number field this number (the applicant's own is taken from the register).
SAMPLE_NUMBER = "320402199506180126"
# Labels of 新生儿出生 fields that only other departments' items ask for: 户口登记 (公安) and 生育津贴 (医保).
POLICE_ONLY_LABELS = ("户主姓名", "新生儿与户主关系", "父亲手机号码")
INSURANCE_ONLY_LABELS = ("开户银行", "银行账号", "母亲参保单位名称")
HEALTH_LABELS = ("分娩医院", "出生体重（克）", "母亲公民身份号码")


async def _file(client: Client, life_event: str, key: str) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, life_event, key))
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def _staff(
    make: MakeClient,
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    name: str,
    role: str,
    department: str,
    region: str = "320402",
) -> Client:
    staff = make()
    await staff_client_sign_up(
        staff, pool, settings.secret_key, name=name, role=role, region=region, department=department
    )
    return staff


async def _uploads(pool: asyncpg.Pool, case_no: str) -> dict[str, str]:
    """material code → token of each file uploaded with the case."""
    rows = await pool.fetch(
        "SELECT u.material_code, u.token FROM uploads u JOIN cases c ON c.id = u.case_id WHERE c.case_no = $1",
        case_no,
    )
    return {r["material_code"]: r["token"] for r in rows}


async def _reveal(staff: Client, case_no: str, key: str, **headers: str) -> httpx.Response:
    return await staff.post(
        f"/console/cases/{case_no}/reveal/{key}", headers={**(await csrf(staff)), "HX-Request": "true", **headers}
    )


async def _audit(pool: asyncpg.Pool, action: str, outcome: str) -> list[Any]:
    return await pool.fetch(
        "SELECT actor, subject, detail FROM audit_log WHERE action = $1 AND outcome = $2 ORDER BY id", action, outcome
    )


async def test_a_health_approver_sees_only_the_health_items_answers_and_materials(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "scope-birth-01")
    # The city's 卫健 office: 出生医学证明签发 is 市级 (预防接种证办理, 区级, is the district's: it sees both parts).
    approver = await _staff(
        another_client, pool, settings, name="刘审批", role="approver", department="health", region="320400"
    )
    uploads = await _uploads(pool, case_no)
    police_upload, health_upload = uploads["CZ-GA-001:settle_declaration"], uploads["CZ-WJ-001:delivery_record"]

    page = await approver.get(f"/console/cases/{case_no}")
    assert page.status_code == 200
    for label in HEALTH_LABELS:
        assert label in page.text
    for label in POLICE_ONLY_LABELS + INSURANCE_ONLY_LABELS:
        assert label not in page.text
    assert health_upload in page.text and police_upload not in page.text
    # It says so, rather than leaving holes: the other departments' parts are not shown to this approver.
    assert "其他部门" in page.text and "不向您显示" in page.text
    assert "出生户口登记" in page.text  # the other items are still listed, with their progress

    answers = await approver.get(f"/api/v1/console/cases/{case_no}")
    assert answers.status_code == 200, answers.text
    body = answers.json()
    shown = {row["key"] for section in body["answers"] for row in section["rows"]}
    assert "child.birth_hospital" in shown and "mother.id_number" in shown
    assert not shown & {"household.head_name", "father.phone", "bank.account", "mother.employer"}
    # The parents' cards too: uploaded, since no library of the applicant's may stand for the parents' (issue 15).
    parents = {uploads["CZ-WJ-001:mother_id_card"], uploads["CZ-WJ-001:father_id_card"]}
    assert {u["token"] for u in body["uploads"]} == {health_upload, uploads["CZ-WJ-002:first_dose_record"], *parents}
    assert SAMPLE_NUMBER not in answers.text and SAMPLE_NUMBER not in page.text
    assert body["withheld_departments"] == ["公安", "医保", "人社"]

    refused = await approver.get(f"/console/uploads/{police_upload}")
    assert refused.status_code == 403 and refused.content != PNG_1X1
    own = await approver.get(f"/console/uploads/{health_upload}")
    assert own.status_code == 200 and own.headers["content-type"] == "image/png"
    audited = await _audit(pool, "upload.read", "forbidden")
    assert len(audited) == 1 and audited[0]["subject"] == f"case:{case_no}"
    # A resident's material shown to staff is in the access trail too, as every ID number revealed is.
    read = await _audit(pool, "upload.read", "ok")
    assert len(read) == 1 and read[0]["subject"] == f"case:{case_no}" and "CZ-WJ-001" in str(read[0]["detail"])


async def test_an_approver_cannot_download_another_departments_supplement(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "scope-birth-02")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    approver = await _staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    police_task = await pool.fetchval(
        "SELECT t.id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 AND t.department_code = $2",
        case_no,
        "police",
    )
    asked = await post(
        clerk, f"/api/v1/console/tasks/{police_task}/transition", {"action": "request_supplement", "note": "补户主页"}
    )
    assert asked.status_code == 200, asked.text
    answered = await client.post(
        f"/cases/{case_no}/tasks/{police_task}/supplement",
        data={"note": "已补"},
        files={"file": ("hukou.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
        follow_redirects=False,
    )
    assert answered.status_code == 303
    token = (await _uploads(pool, case_no))[f"supplement:{police_task}"]
    assert token not in (await approver.get(f"/console/cases/{case_no}")).text
    assert (await approver.get(f"/console/uploads/{token}")).status_code == 403
    assert (await clerk.get(f"/console/uploads/{token}")).status_code == 200


async def test_an_approver_cannot_reveal_a_number_only_another_departments_items_ask_for(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    # 企业开办: only 市场监管, 公安 and 税务 ask for the legal representative's number (prefilled with the
    # applicant's own); 人社 does not.
    case_no = await _file(client, "business", "scope-business-01")
    approver = await _staff(another_client, pool, settings, name="孙人社", role="approver", department="hrss")

    page = await approver.get(f"/console/cases/{case_no}")
    assert page.status_code == 200 and "法定代表人公民身份号码" not in page.text
    refused = await _reveal(approver, case_no, "company.legal_rep_id_number")
    assert refused.status_code == 403 and ZHANG_WEI["id_number"] not in refused.text
    audited = await _audit(pool, "pii.read", "forbidden")
    assert len(audited) == 1 and audited[0]["detail"]["field"] == "company.legal_rep_id_number"
    assert await _audit(pool, "pii.read", "ok") == []

    own = await _reveal(approver, case_no, "applicant.id_number")
    assert own.status_code == 200 and ZHANG_WEI["id_number"] in own.text


async def test_the_window_clerk_still_sees_and_reveals_the_whole_case(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "scope-birth-03")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    uploads = await _uploads(pool, case_no)

    page = await clerk.get(f"/console/cases/{case_no}")
    assert page.status_code == 200 and "不向您显示" not in page.text
    for label in HEALTH_LABELS + POLICE_ONLY_LABELS + INSURANCE_ONLY_LABELS:
        assert label in page.text
    body = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    assert {u["token"] for u in body["uploads"]} == set(uploads.values()) and body["withheld_departments"] == []
    for token in uploads.values():
        assert (await clerk.get(f"/console/uploads/{token}")).status_code == 200
    revealed = await _reveal(clerk, case_no, "father.id_number")
    assert revealed.status_code == 200 and SAMPLE_NUMBER in revealed.text


async def test_the_approver_still_acts_on_their_own_tasks_only(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "scope-birth-04")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    approver = await _staff(  # the city's 卫健 office: 出生医学证明签发 is 市级
        another_client, pool, settings, name="刘审批", role="approver", department="health", region="320400"
    )
    tasks = {
        r["item_code"]: r["id"]
        for r in await pool.fetch(
            "SELECT t.item_code, t.id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1", case_no
        )
    }
    for task_id in (tasks["CZ-WJ-001"], tasks["CZ-GA-001"]):
        accepted = await post(clerk, f"/api/v1/console/tasks/{task_id}/transition", {"action": "accept"})
        assert accepted.status_code == 200, accepted.text

    body = (await approver.get(f"/api/v1/console/cases/{case_no}")).json()
    actions = {t["item_code"]: t["allowed_actions"] for t in body["tasks"]}
    assert "review" in actions["CZ-WJ-001"] and actions["CZ-GA-001"] == []
    page = await approver.get(f"/console/cases/{case_no}")
    # (The form posts to the task and, refused, comes back at it: #task-{id}.)
    assert f'action="/console/tasks/{tasks["CZ-WJ-001"]}/transition#' in page.text
    assert f'action="/console/tasks/{tasks["CZ-GA-001"]}/transition' not in page.text
    moved = await approver.post(
        f"/console/tasks/{tasks['CZ-WJ-001']}/transition",
        data={"case_no": case_no, "action": "review"},
        headers=await csrf(approver),
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", tasks["CZ-WJ-001"]) == "in_review"


# --- revealing a full number (显示完整号码) --------------------------------------------------------------


async def test_a_get_never_reveals_a_full_number(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "reveal-birth-01")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    answer = await clerk.get(f"/console/cases/{case_no}/reveal/mother.id_number")
    assert answer.status_code == 405 and SAMPLE_NUMBER not in answer.text
    assert await _audit(pool, "pii.read", "ok") == []


async def test_revealing_without_the_csrf_token_is_refused(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "reveal-birth-02")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    await clerk.get("/console")  # the page that would carry the token
    answer = await clerk.post(f"/console/cases/{case_no}/reveal/mother.id_number", headers={"HX-Request": "true"})
    assert answer.status_code == 403 and SAMPLE_NUMBER not in answer.text
    assert await _audit(pool, "pii.read", "ok") == []


async def test_revealing_with_the_csrf_token_shows_the_number_uncached_and_audited(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case_no = await _file(client, "birth", "reveal-birth-03")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    page = await clerk.get(f"/console/cases/{case_no}")
    form_action = f'action="/console/cases/{case_no}/reveal/mother.id_number"'
    assert form_action in page.text and 'method="post"' in page.text

    fragment = await _reveal(clerk, case_no, "mother.id_number")
    assert fragment.status_code == 200 and SAMPLE_NUMBER in fragment.text
    assert "<html" not in fragment.text  # htmx swaps only the number in place
    assert fragment.headers["cache-control"] == "no-store"
    audited = await _audit(pool, "pii.read", "ok")
    assert len(audited) == 1 and audited[0]["detail"]["field"] == "mother.id_number"
    assert audited[0]["subject"] == f"case:{case_no}"

    # Without JavaScript the form posts its own token and gets the case page back with that number shown.
    token = clerk.cookies["csrftoken"]
    plain = await clerk.post(f"/console/cases/{case_no}/reveal/mother.id_number", data={"_csrf_token": token})
    assert plain.status_code == 200 and "<html" in plain.text and SAMPLE_NUMBER in plain.text
    assert plain.headers["cache-control"] == "no-store"
    assert len(await _audit(pool, "pii.read", "ok")) == 2

    missing = await _reveal(clerk, case_no, "child.name")
    assert missing.status_code == 404
