"""Faults, each as it happens in production: a push worker SIGKILLed mid-send, PostgreSQL stopped under a
serving app, the web process SIGKILLed with submissions in flight. Nothing committed is lost, nothing is done
twice that the user would see twice, and no one gets a 500 or a stack trace."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from app.cases.timeline import record_event
from app.main import create_app
from auth.sessions import SEEN_AT
from config.settings import Settings
from db.embedded import with_database
from db.pool import create_pool
from tests.app_process import AppServer, serve_env
from tests.auth_helpers import csrf
from tests.database_fixtures import build_database, settings_for
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.push_helpers import (
    WorkerProcess,
    file_case,
    local_push_service,
    resident_with_device,
    subscribe,
    wait_until,
    worker_env,
)
from tests.window_helpers import clerk_signs_in, file_walk_in, receive_walk_in, receive_walk_in_births

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# --- the push worker killed mid-send -------------------------------------------------------------------

DEVICES = 20
EVENTS = 50  # × 20 devices = 1,000 notifications
# A job silent for a second belongs to a dead worker; the queue is looked at twice a second.
QUICK_RECOVERY = ("--heartbeat-seconds", "1", "--idle-poll-seconds", "0.5")


async def _record_steps(pool: asyncpg.Pool, case_no: str, count: int) -> None:
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
    async with pool.acquire() as conn, conn.transaction():
        for step in range(count):
            await record_event(conn, case_id=case_id, status="in_review", title=f"第{step + 1}步：审核中")


async def test_a_push_worker_killed_mid_send_loses_none_of_1000_and_repeats_carry_their_event_id(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    async with local_push_service(client) as service:
        await resident_with_device(client, service)
        for _ in range(DEVICES - 1):
            assert (await subscribe(client, service.device())).status_code == 201
        case = await file_case(client)
        await _record_steps(pool, case["case_no"], EVENTS - 1)
        assert await pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'created'") == DEVICES * EVENTS

        env = worker_env(database_url, settings.data_dir)
        first = await WorkerProcess.start(env, *QUICK_RECOVERY)
        await service.wait_for(DEVICES * EVENTS // 4, within=60)
        # From now on the push service takes each push but answers only later: the worker is killed with
        # pushes the devices will have, but which it never recorded as delivered.
        for device in service.devices.values():
            device.hold = asyncio.Event()
        held = [asyncio.ensure_future(d.held.wait()) for d in service.devices.values()]
        await asyncio.wait(held, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        first.kill()
        assert await first.stop() != 0
        for waiting in held:
            waiting.cancel()
        in_flight = await pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'sending'")
        delivered = await pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'delivered'")
        assert in_flight > 0 and delivered < DEVICES * EVENTS, (in_flight, delivered)

        for device in service.devices.values():  # the push service answers the dead worker's requests
            assert device.hold is not None
            device.hold.set()
            device.hold = None
        second = await WorkerProcess.start(env, *QUICK_RECOVERY)
        try:
            await wait_until(
                pool, "SELECT count(*) FROM notifications WHERE status = 'delivered'", DEVICES * EVENTS, within=120
            )
        finally:
            assert await second.stop() == 0

    assert service.rejected == []
    event_ids = {r["event_id"] for r in await pool.fetch("SELECT DISTINCT event_id FROM inbox_entries")}
    assert len(event_ids) == EVENTS
    arrivals = Counter((p.device, p.payload["event_id"]) for p in service.received)
    assert set(arrivals) == {(d, e) for d in service.devices for e in event_ids}, "a notification was lost"
    repeats = [pair for pair, times in arrivals.items() if times > 1]
    assert repeats, "the kill should have come between a send and its commit"
    assert max(arrivals.values()) == 2
    # A repeat is the same message under the same event id, which the service worker (pwa/static/js/sw-push.js,
    # e2e/test_push.py) drops: each device shows each step once.
    for device, event_id in repeats:
        copies = [p.payload for p in service.received if (p.device, p.payload["event_id"]) == (device, event_id)]
        assert copies[0] == copies[1]
    sent_twice = await pool.fetchval("SELECT count(*) FROM notifications WHERE attempts = 2")
    assert sent_twice >= len(repeats)
    assert await pool.fetchval("SELECT count(*) FROM pgqueuer") == 0


# --- PostgreSQL stopped while the app serves ---------------------------------------------------------------

RECOVERY_SECONDS = 10


def _assert_clear_503_page(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert "系统维护中，请稍后再试" in response.text
    assert "Traceback" not in response.text and "asyncpg" not in response.text


def _assert_json_503(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text[:300])
    body = response.json()
    assert body["status_code"] == 503 and body["detail"] == "系统维护中，请稍后再试"
    assert response.headers["retry-after"]


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as postgres:
        yield postgres


async def test_a_stopped_database_answers_503_and_the_same_process_serves_again_once_it_is_back(
    own_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    await build_database(own_postgres.dsn, "ywtb")
    database_url = with_database(own_postgres.dsn, "ywtb")
    server = AppServer(serve_env(tmp_path / "data", database_url=database_url), tmp_path / "serve.log")
    await anyio.to_thread.run_sync(server.start)
    public_url = server.env["PUBLIC_URL"]
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=20) as clerk,
            httpx.AsyncClient(base_url=server.url, timeout=20) as visitor,
        ):
            pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
            try:
                await clerk_signs_in(clerk, pool, public_url)
            finally:
                await pool.close()
            body = await receive_walk_in(clerk)
            assert (await clerk.get("/me")).status_code == 200
            headers = await csrf(clerk)
            await visitor.get("/login")  # a visitor with a CSRF cookie and no session
            pid = server.process.pid if server.process else None

            await anyio.to_thread.run_sync(own_postgres.stop)
            # A person opening pages, signed in (the session is read from the database first) or not.
            _assert_clear_503_page(await visitor.get("/"))
            _assert_clear_503_page(await visitor.get("/life-events/retirement"))
            _assert_clear_503_page(await clerk.get("/me"))
            _assert_clear_503_page(await clerk.get("/console"))
            # The JSON API, reading and writing.
            _assert_json_503(await visitor.get("/api/v1/life-events"))
            _assert_json_503(await visitor.get("/api/v1/track/no-such-token-at-all"))
            _assert_json_503(await clerk.get("/api/v1/me"))
            _assert_json_503(await file_walk_in(clerk, body, "fault-db-down-0001"))
            _assert_json_503(
                await visitor.post("/api/v1/auth/login/options", json={}, headers={**headers, **await csrf(visitor)})
            )
            health = await visitor.get("/healthz")
            assert health.status_code == 503 and health.json() == {"status": "unavailable", "db": "unavailable"}

            await anyio.to_thread.run_sync(own_postgres.start)
            back = time.monotonic()
            while (await visitor.get("/healthz")).status_code != 200:
                assert time.monotonic() - back < RECOVERY_SECONDS, "the app did not recover"
                await asyncio.sleep(0.2)
            assert server.process is not None and server.process.poll() is None and server.process.pid == pid
            assert (await visitor.get("/")).status_code == 200
            assert (await clerk.get("/me")).status_code == 200, "the clerk is still signed in"
            created = await file_walk_in(clerk, body, "fault-db-down-0001")
            assert created.status_code == 201, created.text
            assert time.monotonic() - back < RECOVERY_SECONDS
    finally:
        await anyio.to_thread.run_sync(server.stop)
    log = server.log_text()
    assert "database unavailable, answering 503" in log
    assert "unhandled error" not in log, log[-3000:]


async def test_a_push_worker_rides_out_a_database_restart(own_postgres: PrivatePostgres, tmp_path: Path) -> None:
    await build_database(own_postgres.dsn, "ywtb")
    database_url = with_database(own_postgres.dsn, "ywtb")
    settings = settings_for(database_url, tmp_path / "data")
    pool = await create_pool(database_url)
    transport = httpx.ASGITransport(app=create_app(settings, pool=pool), client=("127.0.0.1", 50000))
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client,
            local_push_service(client) as service,
        ):
            await resident_with_device(client, service)
            worker = await WorkerProcess.start(worker_env(database_url, settings.data_dir), *QUICK_RECOVERY)
            try:
                case = await file_case(client)
                await service.wait_for(1)
                await anyio.to_thread.run_sync(own_postgres.stop)
                await asyncio.sleep(3)  # long enough for the worker to notice and fail to connect again
                await anyio.to_thread.run_sync(own_postgres.start)
                await _record_steps(pool, case["case_no"], 1)
                await service.wait_for(2, within=30)
                assert worker.process.returncode is None, "the worker died with the database"
            finally:
                assert await worker.stop() == 0
            assert any("connected to the database again" in line for line in worker.lines), worker.lines[-20:]
            assert worker.delivered >= 1
            assert service.rejected == []
    finally:
        await pool.close()


# --- the web process killed mid-submission -----------------------------------------------------------------

ANSWERED, COMMITTED, CUT_OFF = 4, 4, 4  # submissions in each state when the process dies
WAITING_ON_LOCKS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def _poll(pool: asyncpg.Pool, expected: int, sql: str, *args: object, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while (value := await pool.fetchval(sql, *args)) != expected:
        assert time.monotonic() < deadline, f"{sql} answered {value}, expected {expected}"
        await asyncio.sleep(0.05)


async def _make_every_answer_write_the_session(pool: asyncpg.Pool, session_key: str) -> None:
    """Set the session's last-seen time two minutes back: the next requests each record that they saw the
    clerk, writing the session row as their answer starts — after their case has been committed."""
    value = json.loads(await pool.fetchval("SELECT value FROM sessions WHERE key = $1", session_key))
    value[SEEN_AT] -= 120
    await pool.execute("UPDATE sessions SET value = $2 WHERE key = $1", session_key, json.dumps(value).encode())


async def test_submissions_cut_off_by_a_killed_web_process_become_exactly_one_case_each_when_retried(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    server = AppServer(serve_env(tmp_path / "data", database_url=database_url), tmp_path / "serve.log")
    await anyio.to_thread.run_sync(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as clerk:
            await clerk_signs_in(clerk, pool, server.env["PUBLIC_URL"])
            another_birth = await receive_walk_in_births(clerk)
            keys = [f"fault-kill-{n:04d}" for n in range(ANSWERED + COMMITTED + CUT_OFF)]
            bodies = {key: another_birth() for key in keys}  # each key its own child, sent again as it was
            answered_keys = keys[:ANSWERED]
            committed_keys = keys[ANSWERED : ANSWERED + COMMITTED]
            cut_off_keys = keys[ANSWERED + COMMITTED :]
            answered = {}
            for key in answered_keys:
                response = await file_walk_in(clerk, bodies[key], key)
                assert response.status_code == 201, response.text
                answered[key] = response.json()["case_no"]

            await _make_every_answer_write_the_session(pool, clerk.cookies["ywtb_session"])
            async with pool.acquire() as holder:
                hold = holder.transaction()
                await hold.start()
                # Committed, unanswered: each case commits, then its answer waits for the session row.
                await holder.execute("SELECT 1 FROM sessions WHERE key = $1 FOR UPDATE", clerk.cookies["ywtb_session"])
                in_flight = [asyncio.ensure_future(file_walk_in(clerk, bodies[key], key)) for key in committed_keys]
                await _poll(
                    pool, COMMITTED, "SELECT count(*) FROM cases WHERE idempotency_key = ANY($1)", committed_keys
                )
                # Cut off before their commit: no new case can be inserted until the kill.
                await holder.execute("LOCK TABLE cases IN EXCLUSIVE MODE")
                in_flight += [asyncio.ensure_future(file_walk_in(clerk, bodies[key], key)) for key in cut_off_keys]
                await _poll(pool, COMMITTED + CUT_OFF, WAITING_ON_LOCKS)
                await anyio.to_thread.run_sync(server.kill)
                await hold.rollback()
            outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
            assert all(isinstance(o, httpx.TransportError) for o in outcomes), outcomes
            before_retry = await pool.fetchval(
                "SELECT count(*) FROM cases WHERE idempotency_key = ANY($1)", committed_keys + cut_off_keys
            )
            assert before_retry == COMMITTED

            await anyio.to_thread.run_sync(server.start)
            for key in keys:  # the clerk's browser sends each unanswered submission again, with its key
                response = await file_walk_in(clerk, bodies[key], key)
                assert response.status_code == 201, response.text
                if key in answered:
                    assert response.json()["case_no"] == answered[key]
    finally:
        await anyio.to_thread.run_sync(server.stop)

    rows = await pool.fetch(
        "SELECT idempotency_key, count(*) AS cases FROM cases WHERE idempotency_key = ANY($1) GROUP BY 1", keys
    )
    assert {r["idempotency_key"]: r["cases"] for r in rows} == dict.fromkeys(keys, 1)
