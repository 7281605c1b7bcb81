"""征求意见 over HTTP against PostgreSQL: an approver asks another department for its opinion on a task, that
department's approvers (in the competent region) see it and answer once, the asking task shows the answer while its
own clock keeps running, and an unanswered one past its date shows in supervision. Files go with the question and the
answer (multipart, as residents' uploads are checked), downloaded only by those who read the consultation, and purged
with the case. Every rule with its attacker: another department or region answering or downloading, answering twice, a
resident or a clerk calling, asking on someone else's task, a file of the wrong type, too big or one too many."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app import purge
from app.calendar.service import current_calendar, today_in_china
from app.consultations.routes import BODY_MAX_BYTES
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff
from tests.case_helpers import PNG_1X1, submission_for
from tests.test_retention_purge import _ended

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


@pytest.fixture
async def desk(client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient) -> Desk:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "consult-case-01"))
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    # 预防接种证: a 区级 item, handled by the district's health office (出生医学证明 is the city's).
    task = next(t for t in case["tasks"] if t["item_code"] == "CZ-WJ-002")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    health = await signed_in_staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    civil = await signed_in_staff(
        another_client, pool, settings, name="赵民政", role="approver", department="civil_affairs"
    )
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
    police = await signed_in_staff(desk.make, pool, settings, name="孙公安", role="approver", department="police")
    elsewhere = await signed_in_staff(
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
    city = await signed_in_staff(
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
    elsewhere = await signed_in_staff(
        desk.make, pool, settings, name="吴卫健", role="approver", department="health", region="320411"
    )
    assert (await _ask(elsewhere, desk.task["id"])).status_code == 403
    assert len(await _audit(pool, "consultation.ask", "forbidden")) == 2

    # Not yet accepted: nothing to give an opinion on yet.
    # (出生医学证明 is the city's: the city's health approver may ask on it, once accepted.)
    city = await signed_in_staff(
        desk.make, pool, settings, name="市卫健", role="approver", department="health", region="320400"
    )
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
    civil_supervisor = await signed_in_staff(
        desk.make, pool, settings, name="民政督查", role="supervisor", department="civil_affairs"
    )
    view = (await civil_supervisor.get("/api/v1/console/supervision")).json()
    assert [c["id"] for c in view["consultations"]] == [consultation["id"]]
    assert view["consultations"][0]["overdue_working_days"] > 0 and "question" not in view["consultations"][0]
    page = await civil_supervisor.get("/console/supervision")
    assert "超期未答复的征求意见" in page.text and desk.case_no in page.text and QUESTION not in page.text
    # Another department's supervisor does not oversee the 民政 office; once answered, it is no longer late.
    police_supervisor = await signed_in_staff(
        desk.make, pool, settings, name="公安督查", role="supervisor", department="police"
    )
    assert (await police_supervisor.get("/api/v1/console/supervision")).json()["consultations"] == []
    assert (await _answer(desk.civil, consultation["id"])).status_code == 200
    assert (await civil_supervisor.get("/api/v1/console/supervision")).json()["consultations"] == []


# --- files on the question and the answer ----------------------------------------------------------------------------

PDF = "%PDF-1.4\n% 婚姻登记查询表\n1 0 obj << >> endobj\n%%EOF\n".encode()
NOT_A_PDF = "这是一段文字，改了扩展名".encode()


async def _ask_with_files(staff: Client, task_id: int, files: list[tuple[str, bytes]], **fields: str) -> httpx.Response:
    """征求意见 as multipart/form-data: the contract's fields as text, each file under `file`."""
    body = {"department": "civil_affairs", "question": QUESTION, "due_in_days": "3", **fields}
    return await staff.post(
        f"/api/v1/console/tasks/{task_id}/consultations",
        data=body,
        files=[("file", (name, content)) for name, content in files],
        headers=await csrf(staff),
    )


