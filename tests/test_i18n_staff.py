"""The back office and the helper's tablet in English (issue 21): a clerk's case page, 窗口收件, 预约签到, 督办, the
audit log, a 征求意见 and the helper's roster, new delegation and client pages, asked for in English (the device's
`ywtb_lang` cookie), carry their English and none of their templates' Chinese; Chinese stays the default."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.delegations import signature
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff
from tests.case_helpers import submission_for
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio
# partials/helper_banner.html (the banner naming the person being served), translated by another helper.
BANNER = ("窗口收件", "结束接待", "正在为", "结束代办")
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
TEMPLATES = Path(__file__).resolve().parent.parent / "pwa" / "templates"
# The templates of these pages; their marked Chinese must not show on a page drawn in English.
STAFF_TEMPLATES = (
    "console_case.html",
    "console_appointment.html",
    "console_appointments.html",
    "console_enrollment.html",
    "console_walk_in.html",
    "consultation.html",
    "audit.html",
    "supervision.html",
    "helper.html",
    "helper_client.html",
    "helper_delegation.html",
    "partials/console_duplicates.html",
    "partials/console_history.html",
    "partials/search_results.html",
)
_MARKED = re.compile(r"""_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)""", re.DOTALL)
_CHINESE = re.compile(r"[\u3400-\u9fff]")


@cache
def _template_chinese() -> frozenset[str]:
    """Each marked text's Chinese runs between its placeholders and markup, of four characters or more (shorter
    ones, 状态 or 申请人, also occur in names and in what people typed, which stay as they are)."""
    runs: set[str] = set()
    for name in STAFF_TEMPLATES:
        for marked in _MARKED.finditer((TEMPLATES / name).read_text(encoding="utf-8")):
            for run in re.split(r"%\(\w+\)s|<[^>]*>", marked.group("text")):
                run = run.strip()
                if len(run) >= 4 and _CHINESE.search(run):
                    runs.add(run)
    return frozenset(runs)


def _left_in_chinese(html: str) -> list[str]:
    """The runs found on the page, each where a text of ours would begin: not straight after another Chinese
    character (a form's label from the catalogue, 母亲公民身份号码, holds 公民身份号码)."""
    return sorted(run for run in _template_chinese() if re.search(r"(?<![\u3400-\u9fff])" + re.escape(run), html))


def _speaks(client: Client, language: str | None) -> Client:
    """This device's choice of language (the header's switch sets the cookie); None: no choice, Chinese."""
    if language is None:
        client.cookies.delete("ywtb_lang")
    else:
        client.cookies.set("ywtb_lang", language)
    return client


async def _english(client: Client, path: str, *, others: tuple[str, ...] = ()) -> httpx.Response:
    """The page in English; `others`: Chinese of a partial another helper translates (issue 21, in parallel)."""
    page = await _speaks(client, "en").get(path)
    assert page.status_code == 200, page.text
    assert '<html lang="en"' in page.text
    left = [run for run in _left_in_chinese(page.text) if run not in others]
    assert not left, left
    return page


async def _birth_case(client: Client) -> dict[str, object]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "i18n-staff-1"))
    assert created.status_code == 201, created.text
    return (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()


def test_the_templates_checked_here_hold_marked_chinese() -> None:
    assert len(_template_chinese()) > 150  # the check above is not vacuous


async def test_a_clerks_case_page_and_its_actions_are_in_english(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case = await _birth_case(client)
    case_no = str(case["case_no"])
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    page = await _english(clerk, f"/console/cases/{case_no}")
    for english in ("Case console", "Case number", "Application", "Uploaded documents", "Status: ", ">Accept</button>"):
        assert english in page.text, english
    assert "Show full number" in page.text
    chinese = await _speaks(clerk, None).get(f"/console/cases/{case_no}")
    assert "办件编号" in chinese.text and "申请内容" in chinese.text and "Case number" not in chinese.text

    # An action taken: the confirmation on the page it returns to is in English too.
    task_id = await pool.fetchval("SELECT min(id) FROM tasks")
    accepted = await _speaks(clerk, "en").post(
        f"/console/tasks/{task_id}/transition",
        data={"case_no": case_no, "action": "accept"},
        headers=await csrf(clerk),
        follow_redirects=True,
    )
    assert accepted.status_code == 200 and "Accepted: " in accepted.text and "已受理：" not in accepted.text
    # Refused (already accepted): the error summary names the task and the action in English.
    again = await clerk.post(
        f"/console/tasks/{task_id}/transition",
        data={"case_no": case_no, "action": "accept"},
        headers=await csrf(clerk),
    )
    assert again.status_code == 409 and "Not done: " in again.text and "(Accept)" in again.text
    assert not _left_in_chinese(again.text), _left_in_chinese(again.text)


async def test_the_walk_in_enrollment_and_appointment_pages_are_in_english(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk = await signed_in_staff(
        another_client, pool, settings, name="武进窗口", role="clerk", region="320412", department="hrss"
    )
    walk_in = await _english(clerk, "/console/walk-in")
    assert "Received at a service window" in walk_in.text and "Check the visitor's identity" in walk_in.text
    assert '<label for="walk-in-id-number">ID number</label>' in walk_in.text
    assert (
        "身份证件号码" in (await _speaks(clerk, None).get("/console/walk-in")).text
    )  # a foreigner's card too, in Chinese
    started = await _speaks(clerk, "en").post(
        "/console/walk-in",
        data={"name": "王建国", "id_number": "320412196608080133", "identity_checked": "true"},
        headers=await csrf(clerk),
        follow_redirects=True,
    )
    assert started.status_code == 200 and "Identity checked. Choose what to apply for." in started.text
    assert "Now serving: 王建国" in started.text and "End the visit" in started.text
    assert not [run for run in _left_in_chinese(started.text) if run not in BANNER]

    enrollment = await _english(clerk, "/console/enrollment", others=BANNER)
    assert "Issue an enrollment code" in enrollment.text and "Create enrollment code" in enrollment.text
    appointments = await _english(clerk, "/console/appointments", others=BANNER)
    assert "Appointment check-in" in appointments.text and "Find appointment" in appointments.text


async def test_supervision_and_the_audit_log_are_in_english(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    supervisor = await signed_in_staff(
        another_client, pool, settings, name="督查员", role="supervisor", region="320400"
    )
    page = await _english(supervisor, "/console/supervision")
    assert "Overdue and due soon" in page.text and "Overdue consultations" in page.text
    audit = await _english(supervisor, "/console/audit")
    assert "Audit log" in audit.text and "ID number (18 characters, or masked)" in audit.text
    searched = await supervisor.post("/console/audit", data={"action": "pii.read"}, headers=await csrf(supervisor))
    assert searched.status_code == 200 and "Results (newest first)" in searched.text
    assert not _left_in_chinese(searched.text), _left_in_chinese(searched.text)
    refused = await supervisor.post("/console/audit", data={"since": "yesterday"}, headers=await csrf(supervisor))
    assert refused.status_code == 400 and "Write the date as YYYY-MM-DD" in refused.text
    assert "审计日志" in (await _speaks(supervisor, None).get("/console/audit")).text


async def test_a_consultation_is_asked_and_answered_in_english(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case = await _birth_case(client)
    tasks = case["tasks"]
    assert isinstance(tasks, list)
    task = next(t for t in tasks if t["item_code"] == "CZ-WJ-002")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    health = await signed_in_staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    civil = await signed_in_staff(
        another_client, pool, settings, name="赵民政", role="approver", department="civil_affairs"
    )
    for actor, action in ((clerk, "accept"), (health, "review")):
        moved = await post(actor, f"/api/v1/console/tasks/{task['id']}/transition", {"action": action})
        assert moved.status_code == 200, moved.text
    case_page = await _english(health, f"/console/cases/{case['case_no']}")
    assert "Ask another department" in case_page.text and "Send the question" in case_page.text
    asked = await post(
        health,
        f"/api/v1/console/tasks/{task['id']}/consultations",
        {"department": "civil_affairs", "question": "请核实婚姻登记。", "due_in_days": 3},
    )
    assert asked.status_code == 201, asked.text
    sheet = await _english(civil, f"/console/consultations/{asked.json()['id']}")
    assert "Consultation: " in sheet.text and "Department asked" in sheet.text and ">Answer</button>" in sheet.text
    answered = await civil.post(
        f"/console/consultations/{asked.json()['id']}/answer",
        files={"text": (None, "已核实。")},
        headers=await csrf(civil),
        follow_redirects=True,
    )
    assert answered.status_code == 200 and "Answered. The department that asked will be told." in answered.text
    shown = await _english(health, f"/console/cases/{case['case_no']}")
    assert "Consultations (1)" in shown.text and "Answered" in shown.text


async def test_the_helpers_tablet_is_in_english(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    helper = await signed_in_staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    empty = await _english(helper, "/helper")
    assert "No resident has authorised you yet" in empty.text and "New authorisation" in empty.text
    new = await _english(helper, "/helper/delegations/new", others=("请修改以下内容",))  # error_summary.html
    assert "What the resident agrees to (read it aloud to them)" in new.text and "Record authorisation" in new.text
    assert '<label for="client_id_number">ID number</label>' in new.text
    assert "身份证件号码" in (await _speaks(helper, None).get("/helper/delegations/new")).text
    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert created.status_code == 201, created.text
    roster = await _english(helper, "/helper")
    assert "Apply for them" in roster.text and "ID card checked in person" in roster.text and "Active" in roster.text
    chosen = await helper.post(
        f"/helper/clients/{created.json()['id']}/select", headers=await csrf(helper), follow_redirects=False
    )
    assert chosen.status_code == 303
    client_page = await _english(helper, "/helper/client", others=BANNER)
    assert f"Filing for {ELDER['name']}" in client_page.text and "Choose what to apply for" in client_page.text
    assert "代办名单" in (await _speaks(helper, None).get("/helper")).text


async def test_a_signature_refused_is_told_in_english() -> None:
    """The signature's messages are marked texts drawn in the reader's language; the size one says the module's
    limits in either."""
    import i18n

    for language in ("zh", "en"):
        with i18n.use_language(language):
            words = signature.SignatureProblem(signature.WRONG_SIZE).words()
            assert f"{signature.MIN_WIDTH}×{signature.MIN_HEIGHT}" in words
            assert f"{signature.MAX_SIDE}×{signature.MAX_SIDE}" in words
    with i18n.use_language("en"):
        assert signature.SignatureProblem(signature.TOO_LITTLE_INK).words().startswith("There are too few strokes")
