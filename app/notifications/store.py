"""SQL for the inbox: who hears about a case, the entries, read marks."""

from __future__ import annotations

from typing import Any

from db.pool import DB


async def case_audience(db: DB, case_id: int) -> Any:
    """The case's number and life event, and the accounts to notify: the applicant's own account, and
    the village helper who filed it while the applicant's delegation to them is still live."""
    return await db.fetchrow(
        """SELECT c.case_no, e.name AS life_event_name,
                  coalesce(array_agg(a.id ORDER BY a.id) FILTER (WHERE a.id IS NOT NULL), '{}') AS account_ids,
                  CASE WHEN c.filed_as = 'helper' AND EXISTS (
                           SELECT 1 FROM delegations d
                           WHERE d.helper_account_id = c.filed_by_account_id
                             AND d.client_person_id = c.applicant_person_id AND d.revoked_at IS NULL
                             AND d.expires_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
                       THEN c.filed_by_account_id END AS helper_account_id
           FROM cases c
           JOIN life_events e ON e.code = c.life_event_code
           LEFT JOIN accounts a ON a.person_id = c.applicant_person_id AND a.kind = 'resident'
           WHERE c.id = $1
           GROUP BY c.id, e.name""",
        case_id,
    )


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