async def _answer_with_files(
    staff: Client, consultation_id: int, files: list[tuple[str, bytes]], text: str = ANSWER
) -> httpx.Response:
    return await staff.post(
        f"/api/v1/console/consultations/{consultation_id}/answer",
        data={"text": text},
        files=[("file", (name, content)) for name, content in files],
        headers=await csrf(staff),
    )


async def test_files_travel_with_the_question_and_the_answer_and_each_side_downloads_the_others(
    desk: Desk, client: Client, pool: asyncpg.Pool
) -> None:
    asked = await _ask_with_files(desk.health, desk.task["id"], [("婚姻登记查询表.pdf", PDF), ("户口页.png", PNG_1X1)])
    assert asked.status_code == 201, asked.text
    consultation = asked.json()
    assert [(a["side"], a["filename"], a["content_type"], a["size"]) for a in consultation["attachments"]] == [
        ("question", "婚姻登记查询表.pdf", "application/pdf", len(PDF)),
        ("question", "户口页.png", "image/png", len(PNG_1X1)),
    ]
    pdf = consultation["attachments"][0]
    assert pdf["url"] == f"/api/v1/console/consultations/{consultation['id']}/attachments/{pdf['id']}"

    # The asked department finds them with the question, and downloads the PDF as it was sent.
    waiting = (await desk.civil.get("/api/v1/console/consultations")).json()
    assert [a["filename"] for a in waiting[0]["attachments"]] == ["婚姻登记查询表.pdf", "户口页.png"]
    page = await desk.civil.get(f"/console/consultations/{consultation['id']}")
    # The page links to the console's address of the file (a person's link), the API's JSON to the API's.
    pdf_page_link = _page_link(pdf["url"])
    assert f'href="{pdf_page_link}"' in page.text and pdf["url"] not in page.text
    assert "婚姻登记查询表.pdf" in page.text and 'type="file"' in page.text
    for address in (pdf["url"], pdf_page_link):  # the same file, answered alike at either address
        downloaded = await desk.civil.get(address)
        assert downloaded.status_code == 200 and downloaded.content == PDF
        assert downloaded.headers["content-type"].startswith("application/pdf")
        assert downloaded.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
        assert "%E5%A9%9A%E5%A7%BB" in downloaded.headers["content-disposition"]  # 婚姻…, percent-encoded
        assert downloaded.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in downloaded.headers["cache-control"]

    # It answers with a file of its own; the asking task's staff read it on the task card and download it.
    answered = await _answer_with_files(desk.civil, consultation["id"], [("结婚登记记录.png", PNG_1X1)])
    assert answered.status_code == 200, answered.text
    reply = next(a for a in answered.json()["attachments"] if a["side"] == "answer")
    assert reply["filename"] == "结婚登记记录.png"
    card = await desk.health.get(f"/console/cases/{desk.case_no}")
    assert _page_link(reply["url"]) in card.text and pdf_page_link in card.text and "结婚登记记录.png" in card.text
    for staff in (desk.health, desk.clerk):  # the asking task's approver and its window clerk
        got = await staff.get(reply["url"])
        assert got.status_code == 200 and got.content == PNG_1X1
        assert got.headers["content-type"] == "image/png"

    # Every download audited, with the case, never the file's name.
    reads = await _audit(pool, "consultation.attachment.read", "ok")
    assert len(reads) == 4
    assert all(f"consultation:{consultation['id']}" == r["subject"] for r in reads)
    assert "婚姻登记" not in str([dict(r) for r in reads]) and desk.case_no in str(reads[0]["detail"])
    # Nothing of it on the resident's side.
    for path in (f"/api/v1/cases/{desk.case_no}", f"/cases/{desk.case_no}"):
        mine = await client.get(path)
        assert "婚姻登记查询表" not in mine.text and "结婚登记记录" not in mine.text and "attachments" not in mine.text
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE filename LIKE '%婚姻登记%'") == 0


