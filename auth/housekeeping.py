"""What auth keeps only for a while, removed (`python -m app purge`, daily): expired sessions, spent and stale
challenges, attempt counts older than a day, and audit rows past their retention."""

from __future__ import annotations

from auth import attempts_store, audit_store, challenges_store, session_store
from db.pool import Tx


async def purge(tx: Tx, *, audit_retention_days: int) -> int:
    """Everything past its time, in the caller's transaction; returns how many audit rows were removed."""
    await session_store.purge_expired_sessions(tx)
    await challenges_store.purge_old_challenges(tx)
    await attempts_store.purge_old_failures(tx)
    await attempts_store.purge_old_attempts(tx)
    return await audit_store.purge_audit_before_retention(tx, audit_retention_days)
