"""The notification outbox: what one timeline event (or account notice) leaves behind, inside its own transaction.

Every recipient gets an inbox entry (shown in 消息 whether or not push works on their phone), and every
device of theirs a notification with a pgqueuer job that sends it. Written with the event or not at
all: a rolled-back transition notifies no one, and a committed one cannot be lost.
"""

from __future__ import annotations

from db.pool import DB, Tx
from push import store
from push.models import JobCount, Message, Notice


async def enqueue(tx: Tx, message: Message, account_ids: list[int]) -> list[int]:
    """Record `message` for the recipients; returns the ids of the notifications queued for sending."""
    if not account_ids:
        return []
    await store.insert_inbox_entries(tx, message, account_ids)
    notification_ids = await store.insert_notifications(tx, message, account_ids)
    # Steps the resident must act on jump the queue when a backlog builds up.
    await store.enqueue_sends(tx, notification_ids, priority=1 if message.needs_action else 0)
    return notification_ids


async def enqueue_notice(tx: Tx, notice: Notice, account_id: int) -> list[int]:
    """Record an account notice for its owner, in the transaction of what it reports; returns the ids of the
    notifications queued for their devices."""
    entry_id = await store.insert_notice(tx, notice, account_id)
    notification_ids = await store.insert_notice_notifications(tx, entry_id)
    await store.enqueue_sends(tx, notification_ids, priority=0)
    return notification_ids


async def queue_counts(db: DB) -> list[JobCount]:
    """The send jobs waiting or running, by state (pgqueuer keeps only unfinished jobs): the gauges of /metrics."""
    return await store.send_job_counts(db)
