"""The notification outbox: what one timeline event (or account notice) leaves behind, inside its own transaction.

Every recipient gets an inbox entry (shown in 消息 whether or not push works on their phone), and every
device of theirs a notification with a pgqueuer job that sends it. Written with the event or not at
all: a rolled-back transition notifies no one, and a committed one cannot be lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

from db.pool import DB, Tx
from push import store
from push.models import JobCount, Message, Notice


async def enqueue(tx: Tx, message: Message, account_ids: list[int]) -> list[int]:
    """Record `message` for the recipients; returns the ids of the notifications queued for sending."""
    if not account_ids:
        return []
    notification_ids = await store.insert_inbox_entries_and_notifications(tx, message, account_ids)
    # Steps the resident must act on jump the queue when a backlog builds up.
    await store.enqueue_sends(tx, notification_ids, priority=1 if message.needs_action else 0)
    return notification_ids


async def enqueue_notice(tx: Tx, notice: Notice, account_id: int, kind: str = "account") -> list[int]:
    """Record an account notice (or a reminder: `kind` "reminder") for its owner, in the transaction of what it
    reports; returns the ids of the notifications queued for their devices."""
    entry_id = await store.insert_notice(tx, notice, account_id, kind)
    notification_ids = await store.insert_notice_notifications(tx, entry_id)
    await store.enqueue_sends(tx, notification_ids, priority=0)
    return notification_ids


async def schedule_notice(tx: Tx, notice: Notice, account_id: int, *, key: str, due_at: datetime) -> int:
    """Send `notice` to the account at `due_at` (a reminder): kept with what it is about, in the same transaction,
    and released by a worker's delayed job (push.scheduled). A notice still pending under the same key and account is
    replaced. Returns the scheduled notice's id."""
    scheduled_id = await store.insert_scheduled_notice(tx, notice, account_id, key, due_at)
    await store.enqueue_release(tx, scheduled_id, due_at - datetime.now(UTC))
    return scheduled_id


async def cancel_scheduled(tx: Tx, key: str) -> int:
    """Cancel every notice still pending under `key` (the booking it reminds of was cancelled or moved)."""
    return await store.cancel_scheduled_notices(tx, key)


async def queue_counts(db: DB) -> list[JobCount]:
    """The send jobs waiting or running, by state (pgqueuer keeps only unfinished jobs): the gauges of /metrics."""
    return await store.send_job_counts(db)
