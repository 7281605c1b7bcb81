"""SQL for enrollment codes (enrollment_codes): stored only as a keyed hash, single use, expiring."""

from __future__ import annotations

from datetime import datetime, timedelta

from auth.models import EnrollmentGrant
from db.pool import DB


async def insert_enrollment_code(
    db: DB, *, code_hash: bytes, person_id: int | None, account_id: int | None, issued_by: str, ttl: timedelta
) -> datetime:
    return await db.fetchval(
        "INSERT INTO enrollment_codes (code_hash, person_id, account_id, issued_by, expires_at) "
        "VALUES ($1, $2, $3, $4, now() + $5::interval) RETURNING expires_at",
        code_hash,
        person_id,
        account_id,
        issued_by,
        ttl,
    )


async def find_enrollment_code(db: DB, code_hash: bytes) -> EnrollmentGrant | None:
    row = await db.fetchrow(
        "SELECT id, person_id, account_id FROM enrollment_codes "
        "WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()",
        code_hash,
    )
    return EnrollmentGrant(**dict(row)) if row else None


async def use_enrollment_code(db: DB, code_id: int) -> bool:
    status = await db.execute(
        "UPDATE enrollment_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()",
        code_id,
    )
    return status == "UPDATE 1"
