"""SQL for push: devices (subscriptions), the inbox (inbox_entries: written with an event's notifications, read and
marked read by its owner), notifications and their send jobs, the notices that must arrive (notice_arrivals) and
notices scheduled for later (scheduled_notices). The only store of these tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import msgspec

from db.enqueue import ENQUEUE_JOBS
from db.pool import DB
from push.models import (
    Arrival,
    ArrivalToSettle,
    ClaimedNotification,
    Device,
    HeldSubscription,
    InboxEntry,
    JobCount,
    Message,
    Notice,
    NoticeToFollow,
    PushOutcomes,
    ScheduledNotice,
)

SEND_ENTRYPOINT = "push.send"
# The job that releases a scheduled notice (a reminder) at its time.
SCHEDULED_ENTRYPOINT = "push.scheduled_notice"

# A device whose pushes failed this many times in a row (a success resets the count) is not counted on to be heard.
LIVE_DEVICE_MAX_FAILURES = 3


# --- devices --------------------------------------------------------------------------------------


async def save_subscription(
    db: DB,
    *,
    account_id: int,
    endpoint: str,
    push_service: str,
    p256dh: str,
    auth: str,
    user_agent: str,
    take_over: bool = False,
) -> int | None:
    """Store a device; the same endpoint again (a re-subscribe) updates its keys. Another account's device
    changes owner only with `take_over` (its auth secret was proven): otherwise None and nothing changes,
    even when that account stored the endpoint a moment ago, after the caller looked."""
    return await db.fetchval(
        """INSERT INTO push_subscriptions (account_id, endpoint, push_service, p256dh, auth, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (endpoint) DO UPDATE SET account_id = EXCLUDED.account_id, p256dh = EXCLUDED.p256dh,
               auth = EXCLUDED.auth, user_agent = EXCLUDED.user_agent, failures = 0
           WHERE push_subscriptions.account_id = EXCLUDED.account_id OR $7
           RETURNING id""",
        account_id,
        endpoint,
        push_service,
        p256dh,
        auth,
        user_agent,
        take_over,
    )


async def subscription_at(tx: DB, endpoint: str) -> HeldSubscription | None:
    """The device at this endpoint (id, owner, auth secret), locked until the transaction ends; None if
    there is none."""
    row = await tx.fetchrow(
        "SELECT id, account_id, auth FROM push_subscriptions WHERE endpoint = $1 FOR UPDATE", endpoint
    )
    return HeldSubscription(**dict(row)) if row else None


async def move_subscription(
    tx: DB, subscription_id: int, *, endpoint: str, push_service: str, p256dh: str, auth: str
) -> None:
    """Point a device at the subscription its browser replaced the old one with. The row, its owner and
    its pending notifications stay: their next try goes to the new endpoint."""
    await tx.execute(
        """UPDATE push_subscriptions SET endpoint = $2, push_service = $3, p256dh = $4, auth = $5, failures = 0
           WHERE id = $1""",
        subscription_id,
        endpoint,
        push_service,
        p256dh,
        auth,
    )


async def delete_subscription_by_id(tx: DB, subscription_id: int) -> None:
    await tx.execute("DELETE FROM push_subscriptions WHERE id = $1", subscription_id)


async def delete_subscription_by_endpoint(db: DB, account_id: int, endpoint: str) -> bool:
    deleted = await db.execute(
        "DELETE FROM push_subscriptions WHERE account_id = $1 AND endpoint = $2", account_id, endpoint
    )
    return deleted != "DELETE 0"


async def delete_subscription(db: DB, account_id: int, subscription_id: int) -> bool:
    deleted = await db.execute(
        "DELETE FROM push_subscriptions WHERE account_id = $1 AND id = $2", account_id, subscription_id
    )
    return deleted != "DELETE 0"


async def delete_subscriptions_of(db: DB, account_id: int) -> int:
    deleted = await db.execute("DELETE FROM push_subscriptions WHERE account_id = $1", account_id)
    return int(deleted.split()[-1])


async def devices_of(db: DB, account_id: int) -> list[Device]:
    rows = await db.fetch(
        "SELECT id, push_service, user_agent, created_at, last_success_at, failures FROM push_subscriptions "
        "WHERE account_id = $1 ORDER BY created_at, id",
        account_id,
    )
    return [Device(**dict(r)) for r in rows]


async def has_live_device(db: DB, account_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM push_subscriptions WHERE account_id = $1 AND failures < $2 LIMIT 1",
            account_id,
            LIVE_DEVICE_MAX_FAILURES,
        )
    )


# --- the outbox: written inside the event's transaction ---------------------------------------------


async def insert_inbox_entries_and_notifications(tx: DB, message: Message, account_ids: list[int]) -> list[int]:
    """The event's inbox entry for each of these recipients (kept as it is where there is one already), and one
    notification per device of each of them: one statement. The ids of the notifications, by device."""
    rows = await tx.fetch(
        """WITH new AS (
               INSERT INTO inbox_entries (account_id, event_id, case_id, title, body, url, needs_action)
               SELECT a, $2, $3, $4, $5, $6, $7 FROM unnest($1::bigint[]) AS a
               ON CONFLICT (account_id, event_id) DO NOTHING
               RETURNING id, account_id),
           -- The statement's snapshot holds the entries there before it, never those it inserts: each once.
           entries AS (
               SELECT id, account_id FROM new
               UNION ALL
               SELECT id, account_id FROM inbox_entries WHERE event_id = $2 AND account_id = ANY($1::bigint[]))
           INSERT INTO notifications (inbox_entry_id, subscription_id, push_service, urgency, topic)
           SELECT i.id, s.id, s.push_service, $8, $9
           FROM entries i JOIN push_subscriptions s ON s.account_id = i.account_id
           ORDER BY s.id
           RETURNING id""",
        account_ids,
        message.event_id,
        message.case_id,
        message.title,
        message.body,
        message.url,
        message.needs_action,
        message.urgency,
        message.topic,
    )
    return [r["id"] for r in rows]


async def insert_notice(tx: DB, notice: Notice, account_id: int, kind: str = "account") -> int:
    """An account notice (or a reminder, `kind` "reminder"): an inbox entry of its own, with no case or event."""
    return await tx.fetchval(
        "INSERT INTO inbox_entries (account_id, kind, title, body, url) VALUES ($1, $5, $2, $3, $4) RETURNING id",
        account_id,
        notice.title,
        notice.body,
        notice.url,
        kind,
    )


async def insert_notice_notifications(tx: DB, entry_id: int) -> list[int]:
    """One notification per device of the notice's owner. Each notice is its own Topic: an offline device
    gets every one of them, not only the latest."""
    rows = await tx.fetch(
        """INSERT INTO notifications (inbox_entry_id, subscription_id, push_service, urgency, topic)
           SELECT i.id, s.id, s.push_service, 'normal', 'notice-' || i.id
           FROM inbox_entries i JOIN push_subscriptions s ON s.account_id = i.account_id
           WHERE i.id = $1
           ORDER BY s.id
           RETURNING id""",
        entry_id,
    )
    return [r["id"] for r in rows]


async def enqueue_sends(tx: DB, notification_ids: list[int], priority: int) -> None:
    count = len(notification_ids)
    if not count:
        return
    await tx.fetch(
        ENQUEUE_JOBS,
        [priority] * count,
        [SEND_ENTRYPOINT] * count,
        [str(n).encode() for n in notification_ids],
        [timedelta(0)] * count,
        # One live job per notification, however often it is enqueued.
        [f"notification:{n}" for n in notification_ids],
        [None] * count,
    )


# --- notices scheduled for later (a reminder the day before an appointment) --------------------------------------


async def insert_scheduled_notice(tx: DB, notice: Notice, account_id: int, key: str, due_at: datetime) -> int:
    """A notice to release at `due_at`, replacing the one still pending under the same key for that account."""
    await cancel_scheduled_notices(tx, key, account_id)
    return await tx.fetchval(
        "INSERT INTO scheduled_notices (account_id, key, title, body, url, due_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        account_id,
        key,
        notice.title,
        notice.body,
        notice.url,
        due_at,
    )


async def enqueue_release(tx: DB, scheduled_id: int, delay: timedelta) -> None:
    """The job that releases a scheduled notice, run by a worker once `delay` has passed."""
    await tx.fetch(
        ENQUEUE_JOBS,
        [0],
        [SCHEDULED_ENTRYPOINT],
        [str(scheduled_id).encode()],
        [max(delay, timedelta(0))],
        [f"scheduled-notice:{scheduled_id}"],
        [None],
    )


async def cancel_scheduled_notices(tx: DB, key: str, account_id: int | None = None) -> int:
    """Cancel the pending notices under `key` (of one account, or of all); their jobs will find nothing to send."""
    status = await tx.execute(
        "UPDATE scheduled_notices SET cancelled_at = now() "
        "WHERE key = $1 AND ($2::bigint IS NULL OR account_id = $2) AND sent_at IS NULL AND cancelled_at IS NULL",
        key,
        account_id,
    )
    return int(status.split()[-1])


async def claim_scheduled_notice(tx: DB, scheduled_id: int) -> ScheduledNotice | None:
    """Mark a pending scheduled notice sent and return it; None when it was sent or cancelled already. Run in the
    transaction that writes its inbox entry: the row lock makes a second job (another worker) wait and then find it
    sent, and a rollback leaves it pending for the job's retry."""
    row = await tx.fetchrow(
        "UPDATE scheduled_notices SET sent_at = now() "
        "WHERE id = $1 AND sent_at IS NULL AND cancelled_at IS NULL "
        "RETURNING id, account_id, title, body, url",
        scheduled_id,
    )
    return ScheduledNotice(**dict(row)) if row else None


async def link_scheduled_notice(tx: DB, scheduled_id: int, inbox_entry_id: int) -> None:
    await tx.execute("UPDATE scheduled_notices SET inbox_entry_id = $2 WHERE id = $1", scheduled_id, inbox_entry_id)


async def purge_scheduled_notices(db: DB, retention_days: int) -> int:
    """Sent and cancelled notices past retention (the inbox keeps what was sent)."""
    status = await db.execute(
        "DELETE FROM scheduled_notices WHERE (sent_at IS NOT NULL OR cancelled_at IS NOT NULL) "
        "AND created_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(status.split()[-1])


# --- the inbox as its owner reads it ----------------------------------------------------------------

_ENTRY = """
    SELECT i.id, i.kind, i.event_id, k.case_no, i.title, i.body, i.url, i.needs_action, i.created_at,
           i.read_at IS NOT NULL AS read,
           coalesce(json_agg(json_build_object('push_service', n.push_service, 'status', n.status,
                                               'attempts', n.attempts, 'delivered_at', n.delivered_at)
                             ORDER BY n.id) FILTER (WHERE n.id IS NOT NULL), '[]') AS deliveries
    FROM inbox_entries i
    LEFT JOIN cases k ON k.id = i.case_id
    LEFT JOIN notifications n ON n.inbox_entry_id = i.id
"""


async def entries_of(db: DB, account_id: int, limit: int) -> list[InboxEntry]:
    rows = await db.fetch(
        _ENTRY + " WHERE i.account_id = $1 GROUP BY i.id, k.case_no ORDER BY i.created_at DESC, i.id DESC LIMIT $2",
        account_id,
        limit,
    )
    # The deliveries are JSON, whose times PostgreSQL writes as ISO strings: convert() parses them.
    return [msgspec.convert(dict(r), InboxEntry) for r in rows]


async def unread_count(db: DB, account_id: int) -> int:
    return await db.fetchval("SELECT count(*) FROM inbox_entries WHERE account_id = $1 AND read_at IS NULL", account_id)


async def mark_read(db: DB, account_id: int, entry_ids: list[int] | None) -> int:
    """Mark the given entries (all when None) as read; returns how many changed."""
    status = await db.execute(
        "UPDATE inbox_entries SET read_at = now() "
        "WHERE account_id = $1 AND read_at IS NULL AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))",
        account_id,
        entry_ids,
    )
    return int(status.split()[-1])


async def open_entry(db: DB, account_id: int, entry_id: int) -> str | None:
    """Mark one entry read and return where it leads; None if it is not the caller's."""
    return await db.fetchval(
        "UPDATE inbox_entries SET read_at = coalesce(read_at, now()) WHERE account_id = $1 AND id = $2 RETURNING url",
        account_id,
        entry_id,
    )


# --- sending ----------------------------------------------------------------------------------------


async def claim(db: DB, notification_id: int) -> ClaimedNotification | None:
    """Mark a notification as being sent and return what sending needs; None once it has reached a final
    state. A `sending` row is claimed again: its worker died mid-send and the job came back."""
    row = await db.fetchrow(
        """WITH claimed AS (
               UPDATE notifications SET status = 'sending', attempts = attempts + 1, sent_at = clock_timestamp()
               WHERE id = $1 AND status IN ('created', 'sending', 'temporary-failure')
               RETURNING id, inbox_entry_id, subscription_id, urgency, topic, attempts)
           SELECT c.id, c.subscription_id, c.urgency, c.topic, c.attempts,
                  s.endpoint, s.p256dh, s.auth, i.title, i.body, i.url, i.event_id, k.case_no,
                  CASE WHEN i.kind <> 'case' THEN i.id END AS notice_id,
                  EXISTS (SELECT 1 FROM notice_arrivals a WHERE a.inbox_entry_id = c.inbox_entry_id) AS followed
           FROM claimed c
           JOIN inbox_entries i ON i.id = c.inbox_entry_id
           LEFT JOIN cases k ON k.id = i.case_id
           LEFT JOIN push_subscriptions s ON s.id = c.subscription_id""",
        notification_id,
    )
    return ClaimedNotification(**dict(row)) if row else None


async def mark_delivered(db: DB, notification_id: int) -> int | None:
    """Returns the milliseconds from the event to now (the notification's latency)."""
    return await db.fetchval(
        """WITH done AS (
               UPDATE notifications SET status = 'delivered', delivered_at = clock_timestamp(), last_error = NULL,
                   latency_ms = round(extract(epoch FROM clock_timestamp() - created_at) * 1000)
               WHERE id = $1 RETURNING subscription_id, latency_ms),
           device AS (
               UPDATE push_subscriptions SET last_success_at = clock_timestamp(), failures = 0
               WHERE id = (SELECT subscription_id FROM done))
           SELECT latency_ms FROM done""",
        notification_id,
    )


async def mark_failed(db: DB, notification_id: int, status: str, error: str) -> None:
    """A failed try: `temporary-failure` (a retry is due) or a final failure; the device's count grows."""
    await db.execute(
        """WITH failed AS (
               UPDATE notifications SET status = $2, last_error = $3 WHERE id = $1 RETURNING subscription_id)
           UPDATE push_subscriptions SET failures = failures + 1, last_failure_at = clock_timestamp()
           WHERE id = (SELECT subscription_id FROM failed)""",
        notification_id,
        status,
        error,
    )


async def end_unsent(db: DB, notification_id: int, error: str) -> bool:
    """A notification whose job the worker gave up on (db/jobs.py) ends as a technical failure, unless it had ended
    already; whether it had not. Not the device's failure: its count is left alone."""
    status = await db.execute(
        "UPDATE notifications SET status = 'technical-failure', last_error = $2 "
        "WHERE id = $1 AND status IN ('created', 'sending', 'temporary-failure')",
        notification_id,
        error,
    )
    return status != "UPDATE 0"


async def mark_device_gone(pool: asyncpg.Pool, notification_id: int, subscription_id: int | None, error: str) -> None:
    """404/410: the browser dropped the subscription, so we drop the device (its other pending
    notifications then end as permanent failures too)."""
    async with pool.acquire() as tx, tx.transaction():
        await tx.execute(
            "UPDATE notifications SET status = 'permanent-failure', last_error = $2 WHERE id = $1",
            notification_id,
            error,
        )
        if subscription_id is not None:
            await tx.execute("DELETE FROM push_subscriptions WHERE id = $1", subscription_id)


async def purge_delivery_records(db: DB, retention_days: int) -> int:
    """The queue's own log after a week; finished notifications (the inbox keeps the step) after retention."""
    await db.execute("DELETE FROM pgqueuer_log WHERE created < now() - interval '7 days'")
    status = await db.execute(
        "DELETE FROM notifications WHERE status IN ('delivered', 'permanent-failure', 'technical-failure') "
        "AND created_at < now() - make_interval(days => $1)",
        retention_days,
    )
    return int(status.split()[-1])


async def send_job_counts(db: DB) -> list[JobCount]:
    rows = await db.fetch(
        """SELECT CASE WHEN status = 'queued' AND execute_after > now() THEN 'delayed'
                       WHEN status = 'picked' THEN 'sending'
                       ELSE status::text END AS state,
                  count(*) AS jobs,
                  coalesce(extract(epoch FROM now() - min(created)
                           FILTER (WHERE status = 'queued' AND execute_after <= now())), 0)::float8
                      AS oldest_due_seconds
           FROM pgqueuer WHERE entrypoint = $1
           GROUP BY 1""",
        SEND_ENTRYPOINT,
    )
    return [JobCount(**dict(r)) for r in rows]


# --- notices that must arrive (push/arrival.py) -----------------------------------------------------------------

_ARRIVAL = """
    SELECT id, event_id, case_id, case_no, task_id, region_code, title, issued_at,
           inbox_entry_id IS NOT NULL AS in_inbox, state, pushed_at, texted_at, failure, undelivered_at,
           by_hand, by_hand_at, by_hand_account_id, by_hand_note
    FROM notice_arrivals
"""
_TO_SETTLE = """
    SELECT id, inbox_entry_id, sms_message_id, fallback_text, state, pushed_at, texted_at, undelivered_at, by_hand
    FROM notice_arrivals
"""


async def inbox_entry_of(tx: DB, account_id: int, event_id: int) -> tuple[int, int] | None:
    """(the inbox entry, how many pushes were queued for it) of an event for one account, in its transaction."""
    row = await tx.fetchrow(
        "SELECT i.id, count(n.id) AS pushes FROM inbox_entries i LEFT JOIN notifications n ON n.inbox_entry_id = i.id "
        "WHERE i.account_id = $1 AND i.event_id = $2 GROUP BY i.id",
        account_id,
        event_id,
    )
    return (row["id"], row["pushes"]) if row else None


async def insert_arrival(
    tx: DB,
    notice: NoticeToFollow,
    *,
    inbox_entry_id: int | None,
    sms_message_id: int | None,
    fallback_text: dict[str, object] | None,
    state: str,
    failure: str | None,
) -> int:
    return await tx.fetchval(
        """INSERT INTO notice_arrivals (event_id, case_id, case_no, task_id, region_code, title, inbox_entry_id,
                                        sms_message_id, fallback_text, state, failure, undelivered_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $10 = 'undelivered' THEN now() END)
           ON CONFLICT (event_id) DO NOTHING
           RETURNING id""",
        notice.event_id,
        notice.case_id,
        notice.case_no,
        notice.task_id,
        notice.region_code,
        notice.title,
        inbox_entry_id,
        sms_message_id,
        fallback_text,
        state,
        failure,
    )


def _to_settle(row: asyncpg.Record | None) -> ArrivalToSettle | None:
    return msgspec.convert(dict(row), ArrivalToSettle) if row else None


async def lock_arrival_of_notification(tx: DB, notification_id: int) -> ArrivalToSettle | None:
    """The notice a push belongs to, locked until the transaction ends, unless a push of it has arrived already."""
    return _to_settle(
        await tx.fetchrow(
            _TO_SETTLE + " WHERE inbox_entry_id = (SELECT inbox_entry_id FROM notifications WHERE id = $1) "
            "AND pushed_at IS NULL FOR UPDATE",
            notification_id,
        )
    )


async def lock_arrival_of_text(tx: DB, message_id: int) -> ArrivalToSettle | None:
    """The notice a text belongs to, locked until the transaction ends, unless its text has arrived already."""
    return _to_settle(
        await tx.fetchrow(_TO_SETTLE + " WHERE sms_message_id = $1 AND texted_at IS NULL FOR UPDATE", message_id)
    )


async def push_outcomes(db: DB, inbox_entry_id: int) -> PushOutcomes:
    row = await db.fetchrow(
        """SELECT count(*) AS total,
                  count(*) FILTER (WHERE status IN ('created', 'sending', 'temporary-failure')) AS pending,
                  min(delivered_at) FILTER (WHERE status = 'delivered') AS delivered_at,
                  (array_agg(last_error ORDER BY id DESC)
                      FILTER (WHERE status IN ('permanent-failure', 'technical-failure')))[1] AS last_error
           FROM notifications WHERE inbox_entry_id = $1""",
        inbox_entry_id,
    )
    assert row is not None  # an aggregate always answers
    return PushOutcomes(**dict(row))


async def settle_arrival(
    tx: DB,
    arrival_id: int,
    *,
    state: str,
    pushed_at: datetime | None,
    texted_at: datetime | None,
    sms_message_id: int | None,
    keep_fallback: bool,
    failure: str | None,
) -> None:
    await tx.execute(
        """UPDATE notice_arrivals SET state = $2, pushed_at = $3, texted_at = $4, sms_message_id = $5,
               fallback_text = CASE WHEN $6 THEN fallback_text END,
               failure = coalesce($7, failure),
               undelivered_at = CASE WHEN $2 = 'undelivered' THEN coalesce(undelivered_at, now()) END
           WHERE id = $1""",
        arrival_id,
        state,
        pushed_at,
        texted_at,
        sms_message_id,
        keep_fallback,
        failure,
    )


def _arrival(row: asyncpg.Record) -> Arrival:
    return Arrival(**dict(row))


async def arrivals_of_case(db: DB, case_id: int) -> list[Arrival]:
    return [_arrival(r) for r in await db.fetch(_ARRIVAL + " WHERE case_id = $1 ORDER BY event_id", case_id)]


async def undelivered_arrivals(db: DB, region_prefix: str, limit: int) -> list[Arrival]:
    """未送达 in a region (its code's prefix), the oldest first."""
    rows = await db.fetch(
        _ARRIVAL + " WHERE state = 'undelivered' AND starts_with(region_code, $1) ORDER BY undelivered_at, id LIMIT $2",
        region_prefix,
        limit,
    )
    return [_arrival(r) for r in rows]


async def lock_arrival(tx: DB, arrival_id: int) -> Arrival | None:
    row = await tx.fetchrow(_ARRIVAL + " WHERE id = $1 FOR UPDATE", arrival_id)
    return _arrival(row) if row else None


async def record_by_hand(tx: DB, arrival_id: int, *, channel: str, account_id: int, note: str | None) -> Arrival | None:
    """A clerk's phone call or paper notice: the notice has arrived. None when one was recorded already."""
    row = await tx.fetchrow(
        """UPDATE notice_arrivals SET by_hand = $2, by_hand_at = now(), by_hand_account_id = $3, by_hand_note = $4,
               state = 'delivered', fallback_text = NULL
           WHERE id = $1 AND by_hand IS NULL
           RETURNING id, event_id, case_id, case_no, task_id, region_code, title, issued_at,
                     inbox_entry_id IS NOT NULL AS in_inbox, state, pushed_at, texted_at, failure, undelivered_at,
                     by_hand, by_hand_at, by_hand_account_id, by_hand_note""",
        arrival_id,
        channel,
        account_id,
        note,
    )
    return _arrival(row) if row else None
