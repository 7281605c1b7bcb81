"""The inbox (消息) as its owner reads it: every case step and account notice push/outbox.py recorded for them, with
how the push to each of their devices went, and the read marks. app/notifications calls these."""

from __future__ import annotations

from db.pool import DB
from push import store
from push.models import InboxEntry


async def entries_of(db: DB, account_id: int, limit: int) -> list[InboxEntry]:
    """The newest entries first."""
    return await store.entries_of(db, account_id, limit)


async def unread_count(db: DB, account_id: int) -> int:
    return await store.unread_count(db, account_id)


async def mark_read(db: DB, account_id: int, entry_ids: list[int] | None) -> int:
    """Mark the given entries (all when None) as read; returns how many changed."""
    return await store.mark_read(db, account_id, entry_ids)


async def open_entry(db: DB, account_id: int, entry_id: int) -> str | None:
    """Mark one entry read and return where it leads; None if it is not the account's."""
    return await store.open_entry(db, account_id, entry_id)
