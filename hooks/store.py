"""SQL for webhooks: subscriptions, deliveries and their pgqueuer jobs. The only store of these tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from db.enqueue import ENQUEUE_JOBS
from db.pool import DB
from hooks.models import ClaimedDelivery, Delivery, Subscription

DELIVER_ENTRYPOINT = "hooks.deliver"


async def insert_subscription(
    db: DB,
    *,
    client_id: str,
    department_code: str,
    region_prefix: str,
    url: str,
    events: list[str],
    secret: str,
) -> Subscription:
    row = await db.fetchrow(
        "INSERT INTO webhook_subscriptions (client_id, department_code, region_prefix, url, events, secret) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, url, events, created_at",
        client_id,
        department_code,
        region_prefix,
        url,
        events,
        secret,
    )
    assert row is not None
    return msgspec.convert(dict(row), Subscription)


async def subscriptions_of(db: DB, client_id: str) -> list[Subscription]:
    rows = await db.fetch(
        "SELECT id, url, events, created_at FROM webhook_subscriptions "
        "WHERE client_id = $1 AND disabled_at IS NULL ORDER BY id",
        client_id,
    )
    return [msgspec.convert(dict(r), Subscription) for r in rows]


async def count_live(db: DB, client_id: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM webhook_subscriptions WHERE client_id = $1 AND disabled_at IS NULL", client_id
    )


async def disable(db: DB, client_id: str, subscription_id: int) -> bool:
    """False when the client has no such live subscription."""
    status = await db.execute(
        "UPDATE webhook_subscriptions SET disabled_at = now() WHERE id = $1 AND client_id = $2 AND disabled_at IS NULL",
        subscription_id,
        client_id,
    )
    return status.endswith(" 1")


async def disable_all_of(db: DB, client_id: str) -> int:
    status = await db.execute(
        "UPDATE webhook_subscriptions SET disabled_at = now() WHERE client_id = $1 AND disabled_at IS NULL", client_id
    )
    return int(status.split()[-1])


async def owns(db: DB, client_id: str, subscription_id: int) -> bool:
    """Whether the subscription is the client's (deleted ones too: their delivery log stays readable)."""
    return bool(
        await db.fetchval(
            "SELECT 1 FROM webhook_subscriptions WHERE id = $1 AND client_id = $2", subscription_id, client_id
        )
    )


async def deliveries_of(db: DB, subscription_id: int, after_id: int | None, limit: int) -> list[Delivery]:
    rows = await db.fetch(
        "SELECT id, message_id, event_type, status, attempts, last_status, last_error, created_at, last_attempt_at, "
        "delivered_at, recovered_at, payload FROM webhook_deliveries "
        "WHERE subscription_id = $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3",
        subscription_id,
        after_id,
        limit,
    )
    return [msgspec.convert(dict(r), Delivery) for r in rows]


# --- queueing, in the event's transaction ---------------------------------------------------------------------------


async def queue_for_subscribers(tx: DB, events: Sequence[tuple[str, str, str | None, dict[str, Any]]]) -> list[int]:
    """For each event (type, department, office region, payload), one delivery per live subscription to it of the
    department whose region holds the task's office (every office's of the department for a task none has taken
    yet), each with a random message id of its own (the webhook-id every try carries): all in one statement, however
    many events; their ids, event by event."""
    if not events:
        return []
    rows = await tx.fetch(
        """INSERT INTO webhook_deliveries (subscription_id, message_id, event_type, payload)
           SELECT s.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.type, e.payload::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                AS e (type, department_code, office_region, payload, n)
           JOIN webhook_subscriptions s ON s.department_code = e.department_code AND e.type = ANY (s.events)
           WHERE s.disabled_at IS NULL AND (e.office_region IS NULL OR e.office_region LIKE s.region_prefix || '%')
           ORDER BY e.n, s.id
           RETURNING id""",
        [e[0] for e in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [json.dumps(e[3]) for e in events],
    )
    return [r["id"] for r in rows]


async def enqueue_deliveries(tx: DB, delivery_ids: list[int]) -> None:
    count = len(delivery_ids)
    if not count:
        return
    await tx.fetch(
        ENQUEUE_JOBS,
        [0] * count,
        [DELIVER_ENTRYPOINT] * count,
        [str(n).encode() for n in delivery_ids],
        [timedelta(0)] * count,
        [f"webhook:{n}" for n in delivery_ids],
        [None] * count,
    )


async def recover_failed(tx: DB, subscription_id: int, since: datetime, limit: int) -> list[int]:
    """The subscription's failed deliveries made since `since`, oldest first, at most `limit`: pending again with
    their tries counted afresh (their jobs are queued by the caller, in the same transaction); their ids."""
    rows = await tx.fetch(
        """UPDATE webhook_deliveries SET status = 'pending', attempts = 0, recovered_at = now()
           WHERE id IN (SELECT id FROM webhook_deliveries
                        WHERE subscription_id = $1 AND status = 'failed' AND created_at >= $2
                        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        subscription_id,
        since,
        limit,
    )
    return sorted(r["id"] for r in rows)


async def failed_count(db: DB, subscription_id: int, since: datetime) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'failed' AND created_at >= $2",
        subscription_id,
        since,
    )


async def is_live(db: DB, client_id: str, subscription_id: int) -> bool:
    return await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $1 AND client_id = $2 AND disabled_at IS NULL)",
        subscription_id,
        client_id,
    )


# --- the worker -----------------------------------------------------------------------------------------------------


async def claim(db: DB, delivery_id: int) -> ClaimedDelivery | None:
    """Count a try of a pending delivery; None when it has ended already (a repeated job)."""
    row = await db.fetchrow(
        """UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = now()
           FROM webhook_subscriptions s
           WHERE d.id = $1 AND d.status = 'pending' AND s.id = d.subscription_id
           RETURNING d.id, d.message_id, s.url, s.secret, d.payload, d.attempts,
                     s.disabled_at IS NOT NULL AS disabled""",
        delivery_id,
    )
    return msgspec.convert(dict(row), ClaimedDelivery) if row else None


async def mark(db: DB, delivery_id: int, status: str, http_status: int | None, error: str | None) -> None:
    await db.execute(
        "UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4, "
        "delivered_at = CASE WHEN $2 = 'delivered' THEN now() END WHERE id = $1",
        delivery_id,
        status,
        http_status,
        error,
    )


async def purge_finished(db: DB, retention_days: int) -> int:
    """Deliveries delivered or failed for good, past retention; how many were removed."""
    status = await db.execute(
        "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') "
        "AND created_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(status.split()[-1])
