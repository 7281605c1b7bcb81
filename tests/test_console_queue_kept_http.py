"""The queue page kept by the web worker (app/console/queue.py, migration 0050) shows what is true at every view: a
task moved, a case filed, an applicant renamed or a possible duplicate flagged by anyone, in any way (the database
counts the change, not the code that makes it), and a deadline passed with the day; and a page kept for one view is
never sent to another (another department's clerk, an approver, another language)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import asyncpg
import httpx
import msgspec
import pytest
from litestar.serialization import encode_json

from app.console import service
from app.console.models import ConsoleTask
from config.settings import Settings
from tests.test_console_queue_http import CERTIFICATE, _birth_case, _copies_of, _staff, _task_id

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
MakeClient = Callable[[], Client]


def _task_row(page: str, task_id: int) -> str:
    row = re.search(rf'#task-{task_id}">.*?</tr>', page, re.DOTALL)
    assert row is not None, page
    return row.group(0)


async def _seen_twice(clerk: Client, path: str = "/console") -> str:
    """The page as seen twice in a row (the second time as kept), checked to be the same."""
    first = await clerk.get(path)
    again = await clerk.get(path)
    assert first.status_code == again.status_code == 200, first.text
    assert again.text == first.text
    return again.text


async def _a_police_clerk_and_a_task(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> tuple[Client, int]:
    """A police clerk, and the 出生医学证明 task of a birth case filed for their queue."""
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    return clerk, await _task_id(pool, case_no, CERTIFICATE)


async def test_a_task_moved_by_anyone_shows_on_the_kept_queue_at_once(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk, task_id = await _a_police_clerk_and_a_task(client, another_client, pool, settings)
    assert "已申办" in _task_row(await _seen_twice(clerk), task_id)
    await pool.execute("UPDATE tasks SET status = 'accepted' WHERE id = $1", task_id)
    assert "已受理" in _task_row((await clerk.get("/console")).text, task_id)
    # Routed to an office of another district: it leaves this district's queue, which is counted too.
    await pool.execute("UPDATE tasks SET office_region = '320411', receiving_region = '320411' WHERE id = $1", task_id)
    assert f"#task-{task_id}" not in (await clerk.get("/console")).text


async def test_a_case_filed_after_the_page_was_kept_joins_it(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    assert (await _seen_twice(clerk)).count('<li class="queue-case') == 1
    await _copies_of(pool, case_no, 2)
    assert (await clerk.get("/console")).text.count('<li class="queue-case') == 3


async def test_an_applicant_renamed_or_a_duplicate_flagged_shows_on_the_kept_queue(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    await _copies_of(pool, case_no, 1)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    page = await _seen_twice(clerk)
    assert "<dd>张*</dd>" in page and "疑似重复申请" not in page
    await pool.execute("UPDATE people SET name = '李伟' WHERE id = (SELECT applicant_person_id FROM cases LIMIT 1)")
    page = (await clerk.get("/console")).text
    assert "<dd>李*</dd>" in page and "<dd>张*</dd>" not in page
    await pool.execute(
        "INSERT INTO case_duplicates (case_id, earlier_case_id, match, reason) "
        "SELECT later.id, earlier.id, 'exact', 'test' FROM cases earlier, cases later WHERE earlier.id < later.id"
    )
    assert "疑似重复申请" in (await clerk.get("/console")).text


async def test_a_task_due_today_is_overdue_on_the_kept_queue_the_next_day(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk, task_id = await _a_police_clerk_and_a_task(client, another_client, pool, settings)
    due: date = await pool.fetchval("SELECT due_on FROM tasks WHERE id = $1", task_id)
    monkeypatch.setattr(service, "today_in_china", lambda: due)
    assert "已超期" not in _task_row(await _seen_twice(clerk), task_id)
    monkeypatch.setattr(service, "today_in_china", lambda: due + timedelta(days=1))
    assert "已超期" in _task_row((await clerk.get("/console")).text, task_id)


async def test_a_page_kept_for_one_view_is_not_sent_to_another(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    # Untaken (全城通办): a clerk's queue holds those of their own department only.
    await pool.execute("UPDATE tasks SET office_region = NULL, receiving_region = '320411'")
    police = await _staff(another_client, pool, settings, "clerk", "police")
    health = await _staff(another_client, pool, settings, "clerk", "health")
    certificate = await _task_id(pool, case_no, CERTIFICATE)  # 卫健's
    assert f"#task-{certificate}" not in await _seen_twice(police)
    assert f"#task-{certificate}" in await _seen_twice(health)
    # An approver's queue holds other states than a clerk's.
    await pool.execute("UPDATE tasks SET office_region = '320402', receiving_region = '320402'")
    police_page = await _seen_twice(police)
    approver = await _staff(another_client, pool, settings, "approver", "police")
    assert police_page.count('<li class="queue-case') == 1
    assert '<li class="queue-case' not in (await approver.get("/console")).text
    # The same clerk in English: drawn in English, not sent the Chinese page kept.
    police.cookies.set("ywtb_lang", "en")
    english = (await police.get("/console")).text
    assert "已申办" not in english and "Submitted" in _task_row(english, certificate)


# --- the API's queue (/api/v1/console/tasks), kept as the JSON it is sent as ---------------------------------------


async def _sent_twice(staff: Client, path: str = "/api/v1/console/tasks") -> httpx.Response:
    """The API's page asked for twice in a row (the second time sent as kept), checked to be the same answer."""
    first = await staff.get(path)
    again = await staff.get(path)
    assert first.status_code == again.status_code == 200, first.text
    assert again.content == first.content
    assert {k: again.headers.get(k) for k in ("content-type", "x-next-cursor", "link")} == {
        k: first.headers.get(k) for k in ("content-type", "x-next-cursor", "link")
    }
    return again


