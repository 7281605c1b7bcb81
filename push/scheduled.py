"""Releasing a scheduled notice (a reminder the day before an appointment) when its delayed job comes due.

The worker runs one job per scheduled notice (push.store.SCHEDULED_ENTRYPOINT); pgqueuer gives it to one worker
(FOR UPDATE SKIP LOCKED) and gives it again to another after a crash. Whatever happens, the notice is sent once: it is
marked sent in the transaction that writes its inbox entry and queues its pushes, under its row lock, so a second run
finds it sent and a run that failed before its commit left it pending for the retry. A notice cancelled meanwhile (the
booking was cancelled or moved) sends nothing.
"""

from __future__ import annotations

import asyncpg

from push import store
from push.models import Notice


async def release(pool: asyncpg.Pool, scheduled_id: int) -> int | None:
    """Send one scheduled notice now: its inbox entry and a push per device; the entry's id, or None when it was sent
    or cancelled already."""
    async with pool.acquire() as tx, tx.transaction():
        due = await store.claim_scheduled_notice(tx, scheduled_id)
        if due is None:
            return None
        notice = Notice(title=due.title, body=due.body, url=due.url)
        entry_id = await store.insert_notice(tx, notice, due.account_id, "reminder")
        await store.link_scheduled_notice(tx, scheduled_id, entry_id)
        notification_ids = await store.insert_notice_notifications(tx, entry_id)
        await store.enqueue_sends(tx, notification_ids, priority=0)
        return entry_id
