"""What sms/ keeps only for a while, removed by `python -m app purge` (daily): the per-number counts of past days, and
texts sent or failed for good past retention (their numbers are personal data)."""

from __future__ import annotations

from db.pool import DB
from sms import store


async def purge(db: DB, *, retention_days: int) -> int:
    """The texts removed (the counts of days before yesterday go too)."""
    await store.purge_counts(db)
    return await store.purge_finished(db, retention_days)
