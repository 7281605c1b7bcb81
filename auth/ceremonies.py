"""The server side of the WebAuthn ceremonies, for app/: the challenge, kept with what the ceremony needs afterwards
(bound to the session that asked, used once, expiring), and the passkeys a ceremony checks or adds.

auth/passkeys.py speaks WebAuthn; this keeps the ceremonies' state. app/ reaches the webauthn_challenges and
credentials tables only through here (their SQL is auth/challenges_store.py and auth/credentials_store.py)."""

from __future__ import annotations

from typing import Any

from auth import challenges_store, credentials_store, passkeys
from auth.models import CredentialListing, StoredCredential
from auth.passkeys import VerifiedPasskey
from db.pool import DB


async def registration_options(
    db: DB,
    *,
    rp_id: str,
    owner: str,
    user_handle: bytes,
    name: str,
    account_id: int | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Creation options for a new passkey (the account's existing ones excluded, so a device is not registered
    twice); the challenge waits server-side with `payload` for the "register" ceremony."""
    existing = await credentials_store.credential_ids_of(db, account_id) if account_id else []
    challenge, options = passkeys.registration_options(
        rp_id=rp_id, user_handle=user_handle, user_name=name, display_name=name, exclude=existing
    )
    await challenges_store.save_challenge(
        db, challenge=challenge, owner=owner, purpose="register", payload=payload, ttl=passkeys.CHALLENGE_TTL
    )
    return options


async def authentication_options(
    db: DB, *, rp_id: str, owner: str, purpose: str, payload: dict[str, Any], allow: list[bytes] | None = None
) -> dict[str, Any]:
    """Request options for signing in (any passkey of the site) or a consent (only the `allow`ed ones); the challenge
    waits server-side with `payload` for the ceremony named by `purpose`."""
    challenge, options = passkeys.authentication_options(rp_id=rp_id, allow=allow)
    await challenges_store.save_challenge(
        db, challenge=challenge, owner=owner, purpose=purpose, payload=payload, ttl=passkeys.CHALLENGE_TTL
    )
    return options


async def take_challenge(db: DB, *, challenge: bytes, owner: str, purpose: str) -> dict[str, Any] | None:
    """The payload of a challenge, used once: only by the session that asked for it, only before it expires."""
    return await challenges_store.take_challenge(db, challenge=challenge, owner=owner, purpose=purpose)


async def passkey_ids_of(db: DB, account_id: int) -> list[bytes]:
    """The credential ids of an account's passkeys."""
    return await credentials_store.credential_ids_of(db, account_id)


async def find_passkey(db: DB, credential_id: bytes) -> StoredCredential | None:
    return await credentials_store.find_credential(db, credential_id)


async def add_passkey(db: DB, account_id: int, verified: VerifiedPasskey, name: str) -> int:
    """Attach a verified new passkey to the account; asyncpg.UniqueViolationError if it is registered already."""
    return await credentials_store.add_credential(
        db,
        account_id=account_id,
        credential_id=verified.credential_id,
        public_key=verified.public_key,
        sign_count=verified.sign_count,
        transports=verified.transports,
        aaguid=verified.aaguid,
        device_type=verified.device_type,
        backed_up=verified.backed_up,
        name=name,
    )


async def passkeys_of(db: DB, account_id: int) -> list[CredentialListing]:
    return await credentials_store.list_credentials(db, account_id)


async def rename_passkey(db: DB, account_id: int, passkey_id: int, name: str) -> bool:
    """False if the account has no such passkey."""
    return await credentials_store.rename_credential(db, account_id, passkey_id, name)


async def remove_passkey_unless_last(db: DB, account_id: int, passkey_id: int) -> str:
    """'removed', 'last' (refused: it is the only one) or 'missing'."""
    return await credentials_store.remove_credential_unless_last(db, account_id, passkey_id)
