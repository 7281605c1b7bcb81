"""SQL for the audit log (audit_log): appended to, never changed; deleted only past its retention."""

from __future__ import annotations

from typing import Any

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
