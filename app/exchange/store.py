"""SQL for the data-exchange API's own table: the answers to writes, kept under their idempotency keys."""

from __future__ import annotations

from typing import Any

import msgspec

from app.exchange.models import StoredWrite
from db.pool import DB


async def lock_key(tx: DB, client_id: str, key: str) -> None:
    """Serialise writes under one key until the transaction ends (a retry racing the first try waits for it)."""
    await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"exchange:{client_id}:{key}")


async def earlier_write(tx: DB, client_id: str, key: str) -> StoredWrite | None:
    row = await tx.fetchrow(
        "SELECT request_hash, status_code, response FROM exchange_writes WHERE client_id = $1 AND idempotency_key = $2",
        client_id,
        key,
    )
    return msgspec.convert(dict(row), StoredWrite) if row else None


async def save_write(
    tx: DB, client_id: str, key: str, request_hash: bytes, status_code: int, response: dict[str, Any]
) -> None:
    await tx.execute(
        "INSERT INTO exchange_writes (client_id, idempotency_key, request_hash, status_code, response) "
        "VALUES ($1, $2, $3, $4, $5)",
        client_id,
        key,
        request_hash,
        status_code,
        response,
    )


async def forget_writes_before(db: DB, days: int) -> int:
    status = await db.execute("DELETE FROM exchange_writes WHERE created_at < now() - make_interval(days => $1)", days)
    return int(status.split()[-1])
