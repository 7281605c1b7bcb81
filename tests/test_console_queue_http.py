"""The back office as a clerk at the window meets it: a queue of cases (their tasks inside), filters, an action that
says what it did and returns to its task, a refused one that keeps what was typed, each task's history, and a
补正告知书 to print for a resident without an account."""

from __future__ import annotations

import re
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from app.console.service import QUEUE_PAGE_CASES
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.window_helpers import WANG, clerk_signs_in, file_walk_in, receive_walk_in

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
CERTIFICATE = "出生医学证明签发"


async def _birth_case(client: Client) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "queue-key-1"))
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def _staff(
    make: Callable[[], Client],
    pool: asyncpg.Pool,
    settings: Settings,
    role: str,
    department: str,
    region: str = "320402",
) -> Client:
    client = make()
    name = {"clerk": "王窗口", "approver": f"{department}审批"}[role]
    await staff_client_sign_up(
        client, pool, settings.secret_key, name=name, role=role, region=region, department=department
    )
    return client


async def _task_id(pool: asyncpg.Pool, case_no: str, item_name: str) -> int:
    return await pool.fetchval(
        "SELECT t.id FROM tasks t JOIN cases c ON c.id = t.case_id JOIN service_items i ON i.code = t.item_code "
        "WHERE c.case_no = $1 AND i.name = $2",
        case_no,
        item_name,
    )


async def _act(clerk: Client, case_no: str, task_id: int, **fields: str) -> httpx.Response:
    return await clerk.post(
        f"/console/tasks/{task_id}/transition",
        data={"case_no": case_no, **fields},
        headers=await csrf(clerk),
        follow_redirects=False,
    )


