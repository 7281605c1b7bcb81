"""SQL for the data-exchange API's clients (api_clients) and their hashed secrets (api_client_secrets)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from asyncpg import Record

from auth.models import ApiClient
from db.pool import DB

_CLIENT = (
    "SELECT client_id, name, department_code, hospital, region_code, scopes, created_at, revoked_at FROM api_clients"
)


def _client(row: Record) -> ApiClient:
    return msgspec.convert(dict(row), ApiClient)


async def insert_client(
    db: DB,
    *,
    client_id: str,
    name: str,
    department_code: str | None,
    hospital: str | None,
    region_code: str,
    scopes: list[str],
    secret_hash: bytes,
) -> None:
    await db.execute(
        "INSERT INTO api_clients (client_id, name, department_code, hospital, region_code, scopes) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        client_id,
        name,
        department_code,
        hospital,
        region_code,
        scopes,
    )
    await insert_secret(db, client_id, secret_hash)


async def insert_secret(db: DB, client_id: str, secret_hash: bytes) -> None:
    await db.execute("INSERT INTO api_client_secrets (client_id, secret_hash) VALUES ($1, $2)", client_id, secret_hash)


async def end_live_secrets(db: DB, client_id: str, overlap: timedelta) -> None:
    """Every secret of the client still valid now ends after `overlap` (one ending sooner keeps its own end)."""
    await db.execute(
        "UPDATE api_client_secrets SET expires_at = least(coalesce(expires_at, 'infinity'), now() + $2::interval) "
        "WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > now())",
        client_id,
        overlap,
    )


async def client_by_secret(db: DB, client_id: str, secret_hash: bytes) -> ApiClient | None:
    """The client whose live secret this is (its id must match too), revoked or not."""
    row = await db.fetchrow(
        _CLIENT + " c WHERE c.client_id = $1 AND EXISTS (SELECT 1 FROM api_client_secrets s "
        "WHERE s.client_id = c.client_id AND s.secret_hash = $2 AND (s.expires_at IS NULL OR s.expires_at > now()))",
        client_id,
        secret_hash,
    )
    return _client(row) if row else None


async def get_client(db: DB, client_id: str) -> ApiClient | None:
    row = await db.fetchrow(_CLIENT + " WHERE client_id = $1", client_id)
    return _client(row) if row else None


async def all_clients(db: DB) -> list[ApiClient]:
    return [_client(r) for r in await db.fetch(_CLIENT + " ORDER BY created_at, client_id")]


async def revoke(db: DB, client_id: str) -> datetime | None:
    """Mark the client revoked (once: a second call keeps the first moment); None if there is no such client."""
    return await db.fetchval(
        "UPDATE api_clients SET revoked_at = coalesce(revoked_at, now()) WHERE client_id = $1 RETURNING revoked_at",
        client_id,
    )


async def live_secret_ends(db: DB, client_id: str) -> list[datetime | None]:
    """When each live secret of the client ends (None: no end), newest first."""
    rows = await db.fetch(
        "SELECT expires_at FROM api_client_secrets WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > now()) "
        "ORDER BY id DESC",
        client_id,
    )
    return [r["expires_at"] for r in rows]
