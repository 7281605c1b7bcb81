"""Checking a passkey assertion against a stored credential and advancing its counter: one way,
for signing in and for an elder's consent on a helper's tablet."""

from __future__ import annotations

from typing import Any

from auth import credentials_store, passkeys
from auth.models import StoredCredential
from auth.passkeys import PasskeyError
from db.pool import DB


async def check_assertion(
    db: DB, stored: StoredCredential, credential: dict[str, Any], *, challenge: bytes, rp_id: str, origin: str
) -> None:
    """Raises PasskeyError unless the signature verifies and the counter moves on from what we hold."""
    new_count = passkeys.verify_authentication(
        credential,
        challenge=challenge,
        rp_id=rp_id,
        origin=origin,
        public_key=stored.public_key,
        sign_count=stored.sign_count,
    )
    # Two uses of one assertion racing each other: only the first advances the counter.
    if not await credentials_store.record_credential_use(db, stored.id, stored.sign_count, new_count):
        raise PasskeyError("sign counter raced")
