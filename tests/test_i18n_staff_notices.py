"""Staff notices in the reader's language (issue 21): a 征求意见 asked and answered and a 督办 reach each member of
staff's inbox (and lock screen) drawn in the language their account reads — the service's and the departments'
names from the catalogue's English, the case number and a supervisor's own words as written — while a colleague who
never chose reads them in Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
CHINESE = re.compile(r"[\u3400-\u9fff]")


async def _reads_english(staff: Client) -> Client:
    chosen = await staff.put("/api/v1/preferences", json={"language": "en"}, headers=await csrf(staff))
    assert chosen.status_code == 200, chosen.text
    return staff


async def _newest(staff: Client) -> dict[str, Any]:
    inbox = await staff.get("/api/v1/notifications")
    assert inbox.status_code == 200, inbox.text
    return inbox.json()["items"][0]


async def _vaccination_task_in_review(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> tuple[dict[str, Any], Client]:
    """张伟's 新生儿出生, its 预防接种证 task (天宁区's health office) accepted and in review: the task and its
    approver."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "i18n-staff-notices-1"))
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    task = next(t for t in case["tasks"] if t["item_code"] == "CZ-WJ-002")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    health = await signed_in_staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    for actor, action in ((clerk, "accept"), (health, "review")):
        moved = await post(actor, f"/api/v1/console/tasks/{task['id']}/transition", {"action": action})
        assert moved.status_code == 200, moved.text
    return task, health


async def test_a_consultation_reaches_an_english_reading_approver_with_the_english_names(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    task, health = await _vaccination_task_in_review(client, another_client, pool, settings)
    civil = await signed_in_staff(
        another_client, pool, settings, name="赵民政", role="approver", department="civil_affairs"
    )
    await _reads_english(civil)
    await _reads_english(health)
    asked = await post(
        health,
        f"/api/v1/console/tasks/{task['id']}/consultations",
        {"department": "civil_affairs", "question": "请核实婚姻登记。", "due_in_days": 3},
    )
    assert asked.status_code == 201, asked.text
    notice = await _newest(civil)
    assert notice["title"] == "Opinion asked: Vaccination certificate"
    assert notice["body"].startswith("Health asks Civil affairs for its opinion on case CZ"), notice["body"]
    assert not CHINESE.search(notice["title"] + notice["body"]), notice

    answered = await post(civil, f"/api/v1/console/consultations/{asked.json()['id']}/answer", {"text": "已核实。"})
    assert answered.status_code == 200, answered.text
    notice = await _newest(health)
    assert notice["title"] == "Opinion given: Vaccination certificate"
    assert not CHINESE.search(notice["title"] + notice["body"]), notice


async def test_an_urge_reaches_english_readers_in_english_and_the_others_in_chinese(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    task, health = await _vaccination_task_in_review(client, another_client, pool, settings)
    colleague = await signed_in_staff(
        another_client, pool, settings, name="钱审批", role="approver", department="health"
    )
    await _reads_english(health)
    supervisor = await signed_in_staff(
        another_client, pool, settings, name="督查员", role="supervisor", region="320400"
    )
    urged = await post(supervisor, f"/api/v1/console/tasks/{task['id']}/urge", {"note": "请今日内办结。"})
    assert urged.status_code == 201, urged.text
    notice = await _newest(health)
    assert notice["title"] == "Follow-up: Vaccination certificate"
    assert "(Health)" in notice["body"] and notice["body"].endswith("请今日内办结。"), notice["body"]
    chinese = await _newest(colleague)
    assert chinese["title"] == "督办：预防接种证办理"