def _status_of(answer: httpx.Response, task_id: int) -> str:
    return next(t["status"] for t in answer.json() if t["id"] == task_id)


async def test_the_api_page_kept_shows_a_task_moved_by_anyone_at_once(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    clerk, task_id = await _a_police_clerk_and_a_task(client, another_client, pool, settings)
    sent = await _sent_twice(clerk)
    assert sent.headers["content-type"].startswith("application/json")
    # The contract's list of tasks, byte for byte as Litestar encodes it.
    assert sent.content == encode_json(msgspec.json.decode(sent.content, type=list[ConsoleTask]))
    assert _status_of(sent, task_id) == "submitted"
    await pool.execute("UPDATE tasks SET status = 'accepted' WHERE id = $1", task_id)
    assert _status_of(await clerk.get("/api/v1/console/tasks"), task_id) == "accepted"
    await pool.execute("UPDATE tasks SET office_region = '320411', receiving_region = '320411' WHERE id = $1", task_id)
    assert task_id not in [t["id"] for t in (await clerk.get("/api/v1/console/tasks")).json()]


async def test_each_limit_cursor_and_caller_has_its_own_api_page(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    police = await _staff(another_client, pool, settings, "clerk", "police")
    everything = [t["id"] for t in (await _sent_twice(police)).json()]
    assert len(everything) == 6
    # A page of one, and the page after it: each its own, each with the link to the next.
    one = await _sent_twice(police, "/api/v1/console/tasks?limit=1")
    assert [t["id"] for t in one.json()] == everything[:1]
    following = await _sent_twice(police, f"/api/v1/console/tasks?limit=1&cursor={one.headers['x-next-cursor']}")
    assert [t["id"] for t in following.json()] == everything[1:2]
    assert one.headers["link"] != following.headers["link"]
    # A made-up cursor is refused as ever, however often it is asked.
    for _ in range(2):
        assert (await police.get("/api/v1/console/tasks?cursor=nonsense")).status_code == 400
    # Untaken (全城通办): a clerk's queue holds those of their own department only, kept apart.
    await pool.execute("UPDATE tasks SET office_region = NULL, receiving_region = '320411'")
    health = await _staff(another_client, pool, settings, "clerk", "health")
    certificate = await _task_id(pool, case_no, CERTIFICATE)  # 卫健's
    assert certificate not in [t["id"] for t in (await _sent_twice(police)).json()]
    assert certificate in [t["id"] for t in (await _sent_twice(health)).json()]
