"""SQL for 征求意见 (the consultations and consultation_attachments tables)."""

from __future__ import annotations

from datetime import date

import msgspec
from asyncpg import Record

from app.consultations.models import AttachmentContent, ConsultationRow
from db.pool import DB

_ROW = """
    SELECT c.id, c.case_id, c.task_id, ca.case_no, e.name AS life_event_name, i.name AS item_name,
           t.department_code AS asking_department_code, dt.short_name AS asking_department_name,
           c.department_code, d.short_name AS department_name, c.region_code, c.question,
           c.asked_by_account_id, asker.name AS asked_by_name, c.asked_at, c.due_on, c.due_provisional,
           c.answer, answerer.name AS answered_by_name, c.answered_at, c.words_forgotten_on,
           (SELECT coalesce(json_agg(json_build_object('id', a.id, 'side', a.side, 'filename', a.filename,
                                                       'content_type', a.content_type, 'size', a.size) ORDER BY a.id),
                            '[]')
            FROM consultation_attachments a WHERE a.consultation_id = c.id) AS attachments
    FROM consultations c
    JOIN tasks t ON t.id = c.task_id
    JOIN cases ca ON ca.id = c.case_id
    JOIN life_events e ON e.code = ca.life_event_code
    JOIN service_items i ON i.code = t.item_code
    JOIN departments dt ON dt.code = t.department_code
    JOIN departments d ON d.code = c.department_code
    JOIN accounts asker ON asker.id = c.asked_by_account_id
    LEFT JOIN accounts answerer ON answerer.id = c.answered_by_account_id
"""


def _row(row: Record) -> ConsultationRow:
    return msgspec.convert(dict(row), ConsultationRow)


async def insert(
    db: DB,
    *,
    case_id: int,
    task_id: int,
    department_code: str,
    region_code: str,
    question: str,
    asked_by_account_id: int,
    due_on: date,
    due_provisional: bool,
) -> int:
    return await db.fetchval(
        "INSERT INTO consultations (case_id, task_id, department_code, region_code, question, asked_by_account_id, "
        "due_on, due_provisional) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        case_id,
        task_id,
        department_code,
        region_code,
        question,
        asked_by_account_id,
        due_on,
        due_provisional,
    )


async def get(db: DB, consultation_id: int) -> ConsultationRow | None:
    row = await db.fetchrow(_ROW + " WHERE c.id = $1", consultation_id)
    return _row(row) if row else None


async def lock(db: DB, consultation_id: int) -> ConsultationRow | None:
    """The consultation locked for this transaction: a second answer waits, then finds it answered."""
    row = await db.fetchrow(_ROW + " WHERE c.id = $1 FOR UPDATE OF c", consultation_id)
    return _row(row) if row else None


async def set_answer(db: DB, consultation_id: int, answer: str, account_id: int) -> None:
    await db.execute(
        "UPDATE consultations SET answer = $2, answered_by_account_id = $3, answered_at = now() WHERE id = $1",
        consultation_id,
        answer,
        account_id,
    )


async def of_case(db: DB, case_id: int) -> list[ConsultationRow]:
    rows = await db.fetch(_ROW + " WHERE c.case_id = $1 ORDER BY c.asked_at, c.id", case_id)
    return [_row(r) for r in rows]


async def open_for(db: DB, *, department_code: str | None, region_prefix: str) -> list[ConsultationRow]:
    """Unanswered consultations of a department (every department's: None) whose competent region lies within the
    prefix, soonest due first."""
    rows = await db.fetch(
        _ROW + " WHERE c.answered_at IS NULL AND ($1::text IS NULL OR c.department_code = $1) "
        "AND c.region_code LIKE $2 || '%' ORDER BY c.due_on, c.id",
        department_code,
        region_prefix,
    )
    return [_row(r) for r in rows]


async def overdue(db: DB, *, department_code: str | None, region_prefix: str, today: date) -> list[ConsultationRow]:
    """Unanswered consultations past their date, as open_for narrows them, most overdue first."""
    rows = await db.fetch(
        _ROW + " WHERE c.answered_at IS NULL AND c.due_on < $3 AND ($1::text IS NULL OR c.department_code = $1) "
        "AND c.region_code LIKE $2 || '%' ORDER BY c.due_on, c.id",
        department_code,
        region_prefix,
        today,
    )
    return [_row(r) for r in rows]


# --- attachments ---------------------------------------------------------------------------------------------------


async def insert_attachment(
    db: DB,
    *,
    consultation_id: int,
    side: str,
    account_id: int,
    filename: str,
    content_type: str,
    content: bytes,
    sha256: bytes,
) -> int:
    return await db.fetchval(
        "INSERT INTO consultation_attachments (consultation_id, side, account_id, filename, content_type, size, "
        "sha256, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        consultation_id,
        side,
        account_id,
        filename,
        content_type,
        len(content),
        sha256,
        content,
    )


async def attachment(db: DB, consultation_id: int, attachment_id: int) -> AttachmentContent | None:
    """A file of this consultation (one of another consultation is None, as if it did not exist)."""
    row = await db.fetchrow(
        "SELECT filename, content_type, content FROM consultation_attachments WHERE id = $1 AND consultation_id = $2",
        attachment_id,
        consultation_id,
    )
    return AttachmentContent(**dict(row)) if row else None


async def forget_words_of_cases(tx: DB, case_ids: list[int], today: date) -> dict[int, int]:
    """The question's and the answer's words of every consultation on these cases not forgotten yet; by case id: how
    many consultations lost their words."""
    rows = await tx.fetch(
        "WITH gone AS (UPDATE consultations SET question = NULL, answer = NULL, words_forgotten_on = $2 "
        "WHERE case_id = ANY($1::bigint[]) AND words_forgotten_on IS NULL RETURNING case_id) "
        "SELECT case_id, count(*) AS consultations FROM gone GROUP BY case_id",
        case_ids,
        today,
    )
    return {r["case_id"]: r["consultations"] for r in rows}


async def delete_attachments_of_cases(tx: DB, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Every file of the consultations on these cases; by case id: (files, bytes) removed."""
    rows = await tx.fetch(
        "WITH gone AS (DELETE FROM consultation_attachments a USING consultations c "
        "WHERE c.id = a.consultation_id AND c.case_id = ANY($1::bigint[]) RETURNING c.case_id, a.size) "
        "SELECT case_id, count(*) AS files, sum(size) AS bytes FROM gone GROUP BY case_id",
        case_ids,
    )
    return {r["case_id"]: (r["files"], r["bytes"]) for r in rows}
