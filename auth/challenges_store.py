"""SQL for WebAuthn challenges (webauthn_challenges): kept server-side with what the ceremony needs afterwards,
bound to the session that asked, used once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from db.pool import DB


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
