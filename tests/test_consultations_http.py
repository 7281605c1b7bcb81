"""征求意见 over HTTP against PostgreSQL: an approver asks another department for its opinion on a task, that
department's approvers (in the competent region) see it and answer once, the asking task shows the answer while its
own clock keeps running, and an unanswered one past its date shows in supervision. Every rule with its attacker: another
department or region answering, answering twice, a resident or a clerk calling, asking on someone else's task."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.calendar.service import current_calendar, today_in_china
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
QUESTION = "申请人所报父亲是否已在民政部门办理婚姻登记？请核实后答复。"
ANSWER = "经查，双方已于2024年办理结婚登记，登记信息一致。"


class Desk:
    """张伟's birth case, accepted and in review at 卫健, and the staff around it (天宁区 320402 unless named)."""

    def __init__(self, case: dict[str, Any], task: dict[str, Any], **staff: Client) -> None:
        self.case, self.task, self.case_no = case, task, case["case_no"]
        self.clerk, self.health, self.civil = staff["clerk"], staff["health"], staff["civil"]
        self.make: MakeClient = staff["make"]  # type: ignore[assignment]


async def _staff(make: MakeClient, pool: asyncpg.Pool, settings: Settings, **who: str) -> Client:
    staff = make()
    await staff_client_sign_up(
        staff,
        pool,
        settings.secret_key,
        name=who["name"],
        role=who["role"],
        region=who.get("region", "320402"),
        department=who.get("department"),
    )
    return staff


@pytest.fixture
async def desk(client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient) -> Desk:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "consult-case-01"))
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    # 预防接种证: a 区级 item, handled by the district's health office (出生医学证明 is the city's).
    task = next(t for t in case["tasks"] if t["item_code"] == "CZ-WJ-002")
    clerk = await _staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    health = await _staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    civil = await _staff(another_client, pool, settings, name="赵民政", role="approver", department="civil_affairs")
    for actor, action in ((clerk, "accept"), (health, "review")):
        moved = await post(actor, f"/api/v1/console/tasks/{task['id']}/transition", {"action": action})
        assert moved.status_code == 200, moved.text
    return Desk(case, task, clerk=clerk, health=health, civil=civil, make=another_client)  # type: ignore[arg-type]


async def _ask(staff: Client, task_id: int, **body: Any) -> httpx.Response:
    return await post(
        staff,
        f"/api/v1/console/tasks/{task_id}/consultations",
        {"department": "civil_affairs", "question": QUESTION, "due_in_days": 3, **body},
    )


async def _answer(staff: Client, consultation_id: int, text: str = ANSWER) -> httpx.Response:
    return await post(staff, f"/api/v1/console/consultations/{consultation_id}/answer", {"text": text})


async def _due_on(pool: asyncpg.Pool, task_id: int) -> Any:
    return await pool.fetchval("SELECT due_on FROM tasks WHERE id = $1", task_id)


async def _audit(pool: asyncpg.Pool, action: str, outcome: str) -> list[Any]:
    return await pool.fetch("SELECT subject, detail FROM audit_log WHERE action = $1 AND outcome = $2", action, outcome)


async def test_a_consultation_round_trip_the_asked_department_answers_and_the_asking_task_shows_it(
    desk: Desk, client: Client, pool: asyncpg.Pool
) -> None:
    due_before = await _due_on(pool, desk.task["id"])
    asked = await _ask(desk.health, desk.task["id"])
    assert asked.status_code == 201, asked.text
    consultation = asked.json()
    expected = (await current_calendar(pool)).add_working_days(today_in_china(), 3)
    assert consultation["due_on"] == expected.due_on.isoformat() and consultation["department"] == "civil_affairs"

    # The asked office's approver hears of it and finds it in their queue, on the console page and in the API.
    waiting = await desk.civil.get("/api/v1/console/consultations")
    assert [c["id"] for c in waiting.json()] == [consultation["id"]]
    assert waiting.json()[0]["question"] == QUESTION and waiting.json()[0]["can_answer"] is True
    queue = await desk.civil.get("/console")
    assert "待本部门答复的征求意见" in queue.text and f"/console/consultations/{consultation['id']}" in queue.text
    inbox = (await desk.civil.get("/api/v1/notifications")).json()["items"]
    assert any("征求意见" in item["title"] for item in inbox)
    # …but not the application itself: the case is not theirs to open.
    assert (await desk.civil.get(f"/console/cases/{desk.case_no}")).status_code == 403

    page = await desk.civil.get(f"/console/consultations/{consultation['id']}")
    assert page.status_code == 200 and QUESTION in page.text and 'name="text"' in page.text
    answered = await _answer(desk.civil, consultation["id"])
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == ANSWER and answered.json()["answered_by_name"] == "赵民政"
    assert (await desk.civil.get("/api/v1/console/consultations")).json() == []

    # The asking task shows question and answer to its staff; the asker is told.
    case_page = await desk.health.get(f"/console/cases/{desk.case_no}")
    assert QUESTION in case_page.text and ANSWER in case_page.text and "已答复" in case_page.text
    staff_case = (await desk.health.get(f"/api/v1/console/cases/{desk.case_no}")).json()
    assert staff_case["consultations"][str(desk.task["id"])][0]["answer"] == ANSWER
    assert any(
        "征求意见已答复" in item["title"] for item in (await desk.health.get("/api/v1/notifications")).json()["items"]
    )

    # The asking task's clock ran on: its due date is what it was.
    assert await _due_on(pool, desk.task["id"]) == due_before
    # Both steps are on the task's history for staff only, and audited.
    steps = await pool.fetch(
        "SELECT status, visibility FROM timeline_events WHERE task_id = $1 AND status LIKE 'consultation%'",
        desk.task["id"],
    )
    assert sorted((s["status"], s["visibility"]) for s in steps) == [
        ("consultation_answered", "internal"),
        ("consultation_asked", "internal"),
    ]
    mine = await client.get(f"/api/v1/cases/{desk.case_no}")
    assert "征求" not in mine.text and QUESTION not in mine.text and ANSWER not in mine.text
    assert len(await _audit(pool, "consultation.ask", "ok")) == 1
    assert len(await _audit(pool, "consultation.answer", "ok")) == 1


