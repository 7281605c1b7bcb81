"""SQL for certificate_corrections (更正): what a correction task asks, sealed, and the certificate it issued."""

from __future__ import annotations

from asyncpg import Record

from app.cases.models import CorrectionRow
from db.pool import DB

_SELECT = """
    SELECT k.task_id, t.corrects_certificate_id AS certificate_id, k.field, k.request_enc, k.filed_as,
           a.name AS requested_by_name, k.corrected_certificate_id, k.created_at
    FROM certificate_corrections k
    JOIN tasks t ON t.id = k.task_id
    LEFT JOIN accounts a ON a.id = k.requested_by_account_id
"""


def _row(row: Record) -> CorrectionRow:
    return CorrectionRow(**dict(row))


async def insert_correction(
    db: DB, *, task_id: int, field: str, request_enc: bytes, requested_by_account_id: int, filed_as: str
) -> None:
    await db.execute(
        "INSERT INTO certificate_corrections (task_id, field, request_enc, requested_by_account_id, filed_as) "
        "VALUES ($1, $2, $3, $4, $5)",
        task_id,
        field,
        request_enc,
        requested_by_account_id,
        filed_as,
    )


async def correction_of_task(db: DB, task_id: int) -> CorrectionRow | None:
    row = await db.fetchrow(_SELECT + " WHERE k.task_id = $1", task_id)
    return _row(row) if row else None


async def corrections_of_case(db: DB, case_id: int) -> list[CorrectionRow]:
    rows = await db.fetch(_SELECT + " WHERE t.case_id = $1 ORDER BY k.task_id", case_id)
    return [_row(r) for r in rows]


async def corrections_issuing(db: DB, certificate_ids: list[int]) -> list[CorrectionRow]:
    """The corrections that issued these certificates (a corrected certificate's page says what was corrected)."""
    rows = await db.fetch(_SELECT + " WHERE k.corrected_certificate_id = ANY($1::bigint[])", certificate_ids)
    return [_row(r) for r in rows]


async def set_corrected(db: DB, task_id: int, certificate_id: int) -> None:
    await db.execute(
        "UPDATE certificate_corrections SET corrected_certificate_id = $2 WHERE task_id = $1", task_id, certificate_id
    )
