"""好差评 over HTTP: a finished task is rated once (then edited for 7 days), only by its own resident; a bad rating
opens a follow-up with working-day deadlines that escalates to the city's supervisor when overdue; the window's
tablet rates through a one-time link with no session behind it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import asyncpg
import httpx
import pytest

from app.calendar.service import current_calendar, today_in_china
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


def _district_health_task(case: dict) -> dict:
    """预防接种证办理: a 区级 item, routed to the applicant's district's health office (出生医学证明 is the city's)."""
    return next(t for t in case["tasks"] if t["item_code"] == "CZ-WJ-002")


async def _case_with_finished_task(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> tuple[dict, dict, httpx.AsyncClient]:
    """张伟's birth case with its 预防接种证 task (a district item) 办结 by the district's health approver:
    (case, that task, approver)."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "reviews-case-1"))
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    task = _district_health_task(case)
    clerk, approver = another_client(), another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    await staff_client_sign_up(
        approver, pool, settings.secret_key, name="刘审批", role="approver", region="320402", department="health"
    )
    moves = [(clerk, "accept"), (approver, "review"), (approver, "approve"), (approver, "complete")]
    for actor, action in moves:
        moved = await post(actor, f"/api/v1/console/tasks/{task['id']}/transition", {"action": action})
        assert moved.status_code == 200, moved.text
    return case, task, approver


async def _supervisor(
    another_client: Callable[[], httpx.AsyncClient],
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    name: str,
    region: str,
    department: str | None,
) -> httpx.AsyncClient:
    supervisor = another_client()
    await staff_client_sign_up(
        supervisor, pool, settings.secret_key, name=name, role="supervisor", region=region, department=department
    )
    return supervisor


async def test_a_finished_task_is_asked_for_and_rated_once_a_second_rating_edits_it(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    inbox = (await client.get("/api/v1/notifications")).json()["items"]
    assert any("请评价" in entry["body"] or "请评价" in entry["title"] for entry in inbox), inbox
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    unfinished = next(t for t in case["tasks"] if t["id"] != task["id"])
    assert (await post(client, path, {"task_id": unfinished["id"], "level": 5})).status_code == 409
    assert (await post(client, path, {"level": 5})).status_code == 409  # the case as a whole: not all finished

    first = await post(client, path, {"task_id": task["id"], "level": 5, "text": "很快"})
    assert first.status_code == 201, first.text
    second = await post(client, path, {"task_id": task["id"], "level": 4})
    assert second.status_code == 200, second.text
    listed = (await client.get(path)).json()
    assert [(r["task_id"], r["level"], r["text"]) for r in listed] == [(task["id"], 4, None)]
    assert await pool.fetchval("SELECT count(*) FROM reviews") == 1
    page = await client.get(f"/cases/{case['case_no']}/reviews")
    assert page.status_code == 200 and "满意" in page.text


async def test_reasons_only_for_the_two_lowest_and_words_at_most_500(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    tagged = await post(client, path, {"task_id": task["id"], "level": 4, "tags": ["态度不好"]})
    assert tagged.status_code == 400 and "tags" in tagged.json()["errors"]
    unknown = await post(client, path, {"task_id": task["id"], "level": 1, "tags": ["别的"]})
    assert unknown.status_code == 400 and "tags" in unknown.json()["errors"]
    long = await post(client, path, {"task_id": task["id"], "level": 3, "text": "慢" * 501})
    assert long.status_code == 400 and "text" in long.json()["errors"]
    assert await pool.fetchval("SELECT count(*) FROM reviews") == 0


async def test_someone_elses_case_is_404_to_rate_and_to_read(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), LI_NA)
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    assert (await post(stranger, path, {"task_id": task["id"], "level": 1})).status_code == 404
    assert (await stranger.get(path)).status_code == 404
    assert (await stranger.get(f"/cases/{case['case_no']}/reviews")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM reviews") == 0


async def test_a_rating_is_editable_for_seven_days_and_not_after(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    assert (await post(client, path, {"task_id": task["id"], "level": 3})).status_code == 201
    # Six days on: still editable.
    await pool.execute(
        "UPDATE reviews SET created_at = now() - interval '6 days', editable_until = now() + interval '1 day'"
    )
    assert (await post(client, path, {"task_id": task["id"], "level": 4})).status_code == 200
    # Eight days on: no longer.
    await pool.execute(
        "UPDATE reviews SET created_at = now() - interval '8 days', editable_until = now() - interval '1 day'"
    )
    late = await post(client, path, {"task_id": task["id"], "level": 5})
    assert late.status_code == 409 and "7天" in late.json()["detail"]
    assert await pool.fetchval("SELECT level FROM reviews") == 4


async def test_a_bad_rating_opens_a_follow_up_with_working_day_deadlines_answered_on_the_case(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    bad = await post(
        client, path, {"task_id": task["id"], "level": 1, "tags": ["办理时间长", "多次跑动"], "text": "跑了三次"}
    )
    assert bad.status_code == 201, bad.text
    follow_up = (await client.get(path)).json()[0]["follow_up"]
    calendar, today = await current_calendar(pool), today_in_china()
    assert date.fromisoformat(follow_up["contact_due_on"]) == calendar.add_working_days(today, 1).due_on
    assert date.fromisoformat(follow_up["result_due_on"]) == calendar.add_working_days(today, 5).due_on

    supervisor = await _supervisor(another_client, pool, settings, name="周督查", region="320402", department="health")
    board = await supervisor.get("/api/v1/console/supervision")
    assert board.status_code == 200, board.text
    [item] = board.json()["follow_ups"]
    assert item["case_no"] == case["case_no"] and item["tags"] == ["办理时间长", "多次跑动"]
    # The office rated never reads who rated it: no name, no ID number with the rating.
    assert ZHANG_WEI["name"] not in board.text and ZHANG_WEI["id_number"][-4:] not in board.text
    other = await _supervisor(another_client, pool, settings, name="吴督查", region="320402", department="police")
    assert (await other.get("/api/v1/console/supervision")).json()["follow_ups"] == []

    answered = await post(
        supervisor, f"/api/v1/console/follow-ups/{item['follow_up']['id']}/result", {"text": "已简化材料清单，并致歉"}
    )
    assert answered.status_code == 204, answered.text
    seen = (await client.get(path)).json()[0]
    assert seen["follow_up"]["result_text"] == "已简化材料清单，并致歉" and seen["editable"]
    timeline = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["timeline"]
    assert any(e["status"] == "review_follow_up" for e in timeline)
    assert (await post(client, path, {"task_id": task["id"], "level": 4})).status_code == 200  # may rate again
    assert (await supervisor.get("/api/v1/console/supervision")).json()["follow_ups"] == []


async def test_an_overdue_follow_up_escalates_to_the_city_supervisor(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, _ = await _case_with_finished_task(client, pool, settings, another_client)
    path = f"/api/v1/cases/{case['case_no']}/reviews"
    assert (await post(client, path, {"task_id": task["id"], "level": 2, "tags": ["态度不好"]})).status_code == 201
    city = await _supervisor(another_client, pool, settings, name="钱市督查", region="320400", department=None)
    assert (await city.get("/api/v1/console/supervision")).json()["follow_ups"] == []

    # The 回访 was due yesterday and nobody called.
    await pool.execute(
        "UPDATE review_followups SET opened_at = now() - interval '3 days', contact_due_on = current_date - 1"
    )
    [item] = (await city.get("/api/v1/console/supervision")).json()["follow_ups"]
    assert item["case_no"] == case["case_no"] and item["follow_up"]["escalated"] is True
    resident_view = (await client.get(path)).json()[0]["follow_up"]
    assert resident_view["overdue"] is True
    contacted = await post(
        city, f"/api/v1/console/follow-ups/{item['follow_up']['id']}/contact", {"text": "已电话致歉"}
    )
    assert contacted.status_code == 204, contacted.text


async def test_urging_an_overdue_task_notifies_the_office_and_lands_on_the_timeline(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "urge-case-1"))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    case = (await client.get(f"/api/v1/cases/{case_no}")).json()
    task = _district_health_task(case)
    approver = another_client()
    await staff_client_sign_up(
        approver, pool, settings.secret_key, name="刘审批", role="approver", region="320402", department="health"
    )
    await pool.execute("UPDATE tasks SET due_on = current_date - 10 WHERE id = $1", task["id"])
    supervisor = await _supervisor(another_client, pool, settings, name="周督查", region="320402", department="health")
    board = (await supervisor.get("/api/v1/console/supervision")).json()
    [office] = board["offices"]
    assert office["department_code"] == "health" and office["region_code"] == "320402"
    listed = next(t for t in office["tasks"] if t["id"] == task["id"])
    assert listed["overdue"] and listed["overdue_working_days"] > 0 and ZHANG_WEI["name"] not in str(board)

    before = len((await client.get("/api/v1/notifications")).json()["items"])
    urged = await post(supervisor, f"/api/v1/console/tasks/{task['id']}/urge", {"note": "请今日内办结"})
    assert urged.status_code == 201, urged.text
    assert urged.json()["notified"] == 1
    inbox = (await approver.get("/api/v1/notifications")).json()["items"]
    assert any("督办" in e["title"] and "请今日内办结" in e["body"] for e in inbox), inbox
    timeline = (await client.get(f"/api/v1/cases/{case_no}")).json()["timeline"]
    assert any(e["status"] == "urged" and e["task_id"] == task["id"] for e in timeline)
    # The resident sees the case chased on its timeline, with no push of the office's business.
    assert len((await client.get("/api/v1/notifications")).json()["items"]) == before

    elsewhere = await _supervisor(another_client, pool, settings, name="孙督查", region="320411", department="health")
    assert (await post(elsewhere, f"/api/v1/console/tasks/{task['id']}/urge", {"note": "催"})).status_code == 404
    assert (await post(approver, f"/api/v1/console/tasks/{task['id']}/urge", {"note": "催"})).status_code == 403
    assert (await post(supervisor, f"/api/v1/console/tasks/{task['id']}/urge", {"note": " "})).status_code == 400


async def test_the_window_tablet_rates_once_through_a_link_with_no_session(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case, task, approver = await _case_with_finished_task(client, pool, settings, another_client)
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="陈窗口", role="clerk", region="320402", department="police"
    )
    assert (await post(approver, f"/console/cases/{case['case_no']}/rating-link")).status_code == 403
    opened = await post(clerk, f"/console/cases/{case['case_no']}/rating-link")
    assert opened.status_code == 303, opened.text
    link = opened.headers["location"]
    assert link.startswith("/rate/")

    tablet = another_client()  # what the resident holds: no session at all
    screen = await tablet.get(link)
    assert screen.status_code == 200 and "非常满意" in screen.text and ZHANG_WEI["name"] not in screen.text
    tapped = await tablet.post(link, data={"tags": "态度不好"}, headers=await csrf(tablet))
    assert tapped.status_code == 400  # no level tapped: nothing recorded
    done = await tablet.post(link, data={"level": "5"}, headers=await csrf(tablet))
    assert done.status_code == 200 and "谢谢" in done.text, done.text
    row = await pool.fetchrow("SELECT task_id, level, channel, rated_by_account_id FROM reviews")
    assert row is not None
    assert (row["task_id"], row["level"], row["channel"], row["rated_by_account_id"]) == (task["id"], 5, "window", None)
    assert (await tablet.get(link)).status_code == 404  # spent


async def test_a_helper_rates_for_their_client_only_with_the_client_present_and_says_so(
    pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    from tests.test_delegations_http import ELDER, VILLAGE, _file_retirement, delegation_body

    helper = another_client()
    await staff_client_sign_up(helper, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    filed = await _file_retirement(helper, ELDER, "reviews-helper-1")
    assert filed.status_code == 201, filed.text
    case_no = filed.json()["case_no"]
    task_id = await pool.fetchval(
        "SELECT t.id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 ORDER BY t.id LIMIT 1", case_no
    )
    await pool.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", task_id)
    path = f"/api/v1/cases/{case_no}/reviews"
    alone = await post(helper, path, {"task_id": task_id, "level": 5})
    assert alone.status_code == 400 and "client_present" in alone.json()["errors"]
    present = await post(helper, path, {"task_id": task_id, "level": 5, "client_present": True})
    assert present.status_code == 201, present.text
    row = await pool.fetchrow("SELECT channel, client_present, rated_by_account_id FROM reviews")
    assert row is not None and (row["channel"], row["client_present"]) == ("helper", True)
    assert row["rated_by_account_id"] is not None

    other_helper = another_client()
    await staff_client_sign_up(other_helper, pool, settings.secret_key, name="李帮办", role="helper", region=VILLAGE)
    stranger = await post(other_helper, path, {"task_id": task_id, "level": 1, "client_present": True})
    assert stranger.status_code == 404