async def test_answering_twice_is_a_conflict_and_keeps_the_first_answer(desk: Desk, pool: asyncpg.Pool) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    assert (await _answer(desk.civil, consultation["id"])).status_code == 200
    again = await _answer(desk.civil, consultation["id"], "改个说法")
    assert again.status_code == 409 and "已经答复" in again.json()["detail"]
    assert await pool.fetchval("SELECT answer FROM consultations WHERE id = $1", consultation["id"]) == ANSWER


async def test_another_department_or_region_cannot_answer_and_is_audited(
    desk: Desk, pool: asyncpg.Pool, settings: Settings
) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    police = await _staff(desk.make, pool, settings, name="孙公安", role="approver", department="police")
    elsewhere = await _staff(
        desk.make, pool, settings, name="钱民政", role="approver", department="civil_affairs", region="320411"
    )
    for intruder in (police, elsewhere, desk.health):
        refused = await _answer(intruder, consultation["id"], "我来答")
        assert refused.status_code == 403, refused.text
        assert consultation["id"] not in [c["id"] for c in (await intruder.get("/api/v1/console/consultations")).json()]
    # The other district's and the other department's approvers cannot even read it; the asker can (no form).
    assert (await police.get(f"/api/v1/console/consultations/{consultation['id']}")).status_code == 403
    assert (await elsewhere.get(f"/api/v1/console/consultations/{consultation['id']}")).status_code == 403
    own = await desk.health.get(f"/console/consultations/{consultation['id']}")
    assert own.status_code == 200 and 'name="text"' not in own.text
    assert await pool.fetchval("SELECT answer FROM consultations WHERE id = $1", consultation["id"]) is None
    assert len(await _audit(pool, "consultation.answer", "forbidden")) == 3
    # A city-level approver of the asked department serves every district: they may answer.
    city = await _staff(
        desk.make, pool, settings, name="周民政", role="approver", department="civil_affairs", region="320400"
    )
    assert (await _answer(city, consultation["id"])).status_code == 200


async def test_a_resident_and_a_clerk_reach_none_of_it(desk: Desk, client: Client, pool: asyncpg.Pool) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    for caller in (client, desk.clerk):
        assert (await _ask(caller, desk.task["id"])).status_code == 403
        assert (await _answer(caller, consultation["id"])).status_code == 403
        assert (await caller.get("/api/v1/console/consultations")).status_code == 403
        form = await caller.post(
            f"/console/consultations/{consultation['id']}/answer", data={"text": "x"}, headers=await csrf(caller)
        )
        assert form.status_code == 403
    assert (await client.get(f"/api/v1/console/consultations/{consultation['id']}")).status_code == 403
    assert (await client.get(f"/console/consultations/{consultation['id']}")).status_code == 403
    # The window clerk of the case may read it (the asking task's staff), not answer it.
    assert (await desk.clerk.get(f"/api/v1/console/consultations/{consultation['id']}")).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM consultations") == 1


