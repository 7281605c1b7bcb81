"""SQL for the inbox: the entries and their read marks."""

from __future__ import annotations

from typing import Any

from db.pool import DB

_ENTRY = """
    SELECT i.id, i.kind, i.event_id, k.case_no, i.title, i.body, i.url, i.needs_action, i.created_at, i.read_at,
           coalesce(json_agg(json_build_object('push_service', n.push_service, 'status', n.status,
                                               'attempts', n.attempts, 'delivered_at', n.delivered_at)
                             ORDER BY n.id) FILTER (WHERE n.id IS NOT NULL), '[]') AS deliveries
    FROM inbox_entries i
    LEFT JOIN cases k ON k.id = i.case_id
    LEFT JOIN notifications n ON n.inbox_entry_id = i.id
"""


async def entries_of(db: DB, account_id: int, limit: int) -> list[Any]:
    return await db.fetch(
        _ENTRY + " WHERE i.account_id = $1 GROUP BY i.id, k.case_no ORDER BY i.created_at DESC, i.id DESC LIMIT $2",
        account_id,
        limit,
    )


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
