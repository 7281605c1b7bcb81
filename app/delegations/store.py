"""SQL for delegations (代办授权): the only store of the delegations table, the check behind every request a helper
makes for someone included."""

from __future__ import annotations

from datetime import date, datetime

from asyncpg import Record

from app.delegations.models import DelegationRow
from db.pool import DB

_VIEW = """
    SELECT d.id, d.scope, d.expires_on, d.identity_check, d.consent_method, d.created_at, d.revoked_at,
           d.helper_account_id, d.client_person_id, p.name AS client_name,
           p.id_number_masked AS client_id_number_masked, d.region_code
    FROM delegations d JOIN people p ON p.id = d.client_person_id
"""


async def insert(
    db: DB,
    *,
    helper_account_id: int,
    client_person_id: int,
    scope: list[str] | None,
    expires_on: date,
    identity_check: str,
    consent_method: str,
    consent_signature: bytes | None,
    consent_account_id: int | None,
    region_code: str,
) -> int:
    return await db.fetchval(
        "INSERT INTO delegations (helper_account_id, client_person_id, scope, expires_on, identity_check, "
        "consent_method, consent_signature, consent_account_id, region_code) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        helper_account_id,
        client_person_id,
        scope,
        expires_on,
        identity_check,
        consent_method,
        consent_signature,
        consent_account_id,
        region_code,
    )


def _row(row: Record) -> DelegationRow:
    return DelegationRow(**dict(row))


async def of_helper(db: DB, helper_account_id: int) -> list[DelegationRow]:
    rows = await db.fetch(
        _VIEW + " WHERE d.helper_account_id = $1 ORDER BY d.revoked_at NULLS FIRST, p.name", helper_account_id
    )
    return [_row(r) for r in rows]


async def of_client(db: DB, person_id: int) -> list[DelegationRow]:
    rows = await db.fetch(_VIEW + " WHERE d.client_person_id = $1 ORDER BY d.created_at DESC", person_id)
    return [_row(r) for r in rows]


async def get(db: DB, delegation_id: int) -> DelegationRow | None:
    row = await db.fetchrow(_VIEW + " WHERE d.id = $1", delegation_id)
    return _row(row) if row else None


async def given_before(db: DB, helper_account_id: int, client_person_id: int, moment: datetime) -> bool:
    """Whether the client had delegated to this helper (at any time before `moment`, live now or not)."""
    return bool(
        await db.fetchval(
            "SELECT 1 FROM delegations WHERE helper_account_id = $1 AND client_person_id = $2 AND created_at <= $3 "
            "LIMIT 1",
            helper_account_id,
            client_person_id,
            moment,
        )
    )


async def live_delegation(
    db: DB, helper_account_id: int, client_person_id: int, covering: list[str] | None
) -> int | None:
    """The helper's unexpired, unrevoked delegation from this client whose scope names one of the `covering` codes
    (any scope, when None; 全部事项 covers everything)."""
    return await db.fetchval(
        "SELECT d.id FROM delegations d "
        "WHERE d.helper_account_id = $1 AND d.client_person_id = $2 AND d.revoked_at IS NULL "
        "AND d.expires_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date "
        "AND ($3::text[] IS NULL OR d.scope IS NULL OR d.scope && $3::text[]) ORDER BY d.id DESC LIMIT 1",
        helper_account_id,
        client_person_id,
        covering,
    )


async def revoke(db: DB, delegation_id: int, by: str) -> bool:
    status = await db.execute(
        "UPDATE delegations SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL",
        delegation_id,
        by,
    )
    return status == "UPDATE 1"


async def revoke_all_of_client(db: DB, client_person_id: int, by: str, reason: str) -> list[int]:
    """Every live delegation the person gave, ended with the reason; their ids."""
    rows = await db.fetch(
        "UPDATE delegations SET revoked_at = now(), revoked_by = $2, revoked_reason = $3 "
        "WHERE client_person_id = $1 AND revoked_at IS NULL RETURNING id",
        client_person_id,
        by,
        reason,
    )
    return [r["id"] for r in rows]
