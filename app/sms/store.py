"""SQL for the number each case is texted at (case_sms_phones). The only store of that table."""

from __future__ import annotations

from db.pool import DB


async def set_case_phone(db: DB, case_id: int, phone: str) -> None:
    await db.execute(
        "INSERT INTO case_sms_phones (case_id, phone) VALUES ($1, $2) "
        "ON CONFLICT (case_id) DO UPDATE SET phone = EXCLUDED.phone",
        case_id,
        phone,
    )


async def case_phone(db: DB, case_id: int) -> str | None:
    return await db.fetchval("SELECT phone FROM case_sms_phones WHERE case_id = $1", case_id)


async def delete_case_phones(db: DB, case_ids: list[int]) -> list[int]:
    rows = await db.fetch("DELETE FROM case_sms_phones WHERE case_id = ANY($1::bigint[]) RETURNING case_id", case_ids)
    return [r["case_id"] for r in rows]
