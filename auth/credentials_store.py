"""SQL for passkeys (the credentials table): what each account has registered, their counters and names."""

from __future__ import annotations

from auth.models import CredentialListing, StoredCredential
from db.pool import DB


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
