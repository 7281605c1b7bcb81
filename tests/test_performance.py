"""Hot paths stay cheap: the status lookup uses an index, the case page makes a fixed number of queries."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, cast

import asyncpg
import httpx
import pytest
from asyncpg.connection import LoggedQuery
from litestar import Litestar

from app.cases import duplicate_flow
from app.cases.store import QUEUE_PAGE_QUERY
from app.console.service import QUEUE_PAGE_CASES
from app.main import create_app
from app.web import cache
from config.settings import Settings
from db.pool import create_pool
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, submission_for

pytestmark = pytest.mark.anyio


async def test_the_status_lookup_by_tracking_token_is_an_index_scan(pool: asyncpg.Pool) -> None:
    # Enough cases that a sequential scan would be the planner's choice were there no index.
    account = await pool.fetchval(
        "INSERT INTO accounts (kind, person_id, name, roles, user_handle) "
        "SELECT 'resident', id, name, ARRAY['resident'], '\\x01' FROM people ORDER BY id LIMIT 1 RETURNING id"
    )
    await pool.execute(
        """INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                              filed_as, channel, data_enc, form_checksum, idempotency_key)
           SELECT 'CZ20990101' || lpad(n::text, 6, '0'), md5(n::text) || md5((n + 1)::text), 'birth',
                  (SELECT person_id FROM accounts WHERE id = $1), $1, 'self', 'online', '\\x00', 'x', 'bulk-' || n
           FROM generate_series(1, 20000) n""",
        account,
    )
    await pool.execute("ANALYZE cases")
    token = await pool.fetchval("SELECT tracking_token FROM cases LIMIT 1")
    plan = "\n".join(
        r[0]
        for r in await pool.fetch(
            "EXPLAIN SELECT c.id FROM cases c JOIN life_events e ON e.code = c.life_event_code "
            "WHERE c.tracking_token = $1",
            token,
        )
    )
    assert "Index Scan using cases_tracking_token_key" in plan, plan


class _StoppedClock:
    """time for app.web.cache: its monotonic clock stands still."""

    def __init__(self) -> None:
        self._now = time.monotonic()

    def monotonic(self) -> float:
        return self._now


@pytest.fixture
async def logged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Litestar, list[LoggedQuery]]]:
    """The app on a pool that logs every query it runs (its text and arguments). The per-process caches' clock
    stands still, so what a test's first request loaded (forms, calendar, catalogue: 30 s each) is still there for the
    request it counts, however slow the machine: on a loaded one the reload of an entry gone stale in between was
    counted as the request's (23 statements for 22, once)."""
    monkeypatch.setattr(cache, "time", _StoppedClock())
    queries: list[LoggedQuery] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(queries.append)

    assert settings.database_url
    counting_pool = await create_pool(settings.database_url, min_size=1, max_size=4, on_connect=log_queries)
    yield create_app(settings, pool=counting_pool), queries
    await counting_pool.close()


def _browser(app: Litestar, port: int) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", port))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


@pytest.fixture
async def counted(
    logged: tuple[Litestar, list[LoggedQuery]],
) -> AsyncIterator[tuple[httpx.AsyncClient, list[LoggedQuery]]]:
    app, queries = logged
    async with _browser(app, 50400) as client:
        yield client, queries


async def test_the_case_page_makes_the_same_few_queries_however_many_tasks(
    counted: tuple[httpx.AsyncClient, list[LoggedQuery]],
) -> None:
    client, queries = counted
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    counts = {}
    for life_event in ("birth", "retirement"):  # six tasks, three tasks
        created = await post(client, "/api/v1/cases", await submission_for(client, life_event, f"perf-{life_event}"))
        case_no = created.json()["case_no"]
        queries.clear()
        assert (await client.get(f"/cases/{case_no}")).status_code == 200
        drawn = [" ".join(q.query.split())[:100] for q in queries]
        queries.clear()
        assert (await client.get(f"/cases/{case_no}")).status_code == 200
        counts[life_event] = (drawn, [" ".join(q.query.split())[:100] for q in queries])
    assert counts["birth"] == counts["retirement"], counts
    # The session with its account, the case with its tasks and steps, and (once the page is sent) its own part kept:
    # nothing else for a case whose steps have no 待授权 (consent requests) and no step whose notice must arrive (补正,
    # refusals, 办结: their deliveries).
    drawn, sent_as_kept = counts["birth"]
    assert len(drawn) == 3 and drawn[2].startswith("INSERT INTO case_pages"), drawn
    # Viewed again, unchanged: the session and the same one read of the case, its page sent as kept.
    assert sent_as_kept == drawn[:2], sent_as_kept


