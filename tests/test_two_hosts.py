"""Two `python -m app serve` on one database, as behind a load balancer: a browser's requests may reach either.

Besides the database the hosts share SECRET_KEY (sessions' CSRF tokens, encrypted ID numbers, enrollment codes)
and the VAPID key file (DATA_DIR/vapid_private_key.pem: every browser must get the key the push workers sign
with); nothing else. Sessions, passkey challenges, failure counts, idempotency and the holiday calendar live in
PostgreSQL, so what one host did the other knows.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import anyio
import asyncpg
import httpx
import pytest

from app.calendar.service import CALENDAR_TTL_SECONDS
from app.calendar.workdays import HolidayCalendar
from auth import ratelimit
from db.embedded import with_database
from push.keys import KEY_FILE
from tests.app_process import AppServer, serve_env
from tests.auth_helpers import csrf, post
from tests.database_fixtures import drop_database, make_database
from tests.private_postgres import PrivatePostgres, private_folder
from tests.softauthn import SoftAuthenticator
from tests.window_helpers import WANG, clerk_signs_in, file_walk_in, receive_walk_in_births

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Both hosts answer for one origin, as behind the TLS proxy: passkeys are bound to it.
PUBLIC_URL = "http://localhost:8000"


class TwoHosts(NamedTuple):
    a: AppServer
    b: AppServer
    database_url: str


@pytest.fixture(scope="module")
def hosts(pg_server_dsn: str, template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoHosts]:
    database = make_database(pg_server_dsn, template_database)
    database_url = with_database(pg_server_dsn, database)
    a_dir, b_dir = tmp_path_factory.mktemp("host-a"), tmp_path_factory.mktemp("host-b")
    a = AppServer(serve_env(a_dir, database_url=database_url, public_url=PUBLIC_URL), a_dir / "serve.log")
    b = AppServer(serve_env(b_dir, database_url=database_url, public_url=PUBLIC_URL), b_dir / "serve.log")
    try:
        a.start()
        # The push key A made on first start is copied to B, as an operator copies it to every host.
        shutil.copy2(a_dir / KEY_FILE, b_dir / KEY_FILE)
        b.start()
        yield TwoHosts(a, b, database_url)
    finally:
        a.stop()
        b.stop()
        drop_database(pg_server_dsn, database)


@pytest.fixture
async def db(hosts: TwoHosts) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(hosts.database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


@pytest.fixture
async def browser(hosts: TwoHosts) -> AsyncIterator[httpx.AsyncClient]:
    """One browser; relative paths go to host A, absolute URLs to whichever host is named."""
    async with httpx.AsyncClient(base_url=hosts.a.url, timeout=30) as client:
        yield client


async def test_both_hosts_hand_browsers_the_push_key_the_workers_sign_with(
    hosts: TwoHosts, browser: httpx.AsyncClient
) -> None:
    keys = {(await browser.get(f"{host.url}/api/v1/push/key")).json()["public_key"] for host in hosts[:2]}
    assert len(keys) == 1


async def test_a_session_made_on_one_host_works_on_the_other(
    hosts: TwoHosts, db: asyncpg.Pool, browser: httpx.AsyncClient
) -> None:
    a, b = hosts.a.url, hosts.b.url
    passkey = await clerk_signs_in(browser, db, PUBLIC_URL, name="甲窗口")  # signed up on A
    me = await browser.get(f"{b}/api/v1/me")
    assert me.status_code == 200 and me.json()["name"] == "甲窗口"
    assert (await browser.get(f"{b}/console")).status_code == 200
    # A write on B with the CSRF token A handed out; what it keeps in the session shows on A.
    started = await browser.post(
        f"{b}/api/v1/console/walk-ins", json={**WANG, "identity_checked": True}, headers=await csrf(browser)
    )
    assert started.status_code in (200, 201), started.text
    assert (await browser.get(f"{a}/api/v1/console/walk-ins/current")).status_code == 200

    # Signing out on B ends the session on A.
    assert (await browser.post(f"{b}/api/v1/auth/logout", headers=await csrf(browser))).status_code == 204
    assert (await browser.get(f"{a}/api/v1/me")).status_code == 401
    # A sign-in whose two steps reach different hosts: the challenge A issued is checked on B.
    options = await browser.post(f"{a}/api/v1/auth/login/options", json={}, headers=await csrf(browser))
    assert options.status_code == 200, options.text
    verified = await browser.post(
        f"{b}/api/v1/auth/login/verify",
        json={"credential": passkey.get(options.json())},
        headers=await csrf(browser),
    )
    assert verified.status_code == 200, verified.text
    assert (await browser.get(f"{a}/api/v1/me")).json()["name"] == "甲窗口"


async def test_junk_sign_ins_from_one_address_are_limited_across_both_hosts(hosts: TwoHosts) -> None:
    limit = ratelimit.LIMITS["ip"]
    # Its own address (the hosts see 127.0.0.2), so the other tests' sign-ins are not the ones limited.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, base_url=hosts.a.url, timeout=30) as attacker:
        headers = await csrf(attacker)
        junk = {"credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}}
        for attempt in range(limit):
            host = (hosts.a, hosts.b)[attempt % 2]
            refused = await attacker.post(f"{host.url}/api/v1/auth/login/verify", json=junk, headers=headers)
            assert refused.status_code != 429 and refused.status_code < 500, (attempt, refused.text)
        for host in hosts[:2]:
            limited = await attacker.post(f"{host.url}/api/v1/auth/login/verify", json=junk, headers=headers)
            assert limited.status_code == 429, (host.url, limited.text)
            assert "分钟后再试" in limited.json()["detail"] and int(limited.headers["retry-after"]) > 0


async def test_one_idempotency_key_posted_to_both_hosts_at_once_makes_one_case(
    hosts: TwoHosts, db: asyncpg.Pool, browser: httpx.AsyncClient
) -> None:
    await clerk_signs_in(browser, db, PUBLIC_URL, name="乙窗口")
    another_birth = await receive_walk_in_births(browser)
    keys = [f"two-hosts-{n:04d}" for n in range(5)]
    for key in keys:
        body = another_birth()
        both = await asyncio.gather(*(file_walk_in(browser, body, key, at=host.url) for host in hosts[:2]))
        assert [r.status_code for r in both] == [201, 201], [r.text for r in both]
        assert both[0].json()["case_no"] == both[1].json()["case_no"]
    rows = await db.fetch(
        "SELECT idempotency_key, count(*) AS cases FROM cases WHERE idempotency_key = ANY($1) GROUP BY 1", keys
    )
    assert {r["idempotency_key"]: r["cases"] for r in rows} == dict.fromkeys(keys, 1)


def _year_with_one_more_holiday(day: date) -> str:
    """The holiday file for `day`'s year: the schedule the app has for it now (the calendar package's, or
    weekends only), with `day` made a day off — so every deadline counted across it moves later."""
    calendar = HolidayCalendar({})
    lines = []
    current = date(day.year, 1, 1)
    while current.year == day.year:
        weekend = current.weekday() >= 5
        if current == day or (not weekend and not calendar.is_workday(current)):
            lines.append(f"{current} holiday")
        elif weekend and calendar.is_workday(current):
            lines.append(f"{current} workday")
        current += timedelta(days=1)
    return "\n".join(lines) + "\n"


async def _earliest_deadline_on(browser: httpx.AsyncClient, host: AppServer, body: dict, key: str) -> date:
    """File a case on `host`; the earliest due date it computed for the case's tasks (from the tracking JSON)."""
    created = await file_walk_in(browser, body, key, at=host.url)
    assert created.status_code == 201, created.text
    tracking = await browser.get(f"{host.url}/api/v1/track/{created.json()['tracking_token']}")
    return min(date.fromisoformat(t["due_on"]) for t in tracking.json()["tasks"])


