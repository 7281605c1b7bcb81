"""Several `python -m push.worker` processes at once: each notification is sent once, and a worker
killed mid-send loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import asyncpg
import httpx
import pytest

from app.cases.timeline import record_event
from config.settings import Settings
from tests.push_helpers import (
    WorkerProcess,
    file_case,
    local_push_service,
    resident_with_device,
    subscribe,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.anyio

DEVICES = 20
EVENTS = 50  # × 20 devices = 1,000 notifications
# A job silent for a second belongs to a dead worker; the queue is looked at twice a second.
QUICK_RECOVERY = ("--heartbeat-seconds", "1", "--idle-poll-seconds", "0.5")


async def _record_steps(pool: asyncpg.Pool, case_no: str, count: int) -> None:
    """`count` timeline events on the case, all in one transaction (as a busy back office would)."""
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
    async with pool.acquire() as conn, conn.transaction():
        for step in range(count):
            await record_event(conn, case_id=case_id, status="in_review", title=f"第{step + 1}步：审核中")


async def test_two_workers_send_each_of_1000_notifications_exactly_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    async with local_push_service(client) as service:
        await resident_with_device(client, service)
        for _ in range(DEVICES - 1):
            assert (await subscribe(client, service.device())).status_code == 201
        case = await file_case(client)  # the first event: 20 notifications, queued before the workers start
        env = worker_env(database_url, settings.data_dir)
        workers = await asyncio.gather(*(WorkerProcess.start(env, "--concurrency", "50") for _ in range(2)))
        try:
            await _record_steps(pool, case["case_no"], EVENTS - 1)
            await service.wait_for(DEVICES * EVENTS, within=120)
            await wait_until(pool, "SELECT count(*) FROM notifications WHERE status = 'delivered'", DEVICES * EVENTS)
        finally:
            codes = [await w.stop() for w in workers]
        assert codes == [0, 0]
        assert service.rejected == []
        arrivals = Counter((p.device, p.payload["event_id"]) for p in service.received)
        assert len(arrivals) == DEVICES * EVENTS
        assert set(arrivals.values()) == {1}, "a notification arrived twice"
        assert len(service.attempts) == DEVICES * EVENTS
        shares = [w.delivered for w in workers]
        assert sum(shares) == DEVICES * EVENTS and all(shares), f"both workers should share the work: {shares}"
        assert await pool.fetchval("SELECT count(*) FROM pgqueuer") == 0


async def test_a_worker_killed_mid_send_loses_nothing(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    async with local_push_service(client) as service:
        phone = await resident_with_device(client, service)
        phone.hold = asyncio.Event()
        env = worker_env(database_url, settings.data_dir)
        first = await WorkerProcess.start(env, *QUICK_RECOVERY)
        case = await file_case(client)
        await asyncio.wait_for(phone.held.wait(), 30)  # the push is on its way: the worker waits for an answer
        first.kill()
        assert await first.stop() != 0
        assert await pool.fetchval("SELECT status FROM notifications") == "sending"

        phone.hold.set()  # the push service answers the dead worker's request: the device has it once
        phone.hold = None
        second = await WorkerProcess.start(env, *QUICK_RECOVERY)
        try:
            await wait_until(pool, "SELECT status FROM notifications", "delivered", within=30)
        finally:
            assert await second.stop() == 0
        row = await pool.fetchrow("SELECT attempts, latency_ms FROM notifications")
        assert row["attempts"] == 2 and row["latency_ms"] > 0
        # Sent again by the second worker: the same event id twice, which the service worker drops.
        event_ids = {p.payload["event_id"] for p in service.pushes_to(phone)}
        assert len(event_ids) == 1 and len(service.pushes_to(phone)) == 2
        assert case["case_no"] in service.pushes_to(phone)[0].payload["body"]


async def test_a_case_step_queues_its_push_without_a_notify_and_an_idle_worker_takes_it_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    """A transaction that sends a NOTIFY locks the whole database at its commit, until its commit is on disk: every
    submission and step would commit one at a time. Queueing a push sends none; a worker waiting on an empty queue
    (its default poll) takes the job within a fraction of a second all the same."""
    listener = await asyncpg.connect(database_url)
    heard: list[str] = []
    await listener.add_listener("ch_pgqueuer", lambda *args: heard.append(args[-1]))
    try:
        async with local_push_service(client) as service:
            await resident_with_device(client, service)
            worker = await WorkerProcess.start(worker_env(database_url, settings.data_dir))
            try:
                await asyncio.sleep(1)  # the worker has found the queue empty and waits
                heard.clear()
                await file_case(client)
                assert await pool.fetchval("SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'") >= 1
                await service.wait_for(1, within=3)
            finally:
                assert await worker.stop() == 0
        # What the worker's own updates say (a job taken, done) is not the case's transaction.
        assert not [h for h in heard if json.loads(h)["operation"] == "insert"], heard
    finally:
        await listener.close()
