"""全城通办 and 马上办 over HTTP: any hall of Changzhou receives any resident of it, the tasks go to the department
office competent for them (an item's level and the applicant's registered district, not the hall), a 全城通办 task
is held by the first office to act on it, and a 即办件 is 受理 and 办结 at once by a clerk holding that department's
window authorisation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from app.forms import service as forms
from config.settings import Settings
from tests.auth_helpers import csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]

WANG = {"name": "王建国", "id_number": "320412196608080133"}  # registered in 武进区 (320412)
TIANNING, WUJIN, ZHONGLOU, XINBEI, CITY = "320402", "320412", "320404", "320411", "320400"
VACCINATION = "CZ-WJ-002"  # 预防接种证办理: 区级, 即办件, issues a certificate
BIRTH_REGISTRATION = "CZ-GA-001"  # 出生户口登记: 区级, 承诺件
BIRTH_CERTIFICATE = "CZ-WJ-001"  # 出生医学证明签发: 市级
SOCIAL_CARD = "CZ-RS-001"  # 社会保障卡申领（新生儿）: 市级


@pytest.fixture
def citywide_social_card() -> Any:
    """社会保障卡申领（新生儿） marked 全城通办 for one test: the merged form's per-process cache is emptied before
    and after, so no other test sees the change."""
    forms._forms.clear()  # pyright: ignore[reportPrivateUsage] -- the cache of configuration this test changes
    yield SOCIAL_CARD
    forms._forms.clear()  # pyright: ignore[reportPrivateUsage]


async def _staff(
    make: MakeClient,
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    name: str,
    role: str,
    region: str,
    department: str,
    window_for: list[str] | None = None,
) -> Client:
    staff = make()
    await staff_client_sign_up(
        staff,
        pool,
        settings.secret_key,
        name=name,
        role=role,
        region=region,
        department=department,
        window_for=window_for,
    )
    return staff


async def _receive_and_file(clerk: Client, key: str) -> str:
    """The clerk checks 王建国's ID card and files 新生儿出生 for him at the window; the case number."""
    started = await post(clerk, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
    assert started.status_code == 201, started.text
    form = await clerk.get("/api/v1/life-events/birth/form", params={"on_behalf_of": WANG["id_number"]})
    assert form.status_code == 200, form.text
    body = {
        "life_event": "birth",
        "data": answers_for(form.json()),
        "on_behalf_of": WANG["id_number"],
        "idempotency_key": key,
    }
    created = await post(clerk, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def _tasks(pool: asyncpg.Pool, case_no: str) -> dict[str, Any]:
    rows = await pool.fetch(
        "SELECT t.item_code, t.id, t.office_region, t.status FROM tasks t JOIN cases c ON c.id = t.case_id "
        "WHERE c.case_no = $1",
        case_no,
    )
    return {r["item_code"]: r for r in rows}


async def _act(staff: Client, task_id: int, action: str, **extra: Any) -> httpx.Response:
    return await post(staff, f"/api/v1/console/tasks/{task_id}/transition", {"action": action, **extra})


async def test_a_tianning_hall_receives_a_wujin_resident_and_the_district_tasks_go_to_wujin(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region=TIANNING, department="police"
    )
    case_no = await _receive_and_file(clerk, "citywide-0001")

    # The hall is recorded on the case, and the walk-in's audit rows name it.
    assert await pool.fetchval("SELECT received_region FROM cases WHERE case_no = $1", case_no) == TIANNING
    halls = await pool.fetch(
        "SELECT action, detail->>'hall' AS hall FROM audit_log WHERE action IN ('walk_in.start', 'walk_in.use')"
    )
    assert halls and {r["hall"] for r in halls} == {TIANNING}
    # Routed by competence: 区级 items to 武进's offices (where 王建国 is registered), 市级 ones to the city's.
    tasks = await _tasks(pool, case_no)
    assert tasks[BIRTH_REGISTRATION]["office_region"] == WUJIN and tasks[VACCINATION]["office_region"] == WUJIN
    assert tasks[BIRTH_CERTIFICATE]["office_region"] == CITY and tasks[SOCIAL_CARD]["office_region"] == CITY

    # The receiving clerk works the whole case at their window; the queue says where it was received.
    page = await clerk.get("/console")
    assert case_no in page.text and "天宁区政务服务窗口" in page.text and "（武进区）" in page.text
    police_task = tasks[BIRTH_REGISTRATION]["id"]
    assert (await _act(clerk, police_task, "accept")).status_code == 200

    wujin = await _staff(
        another_client, pool, settings, name="武进公安", role="approver", region=WUJIN, department="police"
    )
    tianning = await _staff(
        another_client, pool, settings, name="天宁公安", role="approver", region=TIANNING, department="police"
    )
    assert police_task in {t["id"] for t in (await wujin.get("/api/v1/console/tasks")).json()}
    assert police_task not in {t["id"] for t in (await tianning.get("/api/v1/console/tasks")).json()}
    # Fail closed: the 天宁 approver cannot open the case nor move its task (both audited).
    assert (await tianning.get(f"/console/cases/{case_no}")).status_code == 403
    assert (await _act(tianning, police_task, "review")).status_code == 403
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", police_task) == "accepted"
    forbidden = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE outcome = 'forbidden' AND action IN ('case.open', 'task.transition')"
    )
    assert forbidden == 2
    assert (await _act(wujin, police_task, "review")).status_code == 200

    # A 武进 clerk (the routed office's window) sees the 区级 tasks, not the 市级 ones.
    wujin_clerk = await _staff(
        another_client, pool, settings, name="武进窗口", role="clerk", region=WUJIN, department="police"
    )
    seen = {t["id"] for t in (await wujin_clerk.get("/api/v1/console/tasks")).json()}
    assert tasks[VACCINATION]["id"] in seen and tasks[BIRTH_CERTIFICATE]["id"] not in seen


async def test_a_resident_the_register_places_outside_changzhou_is_refused_at_the_window(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region=TIANNING, department="police"
    )
    await pool.execute("UPDATE people SET region_code = NULL WHERE name = $1", WANG["name"])
    refused = await post(clerk, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
    assert refused.status_code == 400 and "不在常州市" in refused.text
    row = await pool.fetchrow("SELECT detail FROM audit_log WHERE action = 'walk_in.start' AND outcome = 'forbidden'")
    assert row is not None and row["detail"]["hall"] == TIANNING


async def test_an_enrollment_code_is_issued_at_any_hall_and_audited_with_it(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region=TIANNING, department="police"
    )
    issued = await post(clerk, "/api/v1/console/enrollment-codes", {**WANG, "identity_checked": True})
    assert issued.status_code in (200, 201), issued.text
    row = await pool.fetchrow("SELECT detail FROM audit_log WHERE action = 'enrollment_code.issue' AND outcome = 'ok'")
    assert row is not None and "天宁区" in row["detail"]["hall"]


async def test_a_citywide_item_is_held_by_the_first_office_to_accept_it(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings, citywide_social_card: str
) -> None:
    await pool.execute("UPDATE service_items SET citywide = true WHERE code = $1", citywide_social_card)
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region=TIANNING, department="police"
    )
    case_no = await _receive_and_file(clerk, "citywide-0002")
    task = (await _tasks(pool, case_no))[SOCIAL_CARD]
    assert task["office_region"] is None  # any office of 人社 may take it

    zhonglou = await _staff(
        another_client, pool, settings, name="钟楼窗口", role="clerk", region=ZHONGLOU, department="hrss"
    )
    xinbei = await _staff(
        another_client, pool, settings, name="新北窗口", role="clerk", region=XINBEI, department="hrss"
    )
    for hall in (zhonglou, xinbei):  # in every hall's 人社 window's queue until one takes it
        assert task["id"] in {t["id"] for t in (await hall.get("/api/v1/console/tasks")).json()}
    # Not in every clerk's: a window of another department, elsewhere, neither sees it nor opens the case.
    police_window = await _staff(
        another_client, pool, settings, name="溧阳公安窗口", role="clerk", region="320481", department="police"
    )
    assert task["id"] not in {t["id"] for t in (await police_window.get("/api/v1/console/tasks")).json()}
    assert (await police_window.get(f"/api/v1/console/cases/{case_no}")).status_code == 403
    assert (await _act(police_window, task["id"], "accept")).status_code == 403

    # Both press 受理 at once: one takes it, the other is refused, and the task is the winner's office's.
    headers = [await csrf(zhonglou), await csrf(xinbei)]
    answers = await asyncio.gather(
        *(
            hall.post(f"/api/v1/console/tasks/{task['id']}/transition", json={"action": "accept"}, headers=h)
            for hall, h in zip((zhonglou, xinbei), headers, strict=True)
        )
    )
    codes = [r.status_code for r in answers]
    assert sorted(codes) == [200, 403], codes
    winner, loser = (ZHONGLOU, xinbei) if codes[0] == 200 else (XINBEI, zhonglou)
    assert await pool.fetchval("SELECT office_region FROM tasks WHERE id = $1", task["id"]) == winner
    assert task["id"] not in {t["id"] for t in (await loser.get("/api/v1/console/tasks")).json()}
    assert await pool.fetchval("SELECT count(*) FROM timeline_events WHERE task_id = $1", task["id"]) == 1

    # The office that holds it reviews it; another district's approver cannot.
    holder = await _staff(
        another_client, pool, settings, name="人社甲", role="approver", region=winner, department="hrss"
    )
    other = await _staff(
        another_client,
        pool,
        settings,
        name="人社乙",
        role="approver",
        region=XINBEI if winner == ZHONGLOU else ZHONGLOU,
        department="hrss",
    )
    assert (await _act(other, task["id"], "review")).status_code == 403
    assert (await _act(holder, task["id"], "review")).status_code == 200


async def test_a_clerk_with_the_window_authorisation_completes_a_jibanjian_on_the_spot(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client,
        pool,
        settings,
        name="天宁窗口",
        role="clerk",
        region=TIANNING,
        department="police",
        window_for=["health", "police"],
    )
    case_no = await _receive_and_file(clerk, "on-the-spot-01")
    tasks = await _tasks(pool, case_no)
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    actions = {t["item_code"]: t["allowed_actions"] for t in case["tasks"]}
    assert "complete_on_the_spot" in actions[VACCINATION]
    assert "complete_on_the_spot" not in actions[BIRTH_REGISTRATION]  # a 承诺件

    done = await _act(clerk, tasks[VACCINATION]["id"], "complete_on_the_spot")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    # A 承诺件 is not done on the spot, even by an authorised clerk: 409 naming what may be done.
    promised = await _act(clerk, tasks[BIRTH_REGISTRATION]["id"], "complete_on_the_spot")
    assert promised.status_code == 409 and "accept" in promised.json()["allowed_actions"]

    # Its certificate is in 王建国's library at once; his timeline and the receipt say 当场办结.
    resident = another_client()
    assert (await sign_up(resident, new_authenticator(), WANG)).status_code == 201
    kinds = [c["kind"] for c in (await resident.get("/api/v1/certificates")).json()]
    assert "vaccination" in kinds
    mine = (await resident.get(f"/api/v1/cases/{case_no}")).json()
    assert "预防接种证办理：当场办结" in [e["title"] for e in mine["timeline"]]
    receipt = await clerk.get(f"/console/cases/{case_no}/receipt")
    assert receipt.status_code == 200 and "当场办结" in receipt.text
    assert "当场办结" in (await resident.get(f"/cases/{case_no}/receipt")).text


async def test_a_clerk_without_the_departments_window_authorisation_cannot_complete_on_the_spot(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client,
        pool,
        settings,
        name="天宁窗口",
        role="clerk",
        region=TIANNING,
        department="police",
        window_for=["police"],
    )
    case_no = await _receive_and_file(clerk, "on-the-spot-02")
    task_id = (await _tasks(pool, case_no))[VACCINATION]["id"]
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    assert "complete_on_the_spot" not in next(t for t in case["tasks"] if t["id"] == task_id)["allowed_actions"]

    refused = await _act(clerk, task_id, "complete_on_the_spot")
    assert refused.status_code == 403 and "窗口授权" in refused.text
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "submitted"
    assert await pool.fetchval("SELECT count(*) FROM e_certificates WHERE case_id IS NOT NULL") == 0
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'task.transition' AND outcome = 'forbidden' "
        "AND detail->>'attempted' = 'complete_on_the_spot'"
    )
    assert audited == 1
    # Nor may an approver, whatever their department: 当场办结 is the window's.
    approver = await _staff(
        another_client, pool, settings, name="武进卫健", role="approver", region=WUJIN, department="health"
    )
    assert (await _act(approver, task_id, "complete_on_the_spot")).status_code == 409


async def test_the_queue_keeps_jibanjian_apart_from_chengnuojian(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region=TIANNING, department="police"
    )
    case_no = await _receive_and_file(clerk, "on-the-spot-03")
    instant = (await clerk.get("/console", params={"kind": "即办件"})).text
    promised = (await clerk.get("/console", params={"kind": "承诺件"})).text
    assert case_no in instant and "预防接种证办理" in instant and "出生户口登记" not in instant
    assert "出生户口登记" in promised and "预防接种证办理" not in promised
    assert 'name="kind"' in instant