async def test_only_those_who_read_the_consultation_download_its_files_and_refusals_are_audited(
    desk: Desk, client: Client, pool: asyncpg.Pool, settings: Settings, app: Any
) -> None:
    consultation = (await _ask_with_files(desk.health, desk.task["id"], [("查询表.pdf", PDF)])).json()
    url = consultation["attachments"][0]["url"]
    police = await signed_in_staff(desk.make, pool, settings, name="孙公安", role="approver", department="police")
    elsewhere = await signed_in_staff(
        desk.make, pool, settings, name="钱民政", role="approver", department="civil_affairs", region="320411"
    )
    for stranger in (police, elsewhere):
        refused = await stranger.get(url)
        assert refused.status_code == 403 and PDF not in refused.content, refused.text
    assert len(await _audit(pool, "consultation.attachment.read", "forbidden")) == 2
    # The resident whose case it is, and someone not signed in.
    resident = await client.get(url)
    assert resident.status_code == 403 and PDF not in resident.content
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50470)), base_url="http://localhost:8000"
    ) as anonymous:
        nobody = await anonymous.get(url)
        assert nobody.status_code == 401 and PDF not in nobody.content
    assert await _audit(pool, "consultation.attachment.read", "ok") == []

    # A file asked for under another consultation the caller reads is no file at all.
    other = (await _ask(desk.health, desk.task["id"], question="另一个问题")).json()
    moved = url.replace(f"/consultations/{consultation['id']}/", f"/consultations/{other['id']}/")
    assert (await desk.civil.get(moved)).status_code == 404
    assert (await desk.civil.get(url + "0")).status_code == 404


def _page_link(api_url: str) -> str:
    """The console's address of a consultation's file, given the API's."""
    assert api_url.startswith("/api/v1/console/consultations/"), api_url
    return api_url.removeprefix("/api/v1")


async def test_a_file_link_followed_after_the_session_lapsed_leads_to_sign_in_not_to_a_json_file(
    desk: Desk, pool: asyncpg.Pool, settings: Settings, app: Any
) -> None:
    """A person following the page's link with no live session (signed out, or idle past the staff limit) is taken
    to sign in and brought back to the file; the API's address stays a JSON 401 for systems. Either way no file."""
    consultation = (await _ask_with_files(desk.health, desk.task["id"], [("查询表.pdf", PDF)])).json()
    url = consultation["attachments"][0]["url"]
    link = _page_link(url)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50471)), base_url="http://localhost:8000"
    ) as browser:
        followed = await browser.get(link, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert followed.status_code == 303 and PDF not in followed.content
        assert followed.headers["location"] == f"/login?next={link}"
        api = await browser.get(url)
        assert api.status_code == 401 and api.headers["content-type"].startswith("application/json")
    # Someone signed in who may not read it is refused on a page, as at the API, and both refusals are audited.
    police = await signed_in_staff(desk.make, pool, settings, name="孙公安", role="approver", department="police")
    refused = await police.get(link)
    assert refused.status_code == 403 and PDF not in refused.content and "text/html" in refused.headers["content-type"]
    assert len(await _audit(pool, "consultation.attachment.read", "forbidden")) == 1
    assert await _audit(pool, "consultation.attachment.read", "ok") == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("查询表.pdf", NOT_A_PDF)], "只能上传 PDF、JPG 或 PNG 文件"),
        ([("扫描件.png", PNG_1X1 + b"\0" * (10 * 1024 * 1024))], "文件不能超过10MB"),
        ([("空白.pdf", b"")], "文件是空的"),
        ([(f"第{n}页.png", PNG_1X1) for n in range(6)], "一次最多上传5个文件"),
    ],
)
async def test_a_bad_file_is_refused_beside_its_field_on_the_question_and_on_the_answer(
    desk: Desk, pool: asyncpg.Pool, files: list[tuple[str, bytes]], message: str
) -> None:
    refused = await _ask_with_files(desk.health, desk.task["id"], files)
    assert refused.status_code == 400, refused.text
    assert message in refused.json()["errors"]["file"]
    assert await pool.fetchval("SELECT count(*) FROM consultations") == 0

    consultation = (await _ask(desk.health, desk.task["id"])).json()
    not_answered = await _answer_with_files(desk.civil, consultation["id"], files)
    assert not_answered.status_code == 400 and message in not_answered.json()["errors"]["file"]
    assert await pool.fetchval("SELECT answer FROM consultations WHERE id = $1", consultation["id"]) is None
    assert await pool.fetchval("SELECT count(*) FROM consultation_attachments") == 0


