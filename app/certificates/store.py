"""SQL for the e-certificate library (电子证照)."""

from __future__ import annotations

from datetime import date
from typing import Any

from db.pool import DB


async def upsert_person_certificate(
    db: DB,
    *,
    person_id: int,
    kind: str,
    title: str,
    number: str,
    issued_by: str,
    issued_on: date,
    data: dict[str, Any],
) -> None:
    await db.execute(
        """INSERT INTO e_certificates (person_id, kind, title, number, issued_by, issued_on, data)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (person_id, kind, number) WHERE person_id IS NOT NULL DO UPDATE SET title = $3, issued_by = $5,
               issued_on = $6, data = $7""",
        person_id,
        kind,
        title,
        number,
        issued_by,
        issued_on,
        data,
    )
