"""The public statistics equal a brute-force recount of the records (tests/stats_recount.py), whatever the records
are: random cases, tasks, steps, ratings, follow-ups and certificates written straight into the tables and recounted
(migration 0035's data step, `stats-rebuild`); and random work done through the app itself — filings online and at
a window, moves up to 办结 and 出件, 马上办, a 全城通办 task taken by an office, ratings given and changed, follow-ups
answered — counted as it happens, folded, and recounted again."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from app.calendar.service import today_in_china
from app.database import migrate_database, rebuild_statistics
from app.main import create_app
from app.people.identity import check_char
from app.stats import service as stats
from auth.pii import PiiCipher
from config.settings import Settings
from db.pool import create_pool
from tests import stats_recount
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials
from tests.database_fixtures import TEST_SECRET_KEY, run_sync

ONLINE_ITEMS = [
    "CZ-WJ-001", "CZ-WJ-002", "CZ-GA-001", "CZ-YB-001", "CZ-RS-001", "CZ-YB-002", "CZ-SJ-001", "CZ-GA-002",
    "CZ-SW-001", "CZ-RS-002", "CZ-GJJ-001", "CZ-RS-003", "CZ-GJJ-002", "CZ-YB-003", "CZ-WJ-003", "CZ-GA-003",
    "CZ-RS-004", "CZ-YB-004", "CZ-RS-005", "CZ-GJJ-003", "CZ-MZ-002",
]  # fmt: skip
APPLICANTS = ["320402199403150119", "320412196608080133", "320411198811021297", "320481194702282050"]
DISTRICTS = ["320400", "320402", "320404", "320411", "320412", "320413", "320481"]
SLOW = examples(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_numbers = itertools.count(1)


# --- random records, written straight into the tables ---------------------------------------------------------------


class Rating(NamedTuple):
    level: int
    after: timedelta  # after 办结 (or filing)
    whole_case: bool
    contacted_after: timedelta | None  # a bad rating's follow-up: 回访 …
    resolved_after: timedelta | None  # … and the result, after the rating


class Record(NamedTuple):
    item: int
    applicant: int  # an index of APPLICANTS, or len(APPLICANTS): a person with no region on the register
    channel: str
    filed: datetime
    office: str  # routed (by level), untaken (全城通办 nobody took), or a district
    due_days: int | None
    completed_after: timedelta | None
    second_completion: bool  # a write-back's second 办结 step, later
    delivered_after: timedelta | None
    method: str
    certificate: bool
    rating: Rating | None


def _durations(days: int) -> st.SearchStrategy[timedelta]:
    return st.builds(timedelta, days=st.integers(0, days), hours=st.integers(0, 23), minutes=st.integers(0, 59))


_now = datetime.now(UTC)
records = st.builds(
    Record,
    item=st.integers(0, len(ONLINE_ITEMS) - 1),
    applicant=st.integers(0, len(APPLICANTS)),
    channel=st.sampled_from(["online", "window", "helper"]),
    filed=st.datetimes(
        min_value=(_now - timedelta(days=420)).replace(tzinfo=None),
        max_value=(_now - timedelta(days=1)).replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    office=st.sampled_from(["routed", "routed", "untaken", *DISTRICTS]),
    due_days=st.none() | st.integers(0, 20),
    completed_after=st.none() | _durations(25),
    second_completion=st.booleans(),
    delivered_after=st.none() | _durations(4),
    method=st.sampled_from(["window", "post", "electronic"]),
    certificate=st.booleans(),
    rating=st.none()
    | st.builds(
        Rating,
        level=st.integers(1, 5),
        after=_durations(10),
        whole_case=st.booleans(),
        contacted_after=st.none() | _durations(3),
        resolved_after=st.none() | _durations(8),
    ),
)


async def _people(conn: asyncpg.Connection) -> list[tuple[int, str]]:
    cipher = PiiCipher(TEST_SECRET_KEY)
    found = []
    for number in APPLICANTS:
        row = await conn.fetchrow(
            "SELECT id, coalesce(region_code, '') AS region FROM people WHERE id_number_hash = $1",
            cipher.lookup_hash(number),
        )
        assert row is not None, number
        found.append((row["id"], row["region"]))
    nowhere = await conn.fetchval(
        "INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, birth_date, sex) "
        "VALUES ('\\x00'::bytea || decode(md5('no region'), 'hex'), '\\x00', '320400********0000', '无区划', "
        "'1970-01-01', 'M') ON CONFLICT (id_number_hash) DO UPDATE SET name = EXCLUDED.name RETURNING id"
    )
    return [*found, (nowhere, "")]


async def _write(conn: asyncpg.Connection, drawn: list[Record]) -> None:
    people = await _people(conn)
    filer = await conn.fetchval(
        "INSERT INTO accounts (kind, name, roles, region_code, user_handle) VALUES ('staff', '录入', ARRAY['clerk'], "
        "'320400', decode(md5('prop-filer'), 'hex')) ON CONFLICT (user_handle) DO UPDATE SET name = '录入' RETURNING id"
    )
    items = {
        r["code"]: r
        for r in await conn.fetch(
            "SELECT code, department_code, level, result_certificate ->> 'kind' AS certificate FROM service_items"
        )
    }
    for record in drawn:
        n = next(_numbers)
        item = items[ONLINE_ITEMS[record.item]]
        person, region = people[record.applicant]
        case_id = await conn.fetchval(
            "INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id, "
            "filed_as, channel, data_enc, form_checksum, idempotency_key, created_at) "
            "VALUES ($1, $2, $3, $4, $5, 'self', $6, '\\x00', 'prop', $7, $8) RETURNING id",
            f"PT{n:012d}",
            f"prop-token-{n}",
            item["code"],
            person,
            filer,
            record.channel,
            f"prop-{n}",
            record.filed,
        )
        district = region[:6] if len(region) >= 6 else "320400"
        office = {"routed": "320400" if item["level"] == "市级" else district, "untaken": None}.get(
            record.office, record.office
        )
        filed_day = stats_recount.beijing_day(record.filed)
        done = record.filed + record.completed_after if record.completed_after is not None else None
        out = done + record.delivered_after if done is not None and record.delivered_after is not None else None
        task_id = await conn.fetchval(
            "INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region, "
            "delivery_method) VALUES ($1, $2, $3, 0, $4, $5, $6, $7) RETURNING id",
            case_id,
            item["code"],
            item["department_code"],
            "delivered" if out else "completed" if done else "accepted",
            filed_day + timedelta(days=record.due_days) if record.due_days is not None else None,
            office,
            record.method if out else None,
        )
        steps = [("submitted", None, record.filed)]
        if done is not None:
            steps.append(("completed", task_id, done))
            if record.second_completion:
                steps.append(("completed", task_id, done + timedelta(days=3)))
        if out is not None:
            steps.append(("delivered", task_id, out))
        for status, task, at in steps:
            await conn.execute(
                "INSERT INTO timeline_events (case_id, task_id, status, title, at) VALUES ($1, $2, $3, 'x', $4)",
                case_id,
                task,
                status,
                at,
            )
        if done is not None and record.certificate and item["certificate"]:
            await conn.execute(
                "INSERT INTO e_certificates (person_id, kind, title, number, issued_by, issued_on, data, number_hash, "
                "number_enc, number_masked, data_enc, case_id) VALUES ($1, $2, 'x', NULL, 'x', $3, '{}', "
                "decode(md5($4), 'hex'), '\\x00', 'x', '\\x00', $5)",
                person,
                item["certificate"],
                done.date(),
                f"prop-certificate-{n}",
                case_id,
            )
        if record.rating is not None:
            await _rate(conn, record, case_id, task_id, item["department_code"], office or district, done)


async def _rate(
    conn: asyncpg.Connection,
    record: Record,
    case_id: int,
    task_id: int,
    department: str,
    office: str,
    done: datetime | None,
) -> None:
    rating = record.rating
    assert rating is not None
    at = (done or record.filed) + rating.after
    whole = rating.whole_case
    review_id = await conn.fetchval(
        "INSERT INTO reviews (case_id, task_id, department_code, region_code, level, channel, client_present, "
        "created_at, updated_at, editable_until) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $8, $8 + interval '7 days') RETURNING id",
        case_id,
        None if whole else task_id,
        None if whole else department,
        office,
        rating.level,
        record.channel,
        record.channel == "helper",
        at,
    )
    if rating.level <= 2:
        day = stats_recount.beijing_day(at)
        await conn.execute(
            "INSERT INTO review_followups (review_id, case_id, department_code, region_code, opened_at, "
            "contact_due_on, result_due_on, contacted_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            review_id,
            case_id,
            None if whole else department,
            office,
            at,
            day + timedelta(days=1),
            day + timedelta(days=5),
            at + rating.contacted_after if rating.contacted_after is not None else None,
            at + rating.resolved_after if rating.resolved_after is not None else None,
        )


async def _recount_and_compare(database_url: str, drawn: list[Record]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _write(conn, drawn)
        await rebuild_statistics(conn)
        await _holds_to_brute_force(conn)
    finally:
        await conn.close()


async def _holds_to_brute_force(conn: asyncpg.Connection) -> None:
    expected = await stats_recount.daily(conn)
    assert await stats_recount.stored_daily(conn) == expected
    assert await stats_recount.stored_monthly(conn) == stats_recount.monthly(expected)


@SLOW
@given(drawn=st.lists(records, min_size=1, max_size=10))
def test_a_recount_equals_a_brute_force_count_of_random_records(database_url: str, drawn: list[Record]) -> None:
    run_sync(_recount_and_compare(database_url, drawn))


async def test_migration_0035_counts_the_cases_there_were_before_it(database_url: str) -> None:
    """A deployment with cases, ratings and follow-ups from before the statistics: migrating runs 0035's data step,
    which counts them all; migrating again leaves the figures as they are."""
    drawn = [
        Record(i % len(ONLINE_ITEMS), i % 4, "online", datetime.now(UTC) - timedelta(days=40 - i), "routed", 5,
               timedelta(days=i % 6), False, timedelta(hours=5), "post", True,
               Rating(i % 5 + 1, timedelta(hours=1), False, None, timedelta(days=i % 3)))
        for i in range(30)
    ]  # fmt: skip
    conn = await asyncpg.connect(database_url)
    try:
        await _write(conn, drawn)
        # As it was before 0035's data step ran: no figures at all.
        await conn.execute("DELETE FROM stats_daily; DELETE FROM stats_monthly; DELETE FROM stats_deltas")
        await conn.execute("DELETE FROM schema_data_steps WHERE version = 35")
        assert await stats_recount.stored_daily(conn) == {}
        await migrate_database(conn, PiiCipher(TEST_SECRET_KEY))
        assert await conn.fetchval("SELECT name FROM schema_data_steps WHERE version = 35") == "rebuild_statistics"
        await _holds_to_brute_force(conn)
        counted = await stats_recount.stored_daily(conn)
        assert sum(c["received"] for c in counted.values()) >= 30
        await migrate_database(conn, PiiCipher(TEST_SECRET_KEY))
        assert await stats_recount.stored_daily(conn) == counted
    finally:
        await conn.close()


async def test_the_published_figures_are_the_rollups_read_back(database_url: str) -> None:
    """What /api/v1/stats publishes per month, department and district is the brute-force count, rates and all."""
    drawn = [
        Record(
            item=i % len(ONLINE_ITEMS),
            applicant=i % (len(APPLICANTS) + 1),
            channel=["online", "window", "helper"][i % 3],
            filed=datetime.now(UTC) - timedelta(days=(i * 5) % 200, hours=i % 24),
            office=["routed", "untaken", "320481"][i % 3],
            due_days=i % 9,
            completed_after=timedelta(days=i % 11) if i % 4 else None,
            second_completion=False,
            delivered_after=timedelta(days=1) if i % 5 else None,
            method=["window", "post", "electronic"][i % 3],
            certificate=i % 7 != 0,
            rating=Rating(1 + i % 5, timedelta(hours=2), i % 6 == 0, timedelta(hours=3), timedelta(days=i % 7))
            if i % 2
            else None,
        )
        for i in range(400)
    ]
    conn = await asyncpg.connect(database_url)
    try:
        await _write(conn, drawn)
        await rebuild_statistics(conn)
        expected = stats_recount.monthly(await stats_recount.daily(conn))
        follow_ups = await stats_recount.daily(conn)
    finally:
        await conn.close()
    pool = await create_pool(database_url, max_size=4)
    try:
        stats.forget_cached_figures()
        for department, district in [(None, None), ("hrss", None), (None, "320481"), ("health", "320400")]:
            query = await stats.checked_query(
                pool, from_month=None, to_month=None, department=department, district=district
            )
            report = await stats.report(pool, query)
            for month in report.months:
                first = datetime.strptime(month.month, "%Y-%m").date()
                cells = [
                    v
                    for (m, d, dist), v in expected.items()
                    if m == first and department in (None, d) and district in (None, dist)
                ]
                received = sum(c["received"] for c in cells)
                completed = sum(c["completed"] for c in cells)
                on_time = sum(c["completed_on_time"] for c in cells)
                ratings = sum(c["ratings"] for c in cells)
                good = sum(c["ratings_good"] for c in cells)
                due = [
                    v
                    for (day, d, office, _i, _c), v in follow_ups.items()
                    if day.replace(day=1) == first
                    and day < today_in_china()
                    and department in (None, d)
                    and district in (None, office[:6])
                ]
                due_count = sum(c["follow_ups"] for c in due)
                _published(month, "received", received, received, received)
                _published(month, "on_time_rate", completed, on_time, completed)
                _published(month, "satisfaction_rate", ratings, good, ratings)
                _published(
                    month, "follow_up_on_time_rate", due_count, sum(c["follow_ups_on_time"] for c in due), due_count
                )
    finally:
        await pool.close()


def _published(cell: Any, name: str, base: int, part: int, whole: int) -> None:
    """A figure as published: "<5" (null, named in `suppressed`) over 1–4 办件, else the count or the share."""
    value = getattr(cell, name)
    if 0 < base < 5:
        assert value is None and name in cell.suppressed, (cell.month, name, base)
        return
    assert name not in cell.suppressed, (cell.month, name)
    if name == "received":
        assert value == part, (cell.month, name)
    else:
        assert value == (round(part / whole, 4) if whole else None), (cell.month, name, part, whole)


# --- random work done through the app, counted as it happens --------------------------------------------------------

WANG = {"name": "王建国", "id_number": "320412196608080133"}
# 尊老金申领 (民政, 区级, 承诺件), 社会保障卡注销 (人社, 全城通办, 即办件),
# 预防接种证办理 (卫健, 区级, 即办件, a certificate).
WORK_ITEMS = ["CZ-MZ-002", "CZ-RS-005", "CZ-WJ-002"]
DEPARTMENTS = {"CZ-MZ-002": "civil_affairs", "CZ-RS-005": "hrss", "CZ-WJ-002": "health"}
PROGRESS = ["filed", "accepted", "completed", "delivered", "on_the_spot"]


class Plan(NamedTuple):
    item: str
    online: bool  # 张伟 files it himself (else a clerk for 王建国 at the window; 社会保障卡注销 always at the window)
    progress: str
    method: str
    level: int | None  # rated once finished: online by 张伟, at the window on the tablet
    new_level: int | None  # then changed (online only)
    answer: str | None  # a bad rating's follow-up: 回访 only, the result only, or both


plans = st.builds(
    Plan,
    item=st.sampled_from(WORK_ITEMS),
    online=st.booleans(),
    progress=st.sampled_from(PROGRESS),
    method=st.sampled_from(["window", "post", "electronic"]),
    level=st.none() | st.integers(1, 5),
    new_level=st.none() | st.integers(1, 5),
    answer=st.none() | st.sampled_from(["contact", "result", "both"]),
)


class Office:
    """The people of one run, their sessions kept from one example to the next."""

    def __init__(self) -> None:
        self.cookies: dict[str, httpx.Cookies] = {}
        self.keys = itertools.count(1)


async def _work(settings: Settings, office: Office, drawn: list[Plan]) -> None:
    assert settings.database_url
    pool = await create_pool(settings.database_url, max_size=6)
    app = create_app(settings, pool=pool)
    people: dict[str, httpx.AsyncClient] = {}
    try:
        for port, name in enumerate(["resident", "clerk", "civil_affairs", "hrss", "health", "district", "city"]):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 51000 + port))
            people[name] = httpx.AsyncClient(
                transport=transport, base_url="http://localhost:8000", cookies=office.cookies.get(name)
            )
        if not office.cookies:
            await _sign_up(pool, settings, people)
            office.cookies = {name: client.cookies for name, client in people.items()}
        for plan in drawn:
            await _do(people, plan, next(office.keys))
        office.cookies = {name: client.cookies for name, client in people.items()}
        await stats.fold(pool)
        async with pool.acquire() as conn:
            await _holds_to_brute_force(conn)
        # And a recount from the records comes to the very same rows.
        conn = await asyncpg.connect(settings.database_url)
        try:
            await rebuild_statistics(conn)
            await _holds_to_brute_force(conn)
        finally:
            await conn.close()
    finally:
        for client in people.values():
            await client.aclose()
        await pool.close()


async def _sign_up(pool: asyncpg.Pool, settings: Settings, people: dict[str, httpx.AsyncClient]) -> None:
    key = settings.secret_key
    await sign_up(people["resident"], new_authenticator(), ZHANG_WEI)
    await staff_client_sign_up(
        people["clerk"], pool, key, name="市民中心", role="clerk", region="320400", department="hrss",
        window_for=["hrss", "health", "civil_affairs"],
    )  # fmt: skip
    for department in ("civil_affairs", "hrss", "health"):
        await staff_client_sign_up(
            people[department], pool, key, name=f"{department}审批", role="approver", region="320400",
            department=department,
        )  # fmt: skip
    await staff_client_sign_up(people["district"], pool, key, name="天宁督查", role="supervisor", region="320402")
    await staff_client_sign_up(people["city"], pool, key, name="市督查", role="supervisor", region="320400")


async def _file(people: dict[str, httpx.AsyncClient], plan: Plan, key: int) -> dict[str, Any]:
    online = plan.online and plan.item != "CZ-RS-005"
    if online:
        resident = people["resident"]
        form = (await resident.get(f"/api/v1/items/{plan.item}/form")).json()
        body = {
            "item": plan.item,
            "data": answers_for(form),
            "idempotency_key": f"stats-work-{key:06d}",
            "uploads": await upload_required_materials(resident, plan.item, form),
        }
        created = await post(resident, "/api/v1/cases", body)
    else:
        clerk = people["clerk"]
        started = await post(clerk, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
        assert started.status_code in (200, 201), started.text
        form = await clerk.get(f"/api/v1/items/{plan.item}/form", params={"on_behalf_of": WANG["id_number"]})
        body = {
            "item": plan.item,
            "data": _about_someone_new(answers_for(form.json()), key),
            "idempotency_key": f"stats-work-{key:06d}",
            "on_behalf_of": WANG["id_number"],
        }
        created = await post(clerk, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    case = await people["clerk"].get(f"/api/v1/console/cases/{case_no}")
    assert case.status_code == 200, case.text
    return {"case_no": case_no, "online": online, "task": case.json()["tasks"][0]["id"]}


def _about_someone_new(answers: dict[str, Any], key: int) -> dict[str, Any]:
    """社会保障卡注销 about another deceased each time: the same person's filed again is 一事不二办's duplicate
    (409)."""
    if "deceased.id_number" in answers:
        first17 = f"32040219400101{key % 1000:03d}"
        answers["deceased.id_number"] = first17 + check_char(first17)
    return answers


async def _do(people: dict[str, httpx.AsyncClient], plan: Plan, key: int) -> None:
    filed = await _file(people, plan, key)
    case_no, online = filed["case_no"], filed["online"]
    clerk, approver = people["clerk"], people[DEPARTMENTS[plan.item]]
    task = filed["task"]
    instant = plan.item != "CZ-MZ-002"
    if plan.progress == "on_the_spot" and instant and not online:
        moves = [(clerk, "complete_on_the_spot")]
    elif plan.progress == "filed":
        moves = []
    else:
        moves = [(clerk, "accept")]
        if plan.progress in ("completed", "delivered", "on_the_spot"):
            moves += [(approver, "review"), (approver, "approve"), (approver, "complete")]
    if plan.progress in ("delivered", "on_the_spot") and moves:
        moves.append((clerk, "deliver"))
    for actor, action in moves:
        body: dict[str, Any] = {"action": action}
        if action == "deliver":
            body |= {"delivery_method": plan.method, "delivery_ref": "SF1234567890" if plan.method == "post" else None}
        moved = await post(actor, f"/api/v1/console/tasks/{task}/transition", body)
        assert moved.status_code == 200, (action, moved.text)
    if not moves or moves[-1][1] == "accept" or plan.level is None:
        return
    await _rate_in_app(people, plan, case_no, task, online)


async def _rate_in_app(people: dict[str, httpx.AsyncClient], plan: Plan, case_no: str, task: int, online: bool) -> None:
    assert plan.level is not None
    if online:
        path = f"/api/v1/cases/{case_no}/reviews"
        rated = await post(people["resident"], path, {"task_id": task, "level": plan.level})
        assert rated.status_code == 201, rated.text
        if plan.new_level is not None:
            again = await post(people["resident"], path, {"task_id": task, "level": plan.new_level})
            assert again.status_code == 200, again.text
    else:
        clerk = people["clerk"]
        opened = await clerk.post(f"/console/cases/{case_no}/rating-link", headers=await csrf(clerk))
        assert opened.status_code == 303, opened.text
        tablet = people["resident"]  # any browser: the link is all it needs
        tapped = await tablet.post(
            opened.headers["location"], data={"level": str(plan.level)}, headers=await csrf(tablet)
        )
        assert tapped.status_code == 200, tapped.text
    if plan.answer is None:
        return
    for supervisor in (people["district"], people["city"]):
        open_items = (await supervisor.get("/api/v1/console/supervision")).json()["follow_ups"]
        found = next((f for f in open_items if f["case_no"] == case_no), None)
        if found is None:
            continue
        steps = {"contact": ["contact"], "result": ["result"], "both": ["contact", "result"]}[plan.answer]
        for step in steps:
            answered = await post(
                supervisor, f"/api/v1/console/follow-ups/{found['follow_up']['id']}/{step}", {"text": "已回访并整改"}
            )
            assert answered.status_code == 204, answered.text
        return


@pytest.fixture
def office() -> Office:
    return Office()


@examples(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(drawn=st.lists(plans, min_size=1, max_size=4))
def test_work_done_through_the_app_is_counted_as_it_happens(
    settings: Settings, office: Office, drawn: list[Plan]
) -> None:
    run_sync(_work(settings, office, drawn))
