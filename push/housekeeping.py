"""What push keeps only for a while, removed by `python -m app purge` (daily): the queue's own log and finished
notifications (the inbox keeps every step)."""

from __future__ import annotations

from db.pool import DB
from push import store


async def purge(db: DB, *, retention_days: int) -> int:
    """Delivery records past their time, and scheduled notices sent or cancelled as long ago; returns how many
    notifications were removed."""
    await store.purge_scheduled_notices(db, retention_days)
    return await store.purge_delivery_records(db, retention_days)