async def test_the_case_page_reads_the_session_and_the_case_on_one_pool_connection(
    counted: tuple[httpx.AsyncClient, list[LoggedQuery]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One acquire and release for the page view (db/request_pool.py), not one per statement (each ~200 Python calls),
    and the connection is back in the pool once the page is answered; its first view keeps the page on another."""
    client, queries = counted
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "perf-one-connection"))
    acquires = 0
    # asyncpg's one way to a connection, pool.acquire() and pool.fetch() alike (private: not in its stubs).
    acquire = asyncpg.pool.Pool._acquire  # type: ignore[attr-defined]

    async def counted_acquire(pool: asyncpg.Pool, limit: float | None) -> object:
        nonlocal acquires
        acquires += 1
        return await acquire(pool, limit)

    monkeypatch.setattr(asyncpg.pool.Pool, "_acquire", counted_acquire)
    queries.clear()
    assert (await client.get(f"/cases/{created.json()['case_no']}")).status_code == 200
    # The session with its account, the case with its tasks and steps; its page kept once it is sent, on a
    # connection of its own (as the tracking page's: the view's is given back before its answer is sent).
    assert len(queries) == 3
    assert acquires == 2, acquires
    queries.clear()
    acquires = 0
    assert (await client.get(f"/cases/{created.json()['case_no']}")).status_code == 200
    assert len(queries) == 2  # the session with its account, the case with the page kept for it
    assert acquires == 1, acquires
    monkeypatch.undo()
    pool = client._transport.app.state.pool  # type: ignore[attr-defined]
    assert pool.get_idle_size() == pool.get_size()


async def test_a_submission_makes_the_same_few_queries_however_many_tasks_and_materials(
    logged: tuple[Litestar, list[LoggedQuery]], pool: asyncpg.Pool, settings: Settings
) -> None:
    """A window clerk files 新生儿出生 for a walk-in, as `make bench` measures it: its required items alone (five
    tasks), then every item (six, with 生育津贴's materials). The submission reads and writes in a fixed number of
    statements: a query per task, per material or per party named would show as a difference."""
    app, queries = logged
    async with _browser(app, 50403) as clerk:
        await staff_client_sign_up(
            clerk, pool, settings.secret_key, name="窗口计数", role="clerk", region="320400", department="police"
        )
        walk_in = {"name": "王建国", "id_number": "320412196608080133"}
        assert (await post(clerk, "/api/v1/console/walk-ins", {**walk_in, "identity_checked": True})).is_success
        path = "/api/v1/life-events/birth/form"
        items = (await clerk.get(path)).json()["items"]
        choices = {
            "required": [i["code"] for i in items if i["required"]],
            "every": [i["code"] for i in items],
        }
        counts: dict[str, int] = {}
        tasks: dict[str, int] = {}
        for attempt in ("first", "counted"):  # the first of each fills the per-process caches (forms, calendar)
            for choice, codes in choices.items():
                form = (await clerk.get(path, params={"items": codes})).json()
                body = {
                    "life_event": "birth",
                    "items": codes,
                    "data": answers_for(form),  # another child each time: never a duplicate
                    "idempotency_key": f"perf-window-{attempt}-{choice}",
                    "on_behalf_of": walk_in["id_number"],
                }
                queries.clear()
                created = await post(clerk, "/api/v1/cases", body)
                assert created.status_code == 201, created.text
                counts[choice] = len(queries)
                tasks[choice] = await pool.fetchval(
                    "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1",
                    created.json()["case_no"],
                )
    assert tasks == {"required": 5, "every": 6}, tasks
    assert counts["required"] == counts["every"], counts
    # Before the transaction: the session with its account, the walk-in by their number (read once), their library,
    # the other parties by their numbers and their standing permissions, the case number. In it (BEGIN and COMMIT
    # counted): the key's and the subject's locks together, the key's earlier case, the subject's earlier cases, the
    # case with its tasks (its draft gone with it), its tasks counted, its phone, its first step with its tracking
    # snapshot, the accounts that hear of it, the text with its job, the departments' webhooks: 26 before issue 20.
    assert counts["every"] <= 18, [" ".join(q.query.split())[:100] for q in queries]


async def test_a_residents_own_submission_makes_a_fixed_few_queries(
    logged: tuple[Litestar, list[LoggedQuery]],
) -> None:
    """A resident files every item of 新生儿出生 for themself with the materials uploaded, as the app's form does."""
    app, queries = logged
    async with _browser(app, 50405) as resident:
        await sign_up(resident, new_authenticator(), ZHANG_WEI)
        for attempt in ("first", "counted"):  # the first fills the per-process and per-connection caches
            body = await submission_for(resident, "birth", f"perf-own-filing-{attempt}")
            queries.clear()
            created = await post(resident, "/api/v1/cases", body)
            assert created.status_code == 201, created.text
    # As a window filing (above), less the walk-in's lookup and with the uploads checked before and attached in it,
    # the resident's inbox entry with its pushes, and whether a device of theirs hears push: 29 before issue 20.
    assert len(queries) <= 22, [" ".join(q.query.split())[:100] for q in queries]


async def test_a_submission_waits_for_no_other_submission_to_commit_for_its_case_number(
    logged: tuple[Litestar, list[LoggedQuery]], pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day's case numbers are one counter every submission writes: a submission takes its number on its own, not
    in its transaction, so another one is never held until that transaction commits. One filing is held in its
    transaction, its case made; another, about someone else, is made meanwhile."""
    app, _queries = logged
    held, release = asyncio.Event(), asyncio.Event()
    flag = duplicate_flow.flag

    async def held_in_its_transaction(tx: Any, case_id: int, flags: list[tuple[int, str, str]]) -> None:
        if not held.is_set():  # the first filing only
            held.set()
            await release.wait()
        await flag(tx, case_id, flags)

    monkeypatch.setattr(duplicate_flow, "flag", held_in_its_transaction)
    async with _browser(app, 50404) as clerk:
        await staff_client_sign_up(
            clerk, pool, settings.secret_key, name="窗口并发", role="clerk", region="320400", department="police"
        )
        walk_in = {"name": "王建国", "id_number": "320412196608080133"}
        assert (await post(clerk, "/api/v1/console/walk-ins", {**walk_in, "identity_checked": True})).is_success

        async def file(life_event: str) -> httpx.Response:
            form = (await clerk.get(f"/api/v1/life-events/{life_event}/form")).json()
            body = {
                "life_event": life_event,
                "data": answers_for(form),
                "idempotency_key": f"perf-concurrent-{life_event}",
                "on_behalf_of": walk_in["id_number"],
            }
            return await post(clerk, "/api/v1/cases", body)

        birth = asyncio.create_task(file("birth"))
        await asyncio.wait_for(held.wait(), 30)
        try:
            retirement = await asyncio.wait_for(file("retirement"), 10)  # 新生儿出生's case is not committed yet
        finally:
            release.set()
        first = await birth
    assert (first.status_code, retirement.status_code) == (201, 201), (first.text, retirement.text)
    numbers = [first.json()["case_no"], retirement.json()["case_no"]]
    assert numbers[0][:10] == numbers[1][:10] and numbers[0] != numbers[1], numbers


async def _copies_of(pool: asyncpg.Pool, case_no: str, copies: int, *, open_every: int = 1) -> None:
    """`copies` more cases like this one with its tasks due over the next 40 days; of those, every `open_every`-th
    case's tasks are still open, the others' long delivered (most of a city's tasks)."""
    await pool.execute(
        """INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                              filed_as, channel, data_enc, form_checksum, idempotency_key)
           SELECT 'CZ20990102' || lpad(n::text, 6, '0'), md5('perf' || n) || md5('perf-2' || n), c.life_event_code,
                  c.applicant_person_id, c.filed_by_account_id, c.filed_as, c.channel, c.data_enc, c.form_checksum,
                  'perf-copy-' || n
           FROM cases c, generate_series(1, $2) n WHERE c.case_no = $1""",
        case_no,
        copies,
    )
    await pool.execute(
        """INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region,
                              receiving_region)
           SELECT copy.id, t.item_code, t.department_code, t.position,
                  CASE WHEN copy.id % $2 = 0 THEN 'accepted' ELSE 'delivered' END, current_date + (copy.id % 40)::int,
                  t.office_region, t.receiving_region
           FROM cases copy JOIN cases c ON c.case_no = $1 JOIN tasks t ON t.case_id = c.id
           WHERE copy.idempotency_key LIKE 'perf-copy-%'""",
        case_no,
        open_every,
    )
    await pool.execute("ANALYZE")


async def _staff(app: Litestar, pool: asyncpg.Pool, settings: Settings, role: str, port: int) -> httpx.AsyncClient:
    browser = _browser(app, port)
    await staff_client_sign_up(
        browser, pool, settings.secret_key, name=f"{role}队列", role=role, region="320402", department="police"
    )
    return browser


async def test_the_console_queue_makes_the_same_few_queries_however_many_tasks_it_shows(
    logged: tuple[Litestar, list[LoggedQuery]], pool: asyncpg.Pool, settings: Settings
) -> None:
    app, queries = logged
    async with _browser(app, 50400) as resident:
        await sign_up(resident, new_authenticator(), ZHANG_WEI)
        created = await post(resident, "/api/v1/cases", await submission_for(resident, "birth", "perf-queue"))
    await pool.execute("UPDATE tasks SET status = 'accepted'")  # in the approvers' queue too
    clerk = await _staff(app, pool, settings, "clerk", 50401)
    approver = await _staff(app, pool, settings, "approver", 50402)
    counts: dict[str, list[int]] = {}
    for copies in (0, 60):  # one case of six tasks shown, then a full page: twenty cases (the API: fifty tasks)
        await _copies_of(pool, created.json()["case_no"], copies)
        for who, browser, path in (
            ("clerk page", clerk, "/console"),
            ("clerk page drawn", clerk, "/console"),
            ("clerk API", clerk, "/api/v1/console/tasks"),
            ("clerk API read", clerk, "/api/v1/console/tasks"),
            ("approver page", approver, "/console"),
        ):
            await browser.get(path)  # the per-process caches (calendar, catalogue) filled
            if who.endswith(("drawn", "read")):  # a change to the queue (any task's): the page kept is read again
                await pool.execute("UPDATE tasks SET updated_at = now() WHERE id = (SELECT min(id) FROM tasks)")
            queries.clear()
            answer = await browser.get(path)
            assert answer.status_code == 200
            counts.setdefault(who, []).append(len(queries))
        shown = len(re.findall(r"#task-(\d+)", (await clerk.get("/console")).text))
        assert shown == (6 if copies == 0 else 6 * QUEUE_PAGE_CASES)
    for who, (few, many) in counts.items():
        assert few == many, (who, counts)
    # Seen again with nothing changed, the page is the one kept (app/console/queue.py): session and account, the
    # consents past their deadline, the count of changes to the queue, and the boxes above the queue; not the page
    # (chosen and read in a read-only transaction of its own, three round trips) nor, ever, the departments.
    assert counts["clerk page"][0] <= 5, counts
    # After a change, the page too (its facts and 一事不二办 flags read with it): three round trips more.
    assert counts["clerk page drawn"][0] <= 8, counts
    # The API's page seen again, kept likewise: session and account, the consents, the count of changes.
    assert counts["clerk API"][0] <= 3, counts
    # After a change: the page too, chosen and read in its transaction (three round trips).
    assert counts["clerk API read"][0] <= 6, counts
    await clerk.aclose()
    await approver.aclose()


async def _plan_as_run(pool: asyncpg.Pool, page: LoggedQuery, *, generic: bool) -> str:
    """The plan of a queue page's query as the console runs it: a clerk's, with no department, by its generic plan
    (app.cases.store._by_generic_plan), the arguments in its $n placeholders; an approver's planned for its
    arguments."""
    if not generic:
        return "\n".join(r[0] for r in await pool.fetch("EXPLAIN " + page.query, *page.args))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"PREPARE queue_page AS {page.query}")
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        bound = ", ".join([await conn.fetchval("SELECT quote_nullable($1::text)", _text(a)) for a in page.args])
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE queue_page({bound})"))
        await conn.execute("DEALLOCATE queue_page")
    assert "$1" in plan, plan  # generic: the cursor is a parameter of the plan, not its value
    return plan


def _walk(plan: str) -> str:
    """The part of a queue page's plan that chooses the page: all of it, or where the page is chosen and read in one
    statement (a clerk's, by the generic plan) its InitPlan, the walk whose ids the read joins its tasks' rows to."""
    lines = plan.splitlines()
    start = next((n for n, line in enumerate(lines) if line.lstrip().startswith("InitPlan")), None)
    if start is None:
        return plan
    depth = len(lines[start]) - len(lines[start].lstrip())
    end = next((n for n in range(start + 1, len(lines)) if len(lines[n]) - len(lines[n].lstrip()) <= depth), len(lines))
    return "\n".join(lines[start:end])


def _text(value: object) -> str | None:
    """A query's argument as PostgreSQL reads it in text (EXPLAIN EXECUTE takes literals, not bound arguments)."""
    if value is None:
        return None
    if isinstance(value, list):
        return "{" + ",".join(str(v) for v in cast("list[object]", value)) + "}"
    return value.isoformat() if isinstance(value, date) else str(value)


# The cursor bounds the index scan: (deadline, id) greater than the last of the page before.
_CURSOR_BOUND = r"Index Cond: .*ROW\(\(?COALESCE\(due_on, 'infinity'::date\)\)?, id\) >"


async def test_the_console_queue_walks_an_index_of_the_open_tasks_in_deadline_order(
    logged: tuple[Litestar, list[LoggedQuery]], pool: asyncpg.Pool, settings: Settings
) -> None:
    app, queries = logged
    async with _browser(app, 50400) as resident:
        await sign_up(resident, new_authenticator(), ZHANG_WEI)
        created = await post(resident, "/api/v1/cases", await submission_for(resident, "birth", "perf-queue"))
    # 30,000 tasks, a tenth of them open: a city's tasks are mostly delivered long ago.
    await _copies_of(pool, created.json()["case_no"], 5000, open_every=10)
    clerk = await _staff(app, pool, settings, "clerk", 50401)
    approver = await _staff(app, pool, settings, "approver", 50402)
    for browser, index in ((clerk, "tasks_queue_scope_idx"), (approver, "tasks_department_queue_scope_idx")):
        generic = browser is clerk
        first = await browser.get("/api/v1/console/tasks")
        queries.clear()
        later = await browser.get("/api/v1/console/tasks", params={"cursor": first.headers["x-next-cursor"]})
        assert later.status_code == 200 and len(later.json()) == 50
        page = next(q for q in queries if q.query.startswith(QUEUE_PAGE_QUERY))
        plan = _walk(await _plan_as_run(pool, page, generic=generic))
        # The page's tasks come off the index in queue order from where the page before ended: no sort under the
        # page's LIMIT, and the cursor a bound of the index scan (never rows skipped one by one, as OFFSET would).
        under_limit = plan.split("Limit", 1)[1].splitlines()[1]
        assert re.search(f"Index (Only )?Scan using {index}", plan) and "Sort" not in under_limit, plan
        # Whose office a task is in (routed to, received at) is on the task row (0042): the walk reads no case or
        # applicant for the tasks it passes, most of them other offices'.
        assert not re.search(r" on (cases|people)\b", plan), plan
        assert re.search(_CURSOR_BOUND, plan), plan
    # The console's page (whole cases): the same walk, each case's other tasks found by its id, never a scan of tasks.
    await pool.execute("UPDATE tasks SET status = 'accepted' WHERE status <> 'delivered'")  # the approver's too
    for browser, index in ((clerk, "tasks_queue_scope_idx"), (approver, "tasks_department_queue_scope_idx")):
        generic = browser is clerk
        first = await browser.get("/console")
        cursor = re.search(r'href="/console\?cursor=([^"&]+)"', first.text)
        assert cursor is not None
        queries.clear()
        assert (await browser.get("/console", params={"cursor": cursor.group(1)})).status_code == 200
        page = next(q for q in queries if q.query.startswith(QUEUE_PAGE_QUERY))
        plan = await _plan_as_run(pool, page, generic=generic)
        walk = _walk(plan)
        assert re.search(f"Index (Only )?Scan using {index}", walk), plan
        assert not re.search(r"Seq Scan on tasks\b", plan) and not re.search(r" on (cases|people)\b", walk), plan
        assert re.search(_CURSOR_BOUND, walk), plan
    await clerk.aclose()
    await approver.aclose()


async def test_the_tracking_page_sent_as_kept_reads_one_row_and_writes_nothing(
    logged: tuple[Litestar, list[LoggedQuery]],
) -> None:
    """An anonymous visit to an unchanged case: the snapshot with the count of its notices' changes and the page kept
    for the display (one read; the notices themselves are read only to draw the page), and neither a drawing nor a
    write (the kept page's fill came with the first)."""
    app, queries = logged
    async with _browser(app, 50406) as resident, _browser(app, 50407) as visitor:
        await sign_up(resident, new_authenticator(), ZHANG_WEI)
        created = await post(resident, "/api/v1/cases", await submission_for(resident, "birth", "perf-tracking-page"))
        page = f"/t/{created.json()['tracking_token']}"
        assert (await visitor.get(page)).status_code == 200  # drawn, sent, then kept
        queries.clear()
        assert (await visitor.get(page)).status_code == 200
    # The scan counts' flush (every few seconds, in the background) is no part of the page.
    statements = [q.query for q in queries if "scan_count" not in q.query]
    assert len(statements) == 1, statements
    assert "tracking_pages" in statements[0]
    assert not [s for s in statements if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}], statements
