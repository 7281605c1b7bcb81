"""A step in the back office reaches the resident's phone through a (local) push service, and every
answer the push service can give ends in the right status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import msgspec
import pytest

from app.cases.timeline import record_event
from config.settings import Settings
from push import store as push_store
from tests.auth_helpers import post, staff_client_sign_up
from tests.push_helpers import (
    QUICK_RETRIES,
    file_case,
    local_push_service,
    resident_with_device,
    run_worker,
)
from tests.push_service import LocalPushService

pytestmark = pytest.mark.anyio


@pytest.fixture
async def push_service(client: httpx.AsyncClient) -> AsyncIterator[LocalPushService]:
    async with local_push_service(client) as service:
        yield service


async def _statuses(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch("SELECT status, attempts FROM notifications ORDER BY id")
    return [(r["status"], r["attempts"]) for r in rows]


async def test_a_clerk_accepting_a_task_reaches_the_residents_phone(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    phone = await resident_with_device(client, push_service)
    case = await file_case(client)
    task = next(t for t in case["tasks"] if t["department"] == "health")
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    accepted = await post(clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "accept"})
    assert accepted.status_code == 200, accepted.text

    assert await run_worker(pool, database_url, settings) == 2  # the submission and the acceptance
    assert push_service.rejected == []
    pushes = push_service.pushes_to(phone)
    event_id = await pool.fetchval(
        "SELECT id FROM timeline_events WHERE task_id = $1 AND status = 'accepted'", task["id"]
    )
    accepted_push = next(p for p in pushes if p.payload["event_id"] == event_id)
    assert accepted_push.payload == {
        "title": "办件进度：新生儿出生",
        "body": f"{task['item_name']}：已受理（办件编号 {case['case_no']}）",
        "url": f"/cases/{case['case_no']}",
        "case_no": case["case_no"],
        "event_id": event_id,
    }
    assert accepted_push.urgency == "normal"
    assert accepted_push.topic == f"case-{case['case_no']}"
    assert accepted_push.ttl == 86400
    assert accepted_push.claims["sub"] == settings.vapid_subject
    assert await _statuses(pool) == [("delivered", 1), ("delivered", 1)]
    latency = await pool.fetchval("SELECT max(latency_ms) FROM notifications")
    assert latency is not None and latency >= 0
    assert await pool.fetchval("SELECT last_success_at IS NOT NULL FROM push_subscriptions") is True


async def test_a_supplement_request_is_urgent_and_never_carries_the_staff_note(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    phone = await resident_with_device(client, push_service)
    case = await file_case(client)
    task = case["tasks"][0]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    note = "请补充父亲身份证复印件"
    moved = await post(
        clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "request_supplement", "note": note}
    )
    assert moved.status_code == 200, moved.text
    await run_worker(pool, database_url, settings)
    urgent = [p for p in push_service.pushes_to(phone) if p.urgency == "high"]
    assert len(urgent) == 1
    assert urgent[0].payload["title"] == "请补正材料：新生儿出生"
    assert note not in str(urgent[0].payload)


async def test_410_from_the_push_service_removes_the_device(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    phone = await resident_with_device(client, push_service)
    push_service.answer(phone, 410)
    await file_case(client)
    await run_worker(pool, database_url, settings)
    assert await pool.fetchval("SELECT count(*) FROM push_subscriptions") == 0
    row = await pool.fetchrow("SELECT status, last_error, subscription_id FROM notifications")
    assert row["status"] == "permanent-failure" and row["subscription_id"] is None
    assert "410" in row["last_error"]
    # The step is still in the inbox, where the resident finds it without push.
    inbox = (await client.get("/api/v1/notifications")).json()
    assert inbox["unread"] == 1
    assert inbox["items"][0]["deliveries"][0]["status"] == "permanent-failure"


async def test_503_then_201_ends_delivered_after_a_retry(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    phone = await resident_with_device(client, push_service)
    push_service.answer(phone, 503, 201)
    await file_case(client)
    await run_worker(pool, database_url, settings)
    assert [a.status for a in push_service.attempts] == [503, 201]
    assert len(push_service.pushes_to(phone)) == 1
    assert await _statuses(pool) == [("delivered", 2)]
    assert await pool.fetchval("SELECT failures FROM push_subscriptions") == 0  # reset by the success


async def test_429_waits_as_long_as_retry_after_says(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    phone = await resident_with_device(client, push_service)
    push_service.answer(phone, (429, {"Retry-After": "1"}), 201)
    await file_case(client)
    await run_worker(pool, database_url, settings)
    first, second = push_service.attempts
    assert (first.status, second.status) == (429, 201)
    assert second.at - first.at >= 0.9
    assert await _statuses(pool) == [("delivered", 2)]


async def test_retries_are_bounded_then_technical_failure(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    phone = await resident_with_device(client, push_service)
    push_service.answer(phone, *[500] * 10)
    await file_case(client)
    await run_worker(pool, database_url, settings)
    assert len(push_service.attempts) == QUICK_RETRIES.max_tries == 5
    assert await _statuses(pool) == [("technical-failure", 5)]
    assert await pool.fetchval("SELECT failures FROM push_subscriptions") == 5
    assert await pool.fetchval("SELECT count(*) FROM pgqueuer") == 0


async def test_a_push_service_that_never_answers_is_retried_like_a_5xx(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    phone = await resident_with_device(client, push_service)
    await pool.execute(
        "UPDATE push_subscriptions SET endpoint = $1", phone.endpoint.replace(push_service.origin, "http://127.0.0.1:9")
    )
    await file_case(client)
    await run_worker(pool, database_url, settings)
    row = await pool.fetchrow("SELECT status, attempts, last_error FROM notifications")
    assert (row["status"], row["attempts"]) == ("technical-failure", 5)
    assert "连接推送服务失败" in row["last_error"]


async def test_a_device_of_a_host_no_longer_allowed_is_not_sent_to(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    await resident_with_device(client, push_service)
    await file_case(client)
    narrowed = msgspec.structs.replace(settings, push_allowed_hosts=("fcm.googleapis.com",))
    await run_worker(pool, database_url, narrowed)
    assert push_service.attempts == []
    assert await _statuses(pool) == [("technical-failure", 1)]


async def test_a_rolled_back_event_notifies_no_one(
    client: httpx.AsyncClient, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    await resident_with_device(client, push_service)
    case = await file_case(client)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case["case_no"])
    before = await pool.fetchval("SELECT count(*) FROM pgqueuer")
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await record_event(conn, case_id=case_id, status="accepted", title="测试：已受理")
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer") == before + 1
        await transaction.rollback()
    assert await pool.fetchval("SELECT count(*) FROM pgqueuer") == before
    assert await pool.fetchval("SELECT count(*) FROM inbox_entries") == 1
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 1


async def test_an_unexpected_error_in_the_worker_is_retried_not_lost(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phone = await resident_with_device(client, push_service)
    await file_case(client)
    real_claim, failures = push_store.claim, []

    async def claim_failing_once(db: object, notification_id: int) -> object:
        if not failures:
            failures.append(notification_id)
            raise ConnectionResetError("the database went away for a moment")
        return await real_claim(db, notification_id)

    monkeypatch.setattr(push_store, "claim", claim_failing_once)
    await run_worker(pool, database_url, settings)
    assert failures and len(push_service.pushes_to(phone)) == 1
    assert await _statuses(pool) == [("delivered", 1)]
