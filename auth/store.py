"""SQL for auth: passkeys, challenges, enrollment codes, sessions, failed-attempt counts and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from auth.models import CredentialListing, EnrollmentGrant, StoredCredential
from db.pool import DB

# --- credentials ----------------------------------------------------------------------------------


async def find_credential(db: DB, credential_id: bytes) -> StoredCredential | None:
    row = await db.fetchrow(
        "SELECT id, account_id, credential_id, public_key, sign_count FROM credentials WHERE credential_id = $1",
        credential_id,
    )
    if row is None:
        return None
    return StoredCredential(
        id=row["id"],
        account_id=row["account_id"],
        credential_id=row["credential_id"],
        public_key=row["public_key"],
        sign_count=row["sign_count"],
    )


async def record_credential_use(db: DB, credential_row_id: int, expected_count: int, new_count: int) -> bool:
    """Advance the sign counter only from the value we verified against (two logins racing: one wins)."""
    status = await db.execute(
        "UPDATE credentials SET sign_count = $3, last_used_at = now() WHERE id = $1 AND sign_count = $2",
        credential_row_id,
        expected_count,
        new_count,
    )
    return status == "UPDATE 1"


async def add_credential(
    db: DB,
    *,
    account_id: int,
    credential_id: bytes,
    public_key: bytes,
    sign_count: int,
    transports: list[str],
    aaguid: str,
    device_type: str,
    backed_up: bool,
    name: str,
) -> int:
    return await db.fetchval(
        """INSERT INTO credentials (account_id, credential_id, public_key, sign_count, transports, aaguid,
                                    device_type, backed_up, name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id""",
        account_id,
        credential_id,
        public_key,
        sign_count,
        transports,
        aaguid,
        device_type,
        backed_up,
        name,
    )


async def credential_ids_of(db: DB, account_id: int) -> list[bytes]:
    rows = await db.fetch("SELECT credential_id FROM credentials WHERE account_id = $1", account_id)
    return [r["credential_id"] for r in rows]


async def list_credentials(db: DB, account_id: int) -> list[CredentialListing]:
    rows = await db.fetch(
        "SELECT id, name, created_at, last_used_at, backed_up FROM credentials WHERE account_id = $1 "
        "ORDER BY created_at",
        account_id,
    )
    return [CredentialListing(**dict(r)) for r in rows]


async def rename_credential(db: DB, account_id: int, credential_row_id: int, name: str) -> bool:
    status = await db.execute(
        "UPDATE credentials SET name = $3 WHERE id = $2 AND account_id = $1", account_id, credential_row_id, name
    )
    return status == "UPDATE 1"


async def remove_credential_unless_last(db: DB, account_id: int, credential_row_id: int) -> str:
    """'removed', 'last' (refused: it is the only one) or 'missing'. Locks the account's rows so
    two removals at once cannot leave it with none."""
    rows = await db.fetch("SELECT id FROM credentials WHERE account_id = $1 ORDER BY id FOR UPDATE", account_id)
    ids = [r["id"] for r in rows]
    if credential_row_id not in ids:
        return "missing"
    if len(ids) == 1:
        return "last"
    await db.execute("DELETE FROM credentials WHERE id = $1", credential_row_id)
    return "removed"


# --- challenges -----------------------------------------------------------------------------------


async def save_challenge(
    db: DB, *, challenge: bytes, owner: str, purpose: str, payload: dict[str, Any], ttl: timedelta
) -> None:
    await db.execute(
        "INSERT INTO webauthn_challenges (challenge, owner, purpose, payload, expires_at) "
        "VALUES ($1, $2, $3, $4, now() + $5::interval)",
        challenge,
        owner,
        purpose,
        payload,
        ttl,
    )


async def take_challenge(db: DB, *, challenge: bytes, owner: str, purpose: str) -> dict[str, Any] | None:
    """Use a challenge once: only the session that asked for it, only before it expires."""
    return await db.fetchval(
        "UPDATE webauthn_challenges SET used_at = now() "
        "WHERE challenge = $1 AND owner = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > now() "
        "RETURNING payload",
        challenge,
        owner,
        purpose,
    )


async def purge_old_challenges(db: DB) -> None:
    await db.execute("DELETE FROM webauthn_challenges WHERE expires_at < now() - interval '1 day'")


# --- enrollment codes -----------------------------------------------------------------------------


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


# --- attempts counted whether or not they fail (auth.ratelimit.count_attempt) ------------------------


async def lock_attempt_subjects(tx: DB, subjects: list[str]) -> None:
    """Serialise counting for these subjects until the transaction ends, across every app process (sorted, so
    two requests never wait on each other crosswise)."""
    for subject in sorted(subjects):
        await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", subject)


async def recent_attempts(db: DB, subject: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many attempts in the window, and when the oldest of them was made."""
    row = await db.fetchrow(
        "SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_attempts "
        "WHERE subject = $1 AND at > now() - $2::interval",
        subject,
        window,
    )
    return row["n"], row["oldest"]


async def record_attempts(db: DB, subjects: list[str]) -> None:
    await db.execute("INSERT INTO rate_limit_attempts (subject) SELECT unnest($1::text[])", subjects)


async def purge_old_attempts(db: DB) -> None:
    await db.execute("DELETE FROM rate_limit_attempts WHERE at < now() - interval '1 day'")


# --- sessions (the Litestar store) ----------------------------------------------------------------


async def session_get(db: DB, key: str, renew_for: timedelta | None) -> bytes | None:
    if renew_for is not None:
        return await db.fetchval(
            "UPDATE sessions SET expires_at = now() + $2::interval "
            "WHERE key = $1 AND (expires_at IS NULL OR expires_at > now()) RETURNING value",
            key,
            renew_for,
        )
    return await db.fetchval(
        "SELECT value FROM sessions WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())", key
    )


async def session_set(db: DB, key: str, value: bytes, expires_in: timedelta | None) -> None:
    await db.execute(
        "INSERT INTO sessions (key, value, expires_at) VALUES ($1, $2, now() + $3::interval) "
        "ON CONFLICT (key) DO UPDATE SET value = $2, expires_at = now() + $3::interval",
        key,
        value,
        expires_in,
    )


async def session_create(db: DB, key: str, value: bytes, expires_in: timedelta | None) -> bool:
    status = await db.execute(
        "INSERT INTO sessions (key, value, expires_at) VALUES ($1, $2, now() + $3::interval) "
        # An expired row under the key is as good as none.
        "ON CONFLICT (key) DO UPDATE SET value = $2, expires_at = now() + $3::interval "
        "WHERE sessions.expires_at IS NOT NULL AND sessions.expires_at <= now()",
        key,
        value,
        expires_in,
    )
    return status == "INSERT 0 1"


async def session_replace(db: DB, key: str, expected: bytes, value: bytes, expires_in: timedelta | None) -> bool:
    status = await db.execute(
        "UPDATE sessions SET value = $3, expires_at = now() + $4::interval "
        "WHERE key = $1 AND value = $2 AND (expires_at IS NULL OR expires_at > now())",
        key,
        expected,
        value,
        expires_in,
    )
    return status == "UPDATE 1"


async def session_delete(db: DB, key: str) -> None:
    await db.execute("DELETE FROM sessions WHERE key = $1", key)


async def session_delete_all(db: DB) -> None:
    await db.execute("DELETE FROM sessions")


async def session_expires_in(db: DB, key: str) -> int | None:
    return await db.fetchval(
        "SELECT greatest(0, extract(epoch FROM expires_at - now()))::int FROM sessions WHERE key = $1", key
    )


async def purge_expired_sessions(db: DB) -> None:
    await db.execute("DELETE FROM sessions WHERE expires_at < now()")


async def purge_old_failures(db: DB) -> None:
    await db.execute("DELETE FROM auth_failures WHERE at < now() - interval '1 day'")


# --- failed attempts ------------------------------------------------------------------------------


async def record_failure(db: DB, subjects: list[str]) -> None:
    await db.executemany("INSERT INTO auth_failures (subject) VALUES ($1)", [(s,) for s in subjects])


async def recent_failures(db: DB, subject: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many failures in the window, and when the oldest of them happened."""
    row = await db.fetchrow(
        "SELECT count(*) AS n, min(at) AS oldest FROM auth_failures WHERE subject = $1 AND at > now() - $2::interval",
        subject,
        window,
    )
    return row["n"], row["oldest"]


# --- audit ----------------------------------------------------------------------------------------


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
