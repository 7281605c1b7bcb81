"""Failed attempts are limited (等保: limit attempts, lock out), counted in PostgreSQL so every web host shares them.

- Sign-in: every failure counts against the client's address (`ip:`); a failure *after* the challenge was found
  valid (a wrong signature, a foreign user handle) also counts against the pair of that address and the credential
  (`credential:`). Never against the credential alone: its id is no secret, and anyone's junk naming it would
  otherwise lock its owner out everywhere.
- Proofs of an old push subscription per address (`push-replace:`), apart from sign-ins: many phones share one
  carrier address.
- Some attempts are limited whether or not they fail (count_attempt): asking for a sign-up code, per address and
  per ID number, because its answer is the same for a right and a wrong name and number.

Addresses are the client's own (TRUSTED_PROXIES, app/web/proxies.py), not a proxy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from litestar.exceptions import TooManyRequestsException

from auth import attempts_store, metrics
from db.pool import DB
from i18n import N_plural

WINDOW = timedelta(minutes=15)
# client-secret: wrong API client secrets at POST /oauth/token from one address (auth.clients).
LIMITS = {"ip": 20, "credential": 5, "push-replace": 20, "enrollment": 10, "client-secret": 20}
# Attempts (not failures) are counted per hour.
ATTEMPT_WINDOW = timedelta(hours=1)
# Sign-up codes asked for one ID number in an hour, whatever name came with it (counting only right pairs
# would make the 429 itself tell a right pair from a wrong one).
SIGNUP_CODES_PER_NUMBER = 5


# Lookups of another party's number on the merged form (the materials block, re-rendered as it is typed) per account
# in an hour: plenty for a family's forms, too few to walk through numbers (though the answer tells a stranger's
# number from a made-up one in no way).
PARTY_LOOKUPS_PER_ACCOUNT = 60


def ip_subject(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


def credential_subject(ip: str | None, credential_id: bytes) -> str:
    return f"credential:{ip or 'unknown'}:{credential_id.hex()}"


def push_replace_subject(ip: str | None) -> str:
    return f"push-replace:{ip or 'unknown'}"


def enrollment_subject(ip: str | None) -> str:
    """Wrong enrollment codes from one address (a code is its own proof: no oracle, and no endless trying)."""
    return f"enrollment:{ip or 'unknown'}"


def signup_address_subject(ip: str | None) -> str:
    return f"signup-ip:{ip or 'unknown'}"


def party_lookup_subject(account_id: int) -> str:
    return f"party-lookup:{account_id}"


def appointment_change_subject(person_id: int) -> str:
    """Bookings, moves and cancellations of one person's appointments (whoever makes them: a place is not held by
    cycling it)."""
    return f"appointment-change:{person_id}"


def signup_number_subject(id_number_hash: bytes) -> str:
    """Keyed by the number's lookup hash (auth.pii), never the number."""
    return f"signup-number:{id_number_hash.hex()}"


async def refuse_if_limited(db: DB, subjects: list[str]) -> None:
    for subject in subjects:
        limit = LIMITS[subject.split(":", 1)[0]]
        count, oldest = await attempts_store.recent_failures(db, subject, WINDOW)
        if count >= limit and oldest is not None:
            retry_after = max(1, int((oldest + WINDOW - datetime.now(UTC)).total_seconds()))
            minutes = -(-retry_after // 60)
            metrics.refused(subject)
            raise TooManyRequestsException(
                # Translated as the answer leaves (app/web/errors.py), its noun agreeing with `minutes` (1 minute).
                N_plural("尝试次数过多，请%(minutes)s分钟后再试", "尝试次数过多，请%(minutes)s分钟后再试"),
                headers={"Retry-After": str(retry_after)},
                extra={"retry_after": retry_after, "params": {"minutes": minutes}, "plural": "minutes"},
            )


async def record_failure(db: DB, subjects: list[str]) -> None:
    await attempts_store.record_failure(db, subjects)


async def count_attempt(db: asyncpg.Pool, limits: dict[str, int], window: timedelta = ATTEMPT_WINDOW) -> None:
    """Count one attempt against each subject, or refuse with 429 (请N分钟后再试, Retry-After) — counting nothing —
    when any of them has reached its limit within the window. Atomic across app processes on one database."""
    async with db.acquire() as tx, tx.transaction():
        await attempts_store.lock_attempt_subjects(tx, list(limits))
        for subject, limit in limits.items():
            count, oldest = await attempts_store.recent_attempts(tx, subject, window)
            if count >= limit and oldest is not None:
                retry_after = max(1, int((oldest + window - datetime.now(UTC)).total_seconds()))
                minutes = -(-retry_after // 60)
                metrics.refused(subject)
                raise TooManyRequestsException(
                    N_plural("请求过于频繁，请%(minutes)s分钟后再试", "请求过于频繁，请%(minutes)s分钟后再试"),
                    headers={"Retry-After": str(retry_after)},
                    extra={"retry_after": retry_after, "params": {"minutes": minutes}, "plural": "minutes"},
                )
        await attempts_store.record_attempts(tx, list(limits))
