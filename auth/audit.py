"""The audit trail: who did what to whom, from where, with what outcome.

ID numbers never reach it in clear: subjects are account ids, person ids or masked numbers.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from auth import audit_store, metrics
from auth.access import client_of, user_of
from auth.models import AuditRow, AuditSearch
from db.pool import DB


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    client = connection.client
    return client.host if client else None


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    user = user_of(connection)
    if user is not None:
        return f"account:{user.account_id}"
    client = client_of(connection)
    if client is not None:
        return f"client:{client.client_id}"
    return "anonymous"


async def audit(
    db: DB,
    connection: ASGIConnection[Any, Any, Any, Any] | None,
    action: str,
    outcome: str,
    *,
    subject: str | None = None,
    actor: str | None = None,
    **detail: Any,
) -> None:
    metrics.audited(action, outcome)
    await audit_store.append_audit(
        db,
        actor=actor or (actor_of(connection) if connection else "system"),
        action=action,
        subject=subject,
        outcome=outcome,
        ip=client_ip(connection) if connection else None,
        user_agent=(connection.headers.get("user-agent", "")[:300] or None) if connection else None,
        detail=detail,
    )


async def search(db: DB, query: AuditSearch, *, before_id: int | None, limit: int) -> list[AuditRow]:
    """The audit viewer's search (app.supervision decides who may, and audits the search itself)."""
    return await audit_store.search_audit(db, query, before_id=before_id, limit=limit)
