"""What hooks keeps only for a while, removed by `python -m app purge` (daily): finished deliveries (the log a client
reads) past retention."""

from __future__ import annotations

from db.pool import DB
from hooks import store


async def purge(db: DB, *, retention_days: int) -> int:
    return await store.purge_finished(db, retention_days)