async def test_only_the_tasks_own_approver_asks_and_only_while_it_is_with_the_departments(
    desk: Desk, pool: asyncpg.Pool, settings: Settings
) -> None:
    police_task = next(t for t in desk.case["tasks"] if t["department"] == "police")
    refused = await _ask(desk.health, police_task["id"])
    assert refused.status_code == 403
    elsewhere = await _staff(
        desk.make, pool, settings, name="吴卫健", role="approver", department="health", region="320411"
    )
    assert (await _ask(elsewhere, desk.task["id"])).status_code == 403
    assert len(await _audit(pool, "consultation.ask", "forbidden")) == 2

    # Not yet accepted: nothing to give an opinion on yet.
    # (出生医学证明 is the city's: the city's health approver may ask on it, once accepted.)
    city = await _staff(desk.make, pool, settings, name="市卫健", role="approver", department="health", region="320400")
    certificate = next(t for t in desk.case["tasks"] if t["item_code"] == "CZ-WJ-001")
    early = await _ask(city, certificate["id"])
    assert early.status_code == 409, early.text
    assert (await _ask(desk.health, 999_999)).status_code == 404
    assert (await _answer(desk.civil, 999_999)).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM consultations") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"department": "health"}, "department"),
        ({"department": "nosuch"}, "department"),
        ({"question": "   "}, "question"),
        ({"question": "问" * 1001}, "question"),
        ({"due_in_days": 0}, "due_in_days"),
        ({"due_in_days": 21}, "due_in_days"),
    ],
)
async def test_a_bad_question_is_refused_beside_its_field(
    desk: Desk, pool: asyncpg.Pool, body: dict[str, Any], field: str
) -> None:
    refused = await _ask(desk.health, desk.task["id"], **body)
    assert refused.status_code == 400, refused.text
    assert field in refused.json()["errors"]
    assert await pool.fetchval("SELECT count(*) FROM consultations") == 0


async def test_an_empty_answer_is_refused(desk: Desk) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    refused = await _answer(desk.civil, consultation["id"], "  ")
    assert refused.status_code == 400 and "text" in refused.json()["errors"]


async def test_asking_and_answering_through_the_console_pages(desk: Desk, pool: asyncpg.Pool) -> None:
    page = await desk.health.get(f"/console/cases/{desk.case_no}")
    assert "征求其他部门意见" in page.text and 'value="civil_affairs"' in page.text
    action = f"/console/tasks/{desk.task['id']}/consultations"
    refused = await desk.health.post(
        action,
        data={"case_no": desk.case_no, "department": "", "question": QUESTION, "due_in_days": "3"},
        headers=await csrf(desk.health),
    )
    assert refused.status_code == 400 and "请选择要征求意见的部门" in refused.text
    assert QUESTION in refused.text  # what was typed is kept
    sent = await desk.health.post(
        action,
        data={"case_no": desk.case_no, "department": "civil_affairs", "question": QUESTION, "due_in_days": "3"},
        headers=await csrf(desk.health),
    )
    assert (
        sent.status_code == 303 and sent.headers["location"] == f"/console/cases/{desk.case_no}#task-{desk.task['id']}"
    )
    back = await desk.health.get(f"/console/cases/{desk.case_no}")
    assert "已发出征求意见" in back.text and "待答复" in back.text

    consultation_id = await pool.fetchval("SELECT id FROM consultations")
    empty = await desk.civil.post(
        f"/console/consultations/{consultation_id}/answer", data={"text": ""}, headers=await csrf(desk.civil)
    )
    assert empty.status_code == 400 and "请填写本部门的意见" in empty.text
    done = await desk.civil.post(
        f"/console/consultations/{consultation_id}/answer", data={"text": ANSWER}, headers=await csrf(desk.civil)
    )
    assert done.status_code == 303
    shown = await desk.civil.get(done.headers["location"])
    assert "已答复" in shown.text and ANSWER in shown.text and 'name="text"' not in shown.text
    twice = await desk.civil.post(
        f"/console/consultations/{consultation_id}/answer", data={"text": "再答"}, headers=await csrf(desk.civil)
    )
    assert twice.status_code == 409 and "已经答复" in twice.text


async def test_an_unanswered_consultation_past_its_date_shows_in_supervision(
    desk: Desk, pool: asyncpg.Pool, settings: Settings
) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    await pool.execute(
        "UPDATE consultations SET due_on = $2 WHERE id = $1", consultation["id"], today_in_china() - timedelta(days=7)
    )
    civil_supervisor = await _staff(
        desk.make, pool, settings, name="民政督查", role="supervisor", department="civil_affairs"
    )
    view = (await civil_supervisor.get("/api/v1/console/supervision")).json()
    assert [c["id"] for c in view["consultations"]] == [consultation["id"]]
    assert view["consultations"][0]["overdue_working_days"] > 0 and "question" not in view["consultations"][0]
    page = await civil_supervisor.get("/console/supervision")
    assert "超期未答复的征求意见" in page.text and desk.case_no in page.text and QUESTION not in page.text
    # Another department's supervisor does not oversee the 民政 office; once answered, it is no longer late.
    police_supervisor = await _staff(desk.make, pool, settings, name="公安督查", role="supervisor", department="police")
    assert (await police_supervisor.get("/api/v1/console/supervision")).json()["consultations"] == []
    assert (await _answer(desk.civil, consultation["id"])).status_code == 200
    assert (await civil_supervisor.get("/api/v1/console/supervision")).json()["consultations"] == []
