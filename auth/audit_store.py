"""SQL for the audit log (audit_log): appended to, never changed; deleted only past its retention."""

from __future__ import annotations

from typing import Any

import msgspec

from auth.models import AuditRow, AuditSearch
from db.pool import DB


async def append_audit(
    db: DB,
    *,
    actor: str,
    action: str,
    subject: str | None,
    outcome: str,
    ip: str | None,
    user_agent: str | None,
    detail: dict[str, Any],
) -> None:
    await db.execute(
        "INSERT INTO audit_log (actor, action, subject, outcome, ip, user_agent, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor,
        action,
        subject,
        outcome,
        ip,
        user_agent,
        detail,
    )


async def purge_audit_before_retention(db: DB, retention_days: int) -> int:
    """Delete audit rows older than retention. Must run inside a transaction (SET LOCAL)."""
    await db.execute("SET LOCAL ywtb.audit_purge = 'on'")
    await db.execute(f"SET LOCAL ywtb.audit_retention_days = '{int(retention_days)}'")
    status = await db.execute("DELETE FROM audit_log WHERE at < now() - make_interval(days => $1)", retention_days)
    return int(status.split()[-1])


async def search_audit(db: DB, search: AuditSearch, *, before_id: int | None, limit: int) -> list[AuditRow]:
    """Entries matching the search, newest first, a page of `limit` below `before_id` (keyset: ids only grow)."""
    rows = await db.fetch(
        "SELECT id, at, actor, action, subject, outcome, ip, detail FROM audit_log "
        "WHERE ($1::text[] IS NULL OR subject = ANY($1::text[]) OR detail->>'case' = $2) "
        "AND ($3::text IS NULL OR actor = $3) "
        "AND ($4::text IS NULL OR action = $4 OR action LIKE $4 || '.%') "
        "AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6) "
        "AND ($7::bigint IS NULL OR id < $7) ORDER BY id DESC LIMIT $8",
        search.subjects,
        search.case_no,
        search.actor,
        search.action,
        search.since,
        search.until,
        before_id,
        limit,
    )
    return [msgspec.convert(dict(r), AuditRow) for r in rows]