async def test_the_words_and_the_files_are_refused_together_each_beside_its_field(desk: Desk) -> None:
    refused = await _ask_with_files(desk.health, desk.task["id"], [("a.pdf", NOT_A_PDF)], question=" ", due_in_days="0")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"question", "due_in_days", "file"}
    assert "a.pdf" in refused.json()["errors"]["file"]  # the file at fault is named


async def test_json_bodies_are_checked_as_json_when_the_route_also_takes_files(desk: Desk, pool: asyncpg.Pool) -> None:
    nul = await _ask(desk.health, desk.task["id"], question="问\x00题")
    assert nul.status_code == 400 and "question" in nul.json()["errors"]
    wrong = await _ask(desk.health, desk.task["id"], due_in_days="三天")
    assert wrong.status_code == 400 and "due_in_days" in wrong.json()["errors"]
    listed = await post(desk.health, f"/api/v1/console/tasks/{desk.task['id']}/consultations", None)
    assert listed.status_code == 400
    assert await pool.fetchval("SELECT count(*) FROM consultations") == 0


async def test_files_through_the_console_pages_without_javascript(desk: Desk, pool: asyncpg.Pool) -> None:
    page = await desk.health.get(f"/console/cases/{desk.case_no}")
    assert 'enctype="multipart/form-data"' in page.text and 'id="consult-file-' in page.text
    action = f"/console/tasks/{desk.task['id']}/consultations"
    fields = {"case_no": desk.case_no, "department": "civil_affairs", "question": QUESTION, "due_in_days": "3"}
    refused = await desk.health.post(
        action, data=fields, files=[("file", ("说明.pdf", NOT_A_PDF))], headers=await csrf(desk.health)
    )
    assert refused.status_code == 400 and "只能上传 PDF、JPG 或 PNG 文件" in refused.text
    assert f'href="#consult-file-{desk.task["id"]}"' in refused.text and QUESTION in refused.text
    sent = await desk.health.post(
        action, data=fields, files=[("file", ("查询表.pdf", PDF))], headers=await csrf(desk.health)
    )
    assert sent.status_code == 303, sent.text
    consultation_id = await pool.fetchval("SELECT id FROM consultations")

    answer_page = f"/console/consultations/{consultation_id}/answer"
    too_big = await desk.civil.post(
        answer_page,
        data={"text": ANSWER},
        files=[("file", ("大图.png", PNG_1X1 + b"\0" * (10 * 1024 * 1024)))],
        headers=await csrf(desk.civil),
    )
    assert too_big.status_code == 400 and "文件不能超过10MB" in too_big.text and 'href="#answer-file"' in too_big.text
    assert ANSWER in too_big.text  # what was typed is kept
    done = await desk.civil.post(
        answer_page, data={"text": ANSWER}, files=[("file", ("记录.png", PNG_1X1))], headers=await csrf(desk.civil)
    )
    assert done.status_code == 303
    shown = await desk.civil.get(done.headers["location"])
    assert "记录.png" in shown.text and "查询表.pdf" in shown.text
    files = await pool.fetch("SELECT side, filename FROM consultation_attachments ORDER BY id")
    assert [(f["side"], f["filename"]) for f in files] == [("question", "查询表.pdf"), ("answer", "记录.png")]