async def test_the_queue_shows_one_row_per_case_with_its_tasks_the_masked_applicant_and_where_it_came_in(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    page = (await clerk.get("/console")).text
    tasks = await pool.fetchval("SELECT count(*) FROM tasks")
    assert page.count('<li class="queue-case') == 1 and page.count(f'href="/console/cases/{case_no}#task-') == tasks
    assert "张*" in page and ZHANG_WEI["name"] not in page
    assert "天宁区 · 网上申请" in page
    assert 'href="/console/enrollment"' in page and 'name="identity_checked"' not in page


async def test_a_walk_in_case_is_shown_as_received_at_the_clerks_hall(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await clerk_signs_in(client, pool, "http://localhost:8000")
    filed = await file_walk_in(client, await receive_walk_in(client), "walk-in-queue-1")
    assert filed.status_code == 201, filed.text
    page = (await client.get("/console")).text
    assert "武进区政务服务窗口 · 窗口收件" in page and "王*国" in page and WANG["name"] not in page.split("<main")[1]


async def test_the_queue_filters_by_status_department_and_overdue_or_due_soon(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    certificate = await _task_id(pool, case_no, CERTIFICATE)
    await pool.execute("UPDATE tasks SET due_on = current_date - 3 WHERE id = $1", certificate)
    await pool.execute("UPDATE tasks SET due_on = current_date + 60 WHERE id <> $1", certificate)

    overdue = (await clerk.get("/console", params={"due": "overdue"})).text
    assert re.findall(r"#task-(\d+)", overdue) == [str(certificate)] and "1 件已超期" in overdue
    assert (await clerk.get("/console", params={"due": "soon"})).text.count("#task-") == 0

    health = (await clerk.get("/console", params={"department": "health"})).text
    shown = {int(n) for n in re.findall(r"#task-(\d+)", health)}
    in_health = await pool.fetch("SELECT id FROM tasks WHERE department_code = 'health'")
    assert shown == {r["id"] for r in in_health} and len(shown) >= 1

    await _act(clerk, case_no, certificate, action="accept")
    accepted = (await clerk.get("/console", params={"status": "accepted"})).text
    assert re.findall(r"#task-(\d+)", accepted) == [str(certificate)]
    # A value the queue does not know is ignored rather than an error.
    assert (await clerk.get("/console", params={"status": "nonsense", "due": "x"})).status_code == 200


async def test_an_action_redirects_to_its_task_and_confirms_it_once(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    done = await _act(clerk, case_no, task_id, action="accept")
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/cases/{case_no}#task-{task_id}"
    page = await clerk.get(done.headers["location"].split("#")[0])
    assert f"已受理：{CERTIFICATE}" in page.text and 'class="confirmation"' in page.text
    again = await clerk.get(f"/console/cases/{case_no}")
    assert 'class="confirmation"' not in again.text  # shown once, not on every visit


async def test_the_redirect_goes_to_the_tasks_own_case_not_the_one_posted(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    done = await _act(clerk, "https://evil.example/", task_id, action="accept")
    assert done.headers["location"] == f"/console/cases/{case_no}#task-{task_id}"


async def test_a_refused_action_names_the_task_and_keeps_what_was_typed_and_chosen(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    await pool.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", task_id)

    no_number = await _act(clerk, case_no, task_id, action="deliver", delivery_method="post", note="请查收")
    assert no_number.status_code == 400
    assert f"操作未完成：{CERTIFICATE}（出件）" in no_number.text and "邮寄出件请填写快递单号" in no_number.text
    assert re.search(r'value="post" checked', no_number.text) and not re.search(
        r'value="window" checked', no_number.text
    )
    assert ">请查收</textarea>" in no_number.text

    long_note = await _act(
        clerk, case_no, task_id, action="deliver", delivery_method="post", delivery_ref="SF1234567890", note="长" * 1001
    )
    assert long_note.status_code == 400 and "说明不能超过1000个字" in long_note.text
    assert 'value="SF1234567890"' in long_note.text and 'value="post" checked' in long_note.text
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "completed"

    # A note that is itself markup comes back as text.
    refused = await _act(clerk, case_no, task_id, action="accept", note="<script>x</script>")
    assert refused.status_code == 409 and CERTIFICATE in refused.text and "<script>x</script>" not in refused.text


async def test_the_case_page_shows_each_tasks_history_with_every_note(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    await _act(clerk, case_no, task_id, action="accept", note="原件已核验")
    await _act(clerk, case_no, task_id, action="request_supplement", note="请补交：\n1. 出生医学证明首次签发登记表")
    page = (await clerk.get(f"/console/cases/{case_no}")).text
    card = page.split(f'id="task-{task_id}"')[1].split('class="task-card')[0]
    assert "原件已核验" in card and "1. 出生医学证明首次签发登记表" in card and "王窗口" in card
    assert card.index("已受理") < card.index("需补正材料")


async def test_an_approver_reads_the_notes_of_their_own_departments_tasks_only(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    police = await _staff(another_client, pool, settings, "approver", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    await _act(clerk, case_no, task_id, action="request_supplement", note="卫健内部说明")
    page = (await police.get(f"/console/cases/{case_no}")).text
    assert "需补正材料" in page and "卫健内部说明" not in page


async def _supplement_requested(
    client: Client, make: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> tuple[str, int, Client]:
    case_no = await _birth_case(client)
    clerk = await _staff(make, pool, settings, "clerk", "police")
    task_id = await _task_id(pool, case_no, CERTIFICATE)
    note = "请补交：\n1. 新生儿父母双方的结婚证原件\n2. 分娩医院开具的分娩记录"
    done = await _act(clerk, case_no, task_id, action="request_supplement", note=note)
    assert done.status_code == 303
    return case_no, task_id, clerk


async def test_a_supplement_notice_prints_everything_missing_the_deadline_and_where_to_bring_it(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no, task_id, clerk = await _supplement_requested(client, another_client, pool, settings)
    case_page = (await clerk.get(f"/console/cases/{case_no}")).text
    notice_url = f"/console/cases/{case_no}/tasks/{task_id}/notice"
    assert f'href="{notice_url}"' in case_page
    notice = await clerk.get(notice_url)
    assert notice.status_code == 200
    text = notice.text
    assert "补正材料告知书" in text and case_no in text and CERTIFICATE in text
    assert "1. 新生儿父母双方的结婚证原件\n2. 分娩医院开具的分娩记录" in text
    assert "张*（320402********0119）" in text and ZHANG_WEI["id_number"] not in text
    assert "新生儿分娩医院出生医学证明办理窗口" in text and "12320" in text
    assert re.search(r"请于 <strong>\d{4}年\d{1,2}月\d{1,2}日</strong>前（10个工作日内）", text)
    assert "常州市卫生健康委员会" in text and "@media print" in (await clerk.get(_css(text))).text


def _css(page: str) -> str:
    found = re.search(r'href="(/static/notice[^"]*\.css[^"]*)"', page)
    assert found, "the notice links its stylesheet with the print rules"
    return found.group(1)


async def test_the_notice_is_for_staff_who_may_act_on_that_task(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no, task_id, _ = await _supplement_requested(client, another_client, pool, settings)
    notice_url = f"/console/cases/{case_no}/tasks/{task_id}/notice"
    # 出生医学证明签发 is a 市级 item: the city's 卫健 office handles it.
    health = await _staff(another_client, pool, settings, "approver", "health", region="320400")
    assert (await health.get(notice_url)).status_code == 200
    police = await _staff(another_client, pool, settings, "approver", "police")
    assert (await police.get(notice_url)).status_code == 403
    far = await _staff(another_client, pool, settings, "clerk", "police", region="320404")
    assert (await far.get(notice_url)).status_code == 403
    assert (await client.get(notice_url, follow_redirects=False)).status_code == 403  # the resident: their case page
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'task.open' AND outcome = 'forbidden'") == 1
    )
    other_task = await _task_id(pool, case_no, "预防接种证办理")
    assert (await health.get(f"/console/cases/{case_no}/tasks/{other_task}/notice")).status_code == 404


async def test_the_residents_case_page_shows_the_supplement_note_in_full(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no, task_id, _ = await _supplement_requested(client, another_client, pool, settings)
    page = (await client.get(f"/cases/{case_no}")).text
    assert "1. 新生儿父母双方的结婚证原件\n2. 分娩医院开具的分娩记录" in page
    assert f'href="/cases/{case_no}/tasks/{task_id}/notice"' in page


async def test_the_resident_prints_the_notice_of_their_own_task_only(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no, task_id, _ = await _supplement_requested(client, another_client, pool, settings)
    own = await client.get(f"/cases/{case_no}/tasks/{task_id}/notice")
    assert own.status_code == 200
    assert "补正材料告知书" in own.text and "2. 分娩医院开具的分娩记录" in own.text
    assert "张*（320402********0119）" in own.text
    assert 'href="/cases/' in own.text and "/console" not in own.text.split("<main")[1]
    other_task = await _task_id(pool, case_no, "预防接种证办理")
    assert (await client.get(f"/cases/{case_no}/tasks/{other_task}/notice")).status_code == 404
    # Someone else's case looks exactly like no case.
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), {"name": "李娜", "id_number": "320402199506180126"})
    assert (await stranger.get(f"/cases/{case_no}/tasks/{task_id}/notice")).status_code == 404


async def test_an_approvers_queue_holds_their_departments_tasks_without_a_department_filter(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    health = await _staff(another_client, pool, settings, "approver", "health", region="320400")  # a 市级 item's office
    for item in (CERTIFICATE, "出生户口登记"):
        await _act(clerk, case_no, await _task_id(pool, case_no, item), action="accept")
    page = (await health.get("/console")).text
    assert re.findall(r"#task-(\d+)", page) == [str(await _task_id(pool, case_no, CERTIFICATE))]
    assert 'name="department"' not in page and 'name="status"' in page


# --- the queue in pages (keyset: each page starts after the last task of the one before) -----------------------------


async def _copies_of(pool: asyncpg.Pool, case_no: str, copies: int) -> None:
    """`copies` more cases like this one (same applicant, same items), their tasks due over the next 40 days."""
    await pool.execute(
        """INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                              filed_as, channel, data_enc, form_checksum, idempotency_key)
           SELECT 'CZ20990101' || lpad(n::text, 6, '0'), md5('copy' || n) || md5('copy-2' || n), c.life_event_code,
                  c.applicant_person_id, c.filed_by_account_id, c.filed_as, c.channel, c.data_enc, c.form_checksum,
                  'copy-' || n
           FROM cases c, generate_series(1, $2) n WHERE c.case_no = $1""",
        case_no,
        copies,
    )
    await pool.execute(
        """INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region,
                              receiving_region)
           SELECT copy.id, t.item_code, t.department_code, t.position, t.status, current_date + (copy.id % 40)::int,
                  t.office_region, t.receiving_region
           FROM cases copy JOIN cases c ON c.case_no = $1 JOIN tasks t ON t.case_id = c.id
           WHERE copy.idempotency_key LIKE 'copy-%'""",
        case_no,
    )


async def _due_order(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch("SELECT id FROM tasks ORDER BY due_on NULLS LAST, id")
    return [r["id"] for r in rows]


async def test_the_queue_comes_in_pages_of_whole_cases_each_link_opening_the_next_until_every_task_is_shown_once(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    await _copies_of(pool, case_no, 60)  # 61 cases of 6 tasks: 366, on four pages of 20 cases
    # The first case's tasks due far apart: its soonest first of all, the others last (no deadline).
    first = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
    await pool.execute("UPDATE tasks SET due_on = NULL WHERE case_id = $1 AND position > 0", first)
    await pool.execute("UPDATE tasks SET due_on = current_date - 1 WHERE case_id = $1 AND position = 0", first)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")

    pages: list[list[int]] = []
    cases_on: list[list[str]] = []
    page = (await clerk.get("/console")).text
    assert "本页 " in page and "回到第一页" not in page
    while True:
        pages.append([int(n) for n in re.findall(r"#task-(\d+)", page)])
        cases_on.append(re.findall(r'class="queue-case-no" href="/console/cases/(\w+)"', page))
        more = re.search(r'<a class="button" href="(/console\?[^"]+)"', page)
        if more is None:
            break
        page = (await clerk.get(more.group(1).replace("&amp;", "&"))).text
        assert "回到第一页" in page
    # Whole cases, 20 a page, in the order of each case's soonest task: no case on two pages, no task twice.
    shown = [c for on_page in cases_on for c in on_page]
    assert len(set(shown)) == len(shown) == 61 and shown[0] == case_no
    assert [len(c) for c in cases_on] == [QUEUE_PAGE_CASES] * 3 + [1]
    tasks = [t for p in pages for t in p]
    assert len(set(tasks)) == len(tasks) == 366
    assert sorted(pages[0][:6]) == [
        r["id"] for r in await pool.fetch("SELECT id FROM tasks WHERE case_id = $1 ORDER BY id", first)
    ]


async def test_loading_more_with_htmx_answers_only_the_next_pages_cases_and_keeps_the_filters(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    await _copies_of(pool, case_no, 35)  # 36 cases, each with two 卫健 tasks: 72, on two pages of 20 cases
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    first = (await clerk.get("/console", params={"department": "health"})).text
    health = [r["id"] for r in await pool.fetch("SELECT id FROM tasks WHERE department_code = 'health' ORDER BY id")]
    assert len(health) > 2 * QUEUE_PAGE_CASES  # more than the first page's cases hold
    link = re.search(r'hx-get="(/console\?[^"]+)"', first)
    assert link is not None and "department=health" in link.group(1)
    more = await clerk.get(link.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert more.status_code == 200 and "<html" not in more.text and "hx-get" not in more.text  # the last page
    assert more.text.count('<li class="queue-case') >= 1
    shown = [int(n) for n in re.findall(r"#task-(\d+)", first + more.text)]
    assert sorted(shown) == health and len(set(shown)) == len(shown)


async def test_the_queue_api_pages_with_a_next_cursor_header_and_refuses_a_made_up_cursor_in_chinese(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    case_no = await _birth_case(client)
    await _copies_of(pool, case_no, 20)
    clerk = await _staff(another_client, pool, settings, "clerk", "police")
    first = await clerk.get("/api/v1/console/tasks")
    assert first.status_code == 200 and len(first.json()) == 50
    assert {"id", "case_no", "status"} <= set(first.json()[0])  # the contract's items, as before
    seen, answer = [t["id"] for t in first.json()], first
    while "x-next-cursor" in answer.headers:
        assert answer.headers["link"] == (
            f'</api/v1/console/tasks?cursor={answer.headers["x-next-cursor"]}&limit=30>; rel="next"'
            if answer is not first
            else f'</api/v1/console/tasks?cursor={answer.headers["x-next-cursor"]}>; rel="next"'
        )
        answer = await clerk.get(
            "/api/v1/console/tasks", params={"cursor": answer.headers["x-next-cursor"], "limit": 30}
        )
        assert answer.status_code == 200
        seen += [t["id"] for t in answer.json()]
    assert seen == await _due_order(pool) and "link" not in answer.headers

    for made_up in ("x", "MjAyNi0wMS0wMXw", "bm9uc2Vuc2V8MTI", "A" * 300, "MjAyNi0wMS0wMXwtNQ"):
        refused = await clerk.get("/api/v1/console/tasks", params={"cursor": made_up})
        assert refused.status_code == 400, made_up
        assert "翻页位置无效" in refused.text and "Traceback" not in refused.text
    page = await clerk.get("/console", params={"cursor": "x"})
    assert page.status_code == 400 and "翻页位置无效" in page.text
    assert (await clerk.get("/api/v1/console/tasks", params={"limit": 500})).status_code == 400


async def test_the_queue_in_english_keeps_chinese_for_names_and_data_only(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await clerk_signs_in(client, pool, "http://localhost:8000")
    filed = await file_walk_in(client, await receive_walk_in(client), "walk-in-queue-en")
    assert filed.status_code == 201, filed.text
    await pool.execute("UPDATE tasks SET due_on = current_date - 3")
    client.cookies.set("ywtb_lang", "en")
    page = (await client.get("/console")).text
    main = page.split("<main", 1)[1]
    for english in ("Case console", "Cases waiting (soonest due first)", "Find case", "Filter", "Overdue", "Applicant"):
        assert english in main, english
    assert "武进区 service window · Received at a service window" in main  # the hall's name is a name
    assert "Cases: 1 (tasks: " in main and "overdue: 1</strong>" in main
    # (承诺件 stays as the kind filter's value, in the query string.)
    untranslated = ("办件工作台", "待办办件", "查找办件", "筛选", "已超期", "申请人", "政务服务窗口", "办结期限")
    for chinese in (*untranslated, ">承诺件<"):
        assert chinese not in main, chinese
    client.cookies.delete("ywtb_lang")
    assert "办件工作台" in (await client.get("/console")).text  # Chinese, the default
