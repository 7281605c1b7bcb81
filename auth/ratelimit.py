"""Failed attempts are limited (等保: limit attempts, lock out), counted in PostgreSQL so every web host shares them.

- Sign-in: every failure counts against the client's address (`ip:`); a failure *after* the challenge was found
  valid (a wrong signature, a foreign user handle) also counts against the pair of that address and the credential
  (`credential:`). Never against the credential alone: its id is no secret, and anyone's junk naming it would
  otherwise lock its owner out everywhere.
- Proofs of an old push subscription per address (`push-replace:`), apart from sign-ins: many phones share one
  carrier address.

Addresses are the client's own (TRUSTED_PROXIES, app/web/proxies.py), not a proxy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.exceptions import TooManyRequestsException

from auth import store
from db.pool import DB

WINDOW = timedelta(minutes=15)
LIMITS = {"ip": 20, "credential": 5, "push-replace": 20}


def ip_subject(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


def credential_subject(ip: str | None, credential_id: bytes) -> str:
    return f"credential:{ip or 'unknown'}:{credential_id.hex()}"


def push_replace_subject(ip: str | None) -> str:
    return f"push-replace:{ip or 'unknown'}"


async def refuse_if_limited(db: DB, subjects: list[str]) -> None:
    for subject in subjects:
        limit = LIMITS[subject.split(":", 1)[0]]
        count, oldest = await store.recent_failures(db, subject, WINDOW)
        if count >= limit and oldest is not None:
            retry_after = max(1, int((oldest + WINDOW - datetime.now(UTC)).total_seconds()))
            minutes = -(-retry_after // 60)
            raise TooManyRequestsException(
                f"尝试次数过多，请{minutes}分钟后再试",
                headers={"Retry-After": str(retry_after)},
                extra={"retry_after": retry_after},
            )


async def record_failure(db: DB, subjects: list[str]) -> None:
    await store.record_failure(db, subjects)