async def test_purge_removes_the_consultation_files_when_the_case_passes_its_retention(
    desk: Desk, pool: asyncpg.Pool
) -> None:
    consultation = (await _ask_with_files(desk.health, desk.task["id"], [("查询表.pdf", PDF)])).json()
    assert (await _answer_with_files(desk.civil, consultation["id"], [("记录.png", PNG_1X1)])).status_code == 200
    url = consultation["attachments"][0]["url"]

    async def purge_today() -> purge.RetentionReport:
        async with pool.acquire() as conn:
            return await purge.purge_past_retention(conn, today_in_china())

    # Open, then ended but inside its 30 years: kept.
    assert (await purge_today()).consultation_files == 0
    await _ended(pool, desk.case_no, "delivered", timedelta(days=29 * 365))
    assert (await purge_today()).consultation_files == 0
    assert await pool.fetchval("SELECT count(*) FROM consultation_attachments") == 2

    await _ended(pool, desk.case_no, "delivered", timedelta(days=31 * 365))
    report = await purge_today()
    assert report.cases == 1
    assert (report.consultation_files, report.consultation_file_bytes) == (2, len(PDF) + len(PNG_1X1))
    assert await pool.fetchval("SELECT count(*) FROM consultation_attachments") == 0
    detail = await pool.fetchval("SELECT detail FROM audit_log WHERE action = 'case.purge'")
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["consultation_files"] == 2 and "查询表" not in json.dumps(detail, ensure_ascii=False)
    # The consultation itself is still on the task card, without its files; the address answers 404, not a 500.
    gone = await desk.civil.get(url)
    assert gone.status_code == 404 and "保存期限" in gone.json()["detail"]
    assert (await desk.civil.get(f"/api/v1/console/consultations/{consultation['id']}")).json()["attachments"] == []


async def test_purge_forgets_the_question_and_answer_but_keeps_that_it_was_asked_and_answered(
    desk: Desk, pool: asyncpg.Pool
) -> None:
    """The words are the case's personal data like its notes; who asked whom, when, and that it was answered stay."""
    consultation = (await _ask_with_files(desk.health, desk.task["id"], [("查询表.pdf", PDF)])).json()
    assert (await _answer_with_files(desk.civil, consultation["id"], [("记录.png", PNG_1X1)])).status_code == 200
    await _ended(pool, desk.case_no, "delivered", timedelta(days=31 * 365))
    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china())
    assert report.consultation_words == 1
    row = await pool.fetchrow("SELECT question, answer, answered_at, words_forgotten_on FROM consultations")
    assert row["question"] is None and row["answer"] is None
    assert row["answered_at"] is not None and row["words_forgotten_on"] == today_in_china()
    detail = await pool.fetchval("SELECT detail FROM audit_log WHERE action = 'case.purge'")
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["consultation_words"] == 1

    shown = (await desk.civil.get(f"/api/v1/console/consultations/{consultation['id']}")).json()
    assert shown["answered"] is True and shown["can_answer"] is False
    assert shown["question"] is None and shown["answer"] is None
    # The asked office's page and the asking task's card: both say the words are gone and it was answered.
    pages = (
        (desk.civil, f"/console/consultations/{consultation['id']}", "民政的意见"),
        (desk.health, f"/console/cases/{desk.case_no}", "已答复"),
    )
    for staff, page, answered in pages:
        drawn = await staff.get(page)
        assert drawn.status_code == 200, page
        assert QUESTION not in drawn.text and ANSWER not in drawn.text
        assert "已超过保存期限" in drawn.text and answered in drawn.text, page
    # Answered stays answered: a second answer is refused as before, not taken as the first.
    again = await desk.civil.post(
        f"/api/v1/console/consultations/{consultation['id']}/answer",
        json={"text": "再次答复"},
        headers=await csrf(desk.civil),
    )
    assert again.status_code == 409
    # A second run finds nothing more to forget.
    async with pool.acquire() as conn:
        assert (await purge.purge_past_retention(conn, today_in_china())).consultation_words == 0


async def test_a_body_past_every_file_allowed_is_refused_in_chinese_not_read(desk: Desk) -> None:
    huge = b"%PDF-" + b"\0" * BODY_MAX_BYTES
    refused = await _ask_with_files(desk.health, desk.task["id"], [("巨大.pdf", huge)])
    assert refused.status_code == 413 and "不能超过10MB" in refused.json()["detail"]
