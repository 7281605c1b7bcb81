"""Staff notes on a task over HTTP: for the resident (the case page, the 补正告知书, the inbox; the tracking page only
says there is one) or internal (the staff who may read the task). The reasons of 补正告知, 不予受理 and 不予批准 are
notes for the resident of the same kind, written with the step. Who may write one: staff who may act on the task."""

from __future__ import annotations

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
FOR_RESIDENT = "请同时携带户口簿原件到窗口核对"
INTERNAL = "内部：申请人父亲身份信息与公安库不一致，已电话核实"
SUPPLEMENT = "出生医学证明照片不清晰，请重新上传"


async def _case(client: Client) -> dict[str, Any]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "notes-case-0001"))
    assert created.status_code == 201, created.text
    return {**created.json(), **(await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()}


def _task(case: dict[str, Any], department: str) -> dict[str, Any]:
    """The department's task handled by the district's office (天宁区 staff here): 卫健's is 预防接种证, as 出生医学证明
    is a 市级 item routed to the city's office."""
    return next(t for t in case["tasks"] if t["department"] == department and t["item_code"] != "CZ-WJ-001")


async def _note(staff: Client, task_id: int, text: str, visibility: str) -> httpx.Response:
    return await post(staff, f"/api/v1/console/tasks/{task_id}/notes", {"text": text, "visibility": visibility})


async def test_a_note_for_the_resident_reaches_the_case_page_and_inbox_but_only_its_kind_the_tracking_page(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _case(client)
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    written = await _note(clerk, _task(case, "health")["id"], FOR_RESIDENT, "resident")
    assert written.status_code == 201, written.text
    assert written.json()["visibility"] == "resident" and written.json()["text"] == FOR_RESIDENT

    page = (await client.get(f"/cases/{case['case_no']}")).text
    assert FOR_RESIDENT in page and "办理说明：" in page
    timeline = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["timeline"]
    assert any(step["note"] == FOR_RESIDENT and step["status"] == "note" for step in timeline)
    inbox = (await client.get("/api/v1/notifications")).json()["items"]
    assert any("办理说明" in item["body"] for item in inbox)
    assert all(FOR_RESIDENT not in item["body"] and FOR_RESIDENT not in item["title"] for item in inbox)

    public = (await client.get(f"/t/{case['tracking_token']}")).text
    assert "附办理说明" in public and FOR_RESIDENT not in public
    track = (await client.get(f"/api/v1/track/{case['tracking_token']}")).json()
    steps = [s for t in track["tasks"] for s in t["steps"]]
    assert [s["note_kind"] for s in steps if s["note_kind"]] == ["办理说明"]
    assert FOR_RESIDENT not in str(track)
    assert (await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'task.note' AND outcome = 'ok'")) == 1


async def test_an_internal_note_is_shown_only_to_the_staff_who_may_read_its_task(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _case(client)
    health_task = _task(case, "health")
    health = await signed_in_staff(another_client, pool, settings, name="刘审批", role="approver", department="health")
    police = await signed_in_staff(another_client, pool, settings, name="孙公安", role="approver", department="police")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    inbox_before = len((await client.get("/api/v1/notifications")).json()["items"])

    written = await _note(health, health_task["id"], INTERNAL, "internal")
    assert written.status_code == 201, written.text

    own = (await health.get(f"/console/cases/{case['case_no']}")).text
    assert INTERNAL in own and "内部（申请人不可见）" in own
    assert INTERNAL in (await clerk.get(f"/console/cases/{case['case_no']}")).text  # the window sees the whole case
    other = await police.get(f"/console/cases/{case['case_no']}")
    assert other.status_code == 200 and INTERNAL not in other.text
    assert f"{health_task['item_name']}：内部备注" not in other.text  # nor that there is one
    assert INTERNAL not in (await police.get(f"/api/v1/console/cases/{case['case_no']}")).text

    assert INTERNAL not in (await client.get(f"/cases/{case['case_no']}")).text
    assert INTERNAL not in (await client.get(f"/api/v1/cases/{case['case_no']}")).text
    assert "内部备注" not in (await client.get(f"/t/{case['tracking_token']}")).text
    assert len((await client.get("/api/v1/notifications")).json()["items"]) == inbox_before  # nobody was told


async def test_the_reasons_of_a_step_are_notes_for_the_resident_of_their_kind_and_the_notice_carries_later_ones(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _case(client)
    task = _task(case, "health")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    asked = await post(
        clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "request_supplement", "note": SUPPLEMENT}
    )
    assert asked.status_code == 200, asked.text
    assert (await _note(clerk, task["id"], FOR_RESIDENT, "resident")).status_code == 201
    assert (await _note(clerk, task["id"], INTERNAL, "internal")).status_code == 201

    page = (await client.get(f"/cases/{case['case_no']}")).text
    assert f"补正告知：</span>{SUPPLEMENT}" in page and FOR_RESIDENT in page and INTERNAL not in page
    public = (await client.get(f"/t/{case['tracking_token']}")).text
    assert "附补正告知" in public and SUPPLEMENT not in public

    # The 补正告知书, the resident's copy and the window's: the request and the later note for the resident only.
    for reader, path in (
        (client, f"/cases/{case['case_no']}/tasks/{task['id']}/notice"),
        (clerk, f"/console/cases/{case['case_no']}/tasks/{task['id']}/notice"),
    ):
        notice = await reader.get(path)
        assert notice.status_code == 200, notice.text
        assert SUPPLEMENT in notice.text and f"补充说明：</span>{FOR_RESIDENT}" in notice.text
        assert INTERNAL not in notice.text


@pytest.mark.parametrize(
    ("body", "field"),
    [({"text": "  ", "visibility": "internal"}, "text"), ({"text": "好", "visibility": "public"}, "visibility")],
)
async def test_a_note_without_words_or_readers_is_refused_beside_its_field(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient, body: dict[str, str], field: str
) -> None:
    case = await _case(client)
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    refused = await post(clerk, f"/api/v1/console/tasks/{_task(case, 'health')['id']}/notes", body)
    assert refused.status_code == 400 and field in refused.json()["errors"]
    assert await pool.fetchval("SELECT count(*) FROM timeline_events WHERE status = 'note'") == 0


async def test_only_staff_who_may_act_on_the_task_write_notes(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _case(client)
    health_task = _task(case, "health")
    police = await signed_in_staff(another_client, pool, settings, name="孙公安", role="approver", department="police")
    far_clerk = await signed_in_staff(
        another_client, pool, settings, name="武进窗口", role="clerk", department="hrss", region="320412"
    )
    helper = await signed_in_staff(another_client, pool, settings, name="陈帮办", role="helper", region="320481002002")
    for intruder in (police, far_clerk):
        assert (await _note(intruder, health_task["id"], INTERNAL, "internal")).status_code == 403
    for outsider in (client, helper):
        assert (await _note(outsider, health_task["id"], INTERNAL, "internal")).status_code == 403
        form = await outsider.post(
            f"/console/tasks/{health_task['id']}/notes",
            data={"case_no": case["case_no"], "text": INTERNAL, "visibility": "internal"},
            headers=await csrf(outsider),
        )
        assert form.status_code == 403
    assert (await _note(police, 999_999, INTERNAL, "internal")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM timeline_events WHERE status = 'note'") == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'task.note' AND outcome = 'forbidden'") == 2
    )


async def test_notes_through_the_console_case_page(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _case(client)
    task = _task(case, "health")
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    page = await clerk.get(f"/console/cases/{case['case_no']}")
    assert "添加说明或内部备注" in page.text and "申请人可见" in page.text
    action = f"/console/tasks/{task['id']}/notes"
    empty = await clerk.post(
        action, data={"case_no": case["case_no"], "text": "", "visibility": "resident"}, headers=await csrf(clerk)
    )
    assert (
        empty.status_code == 400
        and "请填写说明的内容" in empty.text
        and f'href="#note-text-{task["id"]}"' in empty.text
    )
    saved = await clerk.post(
        action, data={"case_no": case["case_no"], "text": INTERNAL, "visibility": "internal"}, headers=await csrf(clerk)
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"#task-{task['id']}")
    back = await clerk.get(f"/console/cases/{case['case_no']}")
    assert "已添加内部备注" in back.text and INTERNAL in back.text
