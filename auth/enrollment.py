"""Enrollment codes: issued after an in-person ID check, single use, expiring, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from auth import enrollment_store
from auth.models import EnrollmentGrant
from db.pool import DB

DEFAULT_TTL = timedelta(hours=24)
# Crockford-style alphabet without look-alikes, so a code read over the counter is typed right.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_LENGTH = 10


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{cleaned[:5]}-{cleaned[5:]}" if len(cleaned) == _LENGTH else cleaned


def hash_code(secret_key: str, code: str) -> bytes:
    return hmac.new(secret_key.encode(), b"enrollment:" + normalize_code(code).encode(), hashlib.sha256).digest()


async def issue(
    db: DB,
    secret_key: str,
    *,
    person_id: int | None = None,
    account_id: int | None = None,
    issued_by: str,
    ttl: timedelta = DEFAULT_TTL,
) -> tuple[str, datetime]:
    code = new_code()
    expires_at = await enrollment_store.insert_enrollment_code(
        db,
        code_hash=hash_code(secret_key, code),
        person_id=person_id,
        account_id=account_id,
        issued_by=issued_by,
        ttl=ttl,
    )
    return code, expires_at


async def find_valid(db: DB, secret_key: str, code: str) -> EnrollmentGrant | None:
    return await enrollment_store.find_enrollment_code(db, hash_code(secret_key, code))


async def use(db: DB, grant_id: int) -> bool:
    """Spend a code: False when it was used or expired meanwhile (two sign-ups racing with one code: one wins)."""
    return await enrollment_store.use_enrollment_code(db, grant_id)