async def test_a_holiday_year_loaded_through_one_host_is_used_by_the_other_within_30_seconds(
    hosts: TwoHosts, db: asyncpg.Pool, browser: httpx.AsyncClient, tmp_path: Path
) -> None:
    await clerk_signs_in(browser, db, PUBLIC_URL, name="丙窗口")
    another_birth = await receive_walk_in_births(browser)
    # B computes a deadline (and so holds the calendar it has now); 出生医学证明 is due the next working day.
    before = await _earliest_deadline_on(browser, hosts.b, another_birth(), "holiday-before-0001")

    schedule = tmp_path / f"{before.year}.txt"
    schedule.write_text(_year_with_one_more_holiday(before), encoding="utf-8")
    await anyio.to_thread.run_sync(hosts.a.cli, "load-holidays", str(schedule))
    loaded = time.monotonic()
    attempt = 0
    while (after := await _earliest_deadline_on(browser, hosts.b, another_birth(), f"holiday-{attempt:04d}")) == before:
        assert time.monotonic() - loaded < CALENDAR_TTL_SECONDS + 2, "host B still counts without the new holiday"
        attempt += 1
        await asyncio.sleep(0.5)
    assert after > before
    assert time.monotonic() - loaded <= CALENDAR_TTL_SECONDS + 2


async def test_a_second_host_without_database_url_finds_the_embedded_server_the_first_started() -> None:
    """No DATABASE_URL, one DATA_DIR (on a shared disk, or two processes on one machine): the first host starts
    the embedded PostgreSQL in DATA_DIR/pg, the second connects to it, and both read DATA_DIR's keys."""
    data_dir = private_folder("ywtb-two-hosts-")
    a = AppServer(serve_env(data_dir, public_url=PUBLIC_URL, secret_key=None), data_dir / "a.log")
    b = AppServer(serve_env(data_dir, public_url=PUBLIC_URL, secret_key=None), data_dir / "b.log")
    try:
        await anyio.to_thread.run_sync(a.start)
        await anyio.to_thread.run_sync(a.cli, "seed")
        code = (await anyio.to_thread.run_sync(_staff_add, a)).strip().splitlines()[-1]
        await anyio.to_thread.run_sync(b.start)
        assert "serving on" in b.log_text()

        async with httpx.AsyncClient(base_url=a.url, timeout=30) as client:
            passkey = SoftAuthenticator("localhost", PUBLIC_URL)
            options = await post(client, "/api/v1/auth/register/options", {"name": "丁窗口", "enrollment_code": code})
            assert options.status_code == 200, options.text
            created = await post(client, "/api/v1/auth/register/verify", {"credential": passkey.create(options.json())})
            assert created.status_code == 201, created.text
            me = await client.get(f"{b.url}/api/v1/me")
            assert me.status_code == 200 and me.json()["name"] == "丁窗口"
            keys = {(await client.get(f"{host.url}/api/v1/push/key")).json()["public_key"] for host in (a, b)}
            assert len(keys) == 1
    finally:
        a.stop()
        b.stop()
        if (data_dir / "pg" / "PG_VERSION").exists():
            PrivatePostgres(data_dir).close()  # the embedded server outlives the hosts on purpose: stop it
        shutil.rmtree(data_dir, ignore_errors=True)


def _staff_add(host: AppServer) -> str:
    return host.cli("staff-add", "--name", "丁窗口", "--role", "clerk", "--region", "320412", "--department", "hrss")
