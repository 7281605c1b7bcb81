"""The back office over HTTP: one window in front, departments behind, every step on the record."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


async def _resident_case(client: httpx.AsyncClient) -> dict:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "console-key-1"))
    assert created.status_code == 201, created.text
    return (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()


async def _act(client: httpx.AsyncClient, task_id: int, action: str, note: str | None = None) -> httpx.Response:
    return await post(client, f"/api/v1/console/tasks/{task_id}/transition", {"action": action, "note": note})


async def test_clerk_accepts_and_approver_completes_issuing_the_certificate(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case = await _resident_case(client)
    health_task = next(t for t in case["tasks"] if t["department"] == "health")
    clerk, approver = another_client(), another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    # 出生医学证明签发 is a 市级 item: the city's 卫健 office handles it (全城通办: routed by competence).
    await staff_client_sign_up(
        approver, pool, settings.secret_key, name="刘审批", role="approver", region="320400", department="health"
    )
    queue = (await clerk.get("/api/v1/console/tasks")).json()
    assert {t["case_no"] for t in queue} == {case["case_no"]}
    assert (await _act(clerk, health_task["id"], "accept")).json()["status"] == "accepted"
    approver_queue = (await approver.get("/api/v1/console/tasks")).json()
    assert [t["id"] for t in approver_queue] == [health_task["id"]]
    for action in ("review", "approve", "complete"):
        response = await _act(approver, health_task["id"], action, "材料齐全")
        assert response.status_code == 200, response.text
    no_method = await _act(clerk, health_task["id"], "deliver")
    assert no_method.status_code == 400 and "delivery_method" in no_method.json()["errors"]
    posted = await post(
        clerk,
        f"/api/v1/console/tasks/{health_task['id']}/transition",
        {"action": "deliver", "delivery_method": "post", "delivery_ref": "SF1234567890"},
    )
    assert posted.json()["status"] == "delivered"
    assert await pool.fetchval("SELECT delivery_ref FROM tasks WHERE id = $1", health_task["id"]) == "SF1234567890"

    resident_view = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()
    statuses = [e["status"] for e in resident_view["timeline"] if e["task_id"] == health_task["id"]]
    assert statuses == ["accepted", "in_review", "approved", "completed", "delivered"]
    track = (
        await client.get(resident_view["tracking_url"].replace("http://localhost:8000/t/", "/api/v1/track/"))
    ).json()
    tracked = next(t for t in track["tasks"] if t["item_name"] == health_task["item_name"])
    assert len(tracked["steps"]) == 5 and "材料齐全" not in str(track)
    kinds = await pool.fetch(
        "SELECT e.kind FROM e_certificates e JOIN cases c ON c.id = e.case_id WHERE c.case_no = $1", case["case_no"]
    )
    assert [r["kind"] for r in kinds] == ["birth_medical"]


async def test_an_illegal_action_is_409_naming_the_allowed_ones_and_changes_nothing(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case = await _resident_case(client)
    task = case["tasks"][0]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    response = await _act(clerk, task["id"], "deliver")
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == ["accept", "reject", "request_supplement"]
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task["id"]) == "submitted"
    assert await pool.fetchval("SELECT count(*) FROM timeline_events WHERE task_id = $1", task["id"]) == 0
    refused = await _act(clerk, task["id"], "reject")
    assert refused.status_code == 400 and "note" in refused.json()["errors"]


async def test_staff_outside_department_or_region_get_403_and_it_is_audited(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case = await _resident_case(client)
    police_task = next(t for t in case["tasks"] if t["department"] == "police")
    approver, far_clerk = another_client(), another_client()
    await staff_client_sign_up(
        approver, pool, settings.secret_key, name="刘审批", role="approver", region="320402", department="health"
    )
    await staff_client_sign_up(
        far_clerk, pool, settings.secret_key, name="钟窗口", role="clerk", region="320404", department="police"
    )
    assert (await _act(approver, police_task["id"], "review")).status_code == 403
    assert (await _act(far_clerk, police_task["id"], "accept")).status_code == 403
    assert (await far_clerk.get("/api/v1/console/tasks")).json() == []
    assert police_task["id"] not in {t["id"] for t in (await approver.get("/api/v1/console/tasks")).json()}
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'task.transition' AND outcome = 'forbidden'"
    )
    assert audited == 2
    assert (await client.get("/api/v1/console/tasks")).status_code == 403  # residents have no console


async def test_twenty_simultaneous_transitions_one_wins(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case = await _resident_case(client)
    task = case["tasks"][0]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    headers = await csrf(clerk)
    responses = await asyncio.gather(
        *(
            clerk.post(f"/api/v1/console/tasks/{task['id']}/transition", json={"action": "accept"}, headers=headers)
            for _ in range(20)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 19
    assert await pool.fetchval("SELECT count(*) FROM timeline_events WHERE task_id = $1", task["id"]) == 1


async def test_a_supplement_pauses_the_deadline_and_the_resubmission_returns_to_the_queue(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case = await _resident_case(client)
    task = case["tasks"][0]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    accepted = (await _act(clerk, task["id"], "accept")).json()
    asked = await _act(clerk, task["id"], "request_supplement", "请补交：新生儿正面免冠照片一张")
    assert asked.json()["status"] == "supplement_requested"
    resident_case = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()
    assert resident_case["status"] == "supplement_requested"
    assert resident_case["timeline"][-1]["note"] == "请补交：新生儿正面免冠照片一张"
    back = (await _act(clerk, task["id"], "resubmit", "窗口收到补正材料")).json()
    assert back["status"] == "resubmitted" and back["due_on"] >= accepted["due_on"]
    assert task["id"] in {t["id"] for t in (await clerk.get("/api/v1/console/tasks")).json()}


async def test_a_clerk_files_a_walk_in_case_for_a_resident_at_the_window(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="王窗口", role="clerk", region="320400", department="police"
    )
    form = (await client.get("/api/v1/life-events/retirement/form")).json()
    from tests.case_helpers import answers_for

    body = {
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": "walk-in-0001",
        "on_behalf_of": "320412196608080133",
    }
    # Filing for someone needs the in-person ID check first (窗口收件), for that very person.
    refused = await post(client, "/api/v1/cases", body)
    assert refused.status_code == 403 and await pool.fetchval("SELECT count(*) FROM cases") == 0
    started = await post(
        client,
        "/api/v1/console/walk-ins",
        {"name": "王建国", "id_number": "320412196608080133", "identity_checked": True},
    )
    assert started.status_code == 201, started.text
    created = await post(client, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    row = await pool.fetchrow("SELECT channel, filed_as, applicant_person_id FROM cases")
    assert (row["channel"], row["filed_as"]) == ("window", "clerk")
    assert await pool.fetchval("SELECT name FROM people WHERE id = $1", row["applicant_person_id"]) == "王建国"
    unknown = await post(
        client, "/api/v1/cases", {**body, "idempotency_key": "walk-in-0002", "on_behalf_of": "11010519491231002X"}
    )
    assert unknown.status_code == 403  # refused like anyone else not checked at the window: no register oracle
    someone_else = await post(
        client, "/api/v1/cases", {**body, "idempotency_key": "walk-in-0003", "on_behalf_of": "320402199403150119"}
    )
    assert someone_else.status_code == 403


async def test_a_resident_cannot_file_on_behalf_of_someone(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    body = await submission_for(client, "birth", "behalf-0001")
    response = await post(client, "/api/v1/cases", {**body, "on_behalf_of": "320412196608080133"})
    assert response.status_code == 403


async def test_the_resident_answers_a_supplement_request_and_the_task_returns_to_the_queue(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    from tests.case_helpers import PNG_1X1

    case = await _resident_case(client)
    task = case["tasks"][0]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    await _act(clerk, task["id"], "request_supplement", "请补交新生儿照片")
    page = await client.get(f"/cases/{case['case_no']}")
    assert "需要您补正" in page.text and "请补交新生儿照片" in page.text
    bad = await client.post(
        f"/cases/{case['case_no']}/tasks/{task['id']}/supplement",
        data={"note": "x"},
        files={"file": ("a.png", b"not an image", "image/png")},
        headers=await csrf(client),
    )
    assert bad.status_code == 400 and "PDF" in bad.text
    done = await client.post(
        f"/cases/{case['case_no']}/tasks/{task['id']}/supplement",
        data={"note": "照片已补"},
        files={"file": ("photo.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task["id"]) == "resubmitted"
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE material_code = $1", f"supplement:{task['id']}") == 1
    assert task["id"] in {t["id"] for t in (await clerk.get("/api/v1/console/tasks")).json()}
    again = await client.post(
        f"/cases/{case['case_no']}/tasks/{task['id']}/supplement",
        data={"note": "again"},
        files={"file": ("photo.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
    )
    assert again.status_code == 409
