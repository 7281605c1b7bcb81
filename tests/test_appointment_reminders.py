"""The reminder the day before a booked visit: scheduled with the booking (moved with it, dropped with it), sent by the
push worker at its time into the inbox and to the resident's phone — once, however many workers run and however often
its job runs (a worker killed after its commit, a second host)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import asyncpg
import httpx
import pytest

from app.calendar.service import CHINA
from config.settings import Settings
from push import scheduled
from push.store import SCHEDULED_ENTRYPOINT, enqueue_release
from tests.auth_helpers import csrf, post
from tests.push_helpers import local_push_service, resident_with_device, run_worker
from tests.push_service import LocalPushService

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
ID_CARD = "CZ-GA-004"
TITLE = "明天到大厅办理：居民身份证换领"


@pytest.fixture
async def push_service(client: Client) -> AsyncIterator[LocalPushService]:
    async with local_push_service(client) as service:
        yield service


async def _book_the_last_slot(client: Client) -> tuple[dict, str]:
    """A booking far enough ahead that its reminder is still to come (the day before, at 10:00 Beijing time)."""
    slots = (await client.get("/api/v1/halls/tianning/slots", params={"item": ID_CARD})).json()
    slot = slots[-1]["id"]
    booked = await post(client, "/api/v1/appointments", {"item": ID_CARD, "hall": "tianning", "slot": slot})
    assert booked.status_code == 201, booked.text
    return booked.json(), slot


async def _pending(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, key, due_at, title, body, url FROM scheduled_notices "
        "WHERE sent_at IS NULL AND cancelled_at IS NULL ORDER BY id"
    )


async def _reminders(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT id, title, body, url FROM inbox_entries WHERE kind = 'reminder' ORDER BY id")


async def _make_due(pool: asyncpg.Pool) -> None:
    """The day before has come: the release jobs are due now."""
    await pool.execute("UPDATE pgqueuer SET execute_after = now() WHERE entrypoint = $1", SCHEDULED_ENTRYPOINT)


async def test_a_booking_schedules_its_reminder_which_moves_and_goes_with_it(
    client: Client, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    await resident_with_device(client, push_service)
    booked, slot = await _book_the_last_slot(client)
    day = datetime.fromisoformat(slot[:10]).date()
    [reminder] = await _pending(pool)
    assert reminder["key"] == f"appointment:{booked['id']}" and reminder["url"] == f"/appointments/{booked['id']}"
    assert reminder["due_at"] == datetime.combine(day - timedelta(days=1), time(10), CHINA)
    assert reminder["title"] == TITLE
    assert "天宁区政务服务中心（常州市天宁区和平北路99号）" in reminder["body"]
    assert f"{booked['code'][:4]} {booked['code'][4:]}" in reminder["body"]
    # Its job waits for that moment (nothing is sent now).
    job = await pool.fetchrow("SELECT execute_after, payload FROM pgqueuer WHERE entrypoint = $1", SCHEDULED_ENTRYPOINT)
    assert abs((job["execute_after"] - reminder["due_at"]).total_seconds()) < 60
    assert job["payload"] == str(reminder["id"]).encode()
    assert await _reminders(pool) == []

    # 改约: the reminder follows the booking to its new day.
    slots = (await client.get("/api/v1/halls/tianning/slots", params={"item": ID_CARD})).json()
    earlier = slots[-3]["id"]
    moved = await post(client, f"/api/v1/appointments/{booked['id']}/reschedule", {"hall": "tianning", "slot": earlier})
    assert moved.status_code == 200
    [again] = await _pending(pool)
    assert again["id"] != reminder["id"]
    new_day = datetime.fromisoformat(earlier[:10]).date()
    assert again["due_at"] == datetime.combine(new_day - timedelta(days=1), time(10), CHINA)
    # Cancelled: no reminder will go out, though its job still runs.
    assert (await client.delete(f"/api/v1/appointments/{booked['id']}", headers=await csrf(client))).status_code == 204
    assert await _pending(pool) == []


async def test_the_reminder_is_sent_once_with_two_workers_and_again_after_a_restart(
    client: Client, pool: asyncpg.Pool, settings: Settings, database_url: str, push_service: LocalPushService
) -> None:
    phone = await resident_with_device(client, push_service)
    booked, slot = await _book_the_last_slot(client)
    [reminder] = await _pending(pool)
    await _make_due(pool)

    # Two hosts' workers drain the queue at the same time.
    sent = await asyncio.gather(run_worker(pool, database_url, settings), run_worker(pool, database_url, settings))
    assert sum(sent) == 1
    [entry] = await _reminders(pool)
    assert entry["title"] == TITLE and entry["url"] == f"/appointments/{booked['id']}"
    [push] = push_service.pushes_to(phone)
    assert push.payload["title"] == TITLE and push.payload["notice_id"] == entry["id"]
    row = await pool.fetchrow("SELECT sent_at, inbox_entry_id FROM scheduled_notices WHERE id = $1", reminder["id"])
    assert row["sent_at"] is not None and row["inbox_entry_id"] == entry["id"]

    # A worker killed after its commit: the job comes back and runs again — nothing more is sent.
    async with pool.acquire() as tx:
        await enqueue_release(tx, reminder["id"], timedelta(0))
    await run_worker(pool, database_url, settings)
    assert len(await _reminders(pool)) == 1 and len(push_service.pushes_to(phone)) == 1
    assert await pool.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = $1", SCHEDULED_ENTRYPOINT) == 0

    # Two releases racing for one notice (the same job taken twice): one inbox entry.
    booked_two = await post(client, "/api/v1/appointments", {"item": "CZ-MZ-002", "hall": "tianning", "slot": slot})
    assert booked_two.status_code == 201, booked_two.text
    [second] = await _pending(pool)
    released = await asyncio.gather(scheduled.release(pool, second["id"]), scheduled.release(pool, second["id"]))
    assert sorted(r is None for r in released) == [False, True]
    assert len(await _reminders(pool)) == 2


async def test_a_cancelled_bookings_job_sends_nothing(
    client: Client, pool: asyncpg.Pool, settings: Settings, database_url: str, push_service: LocalPushService
) -> None:
    phone = await resident_with_device(client, push_service)
    booked, _ = await _book_the_last_slot(client)
    assert (await client.delete(f"/api/v1/appointments/{booked['id']}", headers=await csrf(client))).status_code == 204
    await _make_due(pool)
    await run_worker(pool, database_url, settings)
    assert await _reminders(pool) == [] and push_service.pushes_to(phone) == []
