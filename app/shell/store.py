"""SQL for display preferences kept on the account."""

from __future__ import annotations

from db.pool import DB


async def set_elder_mode(db: DB, account_id: int, elder_mode: bool) -> None:
    await db.execute("UPDATE accounts SET elder_mode = $2 WHERE id = $1", account_id, elder_mode)
